// JSON value semantics as draft 7 defines them (nlohmann's operator== compares an
// integer and a double through a lossy cast, and has no hash consistent with it).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include "internal.hpp"

namespace sipcontract::detail::validation {
namespace {

// long double on x86-64 carries a 64-bit mantissa: every int64, uint64 and double
// converts to it exactly, so comparisons through it are exact.
long double as_long_double(const Number& value) {
  switch (value.kind) {
    case Number::Kind::kInt:
      return static_cast<long double>(value.i);
    case Number::Kind::kUint:
      return static_cast<long double>(value.u);
    default:
      return static_cast<long double>(value.d);
  }
}

long double as_long_double(const Json& value) { return as_long_double(to_number(value)); }

__extension__ using Int128 = __int128;  // exact products of two 64-bit integers

bool to_int128(const Number& value, Int128& out) {
  if (value.kind == Number::Kind::kUint) {
    out = value.u;
    return true;
  }
  if (value.kind == Number::Kind::kInt) {
    out = value.i;
    return true;
  }
  if (!is_integral(value) || std::fabs(value.d) >= 9.2e18) return false;
  out = static_cast<Int128>(value.d);
  return true;
}

std::size_t mix(std::size_t seed, std::size_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2));
}

__extension__ using UInt128 = unsigned __int128;

/// |value| as digits * 10^exponent, digits without trailing zeros (0 for zero).
struct Decimal {
  UInt128 digits = 0;
  int exponent = 0;
};

bool to_decimal(const Number& value, Decimal& out) {
  out = Decimal{};
  switch (value.kind) {
    case Number::Kind::kInt:
      out.digits =
          value.i < 0 ? static_cast<UInt128>(-static_cast<Int128>(value.i)) : static_cast<UInt128>(value.i);
      break;
    case Number::Kind::kUint:
      out.digits = value.u;
      break;
    case Number::Kind::kDouble: {
      if (!std::isfinite(value.d)) return false;
      // The shortest round-trip form, "d.ddde+XX": at most 17 significant digits.
      char text[40];
      const auto result =
          std::to_chars(text, text + sizeof text, std::fabs(value.d), std::chars_format::scientific);
      if (result.ec != std::errc()) return false;
      int fraction_digits = 0;
      bool in_fraction = false;
      const char* p = text;
      for (; p != result.ptr && *p != 'e'; ++p) {
        if (*p == '.') {
          in_fraction = true;
          continue;
        }
        out.digits = out.digits * 10 + static_cast<unsigned>(*p - '0');
        if (in_fraction) ++fraction_digits;
      }
      int exponent = 0;
      if (p != result.ptr) {
        ++p;
        if (*p == '+') ++p;
        std::from_chars(p, result.ptr, exponent);
      }
      out.exponent = exponent - fraction_digits;
      break;
    }
  }
  if (out.digits == 0) {
    out.exponent = 0;
    return true;
  }
  while (out.digits % 10 == 0) out.digits /= 10, ++out.exponent;
  return true;
}

UInt128 gcd(UInt128 a, UInt128 b) {
  while (b != 0) {
    const UInt128 r = a % b;
    a = b;
    b = r;
  }
  return a;
}

}  // namespace

Number to_number(const Json& value) {
  switch (value.type()) {
    case Json::value_t::number_integer:
      return Number::of_int(value.get<std::int64_t>());
    case Json::value_t::number_unsigned:
      return Number::of_uint(value.get<std::uint64_t>());
    default:
      return Number::of_double(value.get<double>());
  }
}

int compare_numbers(const Number& a, const Number& b) {
  if (a.kind == Number::Kind::kInt && b.kind == Number::Kind::kInt) {
    return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
  }
  const long double x = as_long_double(a), y = as_long_double(b);
  return x < y ? -1 : (x > y ? 1 : 0);
}

int compare_numbers(const Json& a, const Json& b) { return compare_numbers(to_number(a), to_number(b)); }

bool is_integral(const Number& value) {
  if (value.kind != Number::Kind::kDouble) return true;
  return std::isfinite(value.d) && std::floor(value.d) == value.d;
}

bool is_integral(const Json& value) {
  if (value.is_number_integer()) return true;  // also true for unsigned
  if (!value.is_number_float()) return false;
  return is_integral(to_number(value));
}

bool is_multiple(const Number& value, const Number& divisor) {
  Int128 x = 0, y = 0;
  if (to_int128(value, x) && to_int128(divisor, y) && y != 0) return x % y == 0;
  // Otherwise exactly, on the numbers as decimals: a double is read as the shortest decimal
  // that converts back to it (what the schema's author wrote, 0.1 rather than its binary
  // neighbour), so 0.3 is a multiple of 0.1 and 1e308 is not a multiple of 0.123456789.
  Decimal a, b;
  if (!to_decimal(value, a) || !to_decimal(divisor, b) || b.digits == 0) return false;
  if (a.digits == 0) return true;
  const long shift = static_cast<long>(a.exponent) - b.exponent;  // value / divisor = (A / B) * 10^shift
  if (shift >= 0) {
    // B / gcd(A, B) must divide 10^shift: only factors 2 and 5, each at most `shift` times.
    UInt128 rest = b.digits / gcd(a.digits, b.digits);
    long twos = 0, fives = 0;
    while (rest % 2 == 0) rest /= 2, ++twos;
    while (rest % 5 == 0) rest /= 5, ++fives;
    return rest == 1 && twos <= shift && fives <= shift;
  }
  // B * 10^-shift must divide A (A < 2^64 and B >= 1: past 10^20 it cannot).
  UInt128 modulus = b.digits;
  for (long i = 0; i < -shift; ++i) {
    if (modulus > a.digits) return false;
    modulus *= 10;
  }
  return modulus <= a.digits && a.digits % modulus == 0;
}

bool json_equal(const Json& a, const Json& b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::value_t::string:
      return a.get_ref<const std::string&>() == b.get_ref<const std::string&>();
    case Json::value_t::boolean:
      return a.get<bool>() == b.get<bool>();
    case Json::value_t::null:
      return true;
    case Json::value_t::array: {
      if (a.size() != b.size()) return false;
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (!json_equal(a[i], b[i])) return false;
      }
      return true;
    }
    case Json::value_t::object: {
      if (a.size() != b.size()) return false;
      for (auto it = a.begin(); it != a.end(); ++it) {
        auto other = b.find(it.key());
        if (other == b.end() || !json_equal(it.value(), *other)) return false;
      }
      return true;
    }
    default:
      return a == b;
  }
}

std::size_t json_hash(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return 0x6e756c6cU;
    case Json::value_t::boolean:
      return value.get<bool>() ? 0x74727565U : 0x66616c73U;
    case Json::value_t::string:
      return std::hash<std::string>{}(value.get_ref<const std::string&>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: {
      // Equal numbers hash alike whatever their representation (1, 1u and 1.0).
      const long double v = as_long_double(value);
      if (is_integral(value)) {
        if (v >= 0 && v <= static_cast<long double>(std::numeric_limits<std::uint64_t>::max())) {
          return std::hash<std::uint64_t>{}(static_cast<std::uint64_t>(v));
        }
        if (v < 0 && v >= static_cast<long double>(std::numeric_limits<std::int64_t>::min())) {
          return std::hash<std::int64_t>{}(static_cast<std::int64_t>(v));
        }
      }
      return std::hash<double>{}(static_cast<double>(v));
    }
    case Json::value_t::array: {
      std::size_t seed = 0x61727261U;
      for (const auto& item : value) seed = mix(seed, json_hash(item));
      return seed;
    }
    case Json::value_t::object: {
      std::size_t seed = 0x6f626a65U;
      for (auto it = value.begin(); it != value.end(); ++it) {
        seed = mix(seed, std::hash<std::string>{}(it.key()));
        seed = mix(seed, json_hash(it.value()));
      }
      return seed;
    }
    default:
      return 0;
  }
}

std::size_t utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

void release(Json& document) {
  if (!document.is_structured()) return;
  // Breadth first, so that every structured value comes after its parent; emptied in reverse,
  // each one's children are already empty when it is.
  thread_local std::vector<Json*> nodes;
  nodes.clear();
  nodes.push_back(&document);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    Json& node = *nodes[i];
    if (node.is_object()) {
      for (auto& member : node.get_ref<Json::object_t&>())
        if (member.second.is_structured()) nodes.push_back(&member.second);
    } else {
      for (auto& item : node.get_ref<Json::array_t&>())
        if (item.is_structured()) nodes.push_back(&item);
    }
  }
  for (std::size_t i = nodes.size(); i-- > 0;) nodes[i]->clear();
  if (nodes.capacity() > 4096) std::vector<Json*>().swap(nodes);  // a huge document's list goes
}

}  // namespace sipcontract::detail::validation
