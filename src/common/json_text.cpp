#include "sipcontract/json_text.hpp"

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

namespace sipcontract {
namespace {
constexpr char kHex[] = "0123456789abcdef";

// What a byte needs in a JSON string: 0 nothing; 1 an escape when displayed (DEL); 2 an escape, or
// from 0x80 a UTF-8 check, always.
constexpr std::array<unsigned char, 256> kByteClass = [] {
  std::array<unsigned char, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80 ? 2 : 0;
  table[0x7f] = 1;
  return table;
}();

// The top bit of each of the 8 bytes of `word` (the first in memory lowest) that needs kByteClass's
// attention at `stop` or above: a control character, '"', '\\', a byte from 0x80, and (stop 1) DEL.
// Each test is the has-less-than trick (a byte below n, n <= 0x20, sets its top bit in
// (w - n) & ~w). A borrow can flag a byte above one that is truly flagged, never below: the lowest
// bit set marks the first byte that needs attention.
inline std::uint64_t needs_escape(std::uint64_t word, unsigned char stop) {
  constexpr std::uint64_t kOnes = 0x0101010101010101u, kHigh = 0x8080808080808080u;
  const auto below = [&](std::uint64_t v, unsigned char n) { return (v - kOnes * n) & ~v & kHigh; };
  std::uint64_t found =
      (word & kHigh) | below(word, 0x20) | below(word ^ (kOnes * '"'), 1) | below(word ^ (kOnes * '\\'), 1);
  if (stop == 1) found |= below(word ^ (kOnes * 0x7f), 1);
  return found;
}
}  // namespace

std::size_t utf8_character(std::string_view text, std::size_t i, bool* well_formed) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  std::size_t need = 1;
  unsigned char lo = 0x80, hi = 0xbf;  // the range of the next byte (RFC 3629, table 3-7 of Unicode)
  if (c >= 0xc2 && c <= 0xdf) {
    need = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 3;
    if (c == 0xe0) lo = 0xa0;  // no overlong forms
    if (c == 0xed) hi = 0x9f;  // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 4;
    if (c == 0xf0) lo = 0x90;  // no overlong forms
    if (c == 0xf4) hi = 0x8f;  // nothing past U+10FFFF
  } else {
    if (well_formed) *well_formed = c < 0x80;
    return 1;
  }
  std::size_t n = 1;
  for (; n < need && i + n < text.size(); ++n, lo = 0x80, hi = 0xbf)
    if (byte(i + n) < lo || byte(i + n) > hi) break;
  if (well_formed) *well_formed = n == need;
  return n;
}

void append_json_string(std::string& out, std::string_view text, JsonEscape escape) {
  // A byte of this class or above needs more than a copy.
  const unsigned char stop = escape == JsonEscape::kDisplay ? 1 : 2;
  // Written into a buffer on the stack and appended to `out` when it is nearly full and at the end:
  // one append for most strings. Each step writes at most 8 bytes, into the slack past kFlushAt.
  constexpr std::size_t kFlushAt = 256;
  char buffer[kFlushAt + 16];
  std::size_t used = 0;
  const auto put = [&](const char* bytes, std::size_t n) {  // n <= 8
    std::memcpy(buffer + used, bytes, n);
    used += n;
  };
  buffer[used++] = '"';
  const char* const data = text.data();
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    if (used >= kFlushAt) {
      out.append(buffer, used);
      used = 0;
    }
    unsigned char c;
    if (std::endian::native == std::endian::little && i + 8 <= size) {
      // Eight bytes are copied as they are; those from the first that needs attention are then
      // written over (the lowest flag is that byte: see needs_escape()).
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      std::memcpy(buffer + used, &word, 8);
      const std::uint64_t found = needs_escape(word, stop);
      if (found == 0) {
        used += 8;
        i += 8;
        continue;
      }
      const std::size_t clean = static_cast<std::size_t>(std::countr_zero(found)) / 8;
      used += clean;
      i += clean;
      c = static_cast<unsigned char>(data[i]);
    } else {
      c = static_cast<unsigned char>(data[i]);
      if (kByteClass[c] < stop) {
        buffer[used++] = static_cast<char>(c);
        ++i;
        continue;
      }
    }
    if (c >= 0x80) {
      bool well_formed = false;
      const std::size_t n = utf8_character(text, i, &well_formed);
      if (well_formed)
        put(data + i, n);
      else
        put("\xEF\xBF\xBD", 3);  // U+FFFD for the maximal ill-formed subpart
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        put("\\\"", 2);
        break;
      case '\\':
        put("\\\\", 2);
        break;
      case '\b':
        put("\\b", 2);
        break;
      case '\f':
        put("\\f", 2);
        break;
      case '\n':
        put("\\n", 2);
        break;
      case '\r':
        put("\\r", 2);
        break;
      case '\t':
        put("\\t", 2);
        break;
      default: {
        // The other control characters, and DEL when displayed.
        const char escaped[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
        put(escaped, sizeof escaped);
      }
    }
    ++i;
  }
  buffer[used++] = '"';
  out.append(buffer, used);
}

std::string json_escaped(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out.substr(1, out.size() - 2);
}

}  // namespace sipcontract
