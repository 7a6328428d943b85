#include "sipcontract/random.hpp"

#include <pthread.h>
#include <sys/random.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace sipcontract {
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

constexpr char kHex[] = "0123456789abcdef";

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

void random_bytes(void* destination, std::size_t size) {
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
  auto* out = static_cast<unsigned char*>(destination);
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

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !is_hex(text[i])) return false;
  }
  return true;
}

std::optional<std::string> normalize_uuid(std::string_view text) {
  if (!is_uuid(text)) return std::nullopt;
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace sipcontract
