#include "sipcontract/json_text.hpp"

#include <array>

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
  // A byte of this class or above ends a run of bytes copied as they are.
  const unsigned char stop = escape == JsonEscape::kDisplay ? 1 : 2;
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    // Runs of bytes that need no escaping are copied in one go.
    std::size_t run = i;
    while (run < text.size()) {
      if (kByteClass[static_cast<unsigned char>(text[run])] >= stop) break;
      ++run;
    }
    out.append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      bool well_formed = false;
      const std::size_t n = utf8_character(text, i, &well_formed);
      if (well_formed)
        out.append(text.data() + i, n);
      else
        out += "\xEF\xBF\xBD";  // U+FFFD for the maximal ill-formed subpart
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";  // the other control characters, and DEL when displayed
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
    ++i;
  }
  out.push_back('"');
}

std::string json_escaped(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out.substr(1, out.size() - 2);
}

}  // namespace sipcontract
