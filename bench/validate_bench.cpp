// sipcontract-bench-validate: validation throughput of the sipcontract library, from the bytes of an
// NDJSON corpus to one verdict per line, on one or more threads.
//
//   sipcontract-bench-validate --corpus corpus.ndjson --mode is_valid --threads 2 --min-time 1
//
// Modes: is_valid (parse_json + Schema::is_valid), validate (parse_json + Schema::validate, every
// finding), parse (nlohmann::json::parse alone: the parser's ceiling), parse_json (sipcontract's
// bounded parse alone), sax (nlohmann's SAX parser with a handler that keeps nothing: the lexer alone),
// rapidjson (RapidJSON's DOM parse alone: Debian ships it with valijson, which has an adapter for it). The
// corpus is read into memory first; the timed part splits lines, parses and validates, as ajv-bench.js does
// with JSON.parse + ajv. Threads share the one compiled Schema (documented as safe). Protocol, shared with
// ajv-bench.js: the corpus is cut into chunks of about 1 MiB (each ending at a line end), and the threads
// take the next chunk from one shared counter until the work runs out, so that a thread the host slows
// does less of it instead of holding the others idle at the end; one untimed warm-up pass over the corpus
// that way (it also sizes the passes), then P timed passes, P chosen so the run lasts about --min-time
// seconds. Prints one JSON line. Exit status: 0; 2 for an unreadable or empty corpus or a setup error;
// 3 when the timed passes gave another answer than the warm-up pass.
#include <rapidjson/document.h>
#ifdef SIPCONTRACT_BENCH_HAVE_SIMDJSON
#include <simdjson.h>
#endif
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sipcontract/contract.hpp"

namespace {

using Clock = std::chrono::steady_clock;

enum class Mode {
  kCheck,
  kValidateText,
  kIsValid,
  kValidate,
  kParse,
  kParseJson,
  kSax,
  kRapidJson,
  kSimdjson
};

struct PassResult {
  std::uint64_t docs = 0;
  std::uint64_t valid = 0;
  std::uint64_t findings = 0;  // summed so the compiler cannot drop validate()'s work
  PassResult& operator+=(const PassResult& other) {
    docs += other.docs;
    valid += other.valid;
    findings += other.findings;
    return *this;
  }
};

/// A SAX handler that accepts every event and keeps nothing: nlohmann's lexer and syntax check alone,
/// the ceiling of any validator that reads events from nlohmann::json instead of building a DOM.
struct NullSax {
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(nlohmann::json::number_integer_t) { return true; }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return true; }
  bool number_float(nlohmann::json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(nlohmann::json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool key(std::string&) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }
};

/// One pass over [begin, end): split at '\n', and give each non-empty line a verdict.
PassResult run_pass(std::string_view slice, Mode mode, const sipcontract::Schema& schema) {
  PassResult r;
  const char* p = slice.data();
  const char* const end = p + slice.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    const std::string_view line(p, static_cast<std::size_t>(line_end - p));
    p = line_end + 1;
    if (line.empty()) continue;
    ++r.docs;
    switch (mode) {
      case Mode::kCheck: {
        if (schema.check(line) == sipcontract::Verdict::kValid) ++r.valid;
        break;
      }
      case Mode::kValidateText: {
        const auto checked = schema.validate_text(line);
        // A text that is not JSON counts one finding, as its parse error does in validate mode.
        r.findings +=
            checked.result.findings.size() + (checked.verdict == sipcontract::Verdict::kNotJson ? 1 : 0);
        if (checked.valid()) ++r.valid;
        break;
      }
      case Mode::kSimdjson: {
#ifdef SIPCONTRACT_BENCH_HAVE_SIMDJSON
        // One parser per thread, reused, as a library must; parse() copies the line into padding.
        thread_local simdjson::dom::parser parser;
        if (!parser.parse(line.data(), line.size()).error()) ++r.valid;
#endif
        break;
      }
      case Mode::kParse: {
        auto doc = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
        if (!doc.is_discarded()) ++r.valid;  // "valid" here means well-formed JSON
        break;
      }
      case Mode::kSax: {
        NullSax sax;
        if (nlohmann::json::sax_parse(line.begin(), line.end(), &sax)) ++r.valid;
        break;
      }
      case Mode::kRapidJson: {
        rapidjson::Document doc;
        // UTF-8 checked, as nlohmann and JSON.parse do; RapidJSON skips that by default.
        doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
        if (!doc.HasParseError()) ++r.valid;
        break;
      }
      case Mode::kParseJson: {
        if (sipcontract::parse_json(line)) ++r.valid;
        break;
      }
      case Mode::kIsValid: {
        auto parsed = sipcontract::parse_json(line);
        if (parsed && schema.is_valid(*parsed)) ++r.valid;
        break;
      }
      case Mode::kValidate: {
        auto parsed = sipcontract::parse_json(line);
        if (!parsed) {
          ++r.findings;  // a parse error is the one finding of that line
          break;
        }
        auto result = schema.validate(*parsed);
        r.findings += result.findings.size();
        if (result.valid()) ++r.valid;
        break;
      }
    }
  }
  return r;
}

/// User + system CPU time of the whole process (every thread) so far.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

/// The bytes a chunk of the shared queue holds, about (a chunk ends at a line end); as ajv-bench.js's
/// chunks (where smaller ones slow V8), and the threads' shared tail is one chunk a run, not one a pass.
constexpr std::size_t kChunkBytes = 1024 * 1024;

/// Cuts the corpus into `n` slices of about equal bytes, each ending at a line end.
std::vector<std::string_view> slice_corpus(std::string_view corpus, unsigned n) {
  std::vector<std::string_view> slices;
  std::size_t start = 0;
  for (unsigned i = 0; i < n; ++i) {
    std::size_t stop = (i + 1 == n) ? corpus.size() : corpus.size() * (i + 1) / n;
    if (stop < corpus.size()) {
      const auto nl = corpus.find('\n', std::max(stop, start));
      stop = nl == std::string_view::npos ? corpus.size() : nl + 1;
    }
    slices.push_back(corpus.substr(start, stop - start));
    start = stop;
  }
  return slices;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Validation throughput of the sipcontract library over an NDJSON corpus",
               "sipcontract-bench-validate"};
  std::string corpus_path;
  std::string mode_name = "is_valid";
  unsigned threads = 1;
  double min_time = 1.0;
  app.add_option("--corpus", corpus_path, "NDJSON corpus (sipcontract-bench-corpus)")->required();
  app.add_option(
         "--mode", mode_name,
         "check | validate_text | is_valid | validate | parse | parse_json | sax | rapidjson | simdjson")
      ->capture_default_str()
      ->check(CLI::IsMember({"check", "validate_text", "is_valid", "validate", "parse", "parse_json", "sax",
                             "rapidjson", "simdjson"}));
  app.add_option("--threads", threads, "worker threads; 0 = every core")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  app.add_option("--min-time", min_time, "seconds the timed passes should last at least")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 600.0));
  CLI11_PARSE(app, argc, argv);
  // A schema, case file or server that cannot be set up is a one-line error (exit 2), not an abort.
  try {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const std::map<std::string, Mode> modes = {
        {"check", Mode::kCheck},      {"validate_text", Mode::kValidateText},
        {"is_valid", Mode::kIsValid}, {"validate", Mode::kValidate},
        {"parse", Mode::kParse},      {"parse_json", Mode::kParseJson},
        {"sax", Mode::kSax},          {"rapidjson", Mode::kRapidJson},
        {"simdjson", Mode::kSimdjson}};
    const Mode mode = modes.at(mode_name);
#ifndef SIPCONTRACT_BENCH_HAVE_SIMDJSON
    if (mode == Mode::kSimdjson) {
      std::cerr << "sipcontract-bench-validate: built without simdjson (libsimdjson-dev)\n";
      return 2;
    }
#endif

    std::ifstream in(corpus_path, std::ios::binary);
    if (!in) {
      std::cerr << "sipcontract-bench-validate: cannot read " << corpus_path << '\n';
      return 2;
    }
    const std::string corpus((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (corpus.find_first_not_of(" \t\r\n") == std::string::npos) {
      std::cerr << "sipcontract-bench-validate: " << corpus_path << " holds no document\n";
      return 2;
    }
    const sipcontract::Schema& schema = sipcontract::Contract::builtin().request_schema();

    const auto chunks = slice_corpus(corpus, static_cast<unsigned>(std::max<std::size_t>(
                                                 1, (corpus.size() + kChunkBytes - 1) / kChunkBytes)));
    // Work item k is chunk k % chunks.size(); a phase hands out items [0, items).
    std::atomic<std::uint64_t> next{0};
    std::uint64_t items = chunks.size();  // the warm-up: one pass
    std::vector<PassResult> warm(threads), timed(threads);
    // Main joins every barrier: around the warm-up (to time it and choose the pass count), to start,
    // and to stop the clock.
    std::barrier sync(static_cast<std::ptrdiff_t>(threads) + 1);
    const auto drain = [&](PassResult& into) {
      for (std::uint64_t k; (k = next.fetch_add(1, std::memory_order_relaxed)) < items;)
        into += run_pass(chunks[k % chunks.size()], mode, schema);
    };
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        sync.arrive_and_wait();  // go: the warm-up
        drain(warm[t]);
        sync.arrive_and_wait();  // warm-up done
        sync.arrive_and_wait();  // go: `items` is the timed passes' work
        drain(timed[t]);
        sync.arrive_and_wait();  // done
      });
    }
    const auto w0 = Clock::now();
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    const double warm_seconds = std::chrono::duration<double>(Clock::now() - w0).count();
    const std::uint64_t passes = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(min_time / std::max(warm_seconds, 1e-6))));
    items = passes * chunks.size();
    next.store(0);
    const double cpu0 = process_cpu_seconds();
    const auto t0 = Clock::now();
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpus_used = (process_cpu_seconds() - cpu0) / seconds;
    for (auto& w : workers) w.join();

    PassResult total, timed_total;
    for (const auto& w : warm) total += w;
    for (const auto& w : timed) timed_total += w;
    const double docs = static_cast<double>(total.docs) * static_cast<double>(passes);
    const double bytes = static_cast<double>(corpus.size()) * static_cast<double>(passes);
    nlohmann::json out = {
        {"bench", "lib-" + mode_name}, {"threads", threads},           {"docs", total.docs},
        {"bytes", corpus.size()},      {"valid", total.valid},         {"passes", passes},
        {"seconds", seconds},          {"docs_per_s", docs / seconds}, {"mb_per_s", bytes / seconds / 1e6},
        {"cpus_used", cpus_used}};
    if (mode == Mode::kValidate || mode == Mode::kValidateText) out["findings_per_pass"] = total.findings;
    std::cout << out.dump() << '\n';
    // Every pass must give the same answer.
    return timed_total.findings == total.findings * passes && timed_total.valid == total.valid * passes &&
                   timed_total.docs == total.docs * passes
               ? 0
               : 3;
  } catch (const std::exception& e) {
    std::cerr << "sipcontract-bench-validate: " << e.what() << '\n';
    return 2;
  }
}
