// sipcontract/diff.hpp: what changed between two contracts, and whom each change breaks.
//
//   auto report = sipcontract::diff_contracts(Contract::builtin("v1"), Contract::builtin("v2"));
//   sipcontract::write_diff_text(report, std::cout);
//   return report.breaks(sipcontract::Impact::kClient) ? 1 : 0;
//
// Operations are matched by their manifest key (then by id, then by resource and role), and their
// schemas are walked structurally: "$ref"s resolve in each contract's own schemas, "allOf" merges,
// "items", "properties" and "additionalProperties" are followed, and "oneOf"/"anyOf" with as many
// variants on both sides are compared variant by variant. Titles, descriptions, "$comment"s and
// examples are documentation and never a change.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/contract.hpp"

namespace sipcontract {

/// Whom a change breaks. A client breaks when it sends what is now refused, reads what is no
/// longer there, or gets a value it does not know; a server when it must now accept or return
/// something new; neither when nothing on the wire changes (an operation id).
enum class Impact { kClient, kServer, kNone };
/// "client", "server", "none".
std::string_view to_string(Impact impact);

/// One difference between two contracts.
struct Change {
  std::string operation;  ///< the operation's manifest key in the newer contract ("create")
  std::string method;     ///< its method and path, for people ("POST", "/resources/...")
  std::string path;
  /// Where in the operation: "operation", "path", "request", or "response 201".
  std::string part;
  /// A JSON Pointer into the documents of `part` ("/codecs/*" is every item of codecs; "" the
  /// root); for "path", the parameter's name.
  std::string pointer;
  /// A stable id: operation-added, operation-removed, operation-id-changed, method-changed,
  /// path-changed, path-parameter-added, path-parameter-removed, path-parameter-format-changed,
  /// request-added, request-removed, media-type-changed, status-added, status-removed,
  /// property-added, property-removed, required-added, required-removed, type-changed,
  /// format-changed, enum-values-added, enum-values-removed, default-changed, object-closed,
  /// object-opened, constraint-added, constraint-removed, constraint-changed.
  std::string kind;
  Impact impact = Impact::kNone;
  std::string message;     ///< one line a reviewer reads
  nlohmann::json before;   ///< the value in the older contract (null when none)
  nlohmann::json after;    ///< and in the newer one
};

/// Every change from `from` to `to`, grouped by operation (in the newer contract's order, removed
/// operations last), then in walk order.
struct DiffReport {
  std::string from;  ///< the older contract's name
  std::string to;    ///< the newer one's
  std::vector<Change> changes;
  /// How many changes have `impact`.
  std::size_t count(Impact impact) const;
  /// True when a change has `impact`.
  bool breaks(Impact impact) const { return count(impact) > 0; }
};

/// Compares `from` (the older contract) with `to` (the newer).
DiffReport diff_contracts(const Contract& from, const Contract& to);

/// The text view: a header, then per operation one line per change
/// ("  breaks clients  response 201 /call_handler  property removed: ..."), then the counts.
void write_diff_text(const DiffReport& report, std::ostream& out);

/// The JSON view (shape in README.md, "sipcontract diff"), keys in a stable order.
nlohmann::ordered_json diff_to_json(const DiffReport& report);

}  // namespace sipcontract
