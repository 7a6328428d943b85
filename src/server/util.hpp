// Small helpers of the reference server: Basic credentials, constant-time comparison. UUIDs,
// randomness, base64 and redaction are src/common's (sipcontract/random.hpp, base64.hpp, redactor.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/base64.hpp"
#include "sipcontract/random.hpp"
#include "sipcontract/redactor.hpp"

namespace sipcontract::detail::refserver {

/// The user and password of an `Authorization: Basic ...` header value, or std::nullopt when the
/// value is not Basic credentials (wrong scheme, bad base64, no colon).
struct BasicCredentials {
  std::string user;
  std::string secret;  ///< what Basic calls the password
};
std::optional<BasicCredentials> parse_basic_authorization(std::string_view header_value);

/// Compares two strings in time that depends only on their lengths, not on where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

/// `text` with control and non-ASCII bytes escaped as \\xHH, for one-line logs.
std::string printable(std::string_view text);

}  // namespace sipcontract::detail::refserver
