// Internals of the validate module shared by its source files (not installed).
//
// A custom check reports a finding through valijson's ValidationResults, whose
// entries carry only (context, description). The finding's keyword, message and
// details travel encoded in the description (encode/decode below); entries valijson
// itself adds (its per-level summaries) are recognised when decoded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/validate.hpp"

namespace valijson {
class ValidationResults;
}
namespace re2 {
class RE2;
}

namespace sipcontract::detail::validation {

using Json = nlohmann::json;
/// valijson's location tokens: "<root>", then "[name]" or "[index]" per level.
using Context = std::vector<std::string>;

/// A finding before its JSON Pointer is known.
struct RawFinding {
  std::string keyword;
  std::string message;
  std::string property;
  AllowedValues allowed;  // the rule's own list, shared
  std::optional<Json> suggestion;
  std::vector<std::string> names;  ///< exclusion: the properties that must not all be present
  bool exclusion = false;          ///< a `not: {required: [...]}` presence rule failed
  bool summary = false;            ///< one of valijson's per-level "Failed to validate ..." entries
  bool foreign = false;            ///< worded by valijson, not by these checks: any secret in it is cut out
};

/// The description a custom check gives valijson for `finding`.
std::string encode(RawFinding&& finding);
/// A description back as a finding (valijson's own descriptions become summaries).
RawFinding decode(const std::string& description);

/// A decoded finding and where it was found.
struct LocatedFinding {
  Context context;
  RawFinding finding;
};

/// Every finding of `results`, without the summaries that a more specific finding
/// below them explains, and without exact duplicates.
std::vector<LocatedFinding> collect_findings(const valijson::ValidationResults& results);

/// The findings with their JSON Pointers (resolved against `instance`), in document order.
std::vector<Finding> locate_findings(std::vector<LocatedFinding> located, const Json& instance);

/// One reference token of a finding's location: an array's index, or a member's name (a view
/// into the finding's context, or into the document).
struct PathToken {
  bool index = false;
  std::size_t number = 0;
  std::string_view name;  ///< the index in decimal, for an index
};
/// A finding whose location is known token by token (the verdict program's report()).
struct PlacedFinding {
  std::vector<PathToken> tokens;
  RawFinding finding;
};
/// What collect_findings() and locate_findings() make of valijson's results, for findings whose
/// location is known: exact duplicates (location, keyword, message) dropped, the first kept; then
/// pointers, secrets hidden, document order.
std::vector<Finding> place_findings(std::vector<PlacedFinding> placed);
/// The first half of that: exact duplicates dropped (as collect_findings() drops them), in place.
void drop_repeated(std::vector<PlacedFinding>& placed);

/// Thrown by a check when one validation has produced too many findings to keep.
struct TooManyFindings {};
/// The most raw findings one validation collects before it stops.
inline constexpr std::size_t kMaxRawFindings = 4000;
/// The most findings a Result carries.
inline constexpr std::size_t kMaxFindings = 1000;

/// The name among `candidates` that `text` most likely misspells: equal ignoring case, "_" and
/// "-", or uniquely within a small edit distance; nothing when no candidate is obvious.
std::optional<std::string> closest_name(std::string_view text, const std::vector<std::string>& candidates);
/// The same, with the candidates' folded forms (folded_names()) prepared once by the caller.
std::optional<std::string> closest_name(std::string_view text, const std::vector<std::string>& candidates,
                                        const std::vector<std::string>& folded);
/// Each name lower case, without "_", "-" and spaces: what closest_name() compares.
std::vector<std::string> folded_names(const std::vector<std::string>& names);

/// The strict-mode finding for a member no applying schema declares (`declared`: the names the
/// schema does declare there, for a suggestion).
RawFinding undeclared_property(std::string_view name, const std::vector<std::string>& declared);

/// The name inside one context token ("[name]" -> "name"), as a view into `token`.
std::string_view token_name(const std::string& token);
/// True when a value at `context` sits under a secret field.
bool context_is_secret(const Context& context);

/// A bit per length of the names in `fields` (bit n: n bytes, for n < 63; bit 63: 63 bytes or
/// more). Most member names are ruled out as secret fields by their length alone.
std::uint64_t length_bits(const std::vector<std::string>& fields);
inline bool length_may_match(std::uint64_t bits, std::size_t size) {
  return (bits >> (size < 63 ? size : 63) & 1u) != 0;
}

/// The secret values a FindingsScope hides. Its storage is its thread's and its depth's, kept from
/// one validation to the next. The values are views: of the document's own strings, which outlive
/// the scope, or of copies the list keeps (a number's text, a value given as a temporary).
class SecretValues {
 public:
  SecretValues() = default;
  SecretValues(const SecretValues&) = delete;  // a copy's views would point into this one's copies
  SecretValues& operator=(const SecretValues&) = delete;
  /// A value the caller keeps alive while the list is in use (a string of the document).
  void add(std::string_view value) { values_.push_back(value); }
  void add(const char* value) { add(std::string_view(value)); }
  void add(std::string&&) = delete;  // a temporary: add_copy()
  /// A value the list keeps a copy of.
  void add_copy(std::string value) { values_.push_back(owned_.emplace_back(std::move(value))); }
  const std::string_view* begin() const { return values_.data(); }
  const std::string_view* end() const { return values_.data() + values_.size(); }
  /// The length of the shortest value once ordered (order()); a text shorter than that holds none.
  std::size_t shortest() const { return values_.empty() ? SIZE_MAX : values_.back().size(); }
  /// Empties the list.
  void clear();
  /// Puts the values in the order they are cut out of a message: the longest first, so that a
  /// secret inside another is hidden with it; of equal length, by their bytes. The order is the
  /// values' own, whatever the order the document held them in. A value held twice is kept once.
  void order();

 private:
  std::vector<std::string_view> values_;
  std::deque<std::string> owned_;  // what add_copy() keeps (a deque: the views stay valid)
};

/// One validation's findings, on this thread while it lives (nests):
/// - the values of the document's secret fields (password, password_confirmation, wherever they
///   sit) are hidden from every message, property and pointer, also where the same value appears
///   in another field;
/// - encode() keeps findings in memory and hands valijson only an index, which decode() reads
///   back (no JSON text per finding); the outermost scope frees them.
class FindingsScope {
 public:
  /// Collects the values under `secret_fields` members of `instance` (and makes those the fields
  /// is_secret_field() knows) for the findings made while it lives.
  /// `names`: the property names the schema declares (CompiledSchema::names, sorted), which a
  /// finding shows even where a secret is part of one (is_secret_name()); none when null.
  FindingsScope(const Json& instance, const std::vector<std::string>& secret_fields,
                const std::vector<std::string>* names = nullptr);
  /// The same for a document of another form: `collect` adds its secret values, in any order.
  FindingsScope(const std::vector<std::string>& secret_fields,
                const std::function<void(SecretValues&)>& collect,
                const std::vector<std::string>* names = nullptr);
  ~FindingsScope();
  FindingsScope(const FindingsScope&) = delete;
  FindingsScope& operator=(const FindingsScope&) = delete;

 private:
  SecretValues* secrets_;
  const SecretValues* previous_;
  const std::vector<std::string>* previous_fields_;
  std::uint64_t previous_lengths_;
  const std::vector<std::string>* previous_names_;
};
/// Adds a number held in a secret field, in each form a message may show it: as written out
/// (1000.0) and, for a whole number, as an integer (1000).
void add_secret_number(SecretValues& secrets, const Json& number);
/// Adds the values of the secret fields (FindingsScope's, wherever they sit) of JSON `text`, read
/// without building it and allowing repeated keys; numbers also as written in the text. False when
/// the text could not be read to its end (its values after that point are not added).
bool collect_secret_values(std::string_view text, SecretValues& secrets);
/// True for a member name among the secret fields of the validation under way (FindingsScope),
/// compared without case so that "Password" in a sloppy client's body is hidden too.
bool is_secret_field(std::string_view name);
/// True when `text` is, or (for secrets of 4 characters or more) contains, a secret value of the
/// document being validated (FindingsScope).
bool is_secret_text(std::string_view text);
/// The same for a member name of the document, unless the schema declares it (FindingsScope's
/// `names`): "codecs" or "password_confirmation" is the schema's text, which says nothing of a
/// secret that is part of it, and would say what it is where "(hidden)" took its place.
bool is_secret_name(std::string_view name);
/// True for a property name the schema declares (FindingsScope's `names`).
bool is_declared_name(std::string_view name);
/// A member name of the document quoted (quote_shown()), or "(hidden)" where is_secret_name().
std::string quote_name(std::string_view name, std::size_t max_chars = 64);
/// Cuts out of `message` (valijson's wording) the secret values of 4 characters or more it holds,
/// each stretch they cover as one "(hidden)"; the message is "(hidden)" alone where a secret would
/// then read across a marker.
void hide_secrets(std::string& message);
/// What a message shows instead of a secret.
inline constexpr const char* kHiddenText = "(hidden)";

/// Secrets are hidden where a message shows the document's text (its values, its member names),
/// never in the schema's text or the program's wording: the schema is known to whoever reads the
/// message, so a secret that happens to equal a part of it ("default", "password") says nothing
/// where it is shown, and everything where "(hidden)" takes its place.
///
/// A string of the document as a JSON string literal, shortened past `max_chars` code points;
/// "(hidden)" when it holds a secret value (is_secret_text).
std::string quote(std::string_view text, std::size_t max_chars = 64);
/// The same without the secret check, for the schema's text (names, patterns, titles).
std::string quote_shown(std::string_view text, std::size_t max_chars = 64);
/// quote() and quote_shown(), appended to `out`.
void append_quote(std::string& out, std::string_view text, std::size_t max_chars = 64);
void append_quote_shown(std::string& out, std::string_view text, std::size_t max_chars = 64);
/// A short rendering of a document's value for a message ("\"abc\"", "12", "an object with 3
/// properties"), its secrets hidden; with `schema_value`, of a value the schema holds (nothing hidden).
std::string render_value(const Json& value, bool schema_value = false);
/// The draft-7 type name of a value ("integer" is reported as "number").
std::string type_name(const Json& value);
/// "a", "a and b", "a, b and c".
std::string join_words(const std::vector<std::string>& words);
/// The same appended to `out`, word i written by `append(out, i)`, for i < `count`.
template <class Append>
void append_words(std::string& out, std::size_t count, Append&& append) {
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) out += i + 1 == count ? " and " : ", ";
    append(out, i);
  }
}
/// The schema's names quoted (quote_shown()), as join_words() joins them, appended to `out`.
void append_names(std::string& out, const std::vector<std::string>& names);

/// A JSON number as a parser produced it: a signed or an unsigned 64-bit integer, or a double.
/// Both validation paths compare numbers through it, so they agree by construction.
struct Number {
  enum class Kind : std::uint8_t { kInt, kUint, kDouble };
  Kind kind = Kind::kInt;
  union {
    std::int64_t i = 0;
    std::uint64_t u;
    double d;
  };
  static Number of_int(std::int64_t value) {
    Number n;
    n.kind = Kind::kInt;
    n.i = value;
    return n;
  }
  static Number of_uint(std::uint64_t value) {
    Number n;
    n.kind = Kind::kUint;
    n.u = value;
    return n;
  }
  static Number of_double(double value) {
    Number n;
    n.kind = Kind::kDouble;
    n.d = value;
    return n;
  }
};
/// The number a JSON number value holds (`value` must be a number).
Number to_number(const Json& value);
/// -1, 0 or 1 comparing two numbers exactly (int64, uint64 and double mixed).
int compare_numbers(const Number& a, const Number& b);
/// True for a number with no fractional part.
bool is_integral(const Number& value);
/// True when `value` is a multiple of `divisor` (> 0), exactly: integers as integers, doubles as
/// the shortest decimals that read back as them (0.3 is a multiple of 0.1); bounded work.
bool is_multiple(const Number& value, const Number& divisor);

/// Draft-7 equality: numbers by value (1 == 1.0), objects by members, arrays in order.
bool json_equal(const Json& a, const Json& b);
/// -1, 0 or 1 comparing two numbers exactly (int64, uint64 and double mixed).
int compare_numbers(const Json& a, const Json& b);
/// A hash consistent with json_equal.
std::size_t json_hash(const Json& value);
/// True for a number with no fractional part.
bool is_integral(const Json& value);
/// Code points in a UTF-8 string.
std::size_t utf8_length(std::string_view text);
/// Empties `document` from the leaves up, so that its destructor finds no structured value to
/// flatten. nlohmann's own destructor moves every member and item of every object and array
/// into a vector before destroying it (which bounds its stack depth); this frees each value once,
/// in place, also without recursion.
void release(Json& document);

/// Type bits of the "type" keyword (make_type_check, the verdict program).
enum TypeBit : unsigned {
  kTypeNull = 1,
  kTypeBoolean = 2,
  kTypeObject = 4,
  kTypeArray = 8,
  kTypeNumber = 16,
  kTypeString = 32,
  kTypeInteger = 64,
};

/// The draft-7 formats this module checks.
enum class Format {
  kUuid,
  kDate,
  kTime,
  kDateTime,
  kEmail,
  kIpv4,
  kIpv6,
  kHostname,
  kUri,
  kUriReference,
  kJsonPointer
};
/// The format named `name`, or nothing for formats treated as annotations.
std::optional<Format> format_from_name(std::string_view name);
/// True when `text` is a valid `format`.
bool check_format(Format format, std::string_view text);

/// An ECMA-262 pattern compiled by RE2 (\uXXXX and (?<name> translated); throws
/// std::invalid_argument with RE2's reason when it cannot be compiled.
std::unique_ptr<re2::RE2> compile_regex(const std::string& pattern);

/// A whole file (a schema or manifest), refused past ParseLimits::max_bytes; throws SchemaError.
std::string read_text_file(const std::filesystem::path& path, const char* what);

}  // namespace sipcontract::detail::validation
