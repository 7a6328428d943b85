// The reference server's business logic: Create Subscriber SIP Endpoint and its list/get/delete
// siblings, in memory, on the server's own Request and Response.
//
// How a request is answered, in this order (each check only runs when the previous ones passed):
//   1. credentials   401 {"error":"Unauthorized"} + WWW-Authenticate, for every path, known or not
//   2. path          404 {"error":"Not Found"}: unknown path, unknown or malformed subscriber UUID
//   3. method        405 {"error":"Method Not Allowed",...} + Allow
//   4. body size     413 {"error":"Payload Too Large",...} past ServerOptions::max_body_bytes
//   5. content type  422 invalid_parameter (see "Decisions" below)
//   6. JSON          422 invalid_parameter (see "Decisions" below)
//   7. schema        422, one item per finding of Contract::validate_request
//   8. uniqueness    422 not_unique_within_project
//   9. capacity      422 limit_exceeded past max_endpoints or max_store_bytes
// A body that cannot be framed (bad Content-Length, cut short, read timeout) gets 400 and the
// connection is closed; so does a request the transport refuses (400, 408, 413, 414, 417, 431, 501,
// 505: http_parser.hpp says which is which), with a message that says what was wrong.
//
// Decisions (the seed and contract-facts.md leave these open; the variants in layers.hpp take the
// other conforming answers to several of them):
// - Wrong or missing Content-Type and a body that is not JSON both get 422 with code
//   "invalid_parameter" and attribute null, not 415 or 400. The contract documents 401, 404, 422
//   and 500 only, and describes 422 as the answer to a body the API will not accept; a client
//   written from the contract handles exactly those, and the runner can hold the reference server
//   to "every status is documented" without exceptions. 405 and 413 remain: they are about the
//   request's method and size, answered before the body is looked at, and the issue asks for them.
// - Usernames are unique within the project, i.e. across every subscriber this server holds (the
//   error code is not_unique_within_project and contract-facts.md says "unique within a project"),
//   compared byte for byte (SIP user parts are case-sensitive, RFC 3261 19.1.4). Deleting an
//   endpoint frees its username.
// - A create past max_endpoints or max_store_bytes gets 422 with code "limit_exceeded" and
//   attribute null: a documented status and error shape, with a message that says what to do.
// - Omitted fields in a 201: caller_id and send_as "", ciphers and codecs [], encryption and
//   call_handler "default"; calling_handler_resource_id echoed when sent, otherwise a new UUID (the
//   seed makes it a required UUID). call_handler is "default" also when a resource ID was sent:
//   the handler's real type would come from that resource, which this server does not model.
// - Unknown request fields are accepted (the request schema is open) and neither stored nor echoed.
// - Lists: pages of 50 by default (page_size 1..1000), in creation order, with absolute links
//   self, first and next (while more remain); page tokens are cursors, so a page never skips or
//   repeats an endpoint because others were created or deleted meanwhile.
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
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kEndpointsSegment = "sip_endpoints";
constexpr const char* kErrorCodesUrl = "https://signalwire.com/docs/apis/error-codes";
constexpr const char* kRealm = "Basic realm=\"sipcontract reference server\", charset=\"UTF-8\"";
constexpr std::size_t kDefaultPageSize = 50;
constexpr std::size_t kMaxPageSize = 1000;

// Every response body is dumped with invalid UTF-8 replaced rather than thrown on: request strings
// come from the validating parser, but a server must not fail on its own output.
std::string dump(const OrderedJson& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

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

std::vector<std::string> string_array(const Json& body, const char* key) {
  std::vector<std::string> out;
  const auto it = body.find(key);
  if (it == body.end() || !it->is_array()) return out;
  for (const auto& item : *it) {
    if (!item.is_string()) return {};
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_field(const Json& body, const char* key, std::string fallback) {
  const auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::move(fallback);
}

// A SIP endpoint's fields (the SipEndpoint schema's), while it is being created; the store keeps
// its JSON.
struct Endpoint {
  std::string id;
  std::string username;
  std::string caller_id;
  std::string send_as;
  std::vector<std::string> ciphers;
  std::vector<std::string> codecs;
  std::string encryption;
  std::string call_handler;
  std::string calling_handler_resource_id;
};

// The endpoint's SipEndpoint JSON, written directly (a generic JSON tree would cost an allocation
// per member): the 201 of a create, and the text the store keeps for every get and list after it.
void append_endpoint_text(std::string& out, const Endpoint& e) {
  const auto member = [&out](const char* key, std::string_view value) {
    out += key;
    append_json_string(out, value);
  };
  const auto list = [&out](const char* key, const std::vector<std::string>& values) {
    out += key;
    out.push_back('[');
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out.push_back(',');
      append_json_string(out, values[i]);
    }
    out.push_back(']');
  };
  member("{\"id\":", e.id);
  member(",\"username\":", e.username);
  member(",\"caller_id\":", e.caller_id);
  member(",\"send_as\":", e.send_as);
  list(",\"ciphers\":", e.ciphers);
  list(",\"codecs\":", e.codecs);
  member(",\"encryption\":", e.encryption);
  member(",\"call_handler\":", e.call_handler);
  member(",\"calling_handler_resource_id\":", e.calling_handler_resource_id);
  out.push_back('}');
}

std::string endpoint_text(const Endpoint& e) {
  std::string out;
  out.reserve(256);
  append_endpoint_text(out, e);
  return out;
}

// The endpoint a valid request body describes.
Endpoint build_endpoint(const Json& body) {
  Endpoint e;
  e.id = new_uuid();
  e.username = string_field(body, "username", "");
  e.caller_id = string_field(body, "caller_id", "");
  e.send_as = string_field(body, "send_as", "");
  e.ciphers = string_array(body, "ciphers");
  e.codecs = string_array(body, "codecs");
  e.encryption = string_field(body, "encryption", "default");
  e.call_handler = string_field(body, "call_handler", "default");
  e.calling_handler_resource_id = string_field(body, "calling_handler_resource_id", "");
  if (e.calling_handler_resource_id.empty()) e.calling_handler_resource_id = new_uuid();
  return e;
}

// Collects the top-level members of a create body that an endpoint keeps, as SAX events arrive.
// Only used for bodies the schema accepted, so every member has the type the schema requires.
class CreateFields final : public nlohmann::json_sax<Json> {
 public:
  explicit CreateFields(Endpoint& e) : e_(e) {}

  bool key(string_t& name) override {
    if (depth_ == 1) {
      target_ = nullptr;
      list_ = nullptr;
      if (name == "username")
        target_ = &e_.username;
      else if (name == "caller_id")
        target_ = &e_.caller_id;
      else if (name == "send_as")
        target_ = &e_.send_as;
      else if (name == "encryption")
        target_ = &e_.encryption;
      else if (name == "call_handler")
        target_ = &e_.call_handler;
      else if (name == "calling_handler_resource_id")
        target_ = &e_.calling_handler_resource_id;
      else if (name == "ciphers")
        list_ = &e_.ciphers;
      else if (name == "codecs")
        list_ = &e_.codecs;
    }
    return true;
  }
  bool string(string_t& value) override {
    if (depth_ == 1 && target_ != nullptr) *target_ = std::move(value);
    if (depth_ == 2 && in_list_) list_->push_back(std::move(value));
    return true;
  }
  bool start_object(std::size_t) override { return enter(); }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override {
    in_list_ = depth_ == 1 && list_ != nullptr;
    return enter();
  }
  bool end_array() override {
    if (depth_ == 2) in_list_ = false;
    return leave();
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool enter() {
    ++depth_;
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }

  Endpoint& e_;
  std::size_t depth_ = 0;
  std::string* target_ = nullptr;             // the string member the current key names
  std::vector<std::string>* list_ = nullptr;  // the list member the current key names
  bool in_list_ = false;                      // inside that list's array
};

// The endpoint a body with a kValid verdict describes (as build_endpoint() would make it from the
// parsed body), read with nlohmann's SAX parser: the verdict guarantees the types, and no document
// is built. std::nullopt if the SAX parser refuses the text after all (the verdict is
// parse_json()'s, so it should not; the document path then answers).
std::optional<Endpoint> endpoint_from_text(std::string_view text) {
  Endpoint e;
  e.encryption = "default";
  e.call_handler = "default";
  CreateFields fields(e);
  if (!Json::sax_parse(text, &fields)) return std::nullopt;
  e.id = new_uuid();
  if (e.calling_handler_resource_id.empty()) e.calling_handler_resource_id = new_uuid();
  return e;
}

OrderedJson error_item(const char* code, std::string message, std::optional<std::string> attribute) {
  OrderedJson item;
  item["type"] = "validation_error";
  item["code"] = code;
  item["message"] = std::move(message);
  if (attribute) {
    item["attribute"] = *attribute;
  } else {
    item["attribute"] = nullptr;
  }
  item["url"] = kErrorCodesUrl;
  return item;
}

// One 422 item per finding. The attribute is the top-level field concerned: the first token of
// the finding's pointer ("/codecs/1" -> "codecs"), or for a finding on the body itself the
// property it names ("required"), or null.
OrderedJson finding_item(const Finding& f, const std::vector<std::string>& secrets) {
  std::optional<std::string> attribute;
  if (std::string token = first_token(f.pointer); !token.empty()) {
    attribute = std::move(token);
  } else if (!f.property.empty()) {
    attribute = f.property;
  }
  const char* code = f.keyword == "required" ? "missing_required_parameter" : "invalid_parameter";
  std::string message = redact(f.message, secrets);
  // Inside an attribute (an item of a list), say which item: "/codecs/1: ...".
  if (attribute && f.pointer.size() > attribute->size() + 1) message = f.pointer + ": " + message;
  return error_item(code, std::move(message), attribute);
}

void unprocessable(Response& res, const std::vector<OrderedJson>& items) {
  OrderedJson body;
  body["errors"] = items;
  res.set_json(422, dump(body));
}

void payload_too_large(Response& res, std::size_t max_body_bytes) {
  res.set_error(413, "Payload Too Large", "the body exceeds " + std::to_string(max_body_bytes) + " bytes");
}

}  // namespace

Route parse_route(std::string_view path) {
  Route route;
  if (path.substr(0, kSubscribersPrefix.size()) != kSubscribersPrefix) return route;
  path.remove_prefix(kSubscribersPrefix.size());
  const auto slash = path.find('/');
  if (slash == std::string_view::npos || slash == 0) return route;
  const std::string_view subscriber = path.substr(0, slash);
  path.remove_prefix(slash + 1);
  if (path.substr(0, kEndpointsSegment.size()) != kEndpointsSegment) return route;
  path.remove_prefix(kEndpointsSegment.size());
  if (path.empty()) {
    route.kind = Route::Kind::kCollection;
  } else if (path.front() == '/' && path.size() > 1 && path.find('/', 1) == std::string_view::npos) {
    route.kind = Route::Kind::kItem;
    route.endpoint = std::string(path.substr(1));
  } else {
    return route;
  }
  route.subscriber = std::string(subscriber);
  return route;
}

Operation operation_of(const Request& req) {
  if (req.framing_error != 0) return Operation::kOther;
  const Route route = parse_route(req.path);
  const std::string& m = req.method;
  const bool read = m == "GET" || m == "HEAD";
  if (route.kind == Route::Kind::kCollection) {
    if (m == "POST") return Operation::kCreate;
    if (read) return Operation::kList;
  } else if (route.kind == Route::Kind::kItem) {
    if (read) return Operation::kGet;
    if (m == "DELETE") return Operation::kDelete;
  }
  return Operation::kOther;
}

std::string collection_path(const Route& route) {
  return std::string(kSubscribersPrefix) + route.subscriber + "/" + std::string(kEndpointsSegment);
}

// What check_access() found out about a request that passed it.
struct Api::Target {
  Route route;
  std::string subscriber;  // normalised key in the store
};

Api::Api(const ServerOptions& options, const Contract& contract)
    : options_(options), contract_(contract), store_(options.max_endpoints, options.max_store_bytes) {
  for (const auto& subscriber : options_.subscribers) store_.add_subscriber(subscriber);
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
  const bool password_ok = constant_time_equal(credentials->password, options_.api_token);
  return user_ok & password_ok;
}

// Checks 1-3 (credentials, path and subscriber, method). On failure the answer is in `res`.
bool Api::check_access(const Request& req, Response& res, Target& target) const {
  if (!authorized(req)) {
    res.headers.set("WWW-Authenticate", kRealm);
    res.set_error(401, "Unauthorized");
    return false;
  }
  target.route = parse_route(req.path);
  if (target.route.kind == Route::Kind::kUnknown) {
    res.set_error(404, "Not Found");
    return false;
  }
  const auto normalised = normalize_uuid(target.route.subscriber);
  if (!normalised || !store_.has_subscriber(*normalised)) {
    res.set_error(404, "Not Found");
    return false;
  }
  target.subscriber = *normalised;
  const bool collection = target.route.kind == Route::Kind::kCollection;
  const char* allow = collection ? "GET, HEAD, POST, OPTIONS" : "GET, HEAD, DELETE, OPTIONS";
  const std::string& m = req.method;
  const bool allowed =
      m == "GET" || m == "HEAD" || m == "OPTIONS" || (collection ? m == "POST" : m == "DELETE");
  if (!allowed) {
    res.headers.set("Allow", allow);
    res.set_error(405, "Method Not Allowed",
                  printable(m) + " is not allowed here; allowed: " + std::string(allow));
    return false;
  }
  if (m == "OPTIONS") {
    res.headers.set("Allow", allow);
    res.status = 204;
    return false;
  }
  return true;
}

void Api::handle(Request& req, Response& res) {
  if (req.framing_error != 0) return framing_error(req, res);
  Target target;
  if (!check_access(req, res, target)) return;
  const bool collection = target.route.kind == Route::Kind::kCollection;
  if (collection && req.method == "POST") return create(req, res, target);
  // What follows changes state or needs no body: with Expect: 100-continue, the client may send it.
  if (req.precheck) {
    res.status = 100;
    return;
  }
  // GET, HEAD and DELETE carry no body; one that comes anyway is dropped by the transport.
  if (req.method == "DELETE") return remove(res, target);
  if (collection) return list(req, res, target);
  return get(res, target);
}

// Answers a request the transport could not parse or frame, in JSON like every other answer: what
// follows on the connection cannot be trusted to start a request, so it is closed after the answer.
void Api::framing_error(const Request& req, Response& res) const {
  res.close_after = true;
  const std::string_view message = req.framing_message;
  switch (req.framing_error) {
    case 400:
      return res.set_error(400, "Bad Request", message);
    case 404:
      return res.set_error(404, "Not Found", message);
    case 408:
      return res.set_error(408, "Request Timeout", message);
    case 413:
      return res.set_error(413, "Payload Too Large", message);
    case 414:
      return res.set_error(414, "URI Too Long", message);
    case 415:
      return res.set_error(415, "Unsupported Media Type", message);
    case 417:
      return res.set_error(417, "Expectation Failed", message);
    case 431:
      return res.set_error(431, "Request Header Fields Too Large", message);
    case 500:
      return res.set_error(500, "Internal Server Error", message);
    case 501:
      return res.set_error(501, "Not Implemented", message);
    case 505:
      return res.set_error(505, "HTTP Version Not Supported", message);
    default:
      return res.set_error(req.framing_error, req.framing_error >= 500 ? "Server Error" : "Client Error",
                           message);
  }
}

void Api::create(Request& req, Response& res, const Target& target) {
  // 4. size: a declared length past the limit is refused before reading.
  const auto length = declared_length(req);
  if (length && *length < 0) {
    res.close_after = true;
    res.set_error(400, "Bad Request", "Content-Length is not a number");
    return;
  }
  if (length && static_cast<unsigned long long>(*length) > options_.max_body_bytes) {
    return payload_too_large(res, options_.max_body_bytes);
  }
  if (req.precheck) {
    res.status = 100;
    return;
  }
  switch (req.read_body(options_.max_body_bytes)) {
    case BodyRead::kOk:
      break;
    case BodyRead::kTooLarge:
      res.close_after = true;
      return payload_too_large(res, options_.max_body_bytes);
    case BodyRead::kUnsupportedEncoding:
      res.close_after = true;
      return res.set_error(415, "Unsupported Media Type", "the Content-Encoding is not supported");
    case BodyRead::kFailed:
      res.close_after = true;
      return res.set_error(400, "Bad Request", "the request body ended early or arrived too slowly");
  }
  const std::string& text = req.body;

  // 5. content type
  const std::string_view content_type = req.headers.get("Content-Type");
  if (!is_json_content_type(content_type)) {
    const std::string got =
        content_type.empty() ? "none" : "\"" + printable(content_type.substr(0, 100)) + "\"";
    return unprocessable(
        res, {error_item("invalid_parameter",
                         "The body must be sent as Content-Type: application/json (got " + got + ")",
                         std::nullopt)});
  }

  // 6-7. JSON and schema: the verdict from the bytes first, which builds no document; a body that
  // fails is parsed again for its parse error or its findings.
  ParseLimits limits;
  limits.max_bytes = options_.max_body_bytes;
  limits.max_depth = options_.max_json_depth;
  const Verdict verdict = contract_.check_request(text, limits);
  std::optional<Endpoint> endpoint;
  if (verdict == Verdict::kValid) endpoint = endpoint_from_text(text);
  if (!endpoint) {
    const Parsed parsed = parse_json(text, limits);
    if (!parsed) {
      return unprocessable(
          res, {error_item("invalid_parameter", "The body is not valid JSON: " + parsed.error().to_string(),
                           std::nullopt)});
    }
    const Json& body = *parsed;
    const Result result = contract_.validate_request(body);
    if (!result.valid()) {
      std::vector<std::string> secrets;
      for (const char* key : {"password", "password_confirmation"}) {
        if (body.is_object()) {
          if (auto it = body.find(key); it != body.end() && it->is_string())
            secrets.push_back(it->get<std::string>());
        }
      }
      std::vector<OrderedJson> items;
      items.reserve(result.findings.size());
      for (const auto& f : result.findings) items.push_back(finding_item(f, secrets));
      return unprocessable(res, items);
    }
    endpoint = build_endpoint(body);
  }

  // 8-9. Uniqueness and capacity, checked atomically with the insertion.
  std::string json = endpoint_text(*endpoint);
  std::string created = json;
  StoredEndpoint stored{std::move(endpoint->id), std::move(endpoint->username), std::move(json)};
  switch (store_.create(target.subscriber, std::move(stored))) {
    case CreateOutcome::kCreated:
      return res.set_json(201, std::move(created));
    case CreateOutcome::kUnknownSubscriber:
      return res.set_error(404, "Not Found");
    case CreateOutcome::kDuplicateUsername:
      return unprocessable(
          res, {error_item("not_unique_within_project", "Username has already been taken within this project",
                           "username")});
    case CreateOutcome::kFull:
      return unprocessable(
          res, {error_item("limit_exceeded",
                           "This server holds its maximum of SIP endpoints; delete some and retry",
                           std::nullopt)});
  }
}

void Api::get(Response& res, const Target& target) {
  auto endpoint = store_.get(target.subscriber, target.route.endpoint);
  if (!endpoint) return res.set_error(404, "Not Found");
  res.set_json(200, std::move(*endpoint));
}

void Api::remove(Response& res, const Target& target) {
  if (store_.remove(target.subscriber, target.route.endpoint) != RemoveOutcome::kRemoved) {
    return res.set_error(404, "Not Found");
  }
  res.status = 204;
}

// GET .../sip_endpoints[?page_size=N][&page_token=T]: creation order, `links.next` while more remain.
void Api::list(const Request& req, Response& res, const Target& target) {
  std::size_t page_size = kDefaultPageSize;
  if (const std::string* text = req.query_value("page_size")) {
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (text->empty() || ec != std::errc() || end != text->data() + text->size() || value < 1 ||
        value > kMaxPageSize) {
      return unprocessable(
          res, {error_item("invalid_parameter",
                           "page_size must be a whole number from 1 to " + std::to_string(kMaxPageSize),
                           "page_size")});
    }
    page_size = value;
  }
  std::uint64_t after = 0;
  std::string token;
  if (const std::string* sent = req.query_value("page_token")) {
    token = *sent;
    const auto [end, ec] = token.size() > 2
                               ? std::from_chars(token.data() + 2, token.data() + token.size(), after)
                               : std::from_chars_result{token.data(), std::errc::invalid_argument};
    if (token.rfind("PA", 0) != 0 || ec != std::errc() || end != token.data() + token.size()) {
      return unprocessable(
          res, {error_item("invalid_parameter", "page_token is not one this server issued", "page_token")});
    }
  }
  const auto page = store_.list(target.subscriber, after, page_size);
  if (!page) return res.set_error(404, "Not Found");

  const std::string base =
      origin(req) + std::string(kSubscribersPrefix) + target.subscriber + "/sip_endpoints";
  const std::string sized = base + "?page_size=" + std::to_string(page_size);
  // {"data":[...],"links":{"self","first"[,"next"]}}, written directly like each endpoint.
  std::size_t size = 64 + sized.size() * 3;
  for (const auto& json : page->items) size += json.size() + 1;
  std::string body = "{\"data\":[";
  body.reserve(size);
  for (std::size_t i = 0; i < page->items.size(); ++i) {
    if (i > 0) body.push_back(',');
    body += page->items[i];
  }
  body += "],\"links\":{\"self\":";
  append_json_string(body, token.empty() ? sized : sized + "&page_token=" + token);
  body += ",\"first\":";
  append_json_string(body, sized);
  if (page->next_after) {
    body += ",\"next\":";
    append_json_string(body, sized + "&page_token=PA" + std::to_string(*page->next_after));
  }
  body += "}}";
  res.set_json(200, std::move(body));
}

}  // namespace sipcontract::detail::refserver
