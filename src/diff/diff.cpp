// The contract diff: operations matched, schemas walked structurally, each change classified by
// whom it breaks (see sipcontract/diff.hpp). A request is what a client sends and a server
// accepts; a response what a server returns and a client reads: the same edit (an enum value
// added) breaks servers in one direction and clients in the other.
#include "sipcontract/diff.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <utility>

namespace sipcontract {

namespace {

using Json = nlohmann::json;

constexpr int kMaxDepth = 48;  // schemas nest far less; a recursive schema stops here

// Keywords that document and never constrain.
const std::set<std::string, std::less<>> kDocumentation = {
    "title", "description", "$comment", "examples", "$schema", "$id", "definitions", "readOnly", "writeOnly"};

/// What a schema node says, with "$ref" followed and "allOf" merged.
struct Shape {
  std::set<std::string> types;  // empty: any type
  std::string format;
  std::optional<std::vector<Json>> enum_values;
  std::optional<Json> default_value;
  std::vector<std::pair<std::string, std::pair<std::string, const Json*>>> properties;  // name -> (file, schema)
  std::set<std::string> required;
  std::optional<std::pair<std::string, const Json*>> items;
  bool closed = false;  // "additionalProperties": false
  std::map<std::string, std::vector<std::pair<std::string, const Json*>>> variants;  // oneOf, anyOf
  std::map<std::string, Json> constraints;  // every other keyword, as written

  const std::pair<std::string, const Json*>* property(const std::string& name) const {
    for (const auto& p : properties)
      if (p.first == name) return &p.second;
    return nullptr;
  }
};

/// The schema documents of one contract, parsed once each.
class Schemas {
 public:
  explicit Schemas(const Contract& contract) : contract_(contract) {}

  const Json* document(const std::string& file) {
    auto it = docs_.find(file);
    if (it == docs_.end()) {
      const std::string* text = contract_.schema_store().find(file);
      auto doc = std::make_unique<Json>(text ? Json::parse(*text, nullptr, false) : Json());
      it = docs_.emplace(file, std::move(doc)).first;
    }
    return it->second->is_discarded() || it->second->is_null() ? nullptr : it->second.get();
  }

  /// Where "$ref" `ref`, written in `file`, leads; nullptr when nowhere.
  std::pair<std::string, const Json*> follow(const std::string& file, const std::string& ref) {
    const auto hash = ref.find('#');
    std::string target = hash == 0 ? file : ref.substr(0, hash);
    const std::string pointer = hash == std::string::npos ? std::string() : ref.substr(hash + 1);
    const Json* doc = document(target);
    if (!doc) return {target, nullptr};
    try {
      return {target, pointer.empty() ? doc : &doc->at(Json::json_pointer(pointer))};
    } catch (const std::exception&) {
      return {target, nullptr};
    }
  }

  /// Adds what `node` (in `file`) says to `shape`: its "$ref" target first, then its own
  /// keywords over it, then its "allOf" members.
  void collect(const std::string& file, const Json* node, Shape& shape, int depth = 0) {
    if (!node || depth > kMaxDepth) return;
    if (node->is_boolean()) {
      if (!node->get<bool>()) shape.constraints["false"] = false;
      return;
    }
    if (!node->is_object()) return;
    if (auto ref = node->find("$ref"); ref != node->end() && ref->is_string()) {
      auto [target_file, target] = follow(file, ref->get<std::string>());
      collect(target_file, target, shape, depth + 1);
    }
    for (const auto& [key, value] : node->items()) {
      if (key == "$ref" || kDocumentation.count(key)) continue;
      if (key == "type") {
        shape.types.clear();
        if (value.is_string()) shape.types.insert(value.get<std::string>());
        else if (value.is_array())
          for (const auto& t : value)
            if (t.is_string()) shape.types.insert(t.get<std::string>());
      } else if (key == "format" && value.is_string()) {
        shape.format = value.get<std::string>();
      } else if (key == "enum" && value.is_array()) {
        shape.enum_values = value.get<std::vector<Json>>();
      } else if (key == "default") {
        shape.default_value = value;
      } else if (key == "properties" && value.is_object()) {
        for (auto member = value.begin(); member != value.end(); ++member) {
          const std::string name = member.key();
          auto it = std::find_if(shape.properties.begin(), shape.properties.end(),
                                 [&name](const auto& p) { return p.first == name; });
          if (it == shape.properties.end()) shape.properties.push_back({name, {file, &*member}});
          else it->second = {file, &*member};
        }
      } else if (key == "required" && value.is_array()) {
        for (const auto& r : value)
          if (r.is_string()) shape.required.insert(r.get<std::string>());
      } else if (key == "items" && value.is_object()) {
        shape.items = std::pair{file, &value};
      } else if (key == "additionalProperties" && value.is_boolean()) {
        shape.closed = !value.get<bool>();
      } else if ((key == "oneOf" || key == "anyOf") && value.is_array()) {
        auto& list = shape.variants[key];
        list.clear();
        for (const auto& v : value) list.push_back({file, &v});
      } else if (key == "allOf") {
        continue;  // below, after the node's own keywords
      } else if (key == "if" || key == "then" || key == "else") {
        // One conditional: its parts compare together.
        shape.constraints["if/then/else"][key] = value;
      } else {
        shape.constraints[key] = value;
      }
    }
    if (auto all = node->find("allOf"); all != node->end() && all->is_array())
      for (const auto& member : *all) collect(file, &member, shape, depth + 1);
  }

  Shape shape(const std::string& file, const Json* node) {
    Shape s;
    collect(file, node, s);
    return s;
  }

 private:
  const Contract& contract_;
  std::map<std::string, std::unique_ptr<Json>> docs_;
};

std::string pointer_token(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep = ", ") {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string types_text(const std::set<std::string>& types) {
  return types.empty() ? "any" : join({types.begin(), types.end()}, " or ");
}

/// Where a walk is, and which way its documents travel.
struct Place {
  const Operation* op = nullptr;
  std::string part;  // "request" or "response 201"
  bool request = true;
};

class Differ {
 public:
  Differ(const Contract& from, const Contract& to) : from_(from), to_(to), a_(from), b_(to) {}

  DiffReport run() {
    DiffReport report;
    report.from = from_.name();
    report.to = to_.name();
    std::set<std::string> matched;  // keys of `from`'s operations with a partner
    for (const auto& [key, op] : to_.operations()) {
      const Operation* old = partner(op);
      if (!old) {
        add(&op, "operation", "", "operation-added", Impact::kServer,
            "operation added: " + op.id + " (a server must implement it)", nullptr, op.id);
        continue;
      }
      matched.insert(old->name);
      operation(*old, op);
    }
    for (const auto& [key, op] : from_.operations())
      if (!matched.count(key))
        add(&op, "operation", "", "operation-removed", Impact::kClient,
            "operation removed: " + op.id + " (a client that calls it is refused)", op.id, nullptr);
    report.changes = std::move(changes_);
    return report;
  }

 private:
  const Operation* partner(const Operation& op) const {
    if (const auto it = from_.operations().find(op.name); it != from_.operations().end()) return &it->second;
    for (const auto& [key, old] : from_.operations())
      if (old.id == op.id) return &old;
    const Operation* found = nullptr;
    for (const auto& [key, old] : from_.operations()) {
      if (old.resource != op.resource || old.role != op.role) continue;
      if (found) return nullptr;  // two candidates: no partner rather than a guess
      found = &old;
    }
    return found;
  }

  void add(const Operation* op, std::string part, std::string pointer, std::string kind, Impact impact,
           std::string message, Json before, Json after) {
    Change c;
    if (op) {
      c.operation = op->name;
      c.method = op->method;
      c.path = op->path;
    }
    c.part = std::move(part);
    c.pointer = std::move(pointer);
    c.kind = std::move(kind);
    c.impact = impact;
    c.message = std::move(message);
    c.before = std::move(before);
    c.after = std::move(after);
    changes_.push_back(std::move(c));
  }

  void operation(const Operation& a, const Operation& b) {
    if (a.id != b.id)
      add(&b, "operation", "", "operation-id-changed", Impact::kNone,
          "operation id " + a.id + " -> " + b.id + " (nothing on the wire changes)", a.id, b.id);
    if (a.method != b.method)
      add(&b, "operation", "", "method-changed", Impact::kClient, "method " + a.method + " -> " + b.method,
          a.method, b.method);
    if (a.path != b.path)
      add(&b, "operation", "", "path-changed", Impact::kClient, "path " + a.path + " -> " + b.path, a.path,
          b.path);
    for (const auto& p : b.path_parameters) {
      auto it = std::find_if(a.path_parameters.begin(), a.path_parameters.end(),
                             [&p](const PathParameter& q) { return q.name == p.name; });
      if (it == a.path_parameters.end()) {
        add(&b, "path", p.name, "path-parameter-added", Impact::kClient, "path parameter added: " + p.name,
            nullptr, p.name);
      } else if (it->format != p.format) {
        const bool stricter = !p.format.empty();
        add(&b, "path", p.name, "path-parameter-format-changed", stricter ? Impact::kClient : Impact::kServer,
            "path parameter " + p.name + " format " + (it->format.empty() ? "(none)" : it->format) + " -> " +
                (p.format.empty() ? "(none)" : p.format),
            it->format, p.format);
      }
    }
    for (const auto& p : a.path_parameters)
      if (std::none_of(b.path_parameters.begin(), b.path_parameters.end(),
                       [&p](const PathParameter& q) { return q.name == p.name; }))
        add(&b, "path", p.name, "path-parameter-removed", Impact::kClient, "path parameter removed: " + p.name,
            p.name, nullptr);

    // The request: what a client sends, a server accepts.
    if (a.request && !b.request) {
      add(&b, "request", "", "request-removed", Impact::kClient,
          "request body removed (a client that sends one may be refused)", a.request->schema_name, nullptr);
    } else if (!a.request && b.request) {
      add(&b, "request", "", "request-added", Impact::kClient, "request body added (a client must send one)",
          nullptr, b.request->schema_name);
    } else if (a.request && b.request) {
      if (a.request->content_type != b.request->content_type)
        add(&b, "request", "", "media-type-changed", Impact::kClient,
            "media type " + a.request->content_type + " -> " + b.request->content_type, a.request->content_type,
            b.request->content_type);
      schema_pair({&b, "request", true}, a.request->schema_name, b.request->schema_name);
    }

    // The responses: what a server returns, a client reads.
    for (const auto& [status, response] : b.responses) {
      const std::string part = "response " + std::to_string(status);
      const ResponseSpec* old = a.response(status);
      if (!old) {
        add(&b, part, "", "status-added", Impact::kClient,
            "status " + std::to_string(status) + " added (a client gets a status it does not know)", nullptr,
            status);
        continue;
      }
      if (old->content_type != response.content_type)
        add(&b, part, "", "media-type-changed", Impact::kClient,
            "media type " + (old->content_type.empty() ? "(no body)" : old->content_type) + " -> " +
                (response.content_type.empty() ? "(no body)" : response.content_type),
            old->content_type, response.content_type);
      schema_pair({&b, part, false}, old->schema_name, response.schema_name);
    }
    for (const auto& [status, response] : a.responses)
      if (!b.response(status))
        add(&b, "response " + std::to_string(status), "", "status-removed", Impact::kServer,
            "status " + std::to_string(status) + " removed (a server must no longer answer it)", status, nullptr);
  }

  void schema_pair(const Place& at, const std::string& a_name, const std::string& b_name) {
    if (a_name.empty() && b_name.empty()) return;
    if (a_name.empty() || b_name.empty()) {
      const bool added = a_name.empty();
      add(at.op, at.part, "", added ? "constraint-added" : "constraint-removed",
          impact_of_constraint(at, added ? +1 : -1),
          added ? "body schema added: " + b_name : "body schema removed: " + a_name,
          a_name.empty() ? Json() : Json(a_name), b_name.empty() ? Json() : Json(b_name));
      return;
    }
    compare(at, "", a_.shape(a_name, a_.document(a_name)), b_.shape(b_name, b_.document(b_name)), 0);
  }

  /// A constraint added (+1), removed (-1) or changed (0): a request's that tightens breaks
  /// clients, one that loosens breaks servers (they must accept more); a response's the other way.
  static Impact impact_of_constraint(const Place& at, int direction) {
    if (direction == 0) return Impact::kClient;
    const bool tighter = direction > 0;
    return at.request == tighter ? Impact::kClient : Impact::kServer;
  }

  void compare(const Place& at, const std::string& pointer, const Shape& a, const Shape& b, int depth) {
    if (depth > kMaxDepth) return;
    const std::string where = pointer.empty() ? "the body" : pointer;

    if (a.types != b.types) {
      // Narrower: a type the older version allowed is gone; wider: a new one is allowed.
      const bool narrower = b.types.empty() ? false
                                            : a.types.empty() || std::any_of(a.types.begin(), a.types.end(),
                                                                             [&b](const std::string& t) {
                                                                               return !b.types.count(t) &&
                                                                                      !(t == "integer" &&
                                                                                        b.types.count("number"));
                                                                             });
      const bool wider = a.types.empty() ? false
                                         : b.types.empty() || std::any_of(b.types.begin(), b.types.end(),
                                                                          [&a](const std::string& t) {
                                                                            return !a.types.count(t);
                                                                          });
      Impact impact = at.request ? (narrower ? Impact::kClient : Impact::kServer)
                                 : (wider ? Impact::kClient : Impact::kServer);
      add(at.op, at.part, pointer, "type-changed", impact,
          where + ": type " + types_text(a.types) + " -> " + types_text(b.types), types_text(a.types),
          types_text(b.types));
    }
    if (a.format != b.format) {
      // A request format added or changed refuses what passed; a response's removed or changed
      // gives a client what it did not expect.
      const bool tighter = !b.format.empty() && a.format != b.format;
      const Impact impact = at.request ? (tighter ? Impact::kClient : Impact::kServer)
                                       : (!a.format.empty() ? Impact::kClient : Impact::kServer);
      add(at.op, at.part, pointer, "format-changed", impact,
          where + ": format " + (a.format.empty() ? "(none)" : a.format) + " -> " +
              (b.format.empty() ? "(none)" : b.format),
          a.format.empty() ? Json() : Json(a.format), b.format.empty() ? Json() : Json(b.format));
    }
    enums(at, pointer, where, a, b);
    if (a.default_value != b.default_value)
      add(at.op, at.part, pointer, "default-changed", at.request ? Impact::kClient : Impact::kNone,
          where + ": default " + (a.default_value ? a.default_value->dump() : "(none)") + " -> " +
              (b.default_value ? b.default_value->dump() : "(none)") +
              (at.request ? " (a client that omits it gets another value)" : ""),
          a.default_value.value_or(Json()), b.default_value.value_or(Json()));
    properties(at, pointer, a, b, depth);
    if (a.items && b.items) {
      compare(at, pointer + "/*", a_.shape(a.items->first, a.items->second),
              b_.shape(b.items->first, b.items->second), depth + 1);
    } else if (a.items || b.items) {
      const bool added = !a.items.has_value();
      add(at.op, at.part, pointer, added ? "constraint-added" : "constraint-removed",
          impact_of_constraint(at, added ? +1 : -1), where + ": items " + (added ? "constrained" : "unconstrained"),
          added ? Json() : *a.items->second, added ? *b.items->second : Json());
    }
    if (a.closed != b.closed) {
      if (b.closed)
        add(at.op, at.part, pointer, "object-closed", at.request ? Impact::kClient : Impact::kServer,
            where + ": object closed (additionalProperties false)" +
                std::string(at.request ? ": a client that sends another member is refused"
                                       : ": a server must return no other member"),
            true, false);
      else
        add(at.op, at.part, pointer, "object-opened", at.request ? Impact::kServer : Impact::kClient,
            where + ": object opened" +
                std::string(at.request ? ": a server must accept other members"
                                       : ": a client may get members it does not know"),
            false, true);
    }
    for (const char* keyword : {"oneOf", "anyOf"}) {
      auto ia = a.variants.find(keyword);
      auto ib = b.variants.find(keyword);
      if (ia == a.variants.end() && ib == b.variants.end()) continue;
      if (ia != a.variants.end() && ib != b.variants.end() && ia->second.size() == ib->second.size()) {
        for (std::size_t i = 0; i < ia->second.size(); ++i)
          compare(at, pointer, a_.shape(ia->second[i].first, ia->second[i].second),
                  b_.shape(ib->second[i].first, ib->second[i].second), depth + 1);
        continue;
      }
      constraint(at, pointer, where, keyword, ia != a.variants.end() ? variants_json(ia->second) : Json(),
                 ib != b.variants.end() ? variants_json(ib->second) : Json());
    }
    std::set<std::string> keys;
    for (const auto& [k, v] : a.constraints) keys.insert(k);
    for (const auto& [k, v] : b.constraints) keys.insert(k);
    for (const auto& k : keys) {
      auto ia = a.constraints.find(k);
      auto ib = b.constraints.find(k);
      const Json before = ia == a.constraints.end() ? Json() : ia->second;
      const Json after = ib == b.constraints.end() ? Json() : ib->second;
      if (before != after) constraint(at, pointer, where, k, before, after);
    }
  }

  static Json variants_json(const std::vector<std::pair<std::string, const Json*>>& list) {
    Json out = Json::array();
    for (const auto& v : list) out.push_back(v.second ? *v.second : Json());
    return out;
  }

  static std::string constraint_summary(const std::string& keyword, const Json& value) {
    std::vector<std::string> titles;  // a oneOf's variants by title, when they have one
    const Json* list = value.is_array() ? &value : nullptr;
    if (keyword == "if/then/else" && value.contains("then") && value["then"].is_object())
      for (const char* k : {"oneOf", "anyOf"})
        if (value["then"].contains(k) && value["then"][k].is_array()) list = &value["then"][k];
    if (list)
      for (const auto& v : *list)
        if (v.is_object() && v.contains("title") && v["title"].is_string())
          titles.push_back("\"" + v["title"].get<std::string>() + "\"");
    return titles.empty() ? keyword : keyword + " (" + join(titles, " | ") + ")";
  }

  void constraint(const Place& at, const std::string& pointer, const std::string& where, const std::string& keyword,
                  const Json& before, const Json& after) {
    if (before.is_null() && after.is_null()) return;
    if (before.is_null())
      add(at.op, at.part, pointer, "constraint-added", impact_of_constraint(at, +1),
          where + ": constraint added: " + constraint_summary(keyword, after), nullptr, after);
    else if (after.is_null())
      add(at.op, at.part, pointer, "constraint-removed", impact_of_constraint(at, -1),
          where + ": constraint removed: " + constraint_summary(keyword, before), before, nullptr);
    else
      add(at.op, at.part, pointer, "constraint-changed", impact_of_constraint(at, 0),
          where + ": constraint changed: " + keyword, before, after);
  }

  void enums(const Place& at, const std::string& pointer, const std::string& where, const Shape& a,
             const Shape& b) {
    if (!a.enum_values && !b.enum_values) return;
    if (!a.enum_values || !b.enum_values) {
      constraint(at, pointer, where, "enum", a.enum_values ? Json(*a.enum_values) : Json(),
                 b.enum_values ? Json(*b.enum_values) : Json());
      return;
    }
    Json added = Json::array(), removed = Json::array();
    for (const auto& v : *b.enum_values)
      if (std::find(a.enum_values->begin(), a.enum_values->end(), v) == a.enum_values->end()) added.push_back(v);
    for (const auto& v : *a.enum_values)
      if (std::find(b.enum_values->begin(), b.enum_values->end(), v) == b.enum_values->end()) removed.push_back(v);
    const auto list = [](const Json& values) {
      std::vector<std::string> out;
      for (const auto& v : values) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      return join(out);
    };
    if (!added.empty())
      add(at.op, at.part, pointer, "enum-values-added", at.request ? Impact::kServer : Impact::kClient,
          where + ": enum values added: " + list(added) +
              (at.request ? " (a server must accept them)" : " (a client gets values it does not know)"),
          nullptr, added);
    if (!removed.empty())
      add(at.op, at.part, pointer, "enum-values-removed", at.request ? Impact::kClient : Impact::kServer,
          where + ": enum values removed: " + list(removed) +
              (at.request ? " (a client that sends them is refused)" : " (a server must no longer return them)"),
          removed, nullptr);
  }

  void properties(const Place& at, const std::string& pointer, const Shape& a, const Shape& b, int depth) {
    std::set<std::string> reported;  // added or removed: their required-ness goes with them
    for (const auto& [name, schema] : a.properties) {
      if (b.property(name)) continue;
      reported.insert(name);
      const bool was_required = a.required.count(name) > 0;
      add(at.op, at.part, pointer + "/" + pointer_token(name), "property-removed", Impact::kClient,
          "property removed: " + name + (was_required ? " (was required)" : "") +
              (at.request ? ": a client that sends it is ignored, or refused by a closed object"
                          : ": a client that reads it finds nothing"),
          name, nullptr);
    }
    for (const auto& [name, schema] : b.properties) {
      const auto* old = a.property(name);
      if (old) {
        compare(at, pointer + "/" + pointer_token(name), a_.shape(old->first, old->second),
                b_.shape(schema.first, schema.second), depth + 1);
        continue;
      }
      reported.insert(name);
      const bool required = b.required.count(name) > 0;
      Impact impact;
      std::string why;
      if (at.request) {
        impact = required ? Impact::kClient : Impact::kServer;
        why = required ? ": a client must send it" : ": a server must accept it";
      } else {
        impact = required ? Impact::kServer : (a.closed ? Impact::kClient : Impact::kNone);
        why = required ? ": a server must return it" : (a.closed ? ": a client gets a member it does not know" : "");
      }
      add(at.op, at.part, pointer + "/" + pointer_token(name), "property-added", impact,
          "property added: " + name + (required ? " (required)" : " (optional)") + why, nullptr, name);
    }
    std::set<std::string> names(a.required.begin(), a.required.end());
    names.insert(b.required.begin(), b.required.end());
    for (const auto& name : names) {
      if (reported.count(name)) continue;
      const bool before = a.required.count(name) > 0, after = b.required.count(name) > 0;
      if (before == after) continue;
      const std::string at_name = pointer + "/" + pointer_token(name);
      if (after)
        add(at.op, at.part, at_name, "required-added", at.request ? Impact::kClient : Impact::kServer,
            name + " became required" +
                std::string(at.request ? ": a client that omits it is refused" : ": a server must always return it"),
            false, true);
      else
        add(at.op, at.part, at_name, "required-removed", at.request ? Impact::kServer : Impact::kClient,
            name + " became optional" +
                std::string(at.request ? ": a server must accept a body without it"
                                       : ": a client may not find it"),
            true, false);
    }
  }

  const Contract& from_;
  const Contract& to_;
  Schemas a_, b_;
  std::vector<Change> changes_;
};

std::string label(Impact impact) {
  switch (impact) {
    case Impact::kClient:
      return "breaks clients";
    case Impact::kServer:
      return "breaks servers";
    case Impact::kNone:
      break;
  }
  return "neither";
}

}  // namespace

std::string_view to_string(Impact impact) {
  switch (impact) {
    case Impact::kClient:
      return "client";
    case Impact::kServer:
      return "server";
    case Impact::kNone:
      break;
  }
  return "none";
}

std::size_t DiffReport::count(Impact impact) const {
  return static_cast<std::size_t>(
      std::count_if(changes.begin(), changes.end(), [impact](const Change& c) { return c.impact == impact; }));
}

DiffReport diff_contracts(const Contract& from, const Contract& to) { return Differ(from, to).run(); }

void write_diff_text(const DiffReport& report, std::ostream& out) {
  out << "sipcontract diff " << report.from << " -> " << report.to << ": ";
  if (report.changes.empty()) {
    out << "no change\n";
    return;
  }
  out << report.changes.size() << (report.changes.size() == 1 ? " change" : " changes") << " ("
      << report.count(Impact::kClient) << " break clients, " << report.count(Impact::kServer) << " break servers, "
      << report.count(Impact::kNone) << " neither)\n";
  // Per operation, in the report's order; a location column as wide as its longest entry.
  std::size_t width = 0;
  const auto location = [](const Change& c) {
    return c.part == "operation" || c.pointer.empty() ? c.part : c.part + " " + c.pointer;
  };
  for (const auto& c : report.changes) width = std::max(width, location(c).size());
  std::string current;
  bool first = true;
  for (const auto& c : report.changes) {
    const std::string heading = c.operation + "  " + c.method + " " + c.path;
    if (first || heading != current) {
      out << "\n" << heading << "\n";
      current = heading;
      first = false;
    }
    std::string where = location(c);
    where.resize(width, ' ');
    std::string tag = label(c.impact);
    tag.resize(14, ' ');
    out << "  " << tag << "  " << where << "  " << c.message << "\n";
  }
}

nlohmann::ordered_json diff_to_json(const DiffReport& report) {
  nlohmann::ordered_json out;
  out["from"] = report.from;
  out["to"] = report.to;
  out["summary"] = {{"changes", report.changes.size()},
                    {"client", report.count(Impact::kClient)},
                    {"server", report.count(Impact::kServer)},
                    {"none", report.count(Impact::kNone)}};
  out["changes"] = nlohmann::ordered_json::array();
  for (const auto& c : report.changes) {
    nlohmann::ordered_json j;
    j["operation"] = c.operation;
    j["method"] = c.method;
    j["path"] = c.path;
    j["part"] = c.part;
    j["pointer"] = c.pointer;
    j["kind"] = c.kind;
    j["breaks"] = std::string(to_string(c.impact));
    j["message"] = c.message;
    j["before"] = c.before;
    j["after"] = c.after;
    out["changes"].push_back(std::move(j));
  }
  return out;
}

}  // namespace sipcontract
