#include "model.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

#include "sipcontract/json_text.hpp"
#include "util.hpp"

namespace sipcontract::detail::refserver {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

std::string dump(const OrderedJson& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Writes the top-level members of a JSON object whose names are fields as compact JSON text, one
// after another into Members::text, as nlohmann's SAX parser reports them. A member named twice
// keeps its last value, as nlohmann's parser would.
class Capture final : public nlohmann::json_sax<Json> {
 public:
  Capture(const Model& model, Members& out, bool with_id) : model_(model), out_(out), with_id_(with_id) {}

  bool key(string_t& name) override {
    if (depth_ == 1 && open_.empty()) {
      field_ = model_.field_index(name);
      if (field_ == model_.id_index() && !with_id_) field_ = kNone;
      return true;
    }
    if (!open_.empty()) {
      if (open_.back() == 'o') {
        open_.back() = 'O';
      } else {
        out_.text.push_back(',');
      }
      append_json_string(out_.text, name);
      out_.text.push_back(':');
    }
    return true;
  }
  bool null() override { return scalar("null"); }
  bool boolean(bool value) override { return scalar(value ? "true" : "false"); }
  bool number_integer(number_integer_t value) override { return number(value); }
  bool number_unsigned(number_unsigned_t value) override { return number(value); }
  bool number_float(number_float_t, const string_t& text) override { return scalar(text); }
  bool string(string_t& value) override {
    if (begin_value()) {
      append_json_string(out_.text, value);
      end_value();
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open('{', 'o'); }
  bool end_object() override { return close('}'); }
  bool start_array(std::size_t) override { return open('[', 'a'); }
  bool end_array() override { return close(']'); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  // Before a value: whether it is written (inside a field's value, or a field's value itself),
  // with the comma an array needs between its items.
  bool begin_value() {
    if (!open_.empty()) {
      char& state = open_.back();
      if (state == 'a') {
        state = 'A';
      } else if (state == 'A') {
        out_.text.push_back(',');
      }
      return true;
    }
    if (depth_ != 1 || field_ == kNone) return false;
    out_.spans[field_].first = out_.text.size();
    return true;
  }
  void end_value() {
    if (!open_.empty() || field_ == kNone) return;
    out_.spans[field_].second = out_.text.size();
    field_ = kNone;
  }
  bool scalar(std::string_view text) {
    if (begin_value()) {
      out_.text += text;
      end_value();
    }
    return true;
  }
  template <class Number>
  bool number(Number value) {
    char buffer[24];
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return scalar(std::string_view(buffer, static_cast<std::size_t>(end - buffer)));
  }
  // Containers: `open_` holds one state per container open inside a field's value: 'o' / 'a' for
  // an object / array with nothing in it yet, 'O' / 'A' after its first member or item.
  bool open(char bracket, char state) {
    const bool written = begin_value();
    ++depth_;
    if (written) {
      out_.text.push_back(bracket);
      open_.push_back(state);
    }
    return true;
  }
  bool close(char bracket) {
    --depth_;
    if (!open_.empty()) {
      open_.pop_back();
      out_.text.push_back(bracket);
      end_value();
    }
    return true;
  }

  const Model& model_;
  Members& out_;
  bool with_id_;
  std::size_t depth_ = 0;
  std::size_t field_ = kNone;  // the field whose value comes next at the top level
  std::string open_;
};

Action action_of_role(Role role) {
  switch (role) {
    case Role::kCreate:
      return Action::kCreate;
    case Role::kList:
      return Action::kList;
    case Role::kGet:
      return Action::kGet;
    case Role::kUpdate:
      return Action::kUpdate;
    case Role::kDelete:
      return Action::kDelete;
  }
  return Action::kOther;
}

// The Allow header of a path: its methods in the usual order, HEAD with GET, then OPTIONS.
std::string allow_header(const std::vector<std::pair<std::string, Action>>& methods) {
  std::vector<std::string> names;
  for (const auto& [method, action] : methods) names.push_back(method);
  if (std::find(names.begin(), names.end(), "GET") != names.end()) names.push_back("HEAD");
  static const std::array<std::string_view, 6> kOrder = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
  const auto rank = [](const std::string& m) {
    return static_cast<std::size_t>(std::find(kOrder.begin(), kOrder.end(), m) - kOrder.begin());
  };
  std::stable_sort(names.begin(), names.end(),
                   [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  std::string out;
  for (const auto& n : names) out += n + ", ";
  return out + "OPTIONS";
}

}  // namespace

Action PathTemplate::action(std::string_view method) const {
  for (const auto& [name, action] : methods) {
    if (name == method || (method == "HEAD" && name == "GET")) return action;
  }
  return Action::kOther;
}

Model::Model(const Contract& contract) : contract_(contract), resource_(contract.main_resource()) {
  for (Role role : {Role::kCreate, Role::kList, Role::kGet, Role::kUpdate, Role::kDelete}) {
    if (const sipcontract::Operation* op = resource_.operation(role))
      operations_.emplace_back(action_of_role(role), op);
  }
  // One path template per distinct path, holding every operation on it.
  std::vector<std::string> texts;
  for (const auto& [action, op] : operations_) {
    const std::string text = contract.base_path() + op->path;
    auto at = std::find(texts.begin(), texts.end(), text);
    if (at == texts.end()) {
      PathTemplate path;
      std::string_view rest = std::string_view(text).substr(1);
      for (;;) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        PathTemplate::Segment s;
        if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
          s.parameter = std::string(segment.substr(1, segment.size() - 2));
          for (const auto& p : op->path_parameters) {
            if (p.name == s.parameter) s.uuid = p.format == "uuid";
          }
        } else {
          s.literal = std::string(segment);
        }
        path.segments.push_back(std::move(s));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
      }
      paths_.push_back(std::move(path));
      texts.push_back(text);
      at = texts.end() - 1;
    }
    paths_[static_cast<std::size_t>(at - texts.begin())].methods.emplace_back(op->method, action);
  }
  for (auto& path : paths_) path.allow = allow_header(path.methods);

  // The fields: the item schema's documented properties, in its order, without secrets; the id
  // field first when the schema does not document it.
  for (auto& property : contract.property_schemas(resource_.schema_name)) {
    if (contract.is_secret_field(property.name)) continue;
    Field field;
    field.name = property.name;
    field.id = property.name == resource_.id_field;
    field.schema = std::move(property.schema);
    if (const FieldRule* rule = resource_.field(field.name)) {
      if (rule->default_value) {
        field.fallback = rule->default_value->dump();
      } else if (rule->absent_value && rule->absent_value->is_object()) {
        field.generate_uuid = true;  // {"generate": "uuid"}, the only generator the loader knows
      } else if (rule->absent_value) {
        field.fallback = rule->absent_value->dump();
      }
    }
    fields_.push_back(std::move(field));
  }
  if (field_index(resource_.id_field) == kNone) {
    Field id;
    id.name = resource_.id_field;
    id.id = true;
    fields_.insert(fields_.begin(), std::move(id));
  }
  for (auto& field : fields_) {
    field.key.clear();
    append_json_string(field.key, field.name);
    field.key.push_back(':');
  }
  id_index_ = field_index(resource_.id_field);
  for (const auto& rule : resource_.unique) unique_fields_.push_back(field_index(rule.field));
  for (const auto& [status, body] : contract.error_bodies())
    error_bodies_.emplace_back(status, body.dump(-1, ' ', false, Json::error_handler_t::replace));
}

const sipcontract::Operation* Model::operation(Action action) const {
  for (const auto& [a, op] : operations_) {
    if (a == action) return op;
  }
  return nullptr;
}

Route Model::route(std::string_view path) const {
  Route route;
  if (path.empty() || path.front() != '/') return route;
  for (const PathTemplate& t : paths_) {
    std::string_view rest = path.substr(1);
    std::string parent, item;
    bool matches = true;
    bool well_formed = true;
    for (std::size_t i = 0; i < t.segments.size() && matches; ++i) {
      const auto slash = rest.find('/');
      const bool last = i + 1 == t.segments.size();
      if (last != (slash == std::string_view::npos)) {
        matches = false;
        break;
      }
      const std::string_view segment = rest.substr(0, slash);
      rest = last ? std::string_view() : rest.substr(slash + 1);
      const PathTemplate::Segment& s = t.segments[i];
      if (s.parameter.empty()) {
        matches = segment == s.literal;
        continue;
      }
      if (segment.empty()) {
        matches = false;
        continue;
      }
      std::string value(segment);
      if (s.uuid) {
        if (auto normalised = normalize_uuid(segment)) {
          value = std::move(*normalised);
        } else {
          well_formed = false;
        }
      }
      if (s.parameter == resource_.parent_parameter) {
        parent = std::move(value);
      } else if (s.parameter == resource_.id_parameter) {
        item = std::move(value);
      }
    }
    if (!matches) continue;
    route.path = &t;
    route.parent = std::move(parent);
    route.item = std::move(item);
    route.well_formed = well_formed;
    return route;
  }
  return route;
}

Action Model::action_of(const Request& req) const {
  if (req.framing_error != 0) return Action::kOther;
  const Route r = route(req.path);
  return r.path ? r.path->action(req.method) : Action::kOther;
}

std::string Model::path_of(Action action, std::string_view parent, std::string_view item) const {
  const sipcontract::Operation* op = operation(action);
  if (op == nullptr) return {};
  std::string out = contract_.base_path();
  std::string_view rest = op->path;
  // "{name}" parameters of the operation's path, filled in.
  for (auto open = rest.find('{'); open != std::string_view::npos; open = rest.find('{')) {
    const auto close = rest.find('}', open);
    if (close == std::string_view::npos) break;
    out += rest.substr(0, open);
    const std::string_view name = rest.substr(open + 1, close - open - 1);
    if (name == resource_.parent_parameter) {
      out += parent;
    } else if (name == resource_.id_parameter) {
      out += item;
    } else {
      out += rest.substr(open, close - open + 1);
    }
    rest.remove_prefix(close + 1);
  }
  out += rest;
  return out;
}

std::size_t Model::field_index(std::string_view name) const {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return i;
  }
  return kNone;
}

bool Model::capture(std::string_view json, Members& out, bool with_id) const {
  out.text.clear();
  out.text.reserve(json.size());
  out.spans.assign(fields_.size(), {0, 0});
  Capture capture(*this, out, with_id);
  return Json::sax_parse(json, &capture);
}

template <class Pick>
Members Model::assemble(Pick pick) const {
  Members out;
  out.spans.assign(fields_.size(), {0, 0});
  out.text.reserve(320);
  out.text.push_back('{');
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const std::size_t mark = out.text.size();
    if (mark > 1) out.text.push_back(',');
    out.text += fields_[i].key;
    const std::size_t begin = out.text.size();
    if (!pick(i, out.text)) {
      out.text.resize(mark);
      continue;
    }
    out.spans[i] = {begin, out.text.size()};
  }
  out.text.push_back('}');
  return out;
}

Members Model::new_item(const Members& sent, std::string_view id) const {
  return assemble([&](std::size_t i, std::string& text) {
    const Field& field = fields_[i];
    if (field.id) {
      append_json_string(text, id);
    } else if (sent.has(i)) {
      text += sent.value(i);
    } else if (!field.fallback.empty()) {
      text += field.fallback;
    } else if (field.generate_uuid) {
      append_json_string(text, new_uuid());
    } else {
      return false;
    }
    return true;
  });
}

Members Model::merged_item(const Members& current, const Members& sent) const {
  return assemble([&](std::size_t i, std::string& text) {
    if (!fields_[i].id && sent.has(i)) {
      text += sent.value(i);
    } else if (current.has(i)) {
      text += current.value(i);
    } else {
      return false;
    }
    return true;
  });
}

std::vector<std::string> Model::unique_keys(const Members& item, std::string_view parent) const {
  std::vector<std::string> keys(unique_fields_.size());
  for (std::size_t r = 0; r < unique_fields_.size(); ++r) {
    const std::size_t field = unique_fields_[r];
    if (field == kNone || !item.has(field)) continue;
    // The rule, the parent when the rule holds within one, and the value's JSON text (written by
    // the server, so equal values are equal bytes).
    std::string& key = keys[r];
    key = std::to_string(r);
    key.push_back('\x1f');
    if (resource_.unique[r].scope == "parent") key += parent;
    key.push_back('\x1f');
    key += item.value(field);
  }
  return keys;
}

void Model::error(Response& res, int status) const {
  for (const auto& [s, body] : error_bodies_) {
    if (s == status) return res.set_json(status, body);
  }
  // A status the contract gives no body (it is called with 401, 404 and 500 only): {"error": reason}.
  res.set_error(status, status == 401   ? "Unauthorized"
                        : status == 404 ? "Not Found"
                                        : "Internal Server Error");
}

OrderedJson Model::error_item(Situation situation, std::string message, const std::string* attribute,
                              const std::string* code) const {
  const ValidationErrorShape& shape = validation();
  static constexpr std::array<const char*, 4> kSituations = {"missing", "invalid", "unreadable", "full"};
  std::string chosen = code ? *code : shape.code_for(kSituations[static_cast<std::size_t>(situation)]);
  if (chosen.empty()) chosen = shape.code_for("invalid");
  if (chosen.empty()) chosen = "invalid";
  OrderedJson item = OrderedJson::object();
  for (const auto& [key, value] : shape.item_template.items()) item[key] = OrderedJson::parse(value.dump());
  item[shape.code] = std::move(chosen);
  item[shape.message] = std::move(message);
  if (attribute) {
    item[shape.attribute] = *attribute;
  } else {
    item[shape.attribute] = nullptr;
  }
  return item;
}

void Model::unprocessable(Response& res, const std::vector<OrderedJson>& items) const {
  OrderedJson body = OrderedJson::object();
  body[validation().items] = items;
  res.set_json(validation().status, dump(body));
}

}  // namespace sipcontract::detail::refserver
