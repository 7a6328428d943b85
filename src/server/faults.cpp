// Names of the fault modes, as the CLI's --fault flag and reports spell them.
#include <array>
#include <utility>

#include "sipcontract/server.hpp"

namespace sipcontract {
namespace {

constexpr std::array<std::pair<ServerFault, std::string_view>, 24> kNames{{
    {ServerFault::kNone, "none"},
    {ServerFault::kWrongStatus, "wrong-status"},
    {ServerFault::kWrongContentType, "wrong-content-type"},
    {ServerFault::kNonJsonBody, "non-json-body"},
    {ServerFault::kMissingField, "missing-field"},
    {ServerFault::kBadEnum, "bad-enum"},
    {ServerFault::kBadUuid, "bad-uuid"},
    {ServerFault::kNoEcho, "no-echo"},
    {ServerFault::kWrongDefault, "wrong-default"},
    {ServerFault::kLeakPassword, "leak-password"},
    {ServerFault::kLeakToken, "leak-token"},
    {ServerFault::kSlow, "slow"},
    {ServerFault::kAcceptDuplicates, "accept-duplicates"},
    {ServerFault::kAcceptInvalid, "accept-invalid"},
    {ServerFault::kNoAuth, "no-auth"},
    {ServerFault::kUnknownSubscriberOk, "unknown-subscriber-ok"},
    {ServerFault::kBadErrorShape, "bad-error-shape"},
    {ServerFault::kWrongAttribute, "wrong-attribute"},
    {ServerFault::kUndocumentedStatus, "undocumented-status"},
    {ServerFault::kIgnoreDelete, "ignore-delete"},
    {ServerFault::kResetConnection, "reset-connection"},
    {ServerFault::kTruncatedBody, "truncated-body"},
    {ServerFault::kHugeBody, "huge-body"},
    {ServerFault::kDeepNesting, "deep-nesting"},
}};

}  // namespace

std::string_view fault_name(ServerFault fault) {
  for (const auto& [value, name] : kNames) {
    if (value == fault) return name;
  }
  return "unknown";
}

std::optional<ServerFault> parse_fault(std::string_view name) {
  for (const auto& [value, text] : kNames) {
    if (text == name) return value;
  }
  return std::nullopt;
}

const std::vector<ServerFault>& all_faults() {
  static const std::vector<ServerFault> faults = [] {
    std::vector<ServerFault> out;
    for (const auto& [value, name] : kNames) {
      if (value != ServerFault::kNone) out.push_back(value);
    }
    return out;
  }();
  return faults;
}

}  // namespace sipcontract
