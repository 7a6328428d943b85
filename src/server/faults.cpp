// The fault modes: their names, as the CLI's --fault flag and reports spell them, and the layer
// (layers.hpp) that breaks each one's rule around the conforming handler.
#include <array>
#include <atomic>
#include <set>
#include <utility>

#include "layers.hpp"
#include "sipcontract/json_text.hpp"
#include "util.hpp"

namespace sipcontract {
namespace {

constexpr std::array<std::pair<ServerFault, std::string_view>, 29> kNames{{
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
    {ServerFault::kStoreThen500, "store-then-500"},
    {ServerFault::kList503, "list-503"},
    {ServerFault::kGatewayDelete404, "gateway-delete-404"},
    {ServerFault::kGet404, "get-404"},
    {ServerFault::kListOmits, "list-omits"},
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

namespace detail::refserver {
namespace {

using Json = nlohmann::json;

// bad-uuid: "sip-endpoint-" and the 32 hex digits of the real UUID. Reversible, so the id a
// client got works for get and delete, and no table is kept.
constexpr std::string_view kBadIdPrefix = "sip-endpoint-";

std::string bad_id(const std::string& uuid) {
  std::string out(kBadIdPrefix);
  for (char c : uuid) {
    if (c != '-') out.push_back(c);
  }
  return out;
}

std::optional<std::string> uuid_of_bad_id(std::string_view id) {
  if (id.substr(0, kBadIdPrefix.size()) != kBadIdPrefix || id.size() != kBadIdPrefix.size() + 32) return {};
  id.remove_prefix(kBadIdPrefix.size());
  std::string out;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(id[i]);
  }
  return normalize_uuid(out);
}

// Applies `edit` to each endpoint object of a 201 or GET (the body) or a list (its data).
template <class Fn>
void for_each_endpoint(Operation op, OrderedJson& body, Fn edit) {
  if (op == Operation::kList) {
    if (auto data = body.find("data"); data != body.end() && data->is_array()) {
      for (auto& item : *data) {
        if (item.is_object()) edit(item);
      }
    }
  } else {
    edit(body);
  }
}

// accept-duplicates: each create's username gets this marker and a counter on the way in (so the
// store never sees a duplicate) and loses them on the way out.
constexpr std::string_view kDuplicateMarker =
    "\x1f"
    "dup-";

void strip_duplicate_marker(OrderedJson& endpoint) {
  auto it = endpoint.find("username");
  if (it == endpoint.end() || !it->is_string()) return;
  const std::string& name = it->get_ref<const std::string&>();
  if (const auto at = name.find(kDuplicateMarker); at != std::string::npos) *it = name.substr(0, at);
}

// accept-invalid: a body the request schema refuses, made one it accepts. Fields at fault are
// dropped; a missing or broken username or password is replaced.
Json repair(const Json& sent, const Contract& contract) {
  Json fixed = sent.is_object() ? sent : Json::object();
  const auto fresh_username = [] { return "accepted-" + random_hex(8); };
  for (int round = 0; round < 4; ++round) {
    const Result result = contract.validate_request(fixed);
    if (result.valid()) return fixed;
    for (const auto& f : result.findings) {
      std::string field;
      if (f.pointer.size() > 1) {
        field = f.pointer.substr(
            1, f.pointer.find('/', 1) == std::string::npos ? std::string::npos : f.pointer.find('/', 1) - 1);
      } else {
        field = f.property;
      }
      if (field == "username") {
        fixed["username"] = fresh_username();
      } else if (field == "password" || field == "password_confirmation") {
        const auto password = fixed.find("password");
        const std::string value = password != fixed.end() && password->is_string()
                                      ? password->get<std::string>()
                                      : "accepted-" + random_hex(8);
        fixed["password"] = value;
        fixed["password_confirmation"] = value;
      } else if (!field.empty()) {
        fixed.erase(field);
      } else {
        // A rule on the body as a whole (call_handler and calling_handler_resource_id together).
        fixed.erase("calling_handler_resource_id");
      }
    }
  }
  if (contract.validate_request(fixed).valid()) return fixed;
  const std::string password = "accepted-" + random_hex(8);
  return Json{{"username", fresh_username()}, {"password", password}, {"password_confirmation", password}};
}

constexpr std::array<const char*, 8> kEchoedFields = {
    "username", "caller_id",  "send_as",      "ciphers",
    "codecs",   "encryption", "call_handler", "calling_handler_resource_id"};

}  // namespace

std::unique_ptr<Layer> make_fault_layer(ServerFault fault, const LayerContext& context) {
  const ServerOptions& options = context.options;
  const Contract& contract = context.contract;
  switch (fault) {
    case ServerFault::kNone:
      return nullptr;

    case ServerFault::kWrongStatus:
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op == Operation::kCreate && res.status == 201) res.status = 200;
      });

    case ServerFault::kWrongContentType:
      return layer([](Request& req, Response& res, const Next& next) {
        next(req, res);
        res.headers.set("Content-Type", "text/plain");
      });

    case ServerFault::kNonJsonBody:
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op != Operation::kCreate || res.status != 201) return;
        std::string id;
        if (auto json = json_body(res); json && json->contains("id") && (*json)["id"].is_string())
          id = (*json)["id"].get<std::string>();
        res.body = "Created SIP endpoint " + id + "\n";  // still labelled application/json
      });

    case ServerFault::kMissingField:
      return edit_json(Operation::kCreate, 201, [](const Request&, OrderedJson& body) { body.erase("id"); });

    case ServerFault::kBadEnum:
      return edit_json(Operation::kCreate, 201, [](const Request&, OrderedJson& body) {
        body["codecs"] = OrderedJson::array({"opus"});
      });

    case ServerFault::kBadUuid:
      // Ids leave as "sip-endpoint-<hex>" in every answer and come back to the real UUID in paths.
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        if (op == Operation::kGet || op == Operation::kDelete) {
          const Route route = parse_route(req.path);
          if (auto uuid = uuid_of_bad_id(route.endpoint)) req.path = collection_path(route) + "/" + *uuid;
        }
        next(req, res);
        const bool shows_endpoints = (op == Operation::kCreate && res.status == 201) ||
                                     ((op == Operation::kGet || op == Operation::kList) && res.status == 200);
        if (!shows_endpoints) return;
        auto json = json_body(res);
        if (!json || !json->is_object()) return;
        for_each_endpoint(op, *json, [](OrderedJson& endpoint) {
          if (auto id = endpoint.find("id"); id != endpoint.end() && id->is_string())
            *id = bad_id(id->get<std::string>());
        });
        set_json_body(res, *json);
      });

    case ServerFault::kNoEcho:
      return edit_json(Operation::kCreate, 201, [](const Request&, OrderedJson& body) {
        body["caller_id"] =
            (body["caller_id"].is_string() ? body["caller_id"].get<std::string>() : "") + "-altered";
      });

    case ServerFault::kWrongDefault:
      return edit_json(Operation::kCreate, 201, [&options](const Request& req, OrderedJson& body) {
        const auto sent = json_request_body(req, options);
        if (!sent || !sent->is_object() || !sent->contains("encryption")) body["encryption"] = "optional";
      });

    case ServerFault::kLeakPassword:
      return edit_json(Operation::kCreate, 201, [&options](const Request& req, OrderedJson& body) {
        const auto sent = json_request_body(req, options);
        std::string password;
        if (sent && sent->is_object() && sent->contains("password") && (*sent)["password"].is_string())
          password = (*sent)["password"].get<std::string>();
        body["password"] = password;
      });

    case ServerFault::kLeakToken:
      return edit_json(Operation::kCreate, 201, [&options](const Request&, OrderedJson& body) {
        body["api_token"] = options.api_token;
      });

    case ServerFault::kSlow:
      return layer([&options](Request& req, Response& res, const Next& next) {
        next(req, res);
        res.delay = std::chrono::milliseconds(options.fault_delay_ms);
      });

    case ServerFault::kAcceptDuplicates:
      return layer([counter = std::make_shared<std::atomic<std::uint64_t>>(0), &options](
                       Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        if (op == Operation::kCreate) {
          BodyRewrite unique(req, [&](std::string& body) {
            ParseLimits limits{options.max_body_bytes, options.max_json_depth};
            Parsed parsed = parse_json(body, limits);
            if (!parsed) return;
            Json& json = *parsed;
            if (!json.is_object()) return;
            auto username = json.find("username");
            if (username == json.end() || !username->is_string()) return;
            *username =
                username->get<std::string>() + std::string(kDuplicateMarker) + std::to_string(++*counter);
            body = json.dump(-1, ' ', false, Json::error_handler_t::replace);
          });
          next(req, res);
        } else {
          next(req, res);
        }
        const bool shows_endpoints = (op == Operation::kCreate && res.status == 201) ||
                                     ((op == Operation::kGet || op == Operation::kList) && res.status == 200);
        if (!shows_endpoints) return;
        auto json = json_body(res);
        if (!json || !json->is_object()) return;
        for_each_endpoint(op, *json, strip_duplicate_marker);
        set_json_body(res, *json);
      });

    case ServerFault::kAcceptInvalid:
      return layer([&options, &contract](Request& req, Response& res, const Next& next) {
        if (operation_of(req) != Operation::kCreate) return next(req, res);
        std::optional<Json> sent;  // the body as sent, when it had to be repaired
        {
          BodyRewrite repaired(req, [&](std::string& body) {
            ParseLimits limits{options.max_body_bytes, options.max_json_depth};
            Parsed parsed = parse_json(body, limits);
            if (!parsed || contract.validate_request(*parsed).valid()) return;  // not JSON: not ours to fix
            sent = *parsed;
            body = repair(*parsed, contract).dump(-1, ' ', false, Json::error_handler_t::replace);
          });
          next(req, res);
        }
        if (!sent || !sent->is_object() || res.status != 201) return;
        auto json = json_body(res);
        if (!json || !json->is_object()) return;
        // What was sent goes back into the 201 wherever the 201 schema allows it.
        for (const char* field : kEchoedFields) {
          if (!sent->contains(field)) continue;
          OrderedJson candidate = *json;
          candidate[field] = OrderedJson::parse((*sent)[field].dump());
          if (contract.validate_response(201, Json::parse(candidate.dump())).valid())
            *json = std::move(candidate);
        }
        set_json_body(res, *json);
      });

    case ServerFault::kNoAuth:
      return layer([authorization = "Basic " + base64(options.project_id + ":" + options.api_token)](
                       Request& req, Response& res, const Next& next) {
        req.headers.set("Authorization", authorization);
        next(req, res);
      });

    case ServerFault::kUnknownSubscriberOk:
      // A create under a subscriber the server does not know goes to the first one it knows.
      return layer([known = std::set<std::string>(options.subscribers.begin(), options.subscribers.end()),
                    first = options.subscribers.front()](Request& req, Response& res, const Next& next) {
        if (operation_of(req) == Operation::kCreate) {
          Route route = parse_route(req.path);
          const auto normalised = normalize_uuid(route.subscriber);
          if (!normalised || known.count(*normalised) == 0) {
            route.subscriber = first;
            req.path = collection_path(route);
          }
        }
        next(req, res);
      });

    case ServerFault::kBadErrorShape:
      return edit_json(Operation::kOther, 422, [](const Request&, OrderedJson& body) {
        std::string message = "Unprocessable Entity";
        if (auto errors = body.find("errors");
            errors != body.end() && errors->is_array() && !errors->empty() && (*errors)[0].is_object() &&
            (*errors)[0].contains("message") && (*errors)[0]["message"].is_string())
          message = (*errors)[0]["message"].get<std::string>();
        body = OrderedJson{{"error", message}};
      });

    case ServerFault::kWrongAttribute:
      return edit_json(Operation::kOther, 422, [](const Request&, OrderedJson& body) {
        if (auto errors = body.find("errors"); errors != body.end() && errors->is_array()) {
          for (auto& item : *errors) {
            if (item.is_object()) item["attribute"] = "unknown";
          }
        }
      });

    case ServerFault::kUndocumentedStatus:
      return layer([](Request& req, Response& res, const Next& next) {
        next(req, res);
        if (res.status == 422) res.status = 400;
      });

    case ServerFault::kIgnoreDelete:
      // Answers 204 itself when the endpoint exists, and deletes nothing.
      return layer([](Request& req, Response& res, const Next& next) {
        if (operation_of(req) != Operation::kDelete) return next(req, res);
        Request probe = req.derived("GET", req.path);
        Response found;
        next(probe, found);
        if (found.status != 200) {
          res = std::move(found);
          return;
        }
        res = Response{};
        res.status = 204;
      });

    case ServerFault::kResetConnection:
      // Instead of a 201: the endpoint is deleted again and the connection reset without an answer.
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op != Operation::kCreate || res.status != 201) return;
        if (auto json = json_body(res); json && json->contains("id") && (*json)["id"].is_string()) {
          Request undo = req.derived("DELETE", req.path + "/" + (*json)["id"].get<std::string>());
          Response undone;
          next(undo, undone);
        }
        res = Response{};
        res.status = 500;  // what the access log shows
        res.reset = true;
      });

    case ServerFault::kTruncatedBody:
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op == Operation::kCreate && res.status == 201) res.missing_bytes = 64;
      });

    case ServerFault::kHugeBody:
      // {..., "padding": "xxxx..."} streamed to exactly fault_body_bytes, never held in memory.
      return layer([total = options.fault_body_bytes](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op != Operation::kCreate || res.status != 201 || res.stream || total <= res.body.size() + 16)
          return;
        std::string text = std::move(res.body);
        text.pop_back();
        auto head = std::make_shared<std::string>(text + ",\"padding\":\"");
        const std::size_t tail_at = total - 2;  // the closing "}
        res.body.clear();
        res.stream = std::make_shared<StreamedBody>();
        res.stream->size = total;
        res.stream->bytes = [head, total, tail_at](std::size_t offset) -> std::string_view {
          static const std::string padding(64 * 1024, 'x');
          if (offset < head->size()) return std::string_view(*head).substr(offset);
          if (offset < tail_at)
            return std::string_view(padding).substr(0, std::min(padding.size(), tail_at - offset));
          return std::string_view("\"}").substr(offset - tail_at, total - offset);
        };
      });

    case ServerFault::kDeepNesting:
      // {..., "nested": [[[...]]]} with fault_depth levels: valid JSON no sane parser should follow.
      return layer([depth = options.fault_depth](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op != Operation::kCreate || res.status != 201 || res.stream || res.body.empty()) return;
        res.body.pop_back();
        res.body += ",\"nested\":";
        res.body.append(depth, '[');
        res.body.append(depth, ']');
        res.body += '}';
      });

    case ServerFault::kStoreThen500:
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op != Operation::kCreate || res.status != 201) return;
        res = Response{};
        res.set_error(500, "Internal Server Error");
      });

    case ServerFault::kList503:
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op != Operation::kList || res.status != 200) return;
        res = Response{};
        res.set_error(503, "Service Unavailable");
        res.headers.set("Retry-After", "0");
      });

    case ServerFault::kGatewayDelete404:
      // Answered before the server is reached, as a gateway in front of it would.
      return layer([](Request& req, Response& res, const Next& next) {
        if (operation_of(req) != Operation::kDelete) return next(req, res);
        res = Response{};
        res.status = 404;
        res.headers.set("Content-Type", "application/problem+json");
        res.body = R"({"type":"about:blank","title":"Not Found","status":404})";
      });

    case ServerFault::kGet404:
      return layer([](Request& req, Response& res, const Next& next) {
        const Operation op = operation_of(req);
        next(req, res);
        if (op != Operation::kGet || res.status != 200) return;
        res = Response{};
        res.set_error(404, "Not Found");
      });

    case ServerFault::kListOmits:
      return edit_json(Operation::kList, 200, [](const Request&, OrderedJson& body) {
        body["data"] = OrderedJson::array();
        if (auto links = body.find("links"); links != body.end() && links->is_object()) links->erase("next");
      });
  }
  return nullptr;
}

}  // namespace detail::refserver
}  // namespace sipcontract
