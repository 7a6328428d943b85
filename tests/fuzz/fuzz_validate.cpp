// Fuzz target: request and response validation from raw bytes, through the public API.
// The first byte picks what the rest is checked as: the request, or the response for a status.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sipcontract/contract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const sipcontract::Contract& contract = sipcontract::Contract::builtin();
  if (size == 0) return 0;
  static constexpr int kStatuses[] = {0, 201, 401, 404, 422, 500, 418};
  const int status = kStatuses[data[0] % (sizeof kStatuses / sizeof kStatuses[0])];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  sipcontract::ParseLimits limits;
  limits.max_bytes = 1u << 20;
  auto parsed = sipcontract::parse_json(text, limits);
  if (!parsed) {
    (void)parsed.error().to_string();
    return 0;
  }
  const auto result =
      status == 0 ? contract.validate_request(*parsed) : contract.validate_response(status, *parsed);
  const bool fast = status == 0 ? contract.request_schema().is_valid(*parsed)
                                : (contract.response_schema(status) == nullptr ||
                                   contract.response_schema(status)->is_valid(*parsed));
  // The verdict-only path and the full path must agree (the contract's extra rules included).
  if (status != 0 && contract.response_schema(status) != nullptr && fast != result.valid()) __builtin_trap();
  for (const auto& f : result.findings) (void)sipcontract::to_json(f).dump();
  return 0;
}
