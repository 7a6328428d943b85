// The two verdict paths of a Schema, each on its own, so that tests and the differential
// fuzz target can hold them to each other (not installed; include from src/validate).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "sipcontract/validate.hpp"

namespace sipcontract::detail {

struct SchemaAccess {
  /// The findings path alone (valijson and the compiled checks, the verdict program nowhere):
  /// validate()'s verdict, reached independently of the verdict program.
  static bool slow_is_valid(const Schema& schema, const nlohmann::json& instance);
  /// The findings path alone, as slow_is_valid: what validate() must report.
  static Result slow_validate(const Schema& schema, const nlohmann::json& instance);
  /// What validate() runs for a document the verdict program refused: the findings path, whose
  /// subschemas ask the verdict program first (a valid member is skipped). The same findings as
  /// slow_validate(), which the tests hold it to. `refused`: the caller's verdict program already
  /// found the document invalid (without strict mode), so the root is not asked again.
  static Result findings(const Schema& schema, const nlohmann::json& instance, bool refused = false);
  /// The verdict program alone on a nlohmann document; nothing when the schema has none.
  static std::optional<bool> fast_is_valid(const Schema& schema, const nlohmann::json& instance);
  /// The verdict from bytes the slow way: parse_json, then the findings path.
  static Verdict slow_check(const Schema& schema, std::string_view text, const ParseLimits& limits = {});
  /// The findings validate_text() gives a document the verdict program refuses when they are made
  /// on simdjson's document by the program's report(); nothing when the findings path makes them
  /// (report() does not follow a failing rule, strict mode, a recursive schema) or the document is
  /// valid or not JSON.
  static std::optional<std::vector<Finding>> reported(const Schema& schema, std::string_view text);
};

}  // namespace sipcontract::detail
