// The fast verdict path: a schema compiled into a compact program of checks that
// runs directly on a parsed document (simdjson's DOM, or a nlohmann::json), with
// no allocation per document and no findings, only a verdict.
//
// The schema compiler (compiler.cpp) records a Program while it walks a schema,
// beside the valijson form that produces findings: each schema object becomes a
// Node, a list of Steps, and every subschema a Node index (a "$ref" is the index
// of its target, so recursive schemas are cycles in the graph). Verdicts are
// defined to be the slow path's: the same draft-7 semantics (compare_numbers,
// is_integral, is_multiple, json equality, utf8_length, check_format, RE2 with
// the same pattern translation), and tests plus a differential fuzz target
// check that both paths agree on every document.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "internal.hpp"

namespace re2 {
class RE2;
}

namespace sipcontract::detail::validation {
class Check;
}

namespace sipcontract::detail::fast {

using validation::Json;
using validation::Number;

/// What a Step checks. Steps of one node run in order; the first failure decides.
enum class Op : std::uint8_t {
  kType,       ///< n: TypeBit mask
  kEnum,       ///< a: enums index
  kConst,      ///< a: consts index
  kFormat,     ///< n: validation::Format
  kPattern,    ///< a: regexes index
  kMinLength,  ///< n: limit (code points)
  kMaxLength,
  kMinItems,
  kMaxItems,
  kMinProperties,
  kMaxProperties,
  kMinimum,  ///< a: numbers index
  kExclusiveMinimum,
  kMaximum,
  kExclusiveMaximum,
  kMultipleOf,
  kUniqueItems,
  kRequired,       ///< a: name_lists index
  kDependencies,   ///< a: dependencies index
  kPropertyNames,  ///< a: node
  kObject,         ///< a: objects index (properties, patternProperties, additionalProperties)
  kItems,          ///< a: node applied to every item
  kTuple,          ///< a: tuples index (items as an array, additionalItems)
  kContains,       ///< a: node
  kAllOf,          ///< a: node_lists index
  kAnyOf,
  kOneOf,
  kNot,              ///< a: node
  kForbidden,        ///< a: groups index (`not` of `required` lists)
  kIf,               ///< a: if node, b: then node or kNone, c: else node or kNone
  kEqualProperties,  ///< a: pairs index
  kFalse,
};

/// "No schema" in a node operand (an absent then/else, additionalItems, additionalProperties).
inline constexpr std::uint32_t kNone = 0xFFFFFFFFu;

/// One check: what it does and its operands (see Op for what a, b, c and n mean).
struct Step {
  Op op;
  std::uint32_t a = 0;
  std::uint32_t b = kNone;
  std::uint32_t c = kNone;
  std::uint64_t n = 0;
};

/// One schema object: steps [begin, end) of Program::steps.
struct Node {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

/// An enum: its values, and the strings among them sorted for a quick lookup.
struct EnumSet {
  /// A string's length and its first and last (up to) 8 bytes, which may overlap: two strings of
  /// the same length up to 16 bytes are equal exactly when their keys are, so that a text is
  /// compared with a short enum's strings in one tight loop of integer comparisons.
  struct Key {
    std::uint64_t head = 0;
    std::uint64_t tail = 0;
    std::size_t size = 0;
    static constexpr std::size_t kWhole = 16;  ///< the longest string a key decides alone

    // Made for every string an enum step meets: inline, or the call costs more than the loop.
    [[gnu::always_inline]] explicit Key(std::string_view s) : size(s.size()) {
      if (size >= 8) {
        ends<std::uint64_t>(s.data());
      } else if (size >= 4) {
        ends<std::uint32_t>(s.data());
      } else if (size >= 2) {
        ends<std::uint16_t>(s.data());
      } else if (size == 1) {
        head = tail = static_cast<unsigned char>(s[0]);
      }
    }
    bool operator==(const Key&) const = default;

   private:
    template <class Word>  // the first and the last sizeof(Word) bytes of the size bytes at p
    [[gnu::always_inline]] void ends(const char* p) {
      Word word;
      std::memcpy(&word, p, sizeof word);
      head = word;
      std::memcpy(&word, p + size - sizeof word, sizeof word);
      tail = word;
    }
  };
  std::vector<Json> values;
  std::vector<std::string> strings;  ///< sorted; every string value
  std::vector<Key> keys;             ///< keys[i] is strings[i]'s
  bool only_strings = false;
};

/// properties, patternProperties and additionalProperties of one schema object.
struct ObjectRule {
  std::vector<std::pair<std::string, std::uint32_t>> properties;  ///< sorted by name
  /// properties by the length of their names (kLongName for any longer): those of length n are
  /// properties[by_length[k]] for k in [length_starts[n], length_starts[n + 1]). A member's name is
  /// then compared with the few declared names of its length only (find_property()).
  static constexpr std::size_t kLongName = 63;
  std::vector<std::uint32_t> by_length;
  std::array<std::uint32_t, kLongName + 2> length_starts{};
  std::vector<std::pair<std::uint32_t, std::uint32_t>> patterns;  ///< (regexes index, node)
  std::uint32_t additional = kNone;                               ///< node, or kNone
  bool forbidden = false;                                         ///< additionalProperties: false
  bool open = false;  ///< additionalProperties: true, said explicitly (strict mode then flags nothing)
};

/// items as an array of schemas, with additionalItems (a schema, false, or absent).
struct TupleRule {
  std::vector<std::uint32_t> items;
  std::uint32_t additional = kNone;
  bool forbidden = false;
};

/// dependencies: property lists, and schemas applied when a property is present.
struct DependencyRule {
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  std::vector<std::pair<std::string, std::uint32_t>> schemas;
};

/// A compiled schema's verdict program; immutable once built, shared by every thread.
struct Program {
  Program();
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  std::vector<Node> nodes;
  std::vector<Step> steps;
  /// Beside each step, the findings path's check for the same rule of a value (type, enum, const,
  /// format, pattern, the counts, the numbers, uniqueItems, false; anyOf and oneOf), or null:
  /// report() has it word the finding, so both paths say the same. Owned by the compiled schema
  /// that owns the program.
  std::vector<const validation::Check*> checks;
  std::uint32_t root = 0;
  std::vector<EnumSet> enums;
  std::vector<Json> consts;
  std::vector<Number> numbers;
  std::vector<std::unique_ptr<re2::RE2>> regexes;
  std::vector<std::vector<std::string>> name_lists;
  std::vector<std::vector<std::vector<std::string>>> groups;
  std::vector<ObjectRule> objects;
  std::vector<TupleRule> tuples;
  std::vector<DependencyRule> dependencies;
  std::vector<std::vector<std::uint32_t>> node_lists;
  std::vector<std::vector<std::pair<std::string, std::string>>> pairs;
};

/// Records a Program while the schema compiler walks a schema. Schema objects are
/// named by the address of their (rewritten) JSON node, which the compiler keeps
/// stable; children are linked by address and resolved in finish().
class Builder {
 public:
  Builder();
  ~Builder();
  Builder(const Builder&) = delete;
  Builder& operator=(const Builder&) = delete;

  /// `node` is a "$ref" to `target`: the same schema.
  void alias(const Json* node, const Json* target);
  /// `node` is a schema object (possibly with no step: the empty schema).
  void object(const Json* node);

  // `check`: the findings path's check for the same rule (Program::checks).
  void type(const Json* node, unsigned mask, const validation::Check* check);
  void enumeration(const Json* node, const Json& values, const validation::Check* check);
  void constant(const Json* node, const Json& value, const validation::Check* check);
  void format(const Json* node, validation::Format format, const validation::Check* check);
  /// Throws std::invalid_argument when RE2 cannot compile the pattern (the compiler checked it first).
  void pattern(const Json* node, const std::string& pattern, const validation::Check* check);
  /// keyword: minLength, maxLength, minItems, maxItems, minProperties, maxProperties.
  void count(const Json* node, std::string_view keyword, std::uint64_t limit, const validation::Check* check);
  /// keyword: minimum, exclusiveMinimum, maximum, exclusiveMaximum, multipleOf.
  void number(const Json* node, std::string_view keyword, const Json& limit, const validation::Check* check);
  void unique_items(const Json* node, const validation::Check* check);
  void required(const Json* node, std::vector<std::string> names);
  void dependencies(const Json* node, std::vector<std::pair<std::string, std::vector<std::string>>> lists,
                    std::vector<std::pair<std::string, const Json*>> schemas);
  void property_names(const Json* node, const Json* schema);
  void properties(const Json* node, std::vector<std::pair<std::string, const Json*>> properties,
                  std::vector<std::pair<std::string, const Json*>> patterns, const Json* additional,
                  bool forbidden, bool open);
  void items(const Json* node, const Json* schema);
  void tuple(const Json* node, std::vector<const Json*> items, const Json* additional, bool forbidden);
  void contains(const Json* node, const Json* schema);
  /// keyword: allOf, anyOf, oneOf (`check`: the findings path's check for anyOf and oneOf).
  void combine(const Json* node, std::string_view keyword, std::vector<const Json*> schemas,
               const validation::Check* check = nullptr);
  void negate(const Json* node, const Json* schema);
  void forbidden(const Json* node, std::vector<std::vector<std::string>> groups);
  void conditional(const Json* node, const Json* if_schema, const Json* then_schema, const Json* else_schema);
  void equal_properties(const Json* node, std::vector<std::pair<std::string, std::string>> pairs);
  void always_false(const Json* node, const validation::Check* check);

  /// The program rooted at `root`; nullptr when a schema object it needs was never recorded.
  std::unique_ptr<Program> finish(const Json* root);
  /// After finish(): the node index of a schema object (through "$ref"s), or kNone.
  std::uint32_t node_of(const Json* node) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The verdict of `program` on a nlohmann document (the caller bounds recursion depth).
bool valid(const Program& program, const Json& instance);
/// The verdict of one node of `program` (a subschema) on a value.
bool valid_at(const Program& program, std::uint32_t node, const Json& value);

/// Strict mode: true when every member of every object in `instance` is declared (by
/// "properties" or "patternProperties") by a schema object that applies to that object in
/// place (through allOf, anyOf, oneOf, if/then/else, dependencies and "$ref"), or is let in by
/// "additionalProperties". Objects no applying schema object declares members for are not judged.
bool strict_valid(const Program& program, const Json& instance);

/// The members strict_valid() refuses, as findings (keyword "strict", the object's context, the
/// member's name as property, and the closest declared name as suggestion when one is obvious).
void strict_findings(const Program& program, const Json& instance,
                     std::vector<validation::LocatedFinding>& out);

}  // namespace sipcontract::detail::fast
