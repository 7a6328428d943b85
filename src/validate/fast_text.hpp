// The fast verdict path from bytes (fast_eval.cpp), for schema.cpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/validate.hpp"

namespace sipcontract::detail::fast {

struct Program;

/// What the fast path could tell of a text.
enum class TextVerdict {
  kValid,
  kInvalid,
  kNotJson,    ///< refused by a rule parse_json also applies (repeated key, nesting past max_depth)
  kUndecided,  ///< simdjson refused it: parse_json must decide (and give the reason)
};

/// What a caller that wants findings gets for a document the program refuses (check_text).
struct Refusal {
  const std::vector<std::string>* secret_fields = nullptr;  ///< the schema's (set by the caller)
  const std::vector<std::string>* names = nullptr;          ///< CompiledSchema::names (the same)
  /// True when `findings` holds the findings path's findings, made from simdjson's document (not
  /// in strict mode, nor for a recursive schema, nor where a failing rule is one it does not follow);
  /// else `document` holds the document exactly as parse_json() builds it from the text. (Optional,
  /// so that a valid text's call neither builds nor destroys a JSON value.)
  bool explained = false;
  std::vector<Finding> findings;
  std::optional<nlohmann::json> document;
};

/// Parses `text` (size already checked against limits.max_bytes) and runs `program` on it.
/// A document nesting deeper than `recursion_limit` is invalid (recursive schemas), without
/// `refusal` being filled. `strict` adds strict_valid() (fast.hpp) to the verdict. When the program
/// refuses the document and `refusal` is given, it is filled (so that findings need no second parse).
TextVerdict check_text(const Program& program, std::string_view text, const ParseLimits& limits,
                       std::size_t recursion_limit, bool strict = false, Refusal* refusal = nullptr);

}  // namespace sipcontract::detail::fast
