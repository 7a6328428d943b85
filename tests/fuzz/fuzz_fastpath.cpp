// Fuzz target (differential): the fast verdict path must give every text the verdict of the
// findings path. Traps when Schema::check (simdjson + the verdict program), is_valid on a
// nlohmann document (the verdict program) or validate_text disagree with parse_json followed by
// valijson and the compiled checks.
//
// Input: byte 0 picks the schema (the contract's, or one of a few that use every keyword the
// verdict program compiles), byte 1 the parse limits and strict mode, the rest is the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/contract.hpp"
#include "testing.hpp"

namespace {

using sipcontract::Schema;
using sipcontract::Verdict;

Schema compile(const std::string& text) {
  sipcontract::SchemaStore store = sipcontract::Contract::builtin().schema_store();
  store.add("(fuzz).json", text);
  return Schema::compile(store, "(fuzz).json");
}

const std::vector<Schema>& schemas() {
  static const std::vector<Schema> all = [] {
    std::vector<Schema> out;
    const auto& contract = sipcontract::Contract::builtin();
    for (const auto& name : sipcontract::Contract::builtin().schema_store().names())
      out.push_back(contract.schema(name));
    // Every keyword the verdict program compiles, in shapes a random text can reach.
    for (
        const char* text : {
            R"({"type": ["object", "array", "string", "integer", "null"], "minProperties": 1, "maxProperties": 4,
                 "propertyNames": {"pattern": "^[a-z_]+$", "maxLength": 8},
                 "patternProperties": {"^x": {"type": "integer", "multipleOf": 3}, "y$": {"minimum": -2.5}},
                 "additionalProperties": {"type": ["string", "boolean"], "minLength": 1, "maxLength": 3},
                 "dependencies": {"a": ["b"], "c": {"required": ["d"]}}, "minItems": 1, "maxItems": 5,
                 "uniqueItems": true, "items": [{"enum": [1, "1", null, [1], {"a": 1}]}, {"const": {"k": [1, 2.0]}}],
                 "additionalItems": {"type": "number", "exclusiveMaximum": 1e19, "exclusiveMinimum": -1e19},
                 "contains": {"type": "integer"}, "format": "uuid", "pattern": "^[0-9a-f-]*$"})",
            R"({"allOf": [{"if": {"type": "object"}, "then": {"required": ["k"]}, "else": {"type": "array"}}],
                 "anyOf": [{"properties": {"k": {"type": "string", "format": "date-time"}}}, {"type": "array"}],
                 "oneOf": [{"not": {"required": ["m"]}}, {"not": {"anyOf": [{"required": ["n"]}, {"required": ["o"]}]}}],
                 "not": {"items": {"type": "boolean"}, "minItems": 3},
                 "x-sipcontract-equal-properties": {"k": "l"}})",
            R"({"definitions": {"node": {"type": ["array", "object", "number"], "items": {"$ref": "#/definitions/node"},
                 "properties": {"n": {"$ref": "#/definitions/node"}}, "maximum": 18446744073709551615,
                 "minimum": -9223372036854775808}}, "$ref": "#/definitions/node"})",
            R"({"items": {"uniqueItems": true, "items": {"type": "integer"}}, "maxItems": 40, "uniqueItems": true})",
        }) {
      out.push_back(compile(text));
    }
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using Access = sipcontract::detail::SchemaAccess;
  if (size < 2) return 0;
  const auto& all = schemas();
  // Bit 2 of byte 1: strict mode (members no schema declares are findings), on both paths too.
  const Schema schema = all[data[0] % all.size()].strict((data[1] & 4) != 0);
  sipcontract::ParseLimits limits;
  limits.max_bytes = 1u << 20;
  switch (data[1] % 4) {
    case 1:
      limits.max_depth = 3;
      break;
    case 2:
      limits.max_depth = 1100;  // past simdjson's own depth limit (1024)
      break;
    case 3:
      limits.max_bytes = 64;
      break;
    default:
      break;
  }
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  const Verdict slow = Access::slow_check(schema, text, limits);
  if (schema.check(text, limits) != slow) __builtin_trap();
  const sipcontract::Parsed parsed = sipcontract::parse_json(text, limits);
  if (parsed) {
    const auto program = Access::fast_is_valid(schema, *parsed);
    if (program && *program != (slow == Verdict::kValid)) __builtin_trap();
    if (schema.is_valid(*parsed) != (slow == Verdict::kValid)) __builtin_trap();
  }
  const sipcontract::TextResult checked = schema.validate_text(text, limits);
  if (checked.verdict != slow) __builtin_trap();
  // validate_text's findings come from the fast parser's document: they must be the findings
  // of parse_json's.
  if (parsed && checked.result.findings != Access::slow_validate(schema, *parsed).findings) __builtin_trap();
  return 0;
}
