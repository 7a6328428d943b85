// The one source of randomness and of UUIDs, and the one UUID check, for every module.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sipcontract {

/// Fills `out` with `size` bytes from the kernel's CSPRNG (getrandom), drawn through a per-thread
/// pool (one system call per 4 KiB; fork-safe). Throws std::runtime_error if getrandom fails.
void random_bytes(void* out, std::size_t size);

/// `bytes` random bytes, as 2 * `bytes` lowercase hex digits.
std::string random_hex(std::size_t bytes);

/// A new random (version 4, RFC 4122 variant) UUID in lowercase textual form: 122 random bits.
std::string new_uuid();

/// True for the textual form of a UUID, 8-4-4-4-12 hex digits in either case (any version, any
/// variant): what JSON Schema's "uuid" format accepts.
bool is_uuid(std::string_view text);

/// The lowercase form of `text` when is_uuid(text), else std::nullopt.
std::optional<std::string> normalize_uuid(std::string_view text);

}  // namespace sipcontract
