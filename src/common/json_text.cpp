#include "sipcontract/json_text.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

namespace {
constexpr bool kWordScan = std::endian::native == std::endian::little;

#if defined(__SSE2__)
// A bit per byte of the 16 at `p` (the first in memory lowest) that needs kByteClass's attention
// at `stop` or above: below 0x20 as a signed byte takes the control characters and every byte
// from 0x80 at once.
inline unsigned special16(const char* p, unsigned char stop) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m128i m = _mm_or_si128(
      _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
      _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
  if (stop == 1) m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
  return static_cast<unsigned>(_mm_movemask_epi8(m));
}
constexpr std::size_t kStep = 16;
#else
inline unsigned special16(const char*, unsigned char) { return 0; }
constexpr std::size_t kStep = 0;  // no 16-byte steps: SWAR words only
#endif

// Where the first byte of `text` from `i` that needs more than a copy (kByteClass at `stop` or
// above) is; text.size() when none does.
std::size_t next_special(std::string_view text, std::size_t i, unsigned char stop) {
  const char* const data = text.data();
  const std::size_t size = text.size();
  if constexpr (kStep != 0) {
    for (; i + kStep <= size; i += kStep)
      if (const unsigned found = special16(data + i, stop); found != 0)
        return i + static_cast<std::size_t>(std::countr_zero(found));
  }
  if constexpr (kWordScan) {
    for (; i + 8 <= size; i += 8) {
      std::uint64_t word;
      std::memcpy(&word, data + i, 8);
      if (const std::uint64_t found = needs_escape(word, stop); found != 0)
        return i + static_cast<std::size_t>(std::countr_zero(found)) / 8;
    }
  }
  for (; i < size; ++i)
    if (kByteClass[static_cast<unsigned char>(data[i])] >= stop) return i;
  return size;
}

// The second character of a byte's two-character escape; 0 where it has none (\u00XX).
constexpr std::array<char, 0x80> kShortEscape = [] {
  std::array<char, 0x80> table{};
  table['"'] = '"';
  table['\\'] = '\\';
  table['\b'] = 'b';
  table['\f'] = 'f';
  table['\n'] = 'n';
  table['\r'] = 'r';
  table['\t'] = 't';
  return table;
}();

// The escape of a byte below 0x80 that needs one (kByteClass), written at `to`; returns its length.
std::size_t escape_byte(unsigned char c, char* to) {
  to[0] = '\\';
  if (const char second = kShortEscape[c]; second != 0) {
    to[1] = second;
    return 2;
  }
  // The other control characters, and DEL when displayed.
  const char rest[] = {'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
  std::memcpy(to + 1, rest, sizeof rest);
  return 1 + sizeof rest;
}
}  // namespace

void append_json_string(std::string& out, std::string_view text, JsonEscape escape) {
  // A byte of this class or above needs more than a copy.
  const unsigned char stop = escape == JsonEscape::kDisplay ? 1 : 2;
  const char* const data = text.data();
  const std::size_t size = text.size();
  const std::size_t base = out.size();
  // Most texts (names, keywords, most values) are short and need no escape: copied with their
  // quotes into a buffer, checked there 16 bytes at a time, and appended in one call.
  constexpr std::size_t kShort = 62;
  std::size_t i = 0;
  if (kStep != 0 && size <= kShort) {
    char quoted[kShort + 2 + 16] = {};  // the bytes past the text are read, and not counted
    quoted[0] = '"';
    std::memcpy(quoted + 1, data, size);
    for (; i < size; i += kStep) {
      unsigned found = special16(quoted + 1 + i, stop);
      if (size - i < kStep) found &= (1u << (size - i)) - 1;
      if (found != 0) {
        i += static_cast<std::size_t>(std::countr_zero(found));
        break;
      }
    }
    if (i >= size) {
      quoted[size + 1] = '"';
      out.append(quoted, size + 2);
      return;
    }
  } else {
    i = next_special(text, 0, stop);
  }
  if (i == size) {
    out += '"';
    out.append(data, size);
    out += '"';
    return;
  }
  // Room for the worst case of a block of the input (6 bytes a byte, \u00XX), plus 16 for the
  // steps that copy 16 bytes and the closing quote, is made at once and written through a
  // pointer; the string is cut back to what was written at the end.
  constexpr std::size_t kBlock = 4096;
  std::size_t block_end = std::min(size, std::max(i, kBlock));
  out.resize(base + 1 + i + 6 * (block_end - i) + 17);
  char* to = out.data() + base;
  *to++ = '"';
  std::memcpy(to, data, i);
  to += i;
  while (true) {
    while (i < block_end) {
      unsigned char c;
      if (kStep != 0 && i + kStep <= block_end) {
        // Sixteen bytes are copied as they are; those from the first that needs attention are
        // then written over.
        std::memcpy(to, data + i, kStep);
        const unsigned found = special16(data + i, stop);
        if (found == 0) {
          to += kStep;
          i += kStep;
          continue;
        }
        const std::size_t clean = static_cast<std::size_t>(std::countr_zero(found));
        to += clean;
        i += clean;
        c = static_cast<unsigned char>(data[i]);
      } else if (kWordScan && i + 8 <= block_end) {
        // Eight bytes are copied as they are; those from the first that needs attention are then
        // written over (the lowest flag is that byte: see needs_escape()).
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        std::memcpy(to, &word, 8);
        const std::uint64_t found = needs_escape(word, stop);
        if (found == 0) {
          to += 8;
          i += 8;
          continue;
        }
        const std::size_t clean = static_cast<std::size_t>(std::countr_zero(found)) / 8;
        to += clean;
        i += clean;
        c = static_cast<unsigned char>(data[i]);
      } else {
        c = static_cast<unsigned char>(data[i]);
        if (kByteClass[c] < stop) {
          *to++ = static_cast<char>(c);
          ++i;
          continue;
        }
      }
      if (c >= 0x80) {
        // A sequence may run past the block's end: its room is in the slack (at most 4 bytes).
        bool well_formed = false;
        const std::size_t n = utf8_character(text, i, &well_formed);
        if (well_formed) {
          std::memcpy(to, data + i, n);
          to += n;
        } else {
          std::memcpy(to, "\xEF\xBF\xBD", 3);  // U+FFFD for the maximal ill-formed subpart
          to += 3;
        }
        i += n;
        continue;
      }
      to += escape_byte(c, to);
      ++i;
    }
    if (i >= size) break;
    const std::size_t written = static_cast<std::size_t>(to - out.data());
    block_end = std::min(size, i + kBlock);
    out.resize(written + 6 * (block_end - i) + 17);
    to = out.data() + written;
  }
  *to++ = '"';
  out.resize(static_cast<std::size_t>(to - out.data()));
}

std::string json_escaped(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out.substr(1, out.size() - 2);
}

}  // namespace sipcontract
