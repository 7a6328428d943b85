// Small helpers of the reference server: UUIDs, Basic credentials, constant-time comparison.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sipcontract::detail::refserver {

/// A new random (version 4) UUID in lowercase textual form: 122 bits from the kernel's getrandom().
std::string new_uuid();

/// The lowercase form of `text` when it is a UUID in RFC 4122 textual form (any version, either
/// case), else std::nullopt.
std::optional<std::string> normalize_uuid(std::string_view text);

/// A random token of `bytes` random bytes (getrandom()), hex-encoded.
std::string random_hex(std::size_t bytes);

/// The user and password of an `Authorization: Basic ...` header value, or std::nullopt when the
/// value is not Basic credentials (wrong scheme, bad base64, no colon).
struct BasicCredentials {
  std::string user;
  std::string secret;  ///< what Basic calls the password
};
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value);

/// `in` in RFC 4648 base64, padded.
std::string base64(std::string_view in);

/// Compares two strings in time that depends only on their lengths, not on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Replaces every occurrence of each secret (of at least 3 bytes) in `text` with "[redacted]".
std::string redact(std::string text, const std::vector<std::string>& secrets);

/// `text` with control and non-ASCII bytes escaped as \\xHH, for one-line logs.
std::string printable(std::string_view text);

}  // namespace sipcontract::detail::refserver
