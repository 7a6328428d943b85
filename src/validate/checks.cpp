// The checks a compiled schema runs, with draft-7 semantics and messages a person
// can act on. Every message that would show an instance value hides it when the
// value sits under a secret field.
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cmath>
#include <functional>
#include <limits>
#include <new>
#include <regex>
#include <stdexcept>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <valijson/constraints/concrete_constraints.hpp>
#include <valijson/validation_visitor.hpp>

#include "adapter.hpp"
#include "compiled.hpp"
#include "fast.hpp"

namespace sipcontract::detail::validation {
namespace {

constexpr const char* kHidden = "the value (hidden: secret field)";

thread_local bool valijson_only = false;  // ValijsonOnly

// valijson's visitor wants a regex cache. No std::regex constraint ever reaches it
// (pattern and patternProperties are compiled checks using RE2), so it stays empty;
// thread_local keeps even that shared state out of reach of other threads.
std::unordered_map<std::string, std::regex>& unused_regex_cache() {
  thread_local std::unordered_map<std::string, std::regex> cache;
  return cache;
}

std::string plural(std::uint64_t count, const char* one, const char* many) {
  return std::to_string(count) + " " + (count == 1 ? one : many);
}

std::string subject(const Json& value, const Out& out) {
  return out.secret() ? kHidden : render_value(value);
}

std::string list_values(const std::vector<Json>& values) {
  constexpr std::size_t kShown = 20;
  std::string out;
  for (std::size_t i = 0; i < values.size() && i < kShown; ++i) {
    if (i > 0) out += ", ";
    out += render_value(values[i], true);
  }
  if (values.size() > kShown) out += ", ... (" + std::to_string(values.size() - kShown) + " more)";
  return out;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  append_names(out, names);
  return out;
}

Context child_context(const Context& context, const std::string& token) {
  Context child;
  child.reserve(context.size() + 1);
  child = context;
  child.push_back("[" + token + "]");
  return child;
}

// Runs `unit` on a member or item (`token` names it): the verdict program first, so that a valid
// child costs neither its context nor valijson's visitor.
bool run_child(const Unit& unit, const Json& value, const Out& out, const std::string& token) {
  if (!out.reporting()) return run_unit(unit, value, out.context(), nullptr);
  if (unit.program != nullptr && !valijson_only && fast::valid_at(*unit.program, unit.fast_node, value))
    return true;
  return run_unit(unit, value, child_context(out.context(), token), out.results(), true);
}

RawFinding finding(std::string keyword, std::string message) {
  RawFinding f;
  f.keyword = std::move(keyword);
  f.message = std::move(message);
  return f;
}

// ---------------------------------------------------------------------------
class TypeCheck final : public Check {
 public:
  TypeCheck(unsigned mask, std::vector<std::string> names) : mask_(mask) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (i > 0) expected_ += (i + 1 == names.size()) ? " or " : ", ";
      expected_ += names[i];
    }
  }
  bool check(const Json& value, const Out& out) const override {
    if (matches(value)) return true;
    if (out.reporting()) {
      const std::string got = type_name(value);
      std::string message;
      message.reserve(std::size(kExpected) + expected_.size() + std::size(kGot) + got.size());
      message.append(kExpected).append(expected_).append(kGot).append(got);
      out.report(finding("type", std::move(message)));
    }
    return false;
  }

 private:
  bool matches(const Json& value) const {
    switch (value.type()) {
      case Json::value_t::null:
        return mask_ & kTypeNull;
      case Json::value_t::boolean:
        return mask_ & kTypeBoolean;
      case Json::value_t::object:
        return mask_ & kTypeObject;
      case Json::value_t::array:
        return mask_ & kTypeArray;
      case Json::value_t::string:
        return mask_ & kTypeString;
      case Json::value_t::number_integer:
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float:
        // Draft 7: an integer is any number with a zero fractional part, 1.0 included.
        return (mask_ & kTypeNumber) || ((mask_ & kTypeInteger) && is_integral(value));
      default:
        return false;
    }
  }
  static constexpr std::string_view kExpected = "expected ";
  static constexpr std::string_view kGot = ", got ";
  unsigned mask_;
  std::string expected_;
};

// ---------------------------------------------------------------------------
class EnumCheck final : public Check {
 public:
  explicit EnumCheck(std::vector<Json> values) : values_(std::move(values)), allowed_(list_values(values_)) {
    all_strings_ = std::all_of(values_.begin(), values_.end(), [](const Json& v) { return v.is_string(); });
    for (const auto& allowed : values_) {
      if (allowed.is_string()) strings_.push_back(allowed.get<std::string>());
    }
    folded_ = folded_names(strings_);
  }
  bool check(const Json& value, const Out& out) const override {
    if (value.is_string() && all_strings_) {
      const auto& text = value.get_ref<const std::string&>();
      for (const auto& allowed : values_) {
        if (allowed.get_ref<const std::string&>() == text) return true;
      }
    } else {
      for (const auto& allowed : values_) {
        if (json_equal(allowed, value)) return true;
      }
    }
    if (!out.reporting()) return false;
    RawFinding f = finding("enum", subject(value, out));
    f.message.reserve(f.message.size() + 64 + allowed_.size());  // the rest below, in one allocation
    f.message += " is not an allowed value; ";
    if (!out.secret() && value.is_string() && !is_secret_text(value.get_ref<const std::string&>()))
      f.suggestion = suggest(value.get_ref<const std::string&>());
    if (f.suggestion) f.message += "did you mean " + render_value(*f.suggestion, true) + "? ";
    f.message += "allowed: ";
    f.message += allowed_;
    f.allowed = values_;  // shared, not copied
    out.report(std::move(f));
    return false;
  }

 private:
  // The allowed string the text most likely misspells (closest_name), when one is obvious.
  std::optional<Json> suggest(const std::string& text) const {
    auto name = closest_name(text, strings_, folded_);
    if (!name) return std::nullopt;
    return Json(std::move(*name));
  }
  AllowedValues values_;
  std::string allowed_;               // the values as a message lists them
  std::vector<std::string> strings_;  // the string values, for suggestions
  std::vector<std::string> folded_;   // the same as closest_name() compares them
  bool all_strings_ = false;
};

// ---------------------------------------------------------------------------
class ConstCheck final : public Check {
 public:
  explicit ConstCheck(Json value) : value_(std::move(value)), allowed_{value_} {}
  bool check(const Json& value, const Out& out) const override {
    if (json_equal(value_, value)) return true;
    if (!out.reporting()) return false;
    RawFinding f = finding(
        "const",
        "expected " + render_value(value_, true) + ", got " +
            (out.secret() ? std::string("a different value (hidden: secret field)") : render_value(value)));
    f.allowed = allowed_;
    out.report(std::move(f));
    return false;
  }

 private:
  Json value_;
  AllowedValues allowed_;  // {value_}, for its findings
};

// ---------------------------------------------------------------------------
class FormatCheck final : public Check {
 public:
  FormatCheck(Format format, std::string name) : format_(format), name_(std::move(name)) {}
  bool check(const Json& value, const Out& out) const override {
    // Draft 7: a format applies to strings only; other types pass.
    if (!value.is_string() || check_format(format_, value.get_ref<const std::string&>())) return true;
    if (out.reporting()) out.report(finding("format", subject(value, out) + " is not a valid " + name_));
    return false;
  }

 private:
  Format format_;
  std::string name_;
};

// ---------------------------------------------------------------------------
// ECMA-262 patterns (as ajv compiles them) in RE2's syntax, with ECMA's meaning where RE2's differs:
// - "." matches any character but a line terminator (\n, \r, U+2028, U+2029);
// - \s and \S know ECMA's white space (Unicode's spaces, U+FEFF, the line terminators), in and out
//   of a class; [\b] is a backspace, \cX a control character, [] matches nothing and [^] anything;
// - \uXXXX is a code point, a surrogate pair written as two (\uD83D\uDE00) the one it encodes;
// - (?<name> is RE2's (?P<name>.
namespace ecma {
constexpr std::string_view kSpace =
    "\\t\\n\\x{B}\\f\\r "
    "\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}";
// Every code point kSpace does not hold, for \S inside a class (RE2 has no class within a class).
constexpr std::string_view kNotSpace =
    "\\x{0}-\\x{8}\\x{E}-\\x{1F}\\x{21}-\\x{9F}\\x{A1}-\\x{167F}\\x{1681}-\\x{1FFF}\\x{200B}-\\x{2027}"
    "\\x{202A}-\\x{202E}\\x{2030}-\\x{205E}\\x{2060}-\\x{2FFF}\\x{3001}-\\x{FEFE}\\x{FF00}-\\x{10FFFF}";
constexpr std::string_view kAnyButLineEnd = "[^\\n\\r\\x{2028}\\x{2029}]";
constexpr std::string_view kAnything = "[\\x{0}-\\x{10FFFF}]";
constexpr std::string_view kNothing = "[^\\x{0}-\\x{10FFFF}]";

// The four hex digits of a \uXXXX at pattern[at] ('\\'), or -1.
long hex4(const std::string& pattern, std::size_t at) {
  if (at + 5 >= pattern.size() || pattern[at] != '\\' || pattern[at + 1] != 'u') return -1;
  long value = 0;
  for (std::size_t k = at + 2; k < at + 6; ++k) {
    const auto h = static_cast<unsigned char>(pattern[k]);
    if (!std::isxdigit(h)) return -1;
    value = value * 16 + (std::isdigit(h) ? h - '0' : std::tolower(h) - 'a' + 10);
  }
  return value;
}

void append_code_point(std::string& out, unsigned long code_point) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, code_point, 16).ptr;
  out += "\\x{";
  out.append(digits, end);
  out += '}';
}
}  // namespace ecma

std::string to_re2_syntax(const std::string& pattern) {
  std::string out;
  out.reserve(pattern.size() + 16);
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char d = pattern[i + 1];
      if (const long unit = ecma::hex4(pattern, i); unit >= 0) {
        const long low = unit >= 0xD800 && unit <= 0xDBFF ? ecma::hex4(pattern, i + 6) : -1;
        if (low >= 0xDC00 && low <= 0xDFFF) {
          ecma::append_code_point(out, 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00));
          i += 11;
        } else if (unit >= 0xD800 && unit <= 0xDFFF) {
          // A lone surrogate: no character of a JSON string (valid UTF-8) is one. In a class it
          // stays as written, a code point no such string holds.
          if (in_class)
            ecma::append_code_point(out, static_cast<unsigned long>(unit));
          else
            out += ecma::kNothing;
          i += 5;
        } else {
          ecma::append_code_point(out, static_cast<unsigned long>(unit));
          i += 5;
        }
      } else if (d == 's') {
        out += in_class ? std::string(ecma::kSpace) : "[" + std::string(ecma::kSpace) + "]";
        ++i;
      } else if (d == 'S') {
        out += in_class ? std::string(ecma::kNotSpace) : "[^" + std::string(ecma::kSpace) + "]";
        ++i;
      } else if (d == 'b' && in_class) {
        out += "\\x{8}";
        ++i;
      } else if (d == 'c' && i + 2 < pattern.size() &&
                 std::isalpha(static_cast<unsigned char>(pattern[i + 2]))) {
        ecma::append_code_point(out, static_cast<unsigned char>(pattern[i + 2]) % 32);
        i += 2;
      } else {
        out += c;
        out += d;
        ++i;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      if (pattern.compare(i, 3, "[^]") == 0) {
        out += ecma::kAnything;
        i += 2;
      } else if (pattern.compare(i, 2, "[]") == 0) {
        out += ecma::kNothing;
        i += 1;
      } else {
        in_class = true;
        out += c;
        if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      }
      continue;
    }
    if (c == '.') {
      out += ecma::kAnyButLineEnd;
      continue;
    }
    if (c == '(' && pattern.compare(i, 3, "(?<") == 0 && i + 3 < pattern.size() && pattern[i + 3] != '=' &&
        pattern[i + 3] != '!') {
      out += "(?P<";
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

class PatternCheck final : public Check {
 public:
  explicit PatternCheck(const std::string& pattern) : pattern_(pattern), regex_(compile_regex(pattern)) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_string() || RE2::PartialMatch(value.get_ref<const std::string&>(), *regex_)) return true;
    if (out.reporting()) {
      out.report(finding("pattern",
                         subject(value, out) + " does not match the pattern " + quote_shown(pattern_, 200)));
    }
    return false;
  }

 private:
  std::string pattern_;
  std::unique_ptr<RE2> regex_;
};

// ---------------------------------------------------------------------------
class CountCheck final : public Check {
 public:
  CountCheck(std::string keyword, std::uint64_t limit) : keyword_(std::move(keyword)), limit_(limit) {
    minimum_ = keyword_.rfind("min", 0) == 0;
  }
  bool check(const Json& value, const Out& out) const override {
    std::uint64_t count = 0;
    const char *one = nullptr, *many = nullptr, *suffix = "";
    if (keyword_ == "minLength" || keyword_ == "maxLength") {
      if (!value.is_string()) return true;
      count = utf8_length(value.get_ref<const std::string&>());
      one = "character", many = "characters", suffix = " long";
    } else if (keyword_ == "minItems" || keyword_ == "maxItems") {
      if (!value.is_array()) return true;
      count = value.size();
      one = "item", many = "items";
    } else {
      if (!value.is_object()) return true;
      count = value.size();
      one = "property", many = "properties";
    }
    if (minimum_ ? count >= limit_ : count <= limit_) return true;
    if (!out.reporting()) return false;
    std::string message = std::string("must ") + (one[0] == 'c' ? "be " : "have ") +
                          (minimum_ ? "at least " : "at most ") + plural(limit_, one, many) + suffix;
    // A length would tell something about a secret; a count of items would not.
    if (!(out.secret() && one[0] == 'c')) message += ", got " + std::to_string(count);
    out.report(finding(keyword_, message));
    return false;
  }

 private:
  std::string keyword_;
  std::uint64_t limit_;
  bool minimum_ = false;
};

// ---------------------------------------------------------------------------
class NumberCheck final : public Check {
 public:
  NumberCheck(std::string keyword, Json limit) : keyword_(std::move(keyword)), limit_(std::move(limit)) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_number()) return true;
    const char* relation = "";
    bool ok = true;
    if (keyword_ == "minimum") {
      ok = compare_numbers(value, limit_) >= 0, relation = "must be >= ";
    } else if (keyword_ == "exclusiveMinimum") {
      ok = compare_numbers(value, limit_) > 0, relation = "must be > ";
    } else if (keyword_ == "maximum") {
      ok = compare_numbers(value, limit_) <= 0, relation = "must be <= ";
    } else if (keyword_ == "exclusiveMaximum") {
      ok = compare_numbers(value, limit_) < 0, relation = "must be < ";
    } else {
      ok = is_multiple(to_number(value), to_number(limit_)), relation = "must be a multiple of ";
    }
    if (ok) return true;
    if (!out.reporting()) return false;
    std::string message = relation + limit_.dump();
    if (!out.secret()) message += ", got " + render_value(value);
    out.report(finding(keyword_, message));
    return false;
  }

 private:
  std::string keyword_;
  Json limit_;
};

// ---------------------------------------------------------------------------
class UniqueItemsCheck final : public Check {
 public:
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_array() || value.size() < 2) return true;
    // Hashing keeps this linear: a pairwise scan of a million items would never end.
    std::unordered_multimap<std::size_t, std::size_t> seen;
    seen.reserve(value.size());
    bool ok = true;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const std::size_t hash = json_hash(value[i]);
      auto [begin, end] = seen.equal_range(hash);
      bool duplicate = false;
      for (auto it = begin; it != end; ++it) {
        if (json_equal(value[it->second], value[i])) {
          if (!out.reporting()) return false;
          out.report(finding("uniqueItems", "items " + std::to_string(it->second) + " and " +
                                                std::to_string(i) + " are equal; items must be unique"));
          ok = false;
          duplicate = true;
          break;
        }
      }
      if (!duplicate) seen.emplace(hash, i);
    }
    return ok;
  }
};

// ---------------------------------------------------------------------------
class RequiredCheck final : public Check {
 public:
  explicit RequiredCheck(std::vector<std::string> names) : names_(std::move(names)) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_object()) return true;
    bool ok = true;
    for (const auto& name : names_) {
      if (value.contains(name)) continue;
      if (!out.reporting()) return false;
      out.report(missing_property(name));
      ok = false;
    }
    return ok;
  }

 private:
  std::vector<std::string> names_;
};

// ---------------------------------------------------------------------------
class PropertiesCheck final : public Check {
 public:
  explicit PropertiesCheck(std::vector<std::pair<std::string, Unit*>> properties)
      : properties_(std::move(properties)) {
    std::sort(properties_.begin(), properties_.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
  }
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_object()) return true;
    bool ok = true;
    // In the object's order (as valijson went), so that findings keep theirs. The members come in
    // key order, the order the properties are sorted in: one merging walk over both finds each
    // member's schema, instead of a search per member.
    static_assert(std::is_same_v<Json::object_t::key_compare, std::less<>> ||
                      std::is_same_v<Json::object_t::key_compare, std::less<std::string>>,
                  "an object's members come in std::string order");
    auto property = properties_.begin();
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string& key = it.key();
      int order = 0;
      while (property != properties_.end() && (order = property->first.compare(key)) < 0) ++property;
      if (property == properties_.end()) break;
      if (order != 0) continue;
      if (run_child(*property->second, it.value(), out, key)) continue;
      if (!out.reporting()) return false;
      ok = false;
    }
    return ok;
  }
  void units(std::vector<Unit*>& into) const override {
    for (const auto& entry : properties_) into.push_back(entry.second);
  }

 private:
  std::vector<std::pair<std::string, Unit*>> properties_;  // sorted by name
};

// ---------------------------------------------------------------------------
class DependenciesCheck final : public Check {
 public:
  DependenciesCheck(std::vector<std::pair<std::string, std::vector<std::string>>> lists,
                    std::vector<std::pair<std::string, Unit*>> schemas)
      : lists_(std::move(lists)), schemas_(std::move(schemas)) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_object()) return true;
    bool ok = true;
    for (const auto& [name, needed] : lists_) {
      if (!value.contains(name)) continue;
      for (const auto& other : needed) {
        if (value.contains(other)) continue;
        if (!out.reporting()) return false;
        RawFinding f = finding("dependencies", "property " + quote_shown(other) + " is required when " +
                                                   quote_shown(name) + " is present");
        f.property = other;
        out.report(std::move(f));
        ok = false;
      }
    }
    for (const auto& [name, unit] : schemas_) {
      if (!value.contains(name)) continue;
      if (!out.reporting()) {
        if (!run_unit(*unit, value, out.context(), nullptr)) return false;
        continue;
      }
      valijson::ValidationResults results;
      if (run_unit(*unit, value, out.context(), &results)) continue;
      ok = false;
      auto located = collect_findings(results);
      if (located.empty()) {
        out.report(finding("dependencies", "does not match the schema that applies when " +
                                               quote_shown(name) + " is present"));
      }
      for (auto& item : located) {
        item.finding.message = "when " + quote_shown(name) + " is present: " + item.finding.message;
        out.report_at(item.context, std::move(item.finding));
      }
    }
    return ok;
  }
  void units(std::vector<Unit*>& into) const override {
    for (const auto& entry : schemas_) into.push_back(entry.second);
  }

 private:
  std::vector<std::pair<std::string, std::vector<std::string>>> lists_;
  std::vector<std::pair<std::string, Unit*>> schemas_;
};

// ---------------------------------------------------------------------------
class EqualPropertiesCheck final : public Check {
 public:
  explicit EqualPropertiesCheck(std::vector<std::pair<std::string, std::string>> pairs)
      : pairs_(std::move(pairs)) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_object()) return true;
    bool ok = true;
    for (const auto& [name, other] : pairs_) {
      auto a = value.find(name), b = value.find(other);
      if (a == value.end() || b == value.end() || json_equal(*a, *b)) continue;
      if (!out.reporting()) return false;
      out.report_at(child_context(out.context(), name), unequal_property(other));
      ok = false;
    }
    return ok;
  }

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// ---------------------------------------------------------------------------
class ForbiddenCheck final : public Check {
 public:
  explicit ForbiddenCheck(std::vector<std::vector<std::string>> groups) : groups_(std::move(groups)) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_object()) {
      if (out.reporting()) out.report(forbidden_finding(groups_, nullptr));
      return false;
    }
    const std::function<bool(const std::string&)> has = [&](const std::string& name) {
      return value.contains(name);
    };
    if (!out.reporting())
      return std::none_of(groups_.begin(), groups_.end(),
                          [&](const auto& group) { return std::all_of(group.begin(), group.end(), has); });
    RawFinding f = forbidden_finding(groups_, &has);
    if (f.keyword.empty()) return true;
    out.report(std::move(f));
    return false;
  }

 private:
  std::vector<std::vector<std::string>> groups_;
};

}  // namespace

RawFinding forbidden_finding(const std::vector<std::vector<std::string>>& groups,
                             const std::function<bool(const std::string&)>* has) {
  if (has == nullptr) {
    // Draft 7: "required" holds vacuously for a non-object, so "not": {"required": [...]} fails.
    return finding("not",
                   "must not match the schema given by \"not\" (a non-object satisfies any \"required\")");
  }
  // The groups all of whose properties are present, in order; their names, sorted and once each.
  std::vector<const std::vector<std::string>*> present;
  RawFinding f;
  for (const auto& group : groups) {
    if (!std::all_of(group.begin(), group.end(), *has)) continue;
    present.push_back(&group);
    f.names.insert(f.names.end(), group.begin(), group.end());
  }
  if (present.empty()) return RawFinding{};
  f.keyword = "not";
  f.exclusion = true;
  std::sort(f.names.begin(), f.names.end());
  f.names.erase(std::unique(f.names.begin(), f.names.end()), f.names.end());
  const bool singles =
      std::all_of(present.begin(), present.end(), [](const auto* g) { return g->size() == 1; });
  f.message = "must not have ";
  if (singles) {
    f.message += f.names.size() == 1 ? "property " : "properties ";
    append_names(f.message, f.names);
    if (f.names.size() == 1) f.property = f.names.front();
  } else {
    for (std::size_t i = 0; i < present.size(); ++i) {
      const auto& group = *present[i];
      if (i > 0) f.message += "; nor ";
      if (group.size() == 1) {
        f.message += "property ";
        append_quote_shown(f.message, group.front());
      } else {
        f.message += group.size() == 2 ? "both " : "all of ";
        append_names(f.message, group);
      }
    }
  }
  return f;
}

namespace {

// ---------------------------------------------------------------------------
class NotCheck final : public Check {
 public:
  NotCheck(Unit* unit, std::string title) : unit_(unit), title_(std::move(title)) {}
  bool check(const Json& value, const Out& out) const override {
    if (!run_unit(*unit_, value, out.context(), nullptr)) return true;
    if (out.reporting()) {
      out.report(finding("not", title_.empty() ? std::string("must not match the schema given by \"not\"")
                                               : "must not match " + quote_shown(title_, 80)));
    }
    return false;
  }
  void units(std::vector<Unit*>& into) const override { into.push_back(unit_); }

 private:
  Unit* unit_;
  std::string title_;
};

// ---------------------------------------------------------------------------
// if/then/else as valijson's conditional constraint reports it: the branch's own findings, then a
// summary at the value (dropped when a finding below explains it).
class IfCheck final : public Check {
 public:
  IfCheck(Unit* condition, Unit* then, Unit* otherwise)
      : condition_(condition), then_(then), else_(otherwise) {}
  bool check(const Json& value, const Out& out) const override {
    const Unit* branch = run_unit(*condition_, value, out.context(), nullptr) ? then_ : else_;
    if (branch == nullptr || run_unit(*branch, value, out.context(), out.results())) return true;
    if (out.reporting())
      out.results()->pushError(
          out.context(), "Failed to validate against a conditional schema set by if-then-else constraints.");
    return false;
  }
  void units(std::vector<Unit*>& into) const override {
    for (Unit* unit : {condition_, then_, else_}) {
      if (unit != nullptr) into.push_back(unit);
    }
  }

 private:
  Unit* condition_;
  Unit* then_;
  Unit* else_;
};

// ---------------------------------------------------------------------------
class ContainsCheck final : public Check {
 public:
  explicit ContainsCheck(Unit* unit) : unit_(unit) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_array()) return true;
    for (const auto& item : value) {
      if (run_unit(*unit_, item, out.context(), nullptr)) return true;
    }
    if (out.reporting()) {
      out.report(finding("contains",
                         value.empty()
                             ? "must contain an item matching the \"contains\" schema; the array is empty"
                             : "no item matches the \"contains\" schema"));
    }
    return false;
  }
  void units(std::vector<Unit*>& into) const override { into.push_back(unit_); }

 private:
  Unit* unit_;
};

// ---------------------------------------------------------------------------
class PropertyNamesCheck final : public Check {
 public:
  explicit PropertyNamesCheck(Unit* unit) : unit_(unit) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_object()) return true;
    bool ok = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const Json name(it.key());
      if (!out.reporting()) {
        if (!run_unit(*unit_, name, out.context(), nullptr)) return false;
        continue;
      }
      valijson::ValidationResults results;
      if (run_unit(*unit_, name, out.context(), &results)) continue;
      ok = false;
      const auto located = collect_findings(results);
      RawFinding f = finding("propertyNames", "property name " + quote_name(it.key()) + " is not allowed");
      if (!located.empty()) f.message += ": " + located.front().finding.message;
      f.property = is_secret_name(it.key()) ? kHiddenText : it.key();
      out.report(std::move(f));
    }
    return ok;
  }
  void units(std::vector<Unit*>& into) const override { into.push_back(unit_); }

 private:
  Unit* unit_;
};

// ---------------------------------------------------------------------------
class ExtraPropertiesCheck final : public Check {
 public:
  ExtraPropertiesCheck(std::vector<std::string> declared, std::vector<PatternProperty> patterns,
                       Unit* additional, bool forbidden)
      : declared_(std::move(declared)), additional_(additional), forbidden_(forbidden) {
    std::sort(declared_.begin(), declared_.end());
    for (auto& pattern : patterns) {
      patterns_.push_back({compile_regex(pattern.pattern), pattern.unit});
    }
  }
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_object()) return true;
    bool ok = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const std::string& name = it.key();
      bool matched = std::binary_search(declared_.begin(), declared_.end(), name);
      for (const auto& pattern : patterns_) {
        if (!RE2::PartialMatch(name, *pattern.regex)) continue;
        matched = true;
        if (!apply(*pattern.unit, it.value(), name, out)) {
          if (!out.reporting()) return false;
          ok = false;
        }
      }
      if (matched) continue;
      if (forbidden_) {
        if (!out.reporting()) return false;
        RawFinding f = finding("additionalProperties", "property " + quote_name(name) + " is not allowed");
        if (patterns_.empty() && !declared_.empty() && declared_.size() <= 20) {
          f.message += "; allowed: " + list_names(declared_);
        }
        f.property = is_secret_name(name) ? kHiddenText : name;
        out.report(std::move(f));
        ok = false;
      } else if (additional_ != nullptr && !apply(*additional_, it.value(), name, out)) {
        if (!out.reporting()) return false;
        ok = false;
      }
    }
    return ok;
  }
  void units(std::vector<Unit*>& into) const override {
    for (const auto& pattern : patterns_) into.push_back(pattern.unit);
    if (additional_ != nullptr) into.push_back(additional_);
  }

 private:
  static bool apply(const Unit& unit, const Json& member, const std::string& name, const Out& out) {
    return run_child(unit, member, out, name);
  }
  struct Compiled {
    std::unique_ptr<RE2> regex;
    Unit* unit;
  };
  std::vector<std::string> declared_;
  std::vector<Compiled> patterns_;
  Unit* additional_;
  bool forbidden_;
};

// ---------------------------------------------------------------------------
class TupleItemsCheck final : public Check {
 public:
  TupleItemsCheck(std::vector<Unit*> items, Unit* additional, bool forbidden)
      : items_(std::move(items)), additional_(additional), forbidden_(forbidden) {}
  bool check(const Json& value, const Out& out) const override {
    if (!value.is_array()) return true;
    bool ok = true;
    for (std::size_t i = 0; i < value.size(); ++i) {
      const Unit* unit = i < items_.size() ? items_[i] : additional_;
      if (i >= items_.size() && forbidden_) {
        if (!out.reporting()) return false;
        out.report(finding("additionalItems", "must have at most " + plural(items_.size(), "item", "items") +
                                                  ", got " + std::to_string(value.size())));
        return false;
      }
      if (unit == nullptr) break;
      if (!run_child(*unit, value[i], out, std::to_string(i))) {
        if (!out.reporting()) return false;
        ok = false;
      }
    }
    return ok;
  }
  void units(std::vector<Unit*>& into) const override {
    into.insert(into.end(), items_.begin(), items_.end());
    if (additional_ != nullptr) into.push_back(additional_);
  }

 private:
  std::vector<Unit*> items_;
  Unit* additional_;
  bool forbidden_;
};

// ---------------------------------------------------------------------------
class VariantsCheck final : public Check {
 public:
  VariantsCheck(std::string keyword, std::vector<Variant> variants)
      : keyword_(std::move(keyword)), variants_(std::move(variants)), exactly_one_(keyword_ == "oneOf") {
    for (std::size_t i = 0; i < variants_.size(); ++i) {
      const std::string& title = variants_[i].title;
      labels_.push_back(title.empty() ? "#" + std::to_string(i + 1) : quote_shown(title, 80));
    }
  }

  bool check(const Json& value, const Out& out) const override {
    std::vector<std::size_t> matched;
    for (std::size_t i = 0; i < variants_.size(); ++i) {
      if (!run_unit(*variants_[i].unit, value, out.context(), nullptr)) continue;
      if (!exactly_one_) return true;
      matched.push_back(i);
      if (matched.size() > 1 && !out.reporting()) return false;
    }
    if (exactly_one_ && matched.size() == 1) return true;
    if (!out.reporting()) return false;

    // No variant matched: learn why each failed.
    std::vector<std::vector<LocatedFinding>> located(variants_.size());
    std::vector<std::vector<VariantFinding>> per_variant(variants_.size());
    if (matched.empty()) {
      for (std::size_t i = 0; i < variants_.size(); ++i) {
        valijson::ValidationResults results;
        run_unit(*variants_[i].unit, value, out.context(), &results);
        located[i] = collect_findings(results);
        for (auto& item : located[i])
          per_variant[i].push_back({item.context == out.context(), &item.finding});
      }
    }
    VariantsReport report = this->report(matched, per_variant);
    for (auto& [index, f] : report.findings) {
      if (index == VariantsReport::kHere) {
        out.report(std::move(f));
      } else {
        out.report_at(located[report.variant][index].context, std::move(f));
      }
    }
    return false;
  }

  VariantsReport report(const std::vector<std::size_t>& matched,
                        const std::vector<std::vector<VariantFinding>>& per_variant) const {
    VariantsReport out;
    if (matched.size() > 1) {
      std::string labels;
      for (std::size_t i = 0; i < matched.size(); ++i) labels += (i > 0 ? ", " : "") + label(matched[i]);
      out.here(
          finding(keyword_, "matches more than one variant (" + labels + "); it must match exactly one"));
      return out;
    }
    const auto is_exclusion = [](const VariantFinding& f) { return f.finding->exclusion && f.at_value; };

    if (exactly_one_) {
      // Every variant failed only on a presence rule: the properties that exclude
      // each other are all set, which is what the person must fix.
      bool only_exclusions = true;
      std::vector<std::string_view> names;
      for (const auto& findings : per_variant) {
        if (findings.empty() || !std::all_of(findings.begin(), findings.end(), is_exclusion)) {
          only_exclusions = false;
          break;
        }
        for (const auto& f : findings)
          names.insert(names.end(), f.finding->names.begin(), f.finding->names.end());
      }
      if (only_exclusions && !names.empty()) {
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        std::string message;
        append_words(message, names.size(), [&](std::string& to, std::size_t i) { to += names[i]; });
        if (names.size() == 1) {
          message += " is set, which no variant allows";
        } else {
          message += names.size() == 2 ? " are both set" : " are all set";
          message += "; set at most one of them";
        }
        message += " (variants ";
        append_words(message, variants_.size(), [&](std::string& to, std::size_t i) { to += label(i); });
        message += ')';
        out.here(finding(keyword_, std::move(message)));
        return out;
      }
    }

    // Otherwise the closest variant (fewest findings beyond exclusions) says what to change.
    std::size_t best = 0, best_count = SIZE_MAX;
    for (std::size_t i = 0; i < per_variant.size(); ++i) {
      const auto count =
          static_cast<std::size_t>(std::count_if(per_variant[i].begin(), per_variant[i].end(),
                                                 [&](const VariantFinding& f) { return !is_exclusion(f); }));
      if (count < best_count) best = i, best_count = count;
    }
    if (per_variant[best].empty()) {
      out.here(finding(keyword_, "matches none of the variants"));
      return out;
    }
    out.variant = best;
    for (std::size_t k = 0; k < per_variant[best].size(); ++k) {
      RawFinding f = std::move(*per_variant[best][k].finding);
      f.message = "in variant " + label(best) + ": " + f.message;
      f.keyword = keyword_;
      f.exclusion = false;
      f.names.clear();
      out.findings.emplace_back(k, std::move(f));
    }
    return out;
  }
  void units(std::vector<Unit*>& into) const override {
    for (const auto& variant : variants_) into.push_back(variant.unit);
  }

 private:
  // quote_shown(title, 80), or the number: the schema's, shown as it is.
  const std::string& label(std::size_t i) const { return labels_[i]; }
  std::string keyword_;
  std::vector<Variant> variants_;
  std::vector<std::string> labels_;
  bool exactly_one_;
};

// ---------------------------------------------------------------------------
class FalseCheck final : public Check {
 public:
  bool check(const Json&, const Out& out) const override {
    if (out.reporting())
      out.report(finding("false schema", "no value is allowed here (the schema is false)"));
    return false;
  }
};

// ---------------------------------------------------------------------------
// The valijson side of a bundle: the visitor hands it the adapter it validates.
class BundleConstraint final : public valijson::constraints::PolyConstraint {
 public:
  explicit BundleConstraint(const Bundle* bundle) : bundle_(bundle) {}
  const Bundle* bundle() const { return bundle_; }
  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override {
    if (typeid(target) == typeid(JsonAdapter)) {
      return bundle_->validate(static_cast<const JsonAdapter&>(target).json(), context, results);
    }
    // Only JsonAdapter reaches a bundle (valijson's propertyNames, which would pass a
    // string adapter, is replaced by a compiled check); anything else is a bug.
    if (results != nullptr) {
      results->pushError(context, encode(finding("schema", "internal error: unexpected value adapter")));
    }
    return false;
  }

 private:
  Constraint* cloneInto(void* memory) const override { return new (memory) BundleConstraint(*this); }
  size_t sizeOf() const override { return sizeof(BundleConstraint); }
  const Bundle* bundle_;
};

}  // namespace

std::unique_ptr<RE2> compile_regex(const std::string& pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_unique<RE2>(to_re2_syntax(pattern), options);
  if (!regex->ok()) throw std::invalid_argument(regex->error());
  return regex;
}

std::optional<std::string> regex_problem(const std::string& pattern) {
  try {
    compile_regex(pattern);
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

RawFinding missing_property(const std::string& name) {
  RawFinding f = finding("required", "missing required property " + quote_shown(name));
  f.property = name;
  return f;
}

RawFinding unequal_property(const std::string& other) {
  // Never the values: the pair this keyword exists for is a password and its confirmation.
  return finding("equal", "must equal /" + pointer_escape(other));
}

namespace {
const Context kNoContext;
}  // namespace

Out::Out(std::vector<RawFinding>& sink, bool secret)
    : context_(&kNoContext), results_(nullptr), sink_(&sink), secret_(secret) {}

void Out::report(RawFinding&& finding) const { report_at(*context_, std::move(finding)); }

void Out::report_at(const Context& context, RawFinding&& finding) const {
  if (sink_ != nullptr) {
    if (sink_->size() >= kMaxRawFindings) throw TooManyFindings{};
    sink_->push_back(std::move(finding));
    return;
  }
  if (results_ == nullptr) return;
  if (results_->numErrors() >= kMaxRawFindings) throw TooManyFindings{};
  results_->pushError(context, encode(std::move(finding)));
}

bool Bundle::validate(const Json& value, const Context& context, valijson::ValidationResults* results) const {
  const Out out(context, results);
  bool ok = true;
  for (const auto& check : checks) {
    if (!check->check(value, out)) {
      // A value of the wrong type gets that one finding from this schema object: its other
      // rules (an enum of strings for a number, say) would only say the same again.
      if (results == nullptr || check.get() == type) return false;
      ok = false;
    }
  }
  return ok;
}

ValijsonOnly::ValijsonOnly() : previous_(valijson_only) { valijson_only = true; }
ValijsonOnly::~ValijsonOnly() { valijson_only = previous_; }

bool run_unit(const Unit& unit, const Json& value, const Context& context,
              valijson::ValidationResults* results, bool refused) {
  // The verdict program decides first: a valid value has no finding (both paths give every value
  // the same verdict), and a verdict alone is all a run without results wants.
  if (unit.program != nullptr && !valijson_only && !(refused && results != nullptr)) {
    if (fast::valid_at(*unit.program, unit.fast_node, value)) return true;
    if (results == nullptr) return false;
  }
  if (unit.bundle != nullptr) return unit.bundle->validate(value, context, results);
  const JsonAdapter target(value);
  valijson::ValidationVisitor<JsonAdapter> visitor(target, context, true, results, unused_regex_cache());
  return visitor.validateSchema(*unit.schema);
}

const Bundle* sole_bundle(const valijson::Subschema& schema) {
  if (schema.getAlwaysInvalid()) return nullptr;
  std::size_t constraints = 0;
  const Bundle* bundle = nullptr;
  valijson::Subschema::ApplyFunction count = [&](const valijson::constraints::Constraint& constraint) {
    ++constraints;
    if (const auto* compiled = dynamic_cast<const BundleConstraint*>(&constraint))
      bundle = compiled->bundle();
    return true;
  };
  schema.apply(count);
  return constraints == 1 ? bundle : nullptr;
}

valijson::constraints::Constraint* new_bundle_constraint(const Bundle* bundle) {
  return new BundleConstraint(bundle);
}

std::unique_ptr<Check> make_type_check(unsigned mask, std::vector<std::string> names) {
  return std::make_unique<TypeCheck>(mask, std::move(names));
}
std::unique_ptr<Check> make_enum_check(std::vector<Json> values) {
  return std::make_unique<EnumCheck>(std::move(values));
}
std::unique_ptr<Check> make_const_check(Json value) { return std::make_unique<ConstCheck>(std::move(value)); }
std::unique_ptr<Check> make_format_check(Format format, std::string name) {
  return std::make_unique<FormatCheck>(format, std::move(name));
}
std::unique_ptr<Check> make_pattern_check(const std::string& pattern) {
  return std::make_unique<PatternCheck>(pattern);
}
std::unique_ptr<Check> make_count_check(std::string keyword, std::uint64_t limit) {
  return std::make_unique<CountCheck>(std::move(keyword), limit);
}
std::unique_ptr<Check> make_number_check(std::string keyword, Json limit) {
  return std::make_unique<NumberCheck>(std::move(keyword), std::move(limit));
}
std::unique_ptr<Check> make_unique_items_check() { return std::make_unique<UniqueItemsCheck>(); }
std::unique_ptr<Check> make_required_check(std::vector<std::string> names) {
  return std::make_unique<RequiredCheck>(std::move(names));
}
std::unique_ptr<Check> make_properties_check(std::vector<std::pair<std::string, Unit*>> properties) {
  return std::make_unique<PropertiesCheck>(std::move(properties));
}
std::unique_ptr<Check> make_dependencies_check(
    std::vector<std::pair<std::string, std::vector<std::string>>> lists,
    std::vector<std::pair<std::string, Unit*>> schemas) {
  return std::make_unique<DependenciesCheck>(std::move(lists), std::move(schemas));
}
std::unique_ptr<Check> make_equal_properties_check(std::vector<std::pair<std::string, std::string>> pairs) {
  return std::make_unique<EqualPropertiesCheck>(std::move(pairs));
}
std::unique_ptr<Check> make_forbidden_check(std::vector<std::vector<std::string>> groups) {
  return std::make_unique<ForbiddenCheck>(std::move(groups));
}
std::unique_ptr<Check> make_not_check(Unit* unit, std::string title) {
  return std::make_unique<NotCheck>(unit, std::move(title));
}
std::unique_ptr<Check> make_contains_check(Unit* unit) { return std::make_unique<ContainsCheck>(unit); }
std::unique_ptr<Check> make_if_check(Unit* condition, Unit* then, Unit* otherwise) {
  return std::make_unique<IfCheck>(condition, then, otherwise);
}
std::unique_ptr<Check> make_property_names_check(Unit* unit) {
  return std::make_unique<PropertyNamesCheck>(unit);
}
std::unique_ptr<Check> make_extra_properties_check(std::vector<std::string> declared,
                                                   std::vector<PatternProperty> patterns, Unit* additional,
                                                   bool additional_forbidden) {
  return std::make_unique<ExtraPropertiesCheck>(std::move(declared), std::move(patterns), additional,
                                                additional_forbidden);
}
std::unique_ptr<Check> make_tuple_items_check(std::vector<Unit*> items, Unit* additional,
                                              bool additional_forbidden) {
  return std::make_unique<TupleItemsCheck>(std::move(items), additional, additional_forbidden);
}
std::unique_ptr<Check> make_variants_check(std::string keyword, std::vector<Variant> variants) {
  return std::make_unique<VariantsCheck>(std::move(keyword), std::move(variants));
}
std::unique_ptr<Check> make_false_check() { return std::make_unique<FalseCheck>(); }

VariantsReport report_variants(const Check& check, const std::vector<std::size_t>& matched,
                               const std::vector<std::vector<VariantFinding>>& per_variant) {
  return dynamic_cast<const VariantsCheck&>(check).report(matched, per_variant);
}

}  // namespace sipcontract::detail::validation
