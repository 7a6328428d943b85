// JSON text the modules write themselves: one way to write a string as JSON, for the server's
// answers, the runner's reports and the validator's messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sipcontract {

/// How append_json_string() escapes. Both are JSON.
enum class JsonEscape {
  kJson,     ///< exactly as nlohmann's dump() does: short escapes or \u00XX for control characters
  kDisplay,  ///< also DEL (U+007F) as \u007f, which a terminal would not show: for messages
};

/// Appends `text` to `out` as a JSON string, quotes included: `"` and `\` escaped, control
/// characters as short escapes or \u00XX, well-formed UTF-8 kept as it is. A byte that starts no
/// well-formed UTF-8 sequence becomes U+FFFD, so the output is valid JSON and valid UTF-8 whatever
/// the input. `text` must not point into `out` (`out` may grow before `text` is read).
void append_json_string(std::string& out, std::string_view text, JsonEscape escape = JsonEscape::kJson);

/// `text` as it appears inside a JSON string (append_json_string() without the quotes).
std::string json_escaped(std::string_view text);

/// The bytes from text[i] (i < text.size()) that make one character: a well-formed UTF-8 sequence
/// (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), or else the maximal
/// ill-formed subpart, which append_json_string() writes as one U+FFFD (Unicode's recommended
/// practice, chapter 3.9, as nlohmann's dump() with error_handler_t::replace does). Never 0.
/// `well_formed`, when given, tells which.
std::size_t utf8_character(std::string_view text, std::size_t i, bool* well_formed = nullptr);

}  // namespace sipcontract
