// URI references as JSON Schema uses them ("$id", "$ref"): RFC 3986 resolution by uriparser.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sipcontract::detail::validation {

/// `reference` resolved against the absolute URI `base` (RFC 3986, section 5.2), its fragment
/// kept as written; nothing when either is not a URI reference.
std::optional<std::string> resolve_uri(std::string_view base, std::string_view reference);

/// The URI without its fragment ("http://x/y#a" -> "http://x/y").
std::string_view without_fragment(std::string_view uri);

/// The fragment of a URI, without "#" (empty when there is none).
std::string_view fragment_of(std::string_view uri);

/// True when `text` begins with a URI scheme ("http:", "urn:", "file:").
bool has_scheme(std::string_view text);

}  // namespace sipcontract::detail::validation
