// Draft-7 "format" checks. valijson 1.0 checks only date, time and date-time (with
// regexes and a calendar check that ignores leap years); these follow the RFCs the
// draft names: RFC 4122 (uuid), RFC 3339 (date, time, date-time), RFC 5321/5322
// (email, dot-atom or quoted local part), RFC 1123 (hostname), RFC 2673 and 4291
// (ipv4, ipv6), RFC 3986 (uri, uri-reference) and RFC 6901 (json-pointer).
#include <arpa/inet.h>

#include <array>
#include <string>

#include "internal.hpp"
#include "sipcontract/random.hpp"

namespace sipcontract::detail::validation {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

int number(std::string_view digits) {
  int value = 0;
  for (char c : digits) value = value * 10 + (c - '0');
  return value;
}

bool leap_year(int year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && leap_year(year) ? 29 : kDays[month - 1];
}

// full-date = date-fullyear "-" date-month "-" date-mday
bool check_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  const auto year = s.substr(0, 4), month = s.substr(5, 2), day = s.substr(8, 2);
  if (!all_digits(year) || !all_digits(month) || !all_digits(day)) return false;
  const int m = number(month), d = number(day);
  return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(number(year), m);
}

// full-time = partial-time time-offset; a leap second (:60) only at 23:59 UTC.
bool check_time(std::string_view s) {
  if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
  const auto hh = s.substr(0, 2), mm = s.substr(3, 2), ss = s.substr(6, 2);
  if (!all_digits(hh) || !all_digits(mm) || !all_digits(ss)) return false;
  const int hour = number(hh), minute = number(mm), second = number(ss);
  if (hour > 23 || minute > 59 || second > 60) return false;
  std::size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i >= s.size()) return false;
  int offset_minutes = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != s.size()) return false;
  } else if (s[i] == '+' || s[i] == '-') {
    const auto offset = s.substr(i + 1);
    if (offset.size() != 5 || offset[2] != ':') return false;
    const auto oh = offset.substr(0, 2), om = offset.substr(3, 2);
    if (!all_digits(oh) || !all_digits(om) || number(oh) > 23 || number(om) > 59) return false;
    offset_minutes = (number(oh) * 60 + number(om)) * (s[i] == '+' ? 1 : -1);
  } else {
    return false;
  }
  if (second == 60) {
    const int utc = ((hour * 60 + minute - offset_minutes) % 1440 + 1440) % 1440;
    return utc == 23 * 60 + 59;
  }
  return true;
}

bool check_date_time(std::string_view s) {
  return s.size() > 11 && (s[10] == 'T' || s[10] == 't') && check_date(s.substr(0, 10)) &&
         check_time(s.substr(11));
}

bool check_ipv4(std::string_view s) {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const auto part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > 3 || !all_digits(part)) return false;
    if (part.size() > 1 && part[0] == '0') return false;  // leading zeros read as octal by some parsers
    if (number(part) > 255) return false;
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

bool check_ipv6(std::string_view s) {
  if (s.empty() || s.size() > 45) return false;
  for (char c : s) {
    if (!is_hex(c) && c != ':' && c != '.') return false;  // no zone ids, no whitespace
  }
  const std::string text(s);
  unsigned char buffer[16];
  return inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool check_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const auto label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_atext(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~-";
  return is_alpha(c) || is_digit(c) || kSpecials.find(c) != std::string_view::npos;
}

bool check_email(std::string_view s) {
  const std::size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0) return false;
  const auto local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64) return false;
  if (local.front() == '"') {
    if (local.size() < 2 || local.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
      const char c = local[i];
      if (c == '\\') {
        if (i + 1 >= local.size() - 1) return false;  // the escaped character must be inside the quotes
        ++i;
        continue;
      }
      if (c == '"' || static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)
        return false;
    }
  } else {
    if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
      return false;
    for (char c : local) {
      if (c != '.' && !is_atext(c)) return false;
    }
  }
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    const auto literal = domain.substr(1, domain.size() - 2);
    if (literal.substr(0, 5) == "IPv6:") return check_ipv6(literal.substr(5));
    return check_ipv4(literal);
  }
  return check_hostname(domain);
}

// RFC 3986 character classes.
bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool is_sub_delim(char c) { return std::string_view("!$&'()*+,;=").find(c) != std::string_view::npos; }

// Checks that every character of `s` is unreserved, a sub-delim, a valid
// percent-encoding or one of `extra`.
bool chars_ok(std::string_view s, std::string_view extra) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return false;
      if (!is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!is_unreserved(c) && !is_sub_delim(c) && extra.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool check_authority(std::string_view authority) {
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    if (!chars_ok(authority.substr(0, at), ":")) return false;
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
    }
    if (!host.empty() && (host.front() == 'v' || host.front() == 'V')) {
      const std::size_t dot = host.find('.');
      if (dot == std::string_view::npos || dot < 2 || dot + 1 >= host.size()) return false;
      for (std::size_t i = 1; i < dot; ++i) {
        if (!is_hex(host[i])) return false;
      }
      if (!chars_ok(host.substr(dot + 1), ":")) return false;
    } else if (!check_ipv6(host)) {
      return false;
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!chars_ok(host, "")) return false;
  }
  for (char c : port) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// relative-part or hier-part, then [ "?" query ] [ "#" fragment ].
bool check_reference_tail(std::string_view s, bool relative) {
  const std::size_t hash = s.find('#');
  if (hash != std::string_view::npos) {
    if (!chars_ok(s.substr(hash + 1), ":@/?")) return false;
    s = s.substr(0, hash);
  }
  const std::size_t question = s.find('?');
  if (question != std::string_view::npos) {
    if (!chars_ok(s.substr(question + 1), ":@/?")) return false;
    s = s.substr(0, question);
  }
  if (s.substr(0, 2) == "//") {
    const auto rest = s.substr(2);
    const std::size_t slash = rest.find('/');
    if (!check_authority(rest.substr(0, slash))) return false;
    return slash == std::string_view::npos || chars_ok(rest.substr(slash), ":@/");
  }
  if (relative) {
    // path-noscheme: a colon in the first segment would read as a scheme.
    const auto first_segment = s.substr(0, s.find('/'));
    if (first_segment.find(':') != std::string_view::npos) return false;
  }
  return chars_ok(s, ":@/");
}

// Returns the length of a valid "scheme:" prefix, or 0.
std::size_t scheme_length(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return 0;
  for (std::size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ':') return i + 1;
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return 0;
  }
  return 0;
}

bool check_uri(std::string_view s) {
  const std::size_t scheme = scheme_length(s);
  return scheme > 0 && check_reference_tail(s.substr(scheme), false);
}

bool check_uri_reference(std::string_view s) {
  if (scheme_length(s) > 0) return check_uri(s);
  return check_reference_tail(s, true);
}

bool check_json_pointer(std::string_view s) {
  if (s.empty()) return true;
  if (s.front() != '/') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '~' && (i + 1 >= s.size() || (s[i + 1] != '0' && s[i + 1] != '1'))) return false;
  }
  return true;
}

}  // namespace

std::optional<Format> format_from_name(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, Format>, 11> kFormats = {{
      {"uuid", Format::kUuid},
      {"date", Format::kDate},
      {"time", Format::kTime},
      {"date-time", Format::kDateTime},
      {"email", Format::kEmail},
      {"ipv4", Format::kIpv4},
      {"ipv6", Format::kIpv6},
      {"hostname", Format::kHostname},
      {"uri", Format::kUri},
      {"uri-reference", Format::kUriReference},
      {"json-pointer", Format::kJsonPointer},
  }};
  for (const auto& [known, format] : kFormats) {
    if (known == name) return format;
  }
  return std::nullopt;
}

bool check_format(Format format, std::string_view text) {
  switch (format) {
    case Format::kUuid:
      return sipcontract::is_uuid(text);  // the one UUID check (src/common)
    case Format::kDate:
      return check_date(text);
    case Format::kTime:
      return check_time(text);
    case Format::kDateTime:
      return check_date_time(text);
    case Format::kEmail:
      return check_email(text);
    case Format::kIpv4:
      return check_ipv4(text);
    case Format::kIpv6:
      return check_ipv6(text);
    case Format::kHostname:
      return check_hostname(text);
    case Format::kUri:
      return check_uri(text);
    case Format::kUriReference:
      return check_uri_reference(text);
    case Format::kJsonPointer:
      return check_json_pointer(text);
  }
  return true;
}

}  // namespace sipcontract::detail::validation
