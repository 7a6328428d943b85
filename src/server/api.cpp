// The reference server's business logic: the create, list, get, update and delete operations a
// contract gives its main resource, in memory, on the server's own Request and Response. Every
// name, path, field, default, rule and error body comes from the contract (model.hpp).
//
// How a request is answered, in this order (each check only runs when the previous ones passed):
//   1. credentials   401 with the contract's body + WWW-Authenticate, for every path, known or not
//   2. path          404 with the contract's body: a path the API lacks, a UUID parameter that is
//                    not one, an unknown parent
//   3. method        405 {"error":"Method Not Allowed",...} + Allow
//   4. item          404 for an update of an item that does not exist (before its body is read)
//   5. body size     413 {"error":"Payload Too Large",...} past ServerOptions::max_body_bytes
//   6. content type  422, the contract's code for an unreadable body (see "Decisions" below)
//   7. JSON          422, the same
//   8. schema        422, one item per finding of the operation's request schema
//   9. uniqueness    422 with the unique rule's code and message
//  10. capacity      422 with the contract's code for a full store, past max_endpoints or
//                    max_store_bytes
// A body that cannot be framed (bad Content-Length, cut short, read timeout) gets 400 and the
// connection is closed; so does a request the transport refuses (400, 408, 413, 414, 417, 431, 501,
// 505: http_parser.hpp says which is which), with a message that says what was wrong.
//
// Decisions (docs/contract.md has the table; the variants in layers.hpp take the other conforming
// answers to several of them):
// - Wrong or missing Content-Type and a body that is not JSON both get 422 with the contract's
//   "unreadable" code (v1: invalid_parameter) and attribute null, not 415 or 400. The contract
//   documents 401, 404, 422 and 500 only, and describes 422 as the answer to a body the API will
//   not accept; a client written from the contract handles exactly those, and the runner can hold
//   the reference server to "every status is documented" without exceptions. 405 and 413 remain:
//   they are about the request's method and size, answered before the body is looked at.
// - A 422 item's attribute is the top-level field concerned: the first token of the finding's
//   pointer ("/codecs/1" -> "codecs"), or for a finding on the body itself the property it names
//   ("required"), or null. Its code is the contract's "missing" code for a required field, its
//   "invalid" code otherwise. Messages never quote a secret field's value.
// - Unique rules hold across every parent the server holds (scope "project") or within one
//   (scope "parent"), comparing values byte for byte (v1's usernames: SIP user parts are
//   case-sensitive, RFC 3261 19.1.4). Deleting an item frees its values; an update that keeps a
//   value keeps it.
// - A create past max_endpoints or max_store_bytes gets 422 with the contract's "full" code and
//   attribute null: a documented status and error shape, with a message that says what to do.
// - Omitted fields in a 201 get the contract's default, else its "absent" value (a literal or a
//   generated UUID), else are left out; the id is a new UUID. A default that applies "unless"
//   another field is sent is still what the server answers (v1: call_handler "default" also when
//   a resource ID was sent: the handler's real type would come from that resource, which this
//   server does not model). Secret fields are never kept.
// - Unknown request fields are accepted (the request schemas are open) and neither stored nor
//   echoed; only the item schema's documented fields are.
// - An update (PATCH) validates its body with its own request schema, then replaces the fields it
//   sends and keeps the others: 200 with the item.
// - Lists: pages of the contract's default size (its size parameter from 1 to its maximum), in
//   creation order, with absolute links self, first and next (while more remain); page tokens
//   are cursors, so a page never skips or repeats an item because others were created or deleted
//   meanwhile.
// - Answers are identity-coded (no Content-Encoding whatever Accept-Encoding says) and framed by
//   Content-Length; the `gzip` and `chunked` variants are the other conforming choices.
#include "api.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "sipcontract/json_text.hpp"
#include "util.hpp"

namespace sipcontract::detail::refserver {
namespace {

using Json = nlohmann::json;

constexpr const char* kRealm = "Basic realm=\"sipcontract reference server\", charset=\"UTF-8\"";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The declared Content-Length; std::nullopt when absent; -1 when it is not a plain number.
std::optional<long long> declared_length(const Request& req) {
  const std::string* header = req.headers.find("Content-Length");
  if (header == nullptr) return std::nullopt;
  const std::string_view text = trim(*header);
  unsigned long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      value > static_cast<unsigned long long>(std::numeric_limits<long long>::max())) {
    return -1;
  }
  return static_cast<long long>(value);
}

// The first reference token of a JSON Pointer, unescaped ("/codecs/1" -> "codecs").
std::string first_token(std::string_view pointer) {
  if (pointer.empty() || pointer.front() != '/') return {};
  pointer.remove_prefix(1);
  const std::string_view token = pointer.substr(0, pointer.find('/'));
  std::string out;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) {
      out.push_back(token[i + 1] == '1' ? '/' : '~');
      ++i;
    } else {
      out.push_back(token[i]);
    }
  }
  return out;
}

// One 422 item per finding (see "Decisions" above). The validator hid the body's secrets where its
// findings show the body's text, and left the schema's text and its wording as they are: a redaction
// of the whole message here would cut a password that equals an allowed value or a word of a
// message ("default", "G722") out of that text, and so give it away.
OrderedJson finding_item(const Model& model, const Finding& f) {
  std::optional<std::string> attribute;
  if (std::string token = first_token(f.pointer); !token.empty()) {
    attribute = std::move(token);
  } else if (!f.property.empty()) {
    attribute = f.property;
  }
  std::string message = f.message;
  // Inside an attribute (an item of a list), say which item: "/codecs/1: ...".
  if (attribute && f.pointer.size() > attribute->size() + 1) message = f.pointer + ": " + message;
  return model.error_item(f.keyword == "required" ? Situation::kMissing : Situation::kInvalid,
                          std::move(message), attribute ? &*attribute : nullptr);
}

void payload_too_large(Response& res, std::size_t max_body_bytes) {
  res.set_error(413, "Payload Too Large", "the body exceeds " + std::to_string(max_body_bytes) + " bytes");
}

// Whether a body's Content-Type is JSON (a charset other than UTF-8 is not), or another media
// type the operation names.
bool readable_type(std::string_view content_type, const sipcontract::Operation& op) {
  if (is_json_content_type(content_type)) return true;
  if (!op.request || iequals(op.request->content_type, "application/json")) return false;
  const std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  return iequals(type, op.request->content_type);
}

}  // namespace

// What check_access() found out about a request that passed it.
struct Api::Target {
  Route route;
  Action action = Action::kOther;
};

Api::Api(const ServerOptions& options, const Model& model)
    : options_(options), model_(model), store_(options.max_endpoints, options.max_store_bytes) {
  for (const auto& parent : options_.parents) store_.add_parent(parent);
}

std::string Api::origin(const Request& req) const {
  // Links point back at the address the client used when its Host header is plausible.
  const std::string_view host = req.headers.get("Host");
  const bool plausible =
      !host.empty() && host.size() < 256 && std::all_of(host.begin(), host.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '[' ||
               c == ']';
      });
  if (plausible) return "http://" + std::string(host);
  return fallback_origin_;
}

bool Api::authorized(const Request& req) const {
  const auto credentials = parse_basic_authorization(req.headers.get("Authorization"));
  if (!credentials) return false;
  // Both halves are always compared, so the time does not tell which one was wrong.
  const bool user_ok = constant_time_equal(credentials->user, options_.project_id);
  const bool secret_ok = constant_time_equal(credentials->secret, options_.api_token);
  return user_ok & secret_ok;
}

// Checks 1-3 (credentials, path and parent, method). On failure the answer is in `res`.
bool Api::check_access(const Request& req, Response& res, Target& target) const {
  if (!authorized(req)) {
    res.headers.set("WWW-Authenticate", kRealm);
    model_.error(res, 401);
    return false;
  }
  target.route = model_.route(req.path);
  const PathTemplate* path = target.route.path;
  if (path == nullptr || !target.route.well_formed || !store_.has_parent(target.route.parent)) {
    model_.error(res, 404);
    return false;
  }
  const std::string& m = req.method;
  if (m == "OPTIONS") {
    res.headers.set("Allow", path->allow);
    res.status = 204;
    return false;
  }
  target.action = path->action(m);
  if (target.action == Action::kOther) {
    res.headers.set("Allow", path->allow);
    res.set_error(405, "Method Not Allowed", printable(m) + " is not allowed here; allowed: " + path->allow);
    return false;
  }
  return true;
}

void Api::handle(Request& req, Response& res) {
  if (req.framing_error != 0) return framing_error(req, res);
  Target target;
  if (!check_access(req, res, target)) return;
  switch (target.action) {
    case Action::kCreate:
      return create(req, res, target);
    case Action::kUpdate:
      return update(req, res, target);
    default:
      break;
  }
  // What follows changes state or needs no body: with Expect: 100-continue, the client may send it.
  if (req.precheck) {
    res.status = 100;
    return;
  }
  // GET, HEAD and DELETE carry no body; one that comes anyway is dropped by the transport.
  switch (target.action) {
    case Action::kDelete:
      return remove(res, target);
    case Action::kList:
      return list(req, res, target);
    default:
      return get(res, target);
  }
}

// Answers a request the transport could not parse or frame, in JSON like every other answer: what
// follows on the connection cannot be trusted to start a request, so it is closed after the answer.
void Api::framing_error(const Request& req, Response& res) const {
  res.close_after = true;
  const std::string_view message = req.framing_message;
  // 404 and 500 have the contract's own bodies; the others are the transport's, with its phrase.
  if (req.framing_error == 404 || req.framing_error == 500) return model_.error(res, req.framing_error);
  res.set_error(req.framing_error, reason_phrase(req.framing_error), message);
}

bool Api::read_fields(Request& req, Response& res, const sipcontract::Operation& op, Members& sent) const {
  // Size: a declared length past the limit is refused before reading.
  const auto length = declared_length(req);
  if (length && *length < 0) {
    res.close_after = true;
    res.set_error(400, "Bad Request", "Content-Length is not a number");
    return false;
  }
  if (length && static_cast<unsigned long long>(*length) > options_.max_body_bytes) {
    payload_too_large(res, options_.max_body_bytes);
    return false;
  }
  if (req.precheck) {
    res.status = 100;
    return false;
  }
  switch (req.read_body(options_.max_body_bytes)) {
    case BodyRead::kOk:
      break;
    case BodyRead::kTooLarge:
      res.close_after = true;
      payload_too_large(res, options_.max_body_bytes);
      return false;
    case BodyRead::kUnsupportedEncoding:
      res.close_after = true;
      res.set_error(415, "Unsupported Media Type", "the Content-Encoding is not supported");
      return false;
    case BodyRead::kFailed:
      res.close_after = true;
      res.set_error(400, "Bad Request", "the request body ended early or arrived too slowly");
      return false;
  }
  const std::string& text = req.body;

  // Content type.
  const std::string_view content_type = req.headers.get("Content-Type");
  if (!readable_type(content_type, op)) {
    const std::string got =
        content_type.empty() ? "none" : "\"" + printable(content_type.substr(0, 100)) + "\"";
    const std::string want = op.request ? op.request->content_type : std::string("application/json");
    model_.unprocessable(
        res, {model_.error_item(Situation::kUnreadable,
                                "The body must be sent as Content-Type: " + want + " (got " + got + ")",
                                nullptr)});
    return false;
  }

  // JSON and schema: the verdict from the bytes first, which builds no document; a body that
  // fails is parsed again for its parse error or its findings.
  ParseLimits limits;
  limits.max_bytes = options_.max_body_bytes;
  limits.max_depth = options_.max_json_depth;
  const Schema* schema = op.request ? op.request->schema : nullptr;
  const Verdict verdict = schema ? schema->check(text, limits) : Verdict::kValid;
  if (verdict == Verdict::kValid && model_.capture(text, sent, false)) return true;
  if (schema) limits.secret_fields = &schema->secret_fields();  // a repeated key's name may be one
  const Parsed parsed = parse_json(text, limits);
  if (!parsed) {
    model_.unprocessable(
        res, {model_.error_item(Situation::kUnreadable,
                                "The body is not valid JSON: " + parsed.error().to_string(), nullptr)});
    return false;
  }
  const Json& body = *parsed;
  const Result result = schema ? schema->validate(body) : Result{};
  if (!result.valid()) {
    std::vector<OrderedJson> items;
    items.reserve(result.findings.size());
    for (const auto& f : result.findings) items.push_back(finding_item(model_, f));
    model_.unprocessable(res, items);
    return false;
  }
  return model_.capture(body.dump(-1, ' ', false, Json::error_handler_t::replace), sent, false);
}

void Api::refused(Response& res, const Written& written) const {
  switch (written.outcome) {
    case Outcome::kDone:
      return;
    case Outcome::kUnknownParent:
    case Outcome::kUnknownItem:
      return model_.error(res, 404);
    case Outcome::kDuplicate: {
      const UniqueRule& rule = model_.resource().unique.at(written.rule);
      return model_.unprocessable(
          res, {model_.error_item(Situation::kInvalid, rule.message, &rule.field, &rule.code)});
    }
    case Outcome::kFull:
      return model_.unprocessable(
          res, {model_.error_item(Situation::kFull,
                                  "This server holds its maximum of " + model_.resource().title +
                                      " items; delete some and retry",
                                  nullptr)});
  }
}

void Api::create(Request& req, Response& res, const Target& target) {
  Members sent;
  if (!read_fields(req, res, *model_.operation(Action::kCreate), sent)) return;
  // Uniqueness and capacity, checked atomically with the insertion.
  std::string id = new_uuid();
  Members item = model_.new_item(sent, id);
  std::vector<std::string> keys = model_.unique_keys(item, target.route.parent);
  std::string created = item.text;
  const Written written =
      store_.create(target.route.parent, StoredItem{std::move(id), std::move(keys), std::move(item.text)});
  if (written.outcome != Outcome::kDone) return refused(res, written);
  res.set_json(201, std::move(created));
}

void Api::update(Request& req, Response& res, const Target& target) {
  // An item that does not exist is 404 whatever the body says (and before it is read).
  if (!store_.get(target.route.parent, target.route.item)) return model_.error(res, 404);
  Members sent;
  if (!read_fields(req, res, *model_.operation(Action::kUpdate), sent)) return;
  Written written =
      store_.update(target.route.parent, target.route.item,
                    [&](const std::string& current, std::string& json, std::vector<std::string>& keys) {
                      Members now;
                      model_.capture(current, now, true);
                      Members next = model_.merged_item(now, sent);
                      keys = model_.unique_keys(next, target.route.parent);
                      json = std::move(next.text);
                    });
  if (written.outcome != Outcome::kDone) return refused(res, written);
  res.set_json(200, std::move(written.json));
}

void Api::get(Response& res, const Target& target) {
  auto item = store_.get(target.route.parent, target.route.item);
  if (!item) return model_.error(res, 404);
  res.set_json(200, std::move(*item));
}

void Api::remove(Response& res, const Target& target) {
  if (store_.remove(target.route.parent, target.route.item) != Outcome::kDone) return model_.error(res, 404);
  res.status = 204;
}

// GET of the collection [?SIZE=N][&TOKEN=T]: creation order, a next link while more remain.
void Api::list(const Request& req, Response& res, const Target& target) {
  const PageSpec& pages = model_.pages();
  std::size_t page_size =
      pages.token_parameter.empty() ? std::numeric_limits<std::size_t>::max() : pages.default_size;
  if (const std::string* text =
          pages.size_parameter.empty() ? nullptr : req.query_value(pages.size_parameter)) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value < 1 ||
        value > pages.max_size) {
      return model_.unprocessable(
          res, {model_.error_item(Situation::kInvalid,
                                  pages.size_parameter + " must be a whole number from 1 to " +
                                      std::to_string(pages.max_size),
                                  &pages.size_parameter)});
    }
    page_size = value;
  }
  std::uint64_t after = 0;
  std::string token;
  if (const std::string* sent =
          pages.token_parameter.empty() ? nullptr : req.query_value(pages.token_parameter)) {
    token = *sent;
    const auto [end, ec] = token.size() > 2
                               ? std::from_chars(token.data() + 2, token.data() + token.size(), after)
                               : std::from_chars_result{token.data(), std::errc::invalid_argument};
    if (token.rfind("PA", 0) != 0 || ec != std::errc() || end != token.data() + token.size()) {
      return model_.unprocessable(
          res,
          {model_.error_item(Situation::kInvalid, pages.token_parameter + " is not one this server issued",
                             &pages.token_parameter)});
    }
  }
  const auto page = store_.list(target.route.parent, after, page_size);
  if (!page) return model_.error(res, 404);

  // The links repeat the size parameter (when the contract has one) and carry the cursor.
  std::string sized = origin(req) + model_.path_of(Action::kList, target.route.parent);
  char separator = '?';
  if (!pages.size_parameter.empty() && page_size != std::numeric_limits<std::size_t>::max()) {
    sized += separator + pages.size_parameter + "=" + std::to_string(page_size);
    separator = '&';
  }
  const auto with_token = [&](const std::string& value) {
    return sized + separator + pages.token_parameter + "=" + value;
  };
  // {ITEMS:[...],LINKS:{"self","first"[,"next"]}}, written directly like each item.
  std::size_t size = 64 + sized.size() * 3;
  for (const auto& json : page->items) size += json.size() + 1;
  std::string body = "{";
  body.reserve(size);
  append_json_string(body, pages.items);
  body += ":[";
  for (std::size_t i = 0; i < page->items.size(); ++i) {
    if (i > 0) body.push_back(',');
    body += page->items[i];
  }
  body += "],";
  append_json_string(body, pages.links);
  body += ":{\"self\":";
  append_json_string(body, token.empty() ? sized : with_token(token));
  body += ",\"first\":";
  append_json_string(body, sized);
  if (page->next_after) {
    body += ",\"next\":";
    append_json_string(body, with_token("PA" + std::to_string(*page->next_after)));
  }
  body += "}}";
  res.set_json(200, std::move(body));
}

}  // namespace sipcontract::detail::refserver
