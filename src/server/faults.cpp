// The fault modes: their names, as the CLI's --fault flag and reports spell them, and the layer
// (layers.hpp) that breaks each one's rule around the conforming handler. A fault that concerns a
// field picks it from the contract (model.hpp), so each works on any contract:
//   missing-field   the id field, dropped from the 201
//   bad-enum        the first field of the item schema that is a list of an enum (else the first
//                   enum field) gets a value outside it (v1: ciphers, "aead_aes_256_gcm_8")
//   bad-uuid        the id field, "<resource>-<hex>" in every answer (v1: "sip-endpoint-...")
//   no-echo         the first string field the request sent, the name field aside, altered
//                   (v1: caller_id)
//   wrong-default   the first field with a documented default (not an assumed one), omitted, is
//                   answered with another allowed value (v1: encryption "optional")
//   leak-secret     the first secret field's value sent, echoed in the 201 (v1: password)
//   accept-duplicates  the unique rules' fields made unique on the way in, restored on the way out
//   accept-invalid  the body repaired from the findings and the request schema's properties
// Four the fixed cases do not catch, and `run --generate` does:
//   control-char-500     any string value of a create or update holding a character below U+0020
//   combo-default        the last value of the first list-of-enum field (v1: codecs, "H264") sent with
//                        a value other than the default of the first field with a documented default
//                        (v1: encryption) -> the 201 says the default
//   null-as-absent       null for an optional request field without an enum, dropped before the handler
//   list-keeps-deleted   the list's last page still shows items deleted with a 2xx
#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include "layers.hpp"
#include "sipcontract/ascii.hpp"
#include "sipcontract/json_text.hpp"
#include "util.hpp"

namespace sipcontract {
namespace {

constexpr std::array<std::pair<ServerFault, std::string_view>, 33> kNames{{
    {ServerFault::kNone, "none"},
    {ServerFault::kWrongStatus, "wrong-status"},
    {ServerFault::kWrongContentType, "wrong-content-type"},
    {ServerFault::kNonJsonBody, "non-json-body"},
    {ServerFault::kMissingField, "missing-field"},
    {ServerFault::kBadEnum, "bad-enum"},
    {ServerFault::kBadUuid, "bad-uuid"},
    {ServerFault::kNoEcho, "no-echo"},
    {ServerFault::kWrongDefault, "wrong-default"},
    {ServerFault::kLeakSecret, "leak-secret"},
    {ServerFault::kLeakToken, "leak-token"},
    {ServerFault::kSlow, "slow"},
    {ServerFault::kAcceptDuplicates, "accept-duplicates"},
    {ServerFault::kAcceptInvalid, "accept-invalid"},
    {ServerFault::kNoAuth, "no-auth"},
    {ServerFault::kUnknownParentOk, "unknown-parent-ok"},
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
    {ServerFault::kControlChar500, "control-char-500"},
    {ServerFault::kComboDefault, "combo-default"},
    {ServerFault::kNullAsAbsent, "null-as-absent"},
    {ServerFault::kListKeepsDeleted, "list-keeps-deleted"},
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

// bad-uuid: "<resource>-" ("sip-endpoint-" for v1's sip_endpoint) and the 32 hex digits of the real
// UUID. Reversible, so the id a client got works in paths, and no table is kept.
std::string bad_id_prefix(const Model& model) {
  std::string prefix = model.resource().name;
  std::replace(prefix.begin(), prefix.end(), '_', '-');
  return prefix + "-";
}

std::string bad_id(const std::string& prefix, const std::string& uuid) {
  std::string out(prefix);
  for (char c : uuid) {
    if (c != '-') out.push_back(c);
  }
  return out;
}

std::optional<std::string> uuid_of_bad_id(const std::string& prefix, std::string_view id) {
  if (id.substr(0, prefix.size()) != prefix || id.size() != prefix.size() + 32) return {};
  id.remove_prefix(prefix.size());
  std::string out;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(id[i]);
  }
  return normalize_uuid(out);
}

// Whether an answer to `action` with `status` shows items (the body, or the list's items).
bool shows_items(Action action, int status) {
  return (action == Action::kCreate && status == 201) ||
         ((action == Action::kGet || action == Action::kList || action == Action::kUpdate) && status == 200);
}

// Applies `edit` to each item object an answer to `action` shows: the body, or a list's items.
template <class Fn>
void for_each_item(const Model& model, Action action, OrderedJson& body, Fn edit) {
  if (action == Action::kList) {
    if (auto items = body.find(model.pages().items); items != body.end() && items->is_array()) {
      for (auto& item : *items) {
        if (item.is_object()) edit(item);
      }
    }
  } else {
    edit(body);
  }
}

// A layer that edits the items every answer shows, after the layers inside made them.
template <class Fn>
void edit_items(const Model& model, Action action, Response& res, Fn edit) {
  if (!shows_items(action, res.status)) return;
  auto json = json_body(res);
  if (!json || !json->is_object()) return;
  for_each_item(model, action, *json, edit);
  set_json_body(res, *json);
}

bool holds(const Json& values, const Json& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

// A value outside the enum `values`: its first string in lowercase where that differs ("OPUS" ->
// "opus"), else a string no value is.
OrderedJson outside_of(const Json& values) {
  for (const auto& v : values) {
    if (!v.is_string()) continue;
    const std::string lower = ascii_lowercase(v.get_ref<const std::string&>());
    if (lower != v.get<std::string>() && !holds(values, lower)) return lower;
  }
  std::string other = "not-listed";
  while (holds(values, other)) other += "-x";
  return other;
}

// bad-enum: the field and the value that breaks its enum (see the file comment), if any.
std::optional<std::pair<std::string, OrderedJson>> enum_break(const Model& model) {
  for (const bool list : {true, false}) {
    for (const Field& field : model.fields()) {
      const Json& schema = field.schema;
      const Json* holder = list ? (schema.contains("items") ? &schema["items"] : nullptr) : &schema;
      if (!holder || !holder->is_object() || !holder->contains("enum")) continue;
      const Json& values = (*holder)["enum"];
      if (!values.is_array() || values.empty()) continue;
      const OrderedJson outside = outside_of(values);
      return std::pair{field.name, list ? OrderedJson::array({outside}) : outside};
    }
  }
  return std::nullopt;
}

// wrong-default: another value than `value` the schema allows: its last enum value that differs,
// else one of the same type.
OrderedJson another_value(const Json& value, const Json& schema) {
  if (auto values = schema.find("enum"); values != schema.end() && values->is_array()) {
    for (auto it = values->rbegin(); it != values->rend(); ++it) {
      if (*it != value) return OrderedJson::parse(it->dump());
    }
  }
  if (value.is_string()) return value.get<std::string>() + "-other";
  if (value.is_boolean()) return !value.get<bool>();
  if (value.is_number_integer()) return value.get<std::int64_t>() + 1;
  if (value.is_number()) return value.get<double>() + 1;
  return "other";
}

// accept-duplicates: the unique rules' string fields get this marker and a counter on the way in
// (so the store never sees a repeat) and lose them on the way out.
constexpr std::string_view kDuplicateMarker =
    "\x1f"
    "dup-";

// control-char-500: true when any string in `v` (members and items too) holds a character below U+0020.
bool has_control_char(const Json& v) {
  if (v.is_string()) {
    for (unsigned char c : v.get_ref<const std::string&>())
      if (c < 0x20) return true;
    return false;
  }
  if (v.is_structured())
    for (const auto& child : v)
      if (has_control_char(child)) return true;
  return false;
}

// accept-invalid: a value the property's schema accepts, for a field a repair must fill in.
Json valid_value(const Json& schema) {
  if (auto values = schema.find("enum"); values != schema.end() && values->is_array() && !values->empty())
    return values->front();
  if (schema.value("format", "") == "uuid") return new_uuid();
  std::string type = "string";
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string()) type = t->get<std::string>();
    if (t->is_array() && !t->empty() && t->front().is_string()) type = t->front().get<std::string>();
  }
  if (type == "array") return Json::array();
  if (type == "object") return Json::object();
  if (type == "boolean") return false;
  if (type == "null") return nullptr;
  if (type == "integer" || type == "number") return schema.value("minimum", 0);
  std::string text = "accepted-" + random_hex(8);
  const auto min_length = schema.value("minLength", std::size_t{0});
  if (text.size() < min_length) text.append(min_length - text.size(), 'x');
  return text;
}

// accept-invalid: a body the create's request schema refuses, made one it accepts. A field at
// fault is dropped, or filled in with a valid value when the schema requires it (a secret field
// with the value another secret field has, so a confirmation matches what it confirms); a rule on
// the body as a whole drops the member whose absence removes most findings.
class Repair {
 public:
  explicit Repair(const Model& model) : model_(model), op_(model.operation(Action::kCreate)) {
    if (op_ && op_->request) properties_ = model.contract().property_schemas(op_->request->schema_name);
    // The fields the schema requires: those an empty body lacks.
    for (const auto& f : validate(Json::object()).findings) {
      if (f.keyword == "required") required_.insert(f.property);
    }
  }

  Json operator()(const Json& sent) const {
    Json fixed = attempt(sent.is_object() ? sent : Json::object());
    return validate(fixed).valid() ? fixed : attempt(Json::object());
  }

 private:
  Json attempt(Json fixed) const {
    for (int round = 0; round < 6; ++round) {
      const Result result = validate(fixed);
      if (result.valid()) return fixed;
      for (const auto& f : result.findings) {
        std::string field;
        if (f.pointer.size() > 1) {
          field =
              f.pointer.substr(1, f.pointer.find('/', 1) == std::string::npos ? std::string::npos
                                                                              : f.pointer.find('/', 1) - 1);
        } else {
          field = f.property;
        }
        if (!field.empty() &&
            (f.keyword == "required" || required_.count(field) || model_.contract().is_secret_field(field))) {
          fixed[field] = value_for(field, fixed);
        } else if (!field.empty()) {
          fixed.erase(field);
        } else {
          drop_one(fixed, result.findings.size());
        }
      }
    }
    return fixed;
  }

  Result validate(const Json& body) const { return op_ ? op_->validate_request(body) : Result{}; }

  Json value_for(const std::string& field, const Json& body) const {
    if (model_.contract().is_secret_field(field)) {
      for (const auto& secret : model_.contract().secret_fields()) {
        if (secret == field) continue;
        if (auto it = body.find(secret); it != body.end() && it->is_string()) return *it;
      }
      return "accepted-" + random_hex(8);
    }
    for (const auto& p : properties_) {
      if (p.name == field) return valid_value(p.schema);
    }
    return valid_value(Json::object());
  }

  void drop_one(Json& body, std::size_t findings) const {
    std::vector<std::string> keys;
    for (auto it = body.begin(); it != body.end(); ++it) keys.push_back(it.key());
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) {
      Json candidate = body;
      candidate.erase(*it);
      if (validate(candidate).findings.size() < findings) {
        body = std::move(candidate);
        return;
      }
    }
  }

  const Model& model_;
  const sipcontract::Operation* op_;
  std::vector<PropertySchema> properties_;
  std::set<std::string> required_;
};

}  // namespace

std::unique_ptr<Layer> make_fault_layer(ServerFault fault, const LayerContext& context) {
  const ServerOptions& options = context.options;
  const Model& model = context.model;
  switch (fault) {
    case ServerFault::kNone:
      return nullptr;

    case ServerFault::kWrongStatus:
      return layer([&model](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action == Action::kCreate && res.status == 201) res.status = 200;
      });

    case ServerFault::kWrongContentType:
      return layer([](Request& req, Response& res, const Next& next) {
        next(req, res);
        res.headers.set("Content-Type", "text/plain");
      });

    case ServerFault::kNonJsonBody:
      return layer([&model](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action != Action::kCreate || res.status != 201) return;
        const std::string& id_field = model.resource().id_field;
        std::string id;
        if (auto json = json_body(res); json && json->contains(id_field) && (*json)[id_field].is_string())
          id = (*json)[id_field].get<std::string>();
        res.body = "Created " + model.resource().title + " " + id + "\n";  // still labelled application/json
      });

    case ServerFault::kMissingField:
      return edit_json(model, Action::kCreate, 201, [&model](const Request&, OrderedJson& body) {
        body.erase(model.resource().id_field);
      });

    case ServerFault::kBadEnum:
      return edit_json(model, Action::kCreate, 201,
                       [broken = enum_break(model)](const Request&, OrderedJson& body) {
                         if (broken) body[broken->first] = broken->second;
                       });

    case ServerFault::kBadUuid:
      // Ids leave as "<resource>-<hex>" in every answer and come back to the real UUID in paths.
      return layer([&model, prefix = bad_id_prefix(model)](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        if (action == Action::kGet || action == Action::kUpdate || action == Action::kDelete) {
          const Route route = model.route(req.path);
          if (auto uuid = uuid_of_bad_id(prefix, route.item))
            req.path = model.path_of(action, route.parent, *uuid);
        }
        next(req, res);
        const std::string& id_field = model.resource().id_field;
        edit_items(model, action, res, [&](OrderedJson& item) {
          if (auto id = item.find(id_field); id != item.end() && id->is_string())
            *id = bad_id(prefix, id->get<std::string>());
        });
      });

    case ServerFault::kNoEcho:
      return edit_json(model, Action::kCreate, 201,
                       [&model, &options](const Request& req, OrderedJson& body) {
                         const auto sent = json_request_body(req, options);
                         if (!sent || !sent->is_object()) return;
                         for (const Field& field : model.fields()) {
                           if (field.id || field.name == model.resource().name_field) continue;
                           if (auto it = sent->find(field.name); it != sent->end() && it->is_string()) {
                             body[field.name] = it->get<std::string>() + "-altered";
                             return;
                           }
                         }
                       });

    case ServerFault::kWrongDefault: {
      const FieldRule* rule = nullptr;
      OrderedJson other;
      for (const Field& field : model.fields()) {
        const FieldRule* r = model.resource().field(field.name);
        if (r && r->default_value && r->default_assumption.empty()) {
          rule = r;
          other = another_value(*r->default_value, field.schema);
          break;
        }
      }
      return edit_json(model, Action::kCreate, 201,
                       [rule, other, &options](const Request& req, OrderedJson& body) {
                         if (!rule) return;
                         const auto sent = json_request_body(req, options);
                         const bool object = sent && sent->is_object();
                         if (object && (sent->contains(rule->name) ||
                                        (!rule->unless_sent.empty() && sent->contains(rule->unless_sent))))
                           return;
                         body[rule->name] = other;
                       });
    }

    case ServerFault::kLeakSecret:
      return edit_json(model, Action::kCreate, 201,
                       [&model, &options](const Request& req, OrderedJson& body) {
                         const auto& secrets = model.contract().secret_fields();
                         if (secrets.empty()) return;
                         const std::string& field = secrets.front();
                         const auto sent = json_request_body(req, options);
                         std::string value;
                         if (sent && sent->is_object() && sent->contains(field) && (*sent)[field].is_string())
                           value = (*sent)[field].get<std::string>();
                         body[field] = value;
                       });

    case ServerFault::kLeakToken:
      return edit_json(model, Action::kCreate, 201, [&options](const Request&, OrderedJson& body) {
        body["api_token"] = options.api_token;
      });

    case ServerFault::kSlow:
      return layer([&options](Request& req, Response& res, const Next& next) {
        next(req, res);
        res.delay = std::chrono::milliseconds(options.fault_delay_ms);
      });

    case ServerFault::kAcceptDuplicates: {
      std::vector<std::string> fields;
      for (const auto& rule : model.resource().unique) fields.push_back(rule.field);
      return layer([counter = std::make_shared<std::atomic<std::uint64_t>>(0), &options, &model, fields](
                       Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        if (action == Action::kCreate || action == Action::kUpdate) {
          BodyRewrite unique(req, [&](std::string& body) {
            ParseLimits limits{options.max_body_bytes, options.max_json_depth};
            Parsed parsed = parse_json(body, limits);
            if (!parsed || !parsed->is_object()) return;
            Json& json = *parsed;
            const std::string mark = std::string(kDuplicateMarker) + std::to_string(++*counter);
            for (const auto& field : fields) {
              if (auto it = json.find(field); it != json.end() && it->is_string())
                *it = it->get<std::string>() + mark;
            }
            body = json.dump(-1, ' ', false, Json::error_handler_t::replace);
          });
          next(req, res);
        } else {
          next(req, res);
        }
        edit_items(model, action, res, [&](OrderedJson& item) {
          for (const auto& field : fields) {
            auto it = item.find(field);
            if (it == item.end() || !it->is_string()) continue;
            const std::string& value = it->get_ref<const std::string&>();
            if (const auto at = value.find(kDuplicateMarker); at != std::string::npos)
              *it = value.substr(0, at);
          }
        });
      });
    }

    case ServerFault::kAcceptInvalid:
      return layer([&options, &model, repair = std::make_shared<Repair>(model)](Request& req, Response& res,
                                                                                const Next& next) {
        const sipcontract::Operation* create = model.operation(Action::kCreate);
        if (model.action_of(req) != Action::kCreate || !create) return next(req, res);
        std::optional<Json> sent;  // the body as sent, when it had to be repaired
        {
          BodyRewrite repaired(req, [&](std::string& body) {
            ParseLimits limits{options.max_body_bytes, options.max_json_depth};
            Parsed parsed = parse_json(body, limits);
            if (!parsed || create->validate_request(*parsed).valid()) return;  // not JSON: not ours to fix
            sent = *parsed;
            body = (*repair)(*parsed).dump(-1, ' ', false, Json::error_handler_t::replace);
          });
          next(req, res);
        }
        if (!sent || !sent->is_object() || res.status != 201) return;
        auto json = json_body(res);
        if (!json || !json->is_object()) return;
        // What was sent goes back into the 201 wherever the 201 schema allows it.
        for (const Field& field : model.fields()) {
          if (field.id || !sent->contains(field.name)) continue;
          OrderedJson candidate = *json;
          candidate[field.name] = OrderedJson::parse((*sent)[field.name].dump());
          if (create->validate_response(201, Json::parse(candidate.dump())).valid())
            *json = std::move(candidate);
        }
        set_json_body(res, *json);
      });

    case ServerFault::kNoAuth:
      return layer([authorization = "Basic " + base64_encode(options.project_id + ":" + options.api_token)](
                       Request& req, Response& res, const Next& next) {
        req.headers.set("Authorization", authorization);
        next(req, res);
      });

    case ServerFault::kUnknownParentOk:
      // A create under a parent the server does not know goes to the first one it knows.
      return layer([&model, known = std::set<std::string>(options.parents.begin(), options.parents.end()),
                    first = options.parents.front()](Request& req, Response& res, const Next& next) {
        if (model.action_of(req) == Action::kCreate) {
          const Route route = model.route(req.path);
          if (!route.well_formed || known.count(route.parent) == 0)
            req.path = model.path_of(Action::kCreate, first);
        }
        next(req, res);
      });

    case ServerFault::kBadErrorShape:
      return edit_json(
          model, Action::kOther, model.validation().status, [&model](const Request&, OrderedJson& body) {
            const ValidationErrorShape& shape = model.validation();
            std::string message = "Unprocessable Entity";
            if (auto items = body.find(shape.items);
                items != body.end() && items->is_array() && !items->empty() && (*items)[0].is_object() &&
                (*items)[0].contains(shape.message) && (*items)[0][shape.message].is_string())
              message = (*items)[0][shape.message].get<std::string>();
            body = OrderedJson{{"error", message}};
          });

    case ServerFault::kWrongAttribute:
      return edit_json(model, Action::kOther, model.validation().status,
                       [&model](const Request&, OrderedJson& body) {
                         const ValidationErrorShape& shape = model.validation();
                         if (auto items = body.find(shape.items); items != body.end() && items->is_array()) {
                           for (auto& item : *items) {
                             if (item.is_object()) item[shape.attribute] = "unknown";
                           }
                         }
                       });

    case ServerFault::kUndocumentedStatus:
      return layer([status = model.validation().status](Request& req, Response& res, const Next& next) {
        next(req, res);
        if (res.status == status) res.status = 400;
      });

    case ServerFault::kIgnoreDelete:
      // Answers 204 itself when the item exists, and deletes nothing.
      return layer([&model](Request& req, Response& res, const Next& next) {
        if (model.action_of(req) != Action::kDelete) return next(req, res);
        const Route route = model.route(req.path);
        const std::string get = model.path_of(Action::kGet, route.parent, route.item);
        if (!get.empty()) {
          Request probe = req.derived("GET", get);
          Response found;
          next(probe, found);
          if (found.status != 200) {
            res = std::move(found);
            return;
          }
        }
        res = Response{};
        res.status = 204;
      });

    case ServerFault::kResetConnection:
      // Instead of a 201: the item is deleted again and the connection reset without an answer.
      return layer([&model](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action != Action::kCreate || res.status != 201) return;
        const std::string& id_field = model.resource().id_field;
        if (auto json = json_body(res); json && json->contains(id_field) && (*json)[id_field].is_string()) {
          const Route route = model.route(req.path);
          Request undo = req.derived(
              "DELETE", model.path_of(Action::kDelete, route.parent, (*json)[id_field].get<std::string>()));
          Response undone;
          next(undo, undone);
        }
        res = Response{};
        res.status = 500;  // what the access log shows
        res.reset = true;
      });

    case ServerFault::kTruncatedBody:
      return layer([&model](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action == Action::kCreate && res.status == 201) res.missing_bytes = 64;
      });

    case ServerFault::kHugeBody:
      // {..., "padding": "xxxx..."} streamed to exactly fault_body_bytes, never held in memory.
      return layer([&model, total = options.fault_body_bytes](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action != Action::kCreate || res.status != 201 || res.stream || total <= res.body.size() + 16)
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
      return layer([&model, depth = options.fault_depth](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action != Action::kCreate || res.status != 201 || res.stream || res.body.empty()) return;
        res.body.pop_back();
        res.body += ",\"nested\":";
        res.body.append(depth, '[');
        res.body.append(depth, ']');
        res.body += '}';
      });

    case ServerFault::kStoreThen500:
      return layer([&model](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action != Action::kCreate || res.status != 201) return;
        res = Response{};
        model.error(res, 500);
      });

    case ServerFault::kList503:
      return layer([&model](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action != Action::kList || res.status != 200) return;
        res = Response{};
        res.set_error(503, "Service Unavailable");
        res.headers.set("Retry-After", "0");
      });

    case ServerFault::kGatewayDelete404:
      // Answered before the server is reached, as a gateway in front of it would.
      return layer([&model](Request& req, Response& res, const Next& next) {
        if (model.action_of(req) != Action::kDelete) return next(req, res);
        res = Response{};
        res.status = 404;
        res.headers.set("Content-Type", "application/problem+json");
        res.body = R"({"type":"about:blank","title":"Not Found","status":404})";
      });

    case ServerFault::kGet404:
      return layer([&model](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        next(req, res);
        if (action != Action::kGet || res.status != 200) return;
        res = Response{};
        model.error(res, 404);
      });

    case ServerFault::kControlChar500:
      // What a server whose storage layer chokes on control characters does: nothing stored, a 500.
      return layer([&model, &options](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        if (action != Action::kCreate && action != Action::kUpdate) return next(req, res);
        bool bad = false;
        {
          BodyRewrite check(req, [&](std::string& body) {
            ParseLimits limits{options.max_body_bytes, options.max_json_depth};
            Parsed parsed = parse_json(body, limits);
            if (parsed && has_control_char(*static_cast<const Parsed&>(parsed))) {
              bad = true;
              body.clear();  // the handler refuses it and stores nothing
            }
          });
          next(req, res);
        }
        if (!bad) return;
        res = Response{};
        model.error(res, 500);
      });

    case ServerFault::kComboDefault: {
      // The first list-of-enum field and its last value; the first field with a documented default.
      std::string list_field;
      Json trigger;
      for (const Field& field : model.fields()) {
        const Json& items = field.schema.contains("items") ? field.schema["items"] : Json();
        if (items.is_object() && items.contains("enum") && items["enum"].is_array() &&
            !items["enum"].empty()) {
          list_field = field.name;
          trigger = items["enum"].back();
          break;
        }
      }
      const FieldRule* rule = nullptr;
      for (const Field& field : model.fields()) {
        const FieldRule* r = model.resource().field(field.name);
        if (r && r->default_value && r->default_assumption.empty()) {
          rule = r;
          break;
        }
      }
      return edit_json(model, Action::kCreate, 201,
                       [rule, list_field, trigger, &options](const Request& req, OrderedJson& body) {
                         if (!rule || list_field.empty()) return;
                         const auto sent = json_request_body(req, options);
                         if (!sent || !sent->is_object()) return;
                         auto list = sent->find(list_field);
                         auto value = sent->find(rule->name);
                         if (list == sent->end() || !list->is_array() || !holds(*list, trigger)) return;
                         if (value == sent->end() || *value == *rule->default_value) return;
                         body[rule->name] = OrderedJson::parse(rule->default_value->dump());
                       });
    }

    case ServerFault::kNullAsAbsent: {
      // The request schema's optional fields without an enum (nor one in their items).
      std::set<std::string> fields;
      if (const sipcontract::Operation* create = model.operation(Action::kCreate);
          create && create->request) {
        std::set<std::string> required;
        if (const std::string* text = model.contract().schema_store().find(create->request->schema_name)) {
          const Json root = Json::parse(*text, nullptr, false);
          if (root.is_object() && root.contains("required") && root["required"].is_array())
            for (const auto& r : root["required"])
              if (r.is_string()) required.insert(r.get<std::string>());
        }
        for (const auto& p : model.contract().property_schemas(create->request->schema_name)) {
          const bool enumerated =
              p.schema.contains("enum") || (p.schema.contains("items") && p.schema["items"].is_object() &&
                                            p.schema["items"].contains("enum"));
          if (!enumerated && !required.count(p.name)) fields.insert(p.name);
        }
      }
      return layer([&model, &options, fields](Request& req, Response& res, const Next& next) {
        const Action action = model.action_of(req);
        if (action != Action::kCreate && action != Action::kUpdate) return next(req, res);
        BodyRewrite drop(req, [&](std::string& body) {
          ParseLimits limits{options.max_body_bytes, options.max_json_depth};
          Parsed parsed = parse_json(body, limits);
          if (!parsed || !(*parsed).is_object()) return;
          Json& json = *parsed;
          bool changed = false;
          for (const auto& f : fields) {
            auto it = json.find(f);
            if (it != json.end() && it->is_null()) {
              json.erase(it);
              changed = true;
            }
          }
          if (changed) body = json.dump(-1, ' ', false, Json::error_handler_t::replace);
        });
        next(req, res);
      });
    }

    case ServerFault::kListKeepsDeleted: {
      // Deleted items as they last read, by parent; shown again at the end of the list's last page.
      struct Ghosts {
        std::mutex mutex;
        std::map<std::string, std::vector<OrderedJson>> by_parent;
      };
      return layer([&model, ghosts = std::make_shared<Ghosts>()](Request& req, Response& res,
                                                                 const Next& next) {
        const Action action = model.action_of(req);
        if (action == Action::kDelete) {
          const Route route = model.route(req.path);
          std::optional<OrderedJson> last;
          if (const std::string get = model.path_of(Action::kGet, route.parent, route.item); !get.empty()) {
            Request probe = req.derived("GET", get);
            Response found;
            next(probe, found);
            if (found.status == 200) last = json_body(found);
          }
          next(req, res);
          if (last && res.status >= 200 && res.status < 300) {
            std::lock_guard lock(ghosts->mutex);
            ghosts->by_parent[route.parent].push_back(std::move(*last));
          }
          return;
        }
        next(req, res);
        if (action != Action::kList || res.status != 200) return;
        auto json = json_body(res);
        if (!json || !json->is_object()) return;
        const PageSpec& pages = model.pages();
        if (auto links = json->find(pages.links); links != json->end() && links->is_object() &&
                                                  links->contains("next") && (*links)["next"].is_string())
          return;  // not the last page
        auto items = json->find(pages.items);
        if (items == json->end() || !items->is_array()) return;
        {
          std::lock_guard lock(ghosts->mutex);
          auto it = ghosts->by_parent.find(model.route(req.path).parent);
          if (it == ghosts->by_parent.end()) return;
          for (const auto& ghost : it->second) items->push_back(ghost);
        }
        set_json_body(res, *json);
      });
    }

    case ServerFault::kListOmits:
      return edit_json(model, Action::kList, 200, [&model](const Request&, OrderedJson& body) {
        body[model.pages().items] = OrderedJson::array();
        if (auto links = body.find(model.pages().links); links != body.end() && links->is_object())
          links->erase("next");
      });
  }
  return nullptr;
}

}  // namespace detail::refserver
}  // namespace sipcontract
