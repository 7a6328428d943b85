// Base64 (RFC 4648, standard alphabet) for every module: OpenSSL's EVP_EncodeBlock and
// EVP_DecodeBlock, with the strictness EVP_DecodeBlock lacks checked here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sipcontract {

/// `data` in base64, padded with '='.
std::string base64_encode(std::string_view data);

/// The bytes `text` encodes, or std::nullopt when it is not base64: a character outside the
/// alphabet (whitespace included), more than two '=', '=' anywhere but at the end, a padded text
/// whose length is not a multiple of 4, or a length that leaves one character over. Padding may be
/// left out (some clients omit it).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace sipcontract
