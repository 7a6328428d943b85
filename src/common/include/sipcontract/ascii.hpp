// ASCII case folding: header names, URL schemes and hosts, field names and enum values are
// compared without regard to ASCII case, never by the C locale's rules (and without its cost).
#pragma once

#include <string>
#include <string_view>

namespace sipcontract {

/// `c` with A-Z mapped to a-z; every other byte unchanged.
constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

/// `text` with A-Z mapped to a-z.
inline std::string ascii_lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

/// True when `a` and `b` are equal but for ASCII case.
constexpr bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

}  // namespace sipcontract
