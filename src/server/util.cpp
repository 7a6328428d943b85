#include "util.hpp"

#include "sipcontract/ascii.hpp"

namespace sipcontract::detail::refserver {
namespace {
constexpr char kHex[] = "0123456789abcdef";
}  // namespace

std::optional<BasicCredentials> parse_basic_authorization(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  constexpr std::string_view kScheme = "basic";
  if (value.size() <= kScheme.size()) return std::nullopt;
  if (!ascii_iequals(value.substr(0, kScheme.size()), kScheme)) return std::nullopt;
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
