#include "util.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace sipcontract::detail::refserver {
namespace {

// Random bytes for UUIDs and tokens, from the kernel's CSPRNG (getrandom), drawn 4 KiB at a time into
// a per-thread pool: one system call per 256 UUIDs and no lock. libuuid's uuid_generate_random()
// was the alternative; it costs about ten system calls per UUID on Debian 12 (getrandom, then
// getpid/getuid/gettid/getppid to reseed glibc's random(), whose global lock every worker thread
// then contends for), a measurable share of a create. The bytes here are the kernel's own, so a
// v4 UUID keeps its 122 independent random bits.
constexpr std::size_t kPoolBytes = 4096;

// Bumped in the child of a fork(): a pool copied from the parent must not hand out the bytes the
// parent hands out too.
std::atomic<std::uint64_t> fork_generation{0};

struct RandomPool {
  std::array<unsigned char, kPoolBytes> bytes{};
  std::size_t used = kPoolBytes;  // empty until first use
  std::uint64_t generation = 0;
};

void fill_from_kernel(unsigned char* out, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::getrandom(out, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
    }
    out += n;
    size -= static_cast<std::size_t>(n);
  }
}

void random_bytes(unsigned char* out, std::size_t size) {
  static const bool registered = [] {
    ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  thread_local RandomPool pool;
  const std::uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  if (pool.generation != generation) {
    pool.used = kPoolBytes;
    pool.generation = generation;
  }
  while (size > 0) {
    if (pool.used == kPoolBytes) {
      fill_from_kernel(pool.bytes.data(), kPoolBytes);
      pool.used = 0;
    }
    const std::size_t n = std::min(size, kPoolBytes - pool.used);
    std::memcpy(out, pool.bytes.data() + pool.used, n);
    // Bytes handed out are wiped from the pool, so nothing that produced a token lingers in memory.
    std::memset(pool.bytes.data() + pool.used, 0, n);
    pool.used += n;
    out += n;
    size -= n;
  }
}

constexpr char kHex[] = "0123456789abcdef";

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

std::string new_uuid() {
  std::array<unsigned char, 16> id;
  random_bytes(id.data(), id.size());
  id[6] = static_cast<unsigned char>((id[6] & 0x0f) | 0x40);  // version 4 (random)
  id[8] = static_cast<unsigned char>((id[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string text(36, '-');
  std::size_t at = 0;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;  // the dashes already in place
    text[at++] = kHex[id[i] >> 4];
    text[at++] = kHex[id[i] & 0xf];
  }
  return text;
}

std::optional<std::string> normalize_uuid(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::string out(36, '-');
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash) {
      if (text[i] != '-') return std::nullopt;
    } else {
      if (!is_hex(text[i])) return std::nullopt;
      out[i] = static_cast<char>(text[i] >= 'A' && text[i] <= 'F' ? text[i] - 'A' + 'a' : text[i]);
    }
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  std::string out;
  out.reserve(bytes * 2);
  std::array<unsigned char, 64> chunk;
  while (bytes > 0) {
    const std::size_t n = std::min(bytes, chunk.size());
    random_bytes(chunk.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      out.push_back(kHex[chunk[i] >> 4]);
      out.push_back(kHex[chunk[i] & 0xf]);
    }
    bytes -= n;
  }
  return out;
}

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Strict RFC 4648 base64 (padding required when the length is not a multiple of 4 is not
// demanded: some clients omit it).
std::optional<std::string> base64_decode(std::string_view in) {
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = base64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    if (i + 2 < in.size()) chunk |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(chunk >> 18) & 63]);
    out.push_back(kAlphabet[(chunk >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(chunk >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[chunk & 63] : '=');
  }
  return out;
}

std::optional<BasicCredentials> parse_basic_authorization(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  constexpr std::string_view kScheme = "basic";
  if (value.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return std::nullopt;
  }
  value.remove_prefix(kScheme.size());
  if (value.front() != ' ') return std::nullopt;
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  auto decoded = base64_decode(value);
  if (!decoded) return std::nullopt;
  const auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return BasicCredentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited whatever the contents, so the time tells an
  // attacker nothing about how long a matching prefix is.
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = diff | static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    // Very short secrets would match ordinary words; the validator never quotes secret values in
    // the first place, so this is a second line of defence for realistic passwords.
    if (secret.size() < 3) continue;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
      text.replace(pos, secret.size(), "[redacted]");
      pos += 10;
    }
  }
  return text;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

}  // namespace sipcontract::detail::refserver
