// The reference server: Create Subscriber SIP Endpoint and its list/get/delete siblings, in memory.
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
// connection is closed; httplib itself answers 400/414 for a request line or headers it cannot parse.
//
// Decisions (the seed and contract-facts.md leave these open):
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
#include "sipcontract/server.hpp"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <utility>

#include "connection.hpp"
#include "sipcontract/json_text.hpp"
#include "store.hpp"
#include "util.hpp"

namespace sipcontract {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;
namespace refserver = detail::refserver;
using httplib::Request;
using httplib::Response;

constexpr std::string_view kApiBase = "/api/fabric";
constexpr std::string_view kSubscribersPrefix = "/api/fabric/resources/subscribers/";
constexpr std::string_view kEndpointsSegment = "sip_endpoints";
constexpr const char* kJsonType = "application/json";
constexpr const char* kErrorCodesUrl = "https://signalwire.com/docs/apis/error-codes";
constexpr const char* kRealm = "Basic realm=\"sipcontract reference server\", charset=\"UTF-8\"";
constexpr std::size_t kDefaultPageSize = 50;
constexpr std::size_t kMaxPageSize = 1000;

// Every response body is dumped with invalid UTF-8 replaced rather than thrown on: request strings
// come from the validating parser, but a server must not fail on its own output.
std::string dump(const OrderedJson& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void send_json(Response& res, int status, std::string body) {
  res.status = status;
  // What Response::set_content does, without its copy of the body.
  res.body = std::move(body);
  res.headers.erase("Content-Type");
  res.set_header("Content-Type", kJsonType);
}

void send_error(Response& res, int status, const char* error, const std::string& message = {}) {
  OrderedJson body;
  body["error"] = error;
  if (!message.empty()) body["message"] = message;
  send_json(res, status, dump(body));
}

// The target of a request path under /api/fabric.
struct Route {
  enum class Kind { kUnknown, kCollection, kItem } kind = Kind::kUnknown;
  std::string subscriber;  // the path segment as sent
  std::string endpoint;    // kItem only
};

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

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "application/json", optionally with a charset parameter naming UTF-8 (the only encoding JSON
// allows between systems, RFC 8259 section 8.1); any other parameter is ignored.
bool is_json_content_type(std::string_view value) {
  const auto semicolon = value.find(';');
  if (!iequals(trim(value.substr(0, semicolon)), kJsonType)) return false;
  while (semicolon != std::string_view::npos && !value.empty()) {
    value.remove_prefix(std::min(value.size(), value.find(';') + 1));
    const auto next = value.find(';');
    const std::string_view param = trim(value.substr(0, next));
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), "charset")) {
      std::string_view charset = trim(param.substr(eq + 1));
      if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
        charset = charset.substr(1, charset.size() - 2);
      }
      if (!iequals(charset, "utf-8") && !iequals(charset, "utf8")) return false;
    }
    if (next == std::string_view::npos) break;
  }
  return true;
}

// Whether the request announces a body (RFC 9112 section 6.3: without Content-Length or
// Transfer-Encoding, a request has none).
bool announces_body(const Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  const std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

// The declared Content-Length; std::nullopt when absent; -1 when it is not a plain number.
std::optional<long long> declared_length(const Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  const std::string text = std::string(trim(req.get_header_value("Content-Length")));
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

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return text;
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

OrderedJson endpoint_json(const Endpoint& e) {
  OrderedJson j;
  j["id"] = e.id;
  j["username"] = e.username;
  j["caller_id"] = e.caller_id;
  j["send_as"] = e.send_as;
  j["ciphers"] = e.ciphers;
  j["codecs"] = e.codecs;
  j["encryption"] = e.encryption;
  j["call_handler"] = e.call_handler;
  j["calling_handler_resource_id"] = e.calling_handler_resource_id;
  return j;
}

// dump(endpoint_json(e)), written directly (a generic JSON tree would cost an allocation per
// member): the 201 of a create, and the text the store keeps for every get and list after it.
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

}  // namespace

struct ReferenceServer::Impl {
  // How the body of the request being handled reaches the handler.
  enum class BodyAccess {
    kUnread,     // pre-routing: httplib has not read the body and will not
    kReader,     // a content-reader handler: the body is read through `reader` or not at all
    kInRequest,  // a plain handler: httplib already read the body into req.body
  };

  // What check_access() found out about a request that passed it.
  struct Target {
    Route route;
    std::string subscriber;  // normalised key in the store
  };

  Impl(ServerOptions opts, const Contract& c)
      : options(std::move(opts)), contract(c), store(options.max_endpoints, options.max_store_bytes) {
    for (ServerFault f : options.faults) {
      if (f != ServerFault::kNone) faults |= std::uint64_t{1} << static_cast<unsigned>(f);
    }
  }

  ServerOptions options;
  const Contract& contract;
  refserver::Store store;
  std::unique_ptr<refserver::HttpServer> http;
  std::thread listener;
  int bound_port = 0;
  bool started = false;
  bool stopped = false;
  mutable std::mutex lifecycle_mutex;
  std::mutex log_mutex;

  std::uint64_t faults = 0;  // a bit per fault mode in options.faults, so has() is one test

  bool has(ServerFault fault) const { return (faults >> static_cast<unsigned>(fault)) & 1u; }

  std::string origin(const Request& req) const {
    // Links point back at the address the client used when its Host header is plausible.
    const std::string host = req.get_header_value("Host");
    const bool plausible =
        !host.empty() && host.size() < 256 && std::all_of(host.begin(), host.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
                 c == '[' || c == ']';
        });
    if (plausible) return "http://" + host;
    const bool v6 = options.host.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + options.host + "]" : options.host) + ":" + std::to_string(bound_port);
  }

  void close_after(Response& res) {
    if (auto* connection = refserver::current_connection()) connection->close_after_response = true;
    res.set_header("Connection", "close");
  }

  // Reads and drops the body of a request that is answered without it, so the connection stays
  // usable; when that is not possible (too long, cut short, never read), the connection is closed
  // after the answer.
  void discard_body(const Request& req, Response& res, const httplib::ContentReader* reader,
                    BodyAccess access) {
    if (access == BodyAccess::kInRequest || !announces_body(req)) return;
    if (access == BodyAccess::kUnread || reader == nullptr) {
      close_after(res);
      return;
    }
    std::size_t seen = 0;
    const std::size_t cap = options.max_body_bytes;
    auto count = [&](const char*, std::size_t n) {
      seen += n;
      return seen <= cap;
    };
    const int status = res.status;
    const bool ok = req.is_multipart_form_data()
                        ? (*reader)([](const httplib::MultipartFormData&) { return true; }, count)
                        : (*reader)(count);
    res.status = status;  // httplib records its own read status; the answer is already decided
    if (!ok) close_after(res);
  }

  bool authorized(const Request& req) const {
    if (has(ServerFault::kNoAuth)) return true;
    const auto credentials = refserver::parse_basic_authorization(req.get_header_value("Authorization"));
    if (!credentials) return false;
    // Both halves are always compared, so the time does not tell which one was wrong.
    const bool user_ok = refserver::constant_time_equal(credentials->user, options.project_id);
    const bool password_ok = refserver::constant_time_equal(credentials->password, options.api_token);
    return user_ok & password_ok;
  }

  // Checks 1-3 (credentials, path and subscriber, method). On failure the answer is in `res`.
  bool check_access(const Request& req, Response& res, Target& target) {
    if (!authorized(req)) {
      res.set_header("WWW-Authenticate", kRealm);
      send_error(res, 401, "Unauthorized");
      return false;
    }
    target.route = parse_route(req.path);
    if (target.route.kind == Route::Kind::kUnknown) {
      send_error(res, 404, "Not Found");
      return false;
    }
    const bool create = target.route.kind == Route::Kind::kCollection && req.method == "POST";
    const auto normalised = refserver::normalize_uuid(target.route.subscriber);
    target.subscriber = normalised ? *normalised : target.route.subscriber;
    const bool known = normalised && store.has_subscriber(*normalised);
    if (!known && !(create && has(ServerFault::kUnknownSubscriberOk))) {
      send_error(res, 404, "Not Found");
      return false;
    }
    const bool collection = target.route.kind == Route::Kind::kCollection;
    const char* allow = collection ? "GET, HEAD, POST, OPTIONS" : "GET, HEAD, DELETE, OPTIONS";
    const std::string& m = req.method;
    const bool allowed =
        m == "GET" || m == "HEAD" || m == "OPTIONS" || (collection ? m == "POST" : m == "DELETE");
    if (!allowed) {
      res.set_header("Allow", allow);
      send_error(res, 405, "Method Not Allowed",
                 refserver::printable(m) + " is not allowed here; allowed: " + std::string(allow));
      return false;
    }
    if (m == "OPTIONS") {
      res.set_header("Allow", allow);
      res.status = 204;
      return false;
    }
    return true;
  }

  // The one entry point of every request.
  void handle(const Request& req, Response& res, const httplib::ContentReader* reader, BodyAccess access) {
    Target target;
    if (!check_access(req, res, target)) {
      discard_body(req, res, reader, access);
      return;
    }
    const bool collection = target.route.kind == Route::Kind::kCollection;
    if (collection && req.method == "POST") return create(req, res, reader, access, target);
    // GET, HEAD and DELETE carry no body; one that comes anyway is dropped.
    discard_body(req, res, reader, access);
    if (req.method == "DELETE") return remove(res, target);
    if (collection) return list(req, res, target);
    return get(res, target);
  }

  void unprocessable(Response& res, const std::vector<OrderedJson>& items) {
    OrderedJson body;
    if (has(ServerFault::kBadErrorShape)) {
      body["error"] =
          items.empty() ? std::string("Unprocessable Entity") : items.front()["message"].get<std::string>();
    } else {
      body["errors"] = items;
    }
    send_json(res, has(ServerFault::kUndocumentedStatus) ? 400 : 422, dump(body));
  }

  OrderedJson error_item(const char* code, std::string message, std::optional<std::string> attribute) const {
    OrderedJson item;
    item["type"] = "validation_error";
    item["code"] = code;
    item["message"] = std::move(message);
    if (has(ServerFault::kWrongAttribute)) {
      item["attribute"] = "unknown";
    } else if (attribute) {
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
  OrderedJson finding_item(const Finding& f, const std::vector<std::string>& secrets) const {
    std::optional<std::string> attribute;
    if (std::string token = first_token(f.pointer); !token.empty()) {
      attribute = std::move(token);
    } else if (!f.property.empty()) {
      attribute = f.property;
    }
    const char* code = f.keyword == "required" ? "missing_required_parameter" : "invalid_parameter";
    std::string message = refserver::redact(f.message, secrets);
    // Inside an attribute (an item of a list), say which item: "/codecs/1: ...".
    if (attribute && f.pointer.size() > attribute->size() + 1) message = f.pointer + ": " + message;
    return error_item(code, std::move(message), attribute);
  }

  // Reads the body of a create, at most max_body_bytes of it. Returns false with the answer in
  // `res` when the body cannot be had.
  bool read_body(const Request& req, Response& res, const httplib::ContentReader* reader, BodyAccess access,
                 std::string& body) {
    if (access == BodyAccess::kInRequest) {
      body = req.body;
      return true;
    }
    if (!announces_body(req)) return true;
    if (access == BodyAccess::kUnread || reader == nullptr) {
      close_after(res);
      send_error(res, 400, "Bad Request", "the request body could not be read");
      return false;
    }
    if (req.is_multipart_form_data()) {
      // Not JSON whatever it holds: drop it (bounded) and let the Content-Type check answer.
      discard_body(req, res, reader, access);
      return true;
    }
    bool too_large = false;
    const bool ok = (*reader)([&](const char* data, std::size_t n) {
      if (body.size() + n > options.max_body_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (ok) return true;
    const int httplib_status = res.status;
    close_after(res);
    if (too_large) {
      send_error(res, 413, "Payload Too Large",
                 "the body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
    } else if (httplib_status == 415) {
      send_error(res, 415, "Unsupported Media Type", "the Content-Encoding is not supported");
    } else {
      send_error(res, 400, "Bad Request", "the request body ended early or arrived too slowly");
    }
    return false;
  }

  void create(const Request& req, Response& res, const httplib::ContentReader* reader, BodyAccess access,
              const Target& target) {
    // 4. size: a declared length past the limit is refused before reading (httplib drops the body).
    const auto length = declared_length(req);
    if (length && *length < 0) {
      close_after(res);
      send_error(res, 400, "Bad Request", "Content-Length is not a number");
      return;
    }
    if (length && static_cast<unsigned long long>(*length) > options.max_body_bytes) {
      send_error(res, 413, "Payload Too Large",
                 "the body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
      discard_body(req, res, reader, access);
      return;
    }
    std::string text;
    if (!read_body(req, res, reader, access, text)) return;

    // 5. content type
    const std::string content_type = req.get_header_value("Content-Type");
    if (!is_json_content_type(content_type)) {
      const std::string got =
          content_type.empty() ? "none" : "\"" + refserver::printable(content_type.substr(0, 100)) + "\"";
      unprocessable(res,
                    {error_item("invalid_parameter",
                                "The body must be sent as Content-Type: application/json (got " + got + ")",
                                std::nullopt)});
      return;
    }

    // 6-7. JSON and schema: the verdict from the bytes first, which builds no document; a body that
    // fails is parsed again for its parse error or its findings.
    ParseLimits limits;
    limits.max_bytes = options.max_body_bytes;
    limits.max_depth = options.max_json_depth;
    const Verdict verdict = contract.check_request(text, limits);
    if (verdict == Verdict::kValid && faults == 0) {
      // The common case: the fields are read straight from the bytes and the 201 written directly.
      if (auto endpoint = endpoint_from_text(text)) {
        std::string json = endpoint_text(*endpoint);
        std::string created = json;
        if (store_created(res, target, *endpoint, std::move(json))) send_created(res, std::move(created));
        return;
      }
    }
    const Parsed parsed = parse_json(text, limits);
    if (!parsed) {
      unprocessable(
          res, {error_item("invalid_parameter",
                           "The body is not valid JSON: " + parse_error_text(parsed.error()), std::nullopt)});
      return;
    }
    const Json& body = *parsed;

    if (verdict != Verdict::kValid) {
      const Result result = contract.validate_request(body);
      if (!has(ServerFault::kAcceptInvalid)) {
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
        unprocessable(res, items);
        return;
      }
    }

    static const Json kNoFields = Json::object();
    const Json& object = body.is_object() ? body : kNoFields;
    Endpoint endpoint = build_endpoint(object);
    if (has(ServerFault::kResetConnection)) {
      // Instead of the 201: nothing is stored and the connection is reset without an answer.
      if (auto* connection = refserver::current_connection()) connection->reset = true;
      res.status = 500;
      return;
    }
    // The store keeps the endpoint as it is; the 201 says what the fault modes make of it.
    std::string created = created_text(endpoint, object);
    if (store_created(res, target, endpoint, endpoint_text(endpoint))) send_created(res, std::move(created));
  }

  // 8-9. Uniqueness and capacity, checked atomically with the insertion. False with the answer in
  // `res` when the endpoint is not stored.
  bool store_created(Response& res, const Target& target, Endpoint& endpoint, std::string json) {
    refserver::StoredEndpoint stored{std::move(endpoint.id), std::move(endpoint.username), std::move(json)};
    switch (store.create(target.subscriber, std::move(stored), !has(ServerFault::kAcceptDuplicates),
                         has(ServerFault::kUnknownSubscriberOk))) {
      case refserver::CreateOutcome::kCreated:
        return true;
      case refserver::CreateOutcome::kUnknownSubscriber:
        send_error(res, 404, "Not Found");
        return false;
      case refserver::CreateOutcome::kDuplicateUsername:
        unprocessable(res, {error_item("not_unique_within_project",
                                       "Username has already been taken within this project", "username")});
        return false;
      case refserver::CreateOutcome::kFull:
        unprocessable(res,
                      {error_item("limit_exceeded",
                                  "This server holds its maximum of SIP endpoints; delete some and retry",
                                  std::nullopt)});
        return false;
    }
    return false;
  }

  // The endpoint a body with a kValid verdict describes (as build_endpoint() would make it from the
  // parsed body, without faults), read with nlohmann's SAX parser: the verdict guarantees the
  // types, and no document is built. std::nullopt if the SAX parser refuses the text after all (the
  // verdict is parse_json()'s, so it should not; the document path then answers).
  std::optional<Endpoint> endpoint_from_text(std::string_view text) const {
    Endpoint e;
    e.encryption = "default";
    e.call_handler = "default";
    CreateFields fields(e);
    if (!Json::sax_parse(text, &fields)) return std::nullopt;
    e.id = refserver::new_uuid();
    if (e.calling_handler_resource_id.empty()) e.calling_handler_resource_id = refserver::new_uuid();
    return e;
  }

  std::string parse_error_text(const ParseError& error) const { return error.to_string(); }

  // The endpoint a valid request describes; with kAcceptInvalid, whatever of an invalid one still
  // fits the SipEndpoint schema (the rest falls back to the defaults), so that the 201 breaks only
  // the rule that fault names.
  Endpoint build_endpoint(const Json& body) const {
    Endpoint e;
    e.id = has(ServerFault::kBadUuid) ? "sip-endpoint-" + refserver::random_hex(8) : refserver::new_uuid();
    e.username = string_field(body, "username", "");
    e.caller_id = string_field(body, "caller_id", "");
    e.send_as = string_field(body, "send_as", "");
    e.ciphers = string_array(body, "ciphers");
    e.codecs = string_array(body, "codecs");
    e.encryption = string_field(body, "encryption", "default");
    e.call_handler = string_field(body, "call_handler", "default");
    e.calling_handler_resource_id = string_field(body, "calling_handler_resource_id", "");
    if (!has(ServerFault::kAcceptInvalid)) {
      if (e.calling_handler_resource_id.empty()) e.calling_handler_resource_id = refserver::new_uuid();
      return e;
    }
    // Reset every field the 201 schema rejects to its default; two rounds settle it, since the
    // defaults themselves conform.
    for (int round = 0; round < 2; ++round) {
      OrderedJson candidate = endpoint_json(e);
      if (has(ServerFault::kBadUuid)) candidate["id"] = refserver::new_uuid();  // judged separately
      const Result check = contract.validate_response(201, Json::parse(dump(candidate)));
      for (const auto& f : check.findings) {
        const std::string field = first_token(f.pointer).empty() ? f.property : first_token(f.pointer);
        if (field == "caller_id") e.caller_id.clear();
        if (field == "send_as") e.send_as.clear();
        if (field == "ciphers") e.ciphers.clear();
        if (field == "codecs") e.codecs.clear();
        if (field == "encryption") e.encryption = "default";
        if (field == "call_handler") e.call_handler = "default";
        if (field == "calling_handler_resource_id") e.calling_handler_resource_id = refserver::new_uuid();
      }
    }
    return e;
  }

  // The 201 body for endpoint `e` created from `request`, with whatever the fault modes change in it.
  std::string created_text(const Endpoint& e, const Json& request) const {
    if (has(ServerFault::kNonJsonBody)) return "Created SIP endpoint " + e.id + "\n";
    const bool altered = has(ServerFault::kMissingField) || has(ServerFault::kBadEnum) ||
                         has(ServerFault::kNoEcho) || has(ServerFault::kWrongDefault) ||
                         has(ServerFault::kLeakPassword) || has(ServerFault::kLeakToken);
    if (!altered) return endpoint_text(e);
    OrderedJson body = endpoint_json(e);
    if (has(ServerFault::kMissingField)) body.erase("id");
    if (has(ServerFault::kBadEnum)) body["codecs"] = {"opus"};
    if (has(ServerFault::kNoEcho)) body["caller_id"] = e.caller_id + "-altered";
    if (has(ServerFault::kWrongDefault) && !request.contains("encryption")) body["encryption"] = "optional";
    if (has(ServerFault::kLeakPassword)) body["password"] = string_field(request, "password", "");
    if (has(ServerFault::kLeakToken)) body["api_token"] = options.api_token;
    return dump(body);
  }

  void send_created(Response& res, std::string text) {
    const int status = has(ServerFault::kWrongStatus) ? 200 : 201;
    if (has(ServerFault::kNonJsonBody)) {
      send_json(res, status, std::move(text));
      return;
    }
    if (has(ServerFault::kDeepNesting)) {
      // {..., "nested": [[[...]]]} with fault_depth levels: valid JSON no sane parser should follow.
      text.pop_back();
      text += ",\"nested\":";
      text.append(options.fault_depth, '[');
      text.append(options.fault_depth, ']');
      text += '}';
    }
    if (has(ServerFault::kHugeBody) && options.fault_body_bytes > text.size() + 16) {
      // {..., "padding": "xxxx..."} streamed to exactly fault_body_bytes, never held in memory.
      text.pop_back();
      auto head = std::make_shared<std::string>(text + ",\"padding\":\"");
      const std::size_t total = options.fault_body_bytes;
      const std::size_t tail_at = total - 2;  // the closing "}
      res.status = status;
      res.set_content_provider(
          total, kJsonType, [head, total, tail_at](std::size_t offset, std::size_t, httplib::DataSink& sink) {
            static const std::string padding(64 * 1024, 'x');
            if (offset < head->size()) return sink.write(head->data() + offset, head->size() - offset);
            if (offset < tail_at)
              return sink.write(padding.data(), std::min(padding.size(), tail_at - offset));
            const char* tail = "\"}";
            return sink.write(tail + (offset - tail_at), total - offset);
          });
      return;
    }
    if (has(ServerFault::kTruncatedBody)) {
      // Declares 64 bytes more than it sends, then stops: the connection ends mid-body.
      auto shared = std::make_shared<std::string>(std::move(text));
      res.status = status;
      res.set_content_provider(shared->size() + 64, kJsonType,
                               [shared](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                 if (offset >= shared->size()) return false;
                                 return sink.write(shared->data() + offset, shared->size() - offset);
                               });
      return;
    }
    send_json(res, status, std::move(text));
  }

  void get(Response& res, const Target& target) {
    auto endpoint = store.get(target.subscriber, target.route.endpoint);
    if (!endpoint) return send_error(res, 404, "Not Found");
    send_json(res, 200, std::move(*endpoint));
  }

  void remove(Response& res, const Target& target) {
    if (has(ServerFault::kIgnoreDelete)) {
      if (!store.get(target.subscriber, target.route.endpoint)) return send_error(res, 404, "Not Found");
      res.status = 204;
      return;
    }
    if (store.remove(target.subscriber, target.route.endpoint) != refserver::RemoveOutcome::kRemoved) {
      return send_error(res, 404, "Not Found");
    }
    res.status = 204;
  }

  // GET .../sip_endpoints[?page_size=N][&page_token=T]: creation order, `links.next` while more remain.
  void list(const Request& req, Response& res, const Target& target) {
    std::size_t page_size = kDefaultPageSize;
    if (req.has_param("page_size")) {
      const std::string text = req.get_param_value("page_size");
      std::size_t value = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 ||
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
    if (req.has_param("page_token")) {
      token = req.get_param_value("page_token");
      const auto [end, ec] = token.size() > 2
                                 ? std::from_chars(token.data() + 2, token.data() + token.size(), after)
                                 : std::from_chars_result{token.data(), std::errc::invalid_argument};
      if (token.rfind("PA", 0) != 0 || ec != std::errc() || end != token.data() + token.size()) {
        return unprocessable(
            res, {error_item("invalid_parameter", "page_token is not one this server issued", "page_token")});
      }
    }
    const auto page = store.list(target.subscriber, after, page_size);
    if (!page) return send_error(res, 404, "Not Found");

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
    send_json(res, 200, std::move(body));
  }

  // Answers httplib's own errors (unparsable request line or headers, 413 from its reader, ...)
  // in JSON like every other answer; leaves answers the handlers made alone.
  void fill_error(Response& res) {
    if (!res.body.empty() || res.content_length_ > 0 || res.content_provider_) return;
    // httplib answers these when it could not parse or frame the request: what follows on the
    // connection cannot be trusted to start a request, so it is closed after the answer.
    close_after(res);
    switch (res.status) {
      case 400:
        return send_error(res, 400, "Bad Request");
      case 404:
        return send_error(res, 404, "Not Found");
      case 413:
        return send_error(res, 413, "Payload Too Large");
      case 414:
        return send_error(res, 414, "URI Too Long");
      case 415:
        return send_error(res, 415, "Unsupported Media Type");
      case 416:
        return send_error(res, 416, "Range Not Satisfiable");
      case 500:
        return send_error(res, 500, "Internal Server Error");
      default:
        return send_error(res, res.status, res.status >= 500 ? "Server Error" : "Client Error");
    }
  }

  void log(const Request& req, const Response& res) {
    if (!options.access_log) return;
    const auto* connection = refserver::current_connection();
    const auto elapsed = connection ? std::chrono::steady_clock::now() - connection->request_start
                                    : std::chrono::steady_clock::duration::zero();
    const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    const std::size_t bytes =
        req.method == "HEAD" ? 0 : (res.body.empty() ? res.content_length_ : res.body.size());
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.3fms", ms);
    // Only the path: a query string or a header could carry anything, and none is needed here.
    std::string line = utc_timestamp() + " " + refserver::printable(req.remote_addr) + " \"" +
                       refserver::printable(req.method.substr(0, 16)) + " " +
                       refserver::printable(req.path.substr(0, 512)) + "\" " + std::to_string(res.status) +
                       " " + std::to_string(bytes) + " " + duration;
    if (connection && connection->reset) line += " reset";
    std::lock_guard lock(log_mutex);
    options.access_log(line);
  }

  void configure(refserver::HttpServer& server) {
    server.set_payload_max_length(options.max_body_bytes);
    server.set_tcp_nodelay(true);
    // Only SO_REUSEADDR: httplib's default also sets SO_REUSEPORT, which would let a second server
    // bind the same port and silently share its connections.
    server.set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    // Each connection holds a worker for as long as it stays open (httplib serves a connection per
    // thread), so the default leaves room for a load generator's 16 keep-alive connections.
    const std::size_t threads =
        options.threads != 0 ? options.threads : std::max(16u, 2 * std::thread::hardware_concurrency());
    server.new_task_queue = [threads] {
      return new refserver::BoundedThreadPool(threads, std::max<std::size_t>(64, threads * 16));
    };

    // POST, PUT, PATCH and DELETE go to content-reader handlers, which read a body only when the
    // checks before it pass; every other method is answered before httplib reads anything.
    server.set_pre_routing_handler([this](const Request& req, Response& res) {
      const std::string& m = req.method;
      if (m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE")
        return httplib::Server::HandlerResponse::Unhandled;
      handle(req, res, nullptr, BodyAccess::kUnread);
      return httplib::Server::HandlerResponse::Handled;
    });
    const std::string any = R"([\s\S]*)";
    auto with_reader = [this](const Request& req, Response& res, const httplib::ContentReader& reader) {
      handle(req, res, &reader, BodyAccess::kReader);
    };
    auto plain = [this](const Request& req, Response& res) {
      handle(req, res, nullptr, BodyAccess::kInRequest);
    };
    server.Post(any, with_reader).Put(any, with_reader).Patch(any, with_reader).Delete(any, with_reader);
    server.Post(any, plain).Put(any, plain).Patch(any, plain).Delete(any, plain);

    // Expect: 100-continue: refuse before the client sends its body when the answer is already known.
    server.set_expect_100_continue_handler([this](const Request& req, Response& res) {
      Target target;
      if (!check_access(req, res, target)) {
        close_after(res);
        return res.status;
      }
      const auto length = declared_length(req);
      if (req.method == "POST" && length &&
          (*length < 0 || static_cast<unsigned long long>(*length) > options.max_body_bytes)) {
        close_after(res);
        if (*length < 0) {
          send_error(res, 400, "Bad Request", "Content-Length is not a number");
        } else {
          send_error(res, 413, "Payload Too Large",
                     "the body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
        }
        return res.status;
      }
      return 100;
    });
    server.set_error_handler(httplib::Server::HandlerWithResponse([this](const Request&, Response& res) {
      fill_error(res);
      return httplib::Server::HandlerResponse::Handled;
    }));
    server.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
      res = Response{};
      send_error(res, 500, "Internal Server Error");
    });
    server.set_post_routing_handler([this](const Request&, Response& res) { post_routing(res); });
    server.set_logger([this](const Request& req, const Response& res) { log(req, res); });

    // Requests of the common shape skip httplib's parser (connection.cpp says which and why) and
    // are answered by answer_direct(), which does what httplib's routing and response writing do.
    // The fault modes change answers in ways only the general path implements (streamed and
    // truncated bodies, resets, delays), so a server with faults leaves every request to httplib.
    if (faults == 0) {
      server.set_direct_handler(
          [this, keep_alive = server.keep_alive_value()](Request& req, Response& res, bool close_connection) {
            answer_direct(req, res, close_connection, keep_alive);
          });
    }
  }

  void post_routing(Response& res) {
    if (res.get_header_value("Connection") == "close") {
      auto range = res.headers.equal_range("Keep-Alive");
      res.headers.erase(range.first, range.second);
    }
    if (has(ServerFault::kWrongContentType)) {
      auto range = res.headers.equal_range("Content-Type");
      res.headers.erase(range.first, range.second);
      res.set_header("Content-Type", "text/plain");
    }
    if (has(ServerFault::kSlow) && http)
      http->sleep_unless_stopping(std::chrono::milliseconds(options.fault_delay_ms));
  }

  // What httplib does for a request its router hands to a handler, in the same order: the handler
  // (an exception becomes the exception handler's 500), then as in Server::write_response_core the
  // error handler for a status from 400, Content-Length, Connection: close or Keep-Alive, the
  // default Content-Type, "Content-Length: 0" for no body, the post-routing handler and the log.
  // The body is already in `req` (BodyAccess::kInRequest), as for httplib's plain handlers.
  void answer_direct(const Request& req, Response& res, bool close_connection,
                     const std::string& keep_alive) {
    try {
      handle(req, res, nullptr, BodyAccess::kInRequest);
    } catch (...) {
      res = Response{};
      send_error(res, 500, "Internal Server Error");
    }
    if (res.status == -1) res.status = 200;
    if (res.status >= 400) fill_error(res);
    if (!res.body.empty()) res.set_header("Content-Length", std::to_string(res.body.size()));
    if (close_connection) {
      res.set_header("Connection", "close");
    } else {
      res.set_header("Keep-Alive", keep_alive);
    }
    if (!res.body.empty() && !res.has_header("Content-Type")) res.set_header("Content-Type", "text/plain");
    if (res.body.empty() && !res.has_header("Content-Length")) res.set_header("Content-Length", "0");
    post_routing(res);
    log(req, res);
  }
};

ReferenceServer::ReferenceServer(ServerOptions options, const Contract& contract)
    : impl_(std::make_unique<Impl>(std::move(options), contract)) {
  ServerOptions& o = impl_->options;
  if (o.project_id.empty()) o.project_id = refserver::new_uuid();
  if (o.api_token.empty()) o.api_token = "PT" + refserver::random_hex(24);
  if (o.project_id.find(':') != std::string::npos) {
    throw std::invalid_argument(
        "the project ID cannot contain ':' (HTTP Basic credentials are user:password)");
  }
  if (o.subscribers.empty()) o.subscribers.push_back(refserver::new_uuid());
  for (auto& subscriber : o.subscribers) {
    auto normalised = refserver::normalize_uuid(subscriber);
    if (!normalised)
      throw std::invalid_argument("subscriber \"" + refserver::printable(subscriber) + "\" is not a UUID");
    subscriber = *normalised;
    impl_->store.add_subscriber(subscriber);
  }
  if (o.max_body_bytes == 0) throw std::invalid_argument("max_body_bytes must be at least 1");
  if (o.read_timeout_ms <= 0 || o.write_timeout_ms <= 0 || o.request_timeout_ms <= 0 ||
      o.keep_alive_timeout_ms <= 0) {
    throw std::invalid_argument("timeouts must be positive");
  }
}

ReferenceServer::~ReferenceServer() { stop(); }

void ReferenceServer::start() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started) throw std::logic_error("ReferenceServer::start() called twice");
  const ServerOptions& o = impl_->options;
  refserver::ConnectionLimits limits;
  limits.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
  limits.write_timeout = std::chrono::milliseconds(o.write_timeout_ms);
  limits.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
  limits.keep_alive_timeout = std::chrono::milliseconds(o.keep_alive_timeout_ms);
  limits.keep_alive_max_requests = o.keep_alive_max_requests;
  auto server = std::make_unique<refserver::HttpServer>(limits);
  impl_->configure(*server);

  errno = 0;
  int port = -1;
  if (o.port == 0) {
    port = server->bind_to_any_port(o.host);
  } else if (o.port > 0 && o.port < 65536 && server->bind_to_port(o.host, o.port)) {
    port = o.port;
  }
  if (port <= 0) {
    const int error = errno;
    throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                             (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
  }
  impl_->bound_port = port;
  impl_->http = std::move(server);
  impl_->started = true;
  refserver::HttpServer* http = impl_->http.get();
  impl_->listener = std::thread([http] { http->listen_after_bind(); });
  // stop() only works once the accept loop runs, so do not return before it does.
  for (int i = 0; i < 10000 && !http->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void ReferenceServer::stop() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->http->shutdown();
  if (impl_->listener.joinable()) impl_->listener.join();
}

int ReferenceServer::port() const { return impl_->bound_port; }

std::string ReferenceServer::base_url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->bound_port) +
         std::string(kApiBase);
}

const ServerOptions& ReferenceServer::options() const { return impl_->options; }

std::size_t ReferenceServer::endpoint_count() const { return impl_->store.size(); }

}  // namespace sipcontract
