// The two verdict paths of a Schema, each on its own, so that tests and the differential
// fuzz target can hold them to each other (not installed; include from src/validate).
#pragma once

#include <optional>

#include "sipcontract/validate.hpp"

namespace sipcontract::detail {

struct SchemaAccess {
  /// The findings path alone (valijson and the compiled checks): validate()'s verdict without
  /// the verdict program's shortcut.
  static bool slow_is_valid(const Schema& schema, const nlohmann::json& instance);
  /// validate() without the verdict program's shortcut for valid documents.
  static Result slow_validate(const Schema& schema, const nlohmann::json& instance);
  /// The verdict program alone on a nlohmann document; nothing when the schema has none.
  static std::optional<bool> fast_is_valid(const Schema& schema, const nlohmann::json& instance);
  /// The verdict from bytes the slow way: parse_json, then the findings path.
  static Verdict slow_check(const Schema& schema, std::string_view text, const ParseLimits& limits = {});
};

}  // namespace sipcontract::detail
