// Drift attribution: a failure another known version of the contract explains. The target's
// answer conforms to that version's schema for the same operation and status where it breaks the
// selected one, or its status is the one that version's request schema predicts for what was
// sent. The failure stays a failure; the report only says which version the target appears to
// follow (RunReport::drift).
#include <algorithm>
#include <set>

#include "internal.hpp"

namespace sipcontract::detail {

namespace {

/// The operation of `other` that plays `op`'s part: the same manifest key or id, and method.
const Operation* counterpart(const Contract& other, const Operation& op) {
  const Operation* found = other.operation(op.name);
  if (!found) found = other.operation(op.id);
  return found && found->method == op.method ? found : nullptr;
}

/// The first token of a JSON Pointer ("/call_handler/x" -> "call_handler"), unescaped.
std::string first_token(const std::string& pointer) {
  if (pointer.size() < 2 || pointer[0] != '/') return "";
  std::string token = pointer.substr(1, pointer.find('/', 1) - 1);
  std::string out;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) {
      out += token[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

/// The properties the answer for `status` documents, or none.
std::set<std::string> documented(const Contract& contract, const Operation& op, int status) {
  const ResponseSpec* response = op.response(status);
  if (!response || response->schema_name.empty()) return {};
  auto names = contract.documented_properties(response->schema_name);
  return {names.begin(), names.end()};
}

/// The request schema's verdict on what was sent; nullopt when it says nothing (no JSON body).
std::optional<bool> accepts(const Operation& op, const Step& step) {
  if (!step.body || !op.request || !op.request->schema) return std::nullopt;
  return op.request->schema->is_valid(*step.body);
}

}  // namespace

void explain_failures(const Contract& selected, const Operation& op, const Step& step, const Exchange& ex,
                      const std::optional<Parsed>& parsed, const std::vector<const Contract*>& others,
                      std::size_t max_bytes, std::size_t max_depth, std::vector<CheckFailure>& failures) {
  static const std::set<std::string> kExplainable = {"status", "undocumented-status", "schema", "enum",
                                                     "echo",   "fields",              "state",  "capture",
                                                     "attribute"};
  if (ex.failure != Exchange::Failure::kNone || ex.status < 0) return;
  const bool any = std::any_of(failures.begin(), failures.end(), [](const CheckFailure& f) {
    return f.severity == Severity::kFailure && f.explained_by.empty() && kExplainable.count(f.check);
  });
  if (!any) return;
  // The document; a body whose verdict came from its bytes alone was not parsed.
  std::optional<Parsed> late;
  const nlohmann::json* doc = parsed && *parsed ? &**parsed : nullptr;
  if (!doc && !parsed && !ex.body.empty()) {
    late = parse_body(ex, max_bytes, max_depth);
    if (late && *late) doc = &**late;
  }
  const auto selected_fields = documented(selected, op, ex.status);
  const auto selected_verdict = accepts(op, step);
  for (const Contract* other : others) {
    if (!other || other == &selected) continue;
    const Operation* peer = counterpart(*other, op);
    if (!peer) continue;
    const ResponseSpec* response = peer->response(ex.status);
    if (!response) continue;
    // The answer must conform to the other version for its status.
    bool conforms = false;
    if (response->schema_name.empty()) conforms = ex.body.empty();
    else conforms = doc && response->schema && response->schema->is_valid(*doc);
    if (!conforms) continue;
    const auto peer_fields = documented(*other, *peer, ex.status);
    // What the other version's request schema predicts for what was sent, where the versions differ.
    const auto peer_verdict = accepts(*peer, step);
    const bool status_predicted =
        selected_verdict && peer_verdict && *selected_verdict != *peer_verdict &&
        ((*peer_verdict && ex.status >= 200 && ex.status < 300) ||
         (!*peer_verdict && ex.status == other->validation_errors().status));
    for (auto& f : failures) {
      if (f.severity != Severity::kFailure || !f.explained_by.empty() || !kExplainable.count(f.check)) continue;
      bool explained = false;
      if (f.check == "schema" || f.check == "enum" || f.check == "undocumented-status") {
        explained = true;  // the body breaks this version and conforms to the other
      } else if (f.check == "status" || f.check == "attribute") {
        // The status, and the 422's items, follow the other version's verdict on the request.
        explained = status_predicted;
      } else if (f.check == "capture") {
        continue;  // below: explained with the status that left it without a value
      } else {
        // echo, fields, state: about a field this version documents and the other does not.
        // A read-back's missing member is reported at its object, as "required NAME".
        std::string field = first_token(f.pointer);
        if (field.empty() && f.expected.rfind("required ", 0) == 0) field = f.expected.substr(9);
        explained = !field.empty() && selected_fields.count(field) && !peer_fields.count(field);
      }
      if (explained) f.explained_by = other->name();
    }
    // A value a later step needed is missing because the status was another version's.
    const bool status_explained = std::any_of(failures.begin(), failures.end(), [other](const CheckFailure& f) {
      return f.check == "status" && f.explained_by == other->name();
    });
    if (status_explained)
      for (auto& f : failures)
        if (f.check == "capture" && f.explained_by.empty()) f.explained_by = other->name();
  }
}

}  // namespace sipcontract::detail
