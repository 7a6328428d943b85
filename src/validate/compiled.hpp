// The compiled form of a schema: valijson schemas whose custom keyword
// ("x-sipcontract-compiled") runs a Bundle of checks written for draft-7 semantics.
//
// The schema compiler (compiler.cpp) rewrites each draft-7 schema object before
// valijson parses it: the keywords valijson gets wrong or reports poorly become
// Checks, gathered in one Bundle per schema object; valijson keeps `properties`,
// `items` (one schema), `allOf`, `if`/`then`/`else` and `$ref`. A Check that
// applies a subschema (oneOf branches, not, contains, ...) holds it as a Unit:
// a valijson schema compiled on its own, so that it can be run with its own
// results and the check can decide what to report.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <valijson/constraints/constraint.hpp>
#include <valijson/schema.hpp>
#include <valijson/validation_results.hpp>
#include <vector>

#include "internal.hpp"

namespace sipcontract::detail::fast {
struct Program;
}  // namespace sipcontract::detail::fast

namespace sipcontract::detail::validation {

struct Bundle;

/// A subschema compiled as its own valijson schema.
struct Unit {
  const Json* node = nullptr;  ///< the rewritten schema; only valid while compiling
  std::unique_ptr<valijson::Schema> schema = std::make_unique<valijson::Schema>();
  bool started = false;
  /// The same subschema in the verdict program (null / 0xFFFFFFFF when there is none): a value it
  /// finds valid has no finding, and a verdict-only run needs no valijson at all.
  const detail::fast::Program* program = nullptr;
  std::uint32_t fast_node = 0xFFFFFFFFu;
  /// The bundle, when it is the schema's only constraint: run_unit() then calls it directly,
  /// which is what valijson's visitor would do, without building the visitor.
  const Bundle* bundle = nullptr;
};

/// The bundle that is `schema`'s only constraint, or null.
const Bundle* sole_bundle(const valijson::Subschema& schema);

/// While it lives (on this thread), run_unit() does not ask the verdict program: the findings path
/// alone, for the tests and the differential fuzz target that hold the two paths to each other.
class ValijsonOnly {
 public:
  ValijsonOnly();
  ~ValijsonOnly();
  ValijsonOnly(const ValijsonOnly&) = delete;
  ValijsonOnly& operator=(const ValijsonOnly&) = delete;

 private:
  bool previous_;
};

/// Runs `unit` on `value` at `context`; reports into `results` when it is not null. `refused`:
/// the verdict program already refused this value at this unit, so it is not asked again.
bool run_unit(const Unit& unit, const Json& value, const Context& context,
              valijson::ValidationResults* results, bool refused = false);

/// Where a check reports, and what it may show.
class Out {
 public:
  Out(const Context& context, valijson::ValidationResults* results) : context_(&context), results_(results) {}
  /// Findings of one value into `sink`, its location kept by the caller: the verdict program's
  /// report() runs the checks of a value (Program::checks) this way. `secret`: the value belongs
  /// to a secret field. Throws TooManyFindings as the other form does.
  Out(std::vector<RawFinding>& sink, bool secret);
  /// False on the verdict-only path: checks stop at the first failure and build no message.
  bool reporting() const { return results_ != nullptr || sink_ != nullptr; }
  const Context& context() const { return *context_; }
  valijson::ValidationResults* results() const { return results_; }
  /// True when the value at this context belongs to a secret field.
  bool secret() const { return sink_ != nullptr ? secret_ : context_is_secret(*context_); }
  /// Records a finding at this context (or at `context` when given; into a sink, only checks
  /// that report at their own value's location may run).
  void report(RawFinding&& finding) const;
  void report_at(const Context& context, RawFinding&& finding) const;

 private:
  const Context* context_;
  valijson::ValidationResults* results_;
  std::vector<RawFinding>* sink_ = nullptr;
  bool secret_ = false;
};

/// The finding of "required" for one absent member, and of the equal pair for a member that
/// differs from `other`, as the checks word them (the verdict program's report() uses them too).
RawFinding missing_property(const std::string& name);
RawFinding unequal_property(const std::string& other);
/// The finding of a presence rule (`not` of `required` lists): `has` tells whether the value, an
/// object, has a member (null: the value is not an object, which the rule always refuses). An
/// empty finding (no keyword) when no list is all present.
RawFinding forbidden_finding(const std::vector<std::vector<std::string>>& groups,
                             const std::function<bool(const std::string&)>* has);

/// One rule of one schema object.
class Check {
 public:
  virtual ~Check() = default;
  /// False when `value` breaks the rule; reports through `out` when it is reporting.
  virtual bool check(const Json& value, const Out& out) const = 0;
  /// The units this check runs (compiled before validation starts).
  virtual void units(std::vector<Unit*>& /*into*/) const {}
};

/// The checks of one schema object, in the order they run.
struct Bundle {
  std::vector<std::unique_ptr<Check>> checks;
  const Check* type = nullptr;  ///< the "type" check, when the schema object has one
  bool validate(const Json& value, const Context& context, valijson::ValidationResults* results) const;
};

// Factories, so that compiler.cpp needs no check class.
/// mask: TypeBit values; names: the type names as the schema lists them.
std::unique_ptr<Check> make_type_check(unsigned mask, std::vector<std::string> names);
std::unique_ptr<Check> make_enum_check(std::vector<Json> values);
std::unique_ptr<Check> make_const_check(Json value);
std::unique_ptr<Check> make_format_check(Format format, std::string name);
/// Why RE2 cannot compile `pattern` (an ECMA-262 regular expression), or nothing when it can.
std::optional<std::string> regex_problem(const std::string& pattern);
/// Throws std::invalid_argument (with RE2's reason) when RE2 cannot compile `pattern`.
std::unique_ptr<Check> make_pattern_check(const std::string& pattern);
/// keyword: minLength, maxLength, minItems, maxItems, minProperties, maxProperties.
std::unique_ptr<Check> make_count_check(std::string keyword, std::uint64_t limit);
/// keyword: minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf.
std::unique_ptr<Check> make_number_check(std::string keyword, Json limit);
std::unique_ptr<Check> make_unique_items_check();
std::unique_ptr<Check> make_required_check(std::vector<std::string> names);
/// properties: each declared member present is checked by its unit.
std::unique_ptr<Check> make_properties_check(std::vector<std::pair<std::string, Unit*>> properties);
std::unique_ptr<Check> make_dependencies_check(
    std::vector<std::pair<std::string, std::vector<std::string>>> lists,
    std::vector<std::pair<std::string, Unit*>> schemas);
std::unique_ptr<Check> make_equal_properties_check(std::vector<std::pair<std::string, std::string>> pairs);
/// `not` of `required` lists (one list, or an anyOf of lists): a presence rule.
std::unique_ptr<Check> make_forbidden_check(std::vector<std::vector<std::string>> groups);
std::unique_ptr<Check> make_not_check(Unit* unit, std::string title);
std::unique_ptr<Check> make_contains_check(Unit* unit);
/// if/then/else; `then` and `otherwise` may be null (no such branch).
std::unique_ptr<Check> make_if_check(Unit* condition, Unit* then, Unit* otherwise);
std::unique_ptr<Check> make_property_names_check(Unit* unit);

/// patternProperties and additionalProperties (properties stay with valijson).
struct PatternProperty {
  std::string pattern;
  Unit* unit;
};
/// Throws std::invalid_argument when RE2 cannot compile a pattern.
std::unique_ptr<Check> make_extra_properties_check(std::vector<std::string> declared,
                                                   std::vector<PatternProperty> patterns, Unit* additional,
                                                   bool additional_forbidden);
/// items as an array of schemas, with additionalItems.
std::unique_ptr<Check> make_tuple_items_check(std::vector<Unit*> items, Unit* additional,
                                              bool additional_forbidden);

/// One branch of oneOf/anyOf.
struct Variant {
  Unit* unit;
  std::string title;
};
std::unique_ptr<Check> make_variants_check(std::string keyword, std::vector<Variant> variants);

/// One finding of a variant, as oneOf/anyOf weighs it: whether it is at the value itself, and the
/// finding (report_variants() may move from it).
struct VariantFinding {
  bool at_value;
  RawFinding* finding;
};
/// What oneOf/anyOf reports: findings at the value (kHere), or variant `variant`'s own findings
/// (by their index in its list, each reported where it was found), reworded.
struct VariantsReport {
  static constexpr std::size_t kHere = static_cast<std::size_t>(-1);
  std::size_t variant = kHere;
  std::vector<std::pair<std::size_t, RawFinding>> findings;
  void here(RawFinding&& finding) { findings.emplace_back(kHere, std::move(finding)); }
};
/// What `check` (made by make_variants_check) reports for a value it refuses: `matched`, the
/// variants the value matches (more than one, for oneOf; else none); `per_variant`, when none
/// matched, each variant's findings (collected as collect_findings() does).
VariantsReport report_variants(const Check& check, const std::vector<std::size_t>& matched,
                               const std::vector<std::vector<VariantFinding>>& per_variant);
std::unique_ptr<Check> make_false_check();

/// The valijson constraint that runs `bundle` (owned by the compiled schema).
valijson::constraints::Constraint* new_bundle_constraint(const Bundle* bundle);

/// The keyword valijson sees on each rewritten schema object; its value indexes the bundles.
inline constexpr const char* kCompiledKeyword = "x-sipcontract-compiled";

}  // namespace sipcontract::detail::validation

namespace sipcontract::detail {

namespace fast {
struct Program;
}

/// A compiled schema: the bundles and units its valijson schemas point into.
struct CompiledSchema {
  std::string title;
  std::vector<std::unique_ptr<validation::Bundle>> bundles;
  std::vector<std::unique_ptr<validation::Unit>> units;
  validation::Unit* root = nullptr;
  /// A $ref cycle: validation depth then follows the instance, which is bounded first.
  bool recursive = false;
  /// Every property name the schema declares (properties, required, dependencies), sorted: text
  /// whoever reads a finding knows, shown even where a secret is part of it (FindingsScope).
  std::vector<std::string> names;
  /// The verdict program (fast.hpp); null when the schema uses something it does not support,
  /// and verdicts then come from the valijson schemas.
  std::shared_ptr<const fast::Program> fast;
};

}  // namespace sipcontract::detail
