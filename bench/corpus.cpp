// sipcontract-bench-corpus: writes a deterministic NDJSON corpus of Create Subscriber SIP Endpoint
// request bodies, the input of every validation benchmark (ours and the ajv anchor).
//
//   sipcontract-bench-corpus --seed 1 --count 100000 --out corpus.ndjson
//
// The same seed and count give the same bytes on every machine: the generator uses its own
// PRNG (splitmix64) and its own range mapping, never <random>'s distributions, whose output the
// standard leaves to the implementation. About 10% of the lines are invalid, each by exactly one
// deliberate mistake; stdout gets one JSON line summarising the corpus (docs, bytes, expected_valid).
#include <CLI/CLI.hpp>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Doc = nlohmann::ordered_json;  // insertion order: fields come out in the order a client writes them

constexpr std::array<std::string_view, 5> kCiphers = {"AEAD_AES_256_GCM_8", "AES_256_CM_HMAC_SHA1_80",
                                                      "AES_CM_128_HMAC_SHA1_80", "AES_256_CM_HMAC_SHA1_32",
                                                      "AES_CM_128_HMAC_SHA1_32"};
constexpr std::array<std::string_view, 7> kCodecs = {"OPUS", "G722", "PCMU", "PCMA", "G729", "VP8", "H264"};
constexpr std::array<std::string_view, 3> kEncryptions = {"default", "required", "optional"};
constexpr std::array<std::string_view, 3> kCallHandlers = {"default", "passthrough", "block-pstn"};
constexpr std::array<std::string_view, 12> kWords = {"justice", "league", "alpha",   "bravo",
                                                     "desk",    "front",  "lobby",   "sales",
                                                     "josé",    "zürich", "support", "ops"};

/// splitmix64: tiny, fast, and fully specified, so a seed means the same corpus everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// A value in [0, n); the modulo bias (< 2^-40 for the small n used here) does not matter.
  std::uint64_t below(std::uint64_t n) { return (next() >> 11) % n; }
  bool chance(unsigned percent) { return below(100) < percent; }
  template <class A>
  std::string_view pick(const A& values) {
    return values[below(values.size())];
  }

 private:
  std::uint64_t state_;
};

std::string random_uuid(Rng& rng, bool upper) {
  static constexpr char kLower[] = "0123456789abcdef";
  static constexpr char kUpper[] = "0123456789ABCDEF";
  const char* digits = upper ? kUpper : kLower;
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    int d = static_cast<int>(rng.below(16));
    if (i == 12) d = 4;            // version 4
    if (i == 16) d = 8 + (d & 3);  // RFC 4122 variant
    out += digits[d];
  }
  return out;
}

std::string random_password(Rng& rng) {
  static constexpr std::string_view kChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!@#$%^&*()+=.,;:?/\\\"'";
  std::string out;
  const auto length = 8 + rng.below(25);
  for (std::uint64_t i = 0; i < length; ++i) out += kChars[rng.below(kChars.size())];
  return out;
}

std::string e164(Rng& rng) {
  static constexpr std::array<std::string_view, 5> kCountry = {"1", "44", "49", "33", "61"};
  std::string out = "+";
  out += rng.pick(kCountry);
  const auto digits = 9 + rng.below(2);
  for (std::uint64_t i = 0; i < digits; ++i) out += static_cast<char>('0' + rng.below(10));
  return out;
}

/// A random subset of `values` in random order, `min_size` to all of them.
template <class A>
Doc subset(Rng& rng, const A& values, std::size_t min_size) {
  std::vector<std::string_view> pool(values.begin(), values.end());
  for (std::size_t i = pool.size(); i > 1; --i) std::swap(pool[i - 1], pool[rng.below(i)]);
  const auto size = min_size + rng.below(pool.size() - min_size + 1);
  Doc out = Doc::array();
  for (std::size_t i = 0; i < size; ++i) out.push_back(pool[i]);
  return out;
}

/// A valid body: required fields always, each optional field with the share a real client might send.
Doc valid_body(Rng& rng, std::uint64_t index) {
  Doc doc = Doc::object();
  doc["username"] =
      std::string(rng.pick(kWords)) + "-" + std::string(rng.pick(kWords)) + "-" + std::to_string(index);
  const auto password = random_password(rng);
  doc["password"] = password;
  doc["password_confirmation"] = password;
  if (rng.chance(70))
    doc["caller_id"] = rng.chance(50) ? "call-id-" + std::to_string(rng.below(100000)) : e164(rng);
  if (rng.chance(60)) doc["send_as"] = e164(rng);
  if (rng.chance(50)) doc["ciphers"] = subset(rng, kCiphers, 0);
  if (rng.chance(65)) doc["codecs"] = subset(rng, kCodecs, 1);
  if (rng.chance(50)) doc["encryption"] = rng.pick(kEncryptions);
  const auto handler = rng.below(10);
  if (handler < 4) {
    doc["call_handler"] = rng.pick(kCallHandlers);
  } else if (handler < 6) {
    doc["calling_handler_resource_id"] = random_uuid(rng, rng.chance(10));
  }
  // Objects are open in the contract of record: a few clients send fields it does not name.
  if (rng.chance(3)) doc["description"] = "created by provisioning run " + std::to_string(rng.below(1000));
  return doc;
}

/// Breaks `doc` by exactly one mistake a client makes; returns the line to write.
std::string break_body(Rng& rng, Doc doc) {
  switch (rng.below(12)) {
    case 0: {  // a required field left out
      static constexpr std::array<std::string_view, 3> kRequired = {"username", "password",
                                                                    "password_confirmation"};
      doc.erase(std::string(rng.pick(kRequired)));
      break;
    }
    case 1:  // the confirmation does not match
      doc["password_confirmation"] = doc["password"].get<std::string>() + "x";
      break;
    case 2:  // a string where a number was written
      doc["username"] = static_cast<std::int64_t>(rng.below(1000000));
      break;
    case 3:  // a list written as one value
      doc["codecs"] = rng.pick(kCodecs);
      break;
    case 4: {  // a codec outside CodecType: wrong case, or the later spec's OPUS variants (drift)
      static constexpr std::array<std::string_view, 3> kBad = {"opus", "OPUS@48000H@20I", "AV1"};
      Doc codecs = subset(rng, kCodecs, 1);
      codecs.push_back(rng.pick(kBad));
      doc["codecs"] = codecs;
      break;
    }
    case 5: {  // a cipher outside CipherType
      Doc ciphers = subset(rng, kCiphers, 0);
      ciphers.push_back("AES_128_GCM");
      doc["ciphers"] = ciphers;
      break;
    }
    case 6:  // an encryption outside EncryptionType
      doc["encryption"] = rng.chance(50) ? "strict" : "Optional";
      break;
    case 7:  // a response-only call handler sent in a request
      doc.erase("calling_handler_resource_id");
      doc["call_handler"] = rng.chance(50) ? "relay_script" : "ai_agent";
      break;
    case 8:  // both variants at once: oneOf
      doc["call_handler"] = rng.pick(kCallHandlers);
      doc["calling_handler_resource_id"] = random_uuid(rng, false);
      break;
    case 9: {  // a resource id that is not a UUID
      doc.erase("call_handler");
      std::string id = random_uuid(rng, false);
      // Not "urn:uuid:<uuid>": ajv-formats accepts that prefix and sipcontract does not, and the
      // corpus must only hold documents on whose verdict every validator measured agrees.
      doc["calling_handler_resource_id"] = rng.chance(50) ? id.substr(0, 35) : id.substr(0, 8) + id.substr(9);
      break;
    }
    case 10:  // not an object at all
      return rng.chance(50) ? Doc::array({doc["username"]}).dump() : std::string("null");
    default: {  // truncated JSON (a cut-off write): cut at an ASCII byte so the line stays valid UTF-8
      std::string text = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
      auto cut = text.size() / 2;
      while (cut > 1 && static_cast<unsigned char>(text[cut]) >= 0x80) --cut;
      return text.substr(0, cut);
    }
  }
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Writes a deterministic NDJSON corpus of SIP endpoint request bodies (about 10% invalid)",
               "sipcontract-bench-corpus"};
  std::uint64_t seed = 1;
  std::uint64_t count = 100000;
  unsigned invalid_percent = 10;
  std::string out_path;
  app.add_option("--seed", seed, "PRNG seed; the same seed and count give the same bytes")
      ->capture_default_str();
  app.add_option("--count", count, "number of documents (lines)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  app.add_option("--invalid-percent", invalid_percent, "share of invalid documents")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  app.add_option("--out", out_path, "output file")->required();
  CLI11_PARSE(app, argc, argv);

  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "sipcontract-bench-corpus: cannot write " << out_path << '\n';
    return 2;
  }
  Rng rng(seed);
  std::uint64_t bytes = 0;
  std::uint64_t expected_valid = 0;
  std::string line;
  std::set<std::string> enum_seen;
  constexpr std::size_t kEnumValues =
      kCiphers.size() + kCodecs.size() + kEncryptions.size() + kCallHandlers.size();
  for (std::uint64_t i = 0; i < count; ++i) {
    Doc doc = valid_body(rng, i);
    // Which enum values the corpus exercises (counted on the valid body, before any breakage).
    for (const char* field : {"encryption", "call_handler"})
      if (doc.contains(field)) enum_seen.insert(std::string(field) + "=" + doc[field].get<std::string>());
    for (const char* field : {"ciphers", "codecs"})
      if (doc.contains(field))
        for (const auto& v : doc[field]) enum_seen.insert(std::string(field) + "=" + v.get<std::string>());
    if (rng.chance(invalid_percent)) {
      line = break_body(rng, std::move(doc));
    } else {
      line = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
      ++expected_valid;
    }
    line += '\n';
    out.write(line.data(), static_cast<std::streamsize>(line.size()));
    bytes += line.size();
  }
  out.close();
  if (!out) {
    std::cerr << "sipcontract-bench-corpus: write to " << out_path << " failed\n";
    return 2;
  }
  std::cout << nlohmann::json{{"bench", "corpus"},
                              {"seed", seed},
                              {"docs", count},
                              {"bytes", bytes},
                              {"expected_valid", expected_valid},
                              {"enum_values_seen", enum_seen.size()},
                              {"enum_values", kEnumValues}}
                   .dump()
            << '\n';
  return 0;
}
