// The fast verdict path from bytes (fast_eval.cpp), for schema.cpp.
#pragma once

#include <cstddef>
#include <string_view>

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

/// Parses `text` (size already checked against limits.max_bytes) and runs `program` on it.
/// A document nesting deeper than `recursion_limit` is invalid (recursive schemas). `strict`
/// adds strict_valid() (fast.hpp) to the verdict. When the verdict is kInvalid because the program
/// refused the document and `invalid_document` is given, it receives the document exactly as
/// parse_json() would build it from `text` (so that findings need no second parse).
TextVerdict check_text(const Program& program, std::string_view text, const ParseLimits& limits,
                       std::size_t recursion_limit, bool strict = false,
                       nlohmann::json* invalid_document = nullptr);

}  // namespace sipcontract::detail::fast
