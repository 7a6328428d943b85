// Generated cases: positive and negative creates drawn from the request schema, walks over the
// resource's operations checked against a model, and shrinking (see sipcontract/generate.hpp).
#include "sipcontract/generate.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string_view>
#include <utility>

#include "sipcontract/ascii.hpp"

namespace sipcontract {

using Json = nlohmann::json;

namespace {

// ------------------------------------------------------------------------------------------------
// Randomness: std::mt19937_64 is specified bit for bit; the draws below are this file's own.
// ------------------------------------------------------------------------------------------------

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  /// Uniform in [0, n) (n > 0), by rejection: no modulo bias, the same on every platform.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x;
    do x = engine_();
    while (x >= limit);
    return x % n;
  }
  /// True with probability per_mille / 1000.
  bool chance(unsigned per_mille) { return below(1000) < per_mille; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  /// An index drawn by weight.
  std::size_t weighted(const std::vector<unsigned>& weights) {
    unsigned total = 0;
    for (unsigned w : weights) total += w;
    std::uint64_t x = below(total);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ------------------------------------------------------------------------------------------------
// What a request schema says, as far as generating bodies goes.
// ------------------------------------------------------------------------------------------------

struct Prop {
  std::string name;
  Json schema;  // $ref at the property and its items followed
  bool required = false;
  bool secret = false;
};

struct Variant {
  std::vector<std::string> required;   // present in this variant
  std::vector<std::string> forbidden;  // absent in it ("not": {"required": [...]})
};

struct BodySpec {
  const Operation* op = nullptr;
  std::vector<Prop> props;
  std::map<std::string, std::string> equal;  // field -> the field it must equal
  std::vector<Variant> variants;
  std::set<std::string> variant_fields;  // named by any variant

  const Prop* prop(const std::string& name) const {
    for (const auto& p : props)
      if (p.name == name) return &p;
    return nullptr;
  }
};

std::vector<std::string> strings_of(const Json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& s : v)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

BodySpec read_spec(const Contract& contract, const Operation& op) {
  BodySpec spec;
  spec.op = &op;
  if (!op.request) return spec;
  const std::string& name = op.request->schema_name;
  Json root;
  if (const std::string* text = contract.schema_store().find(name)) root = Json::parse(*text, nullptr, false);
  if (!root.is_object()) root = Json::object();
  std::set<std::string> required;
  for (const auto& r : strings_of(root.value("required", Json::array()))) required.insert(r);
  for (const auto& ps : contract.property_schemas(name)) {
    Prop p;
    p.name = ps.name;
    p.schema = ps.schema;
    p.required = required.count(ps.name) > 0;
    p.secret = contract.is_secret_field(ps.name);
    spec.props.push_back(std::move(p));
  }
  for (const char* key : {"x-sipcontract-equal-properties"})
    if (auto it = root.find(key); it != root.end() && it->is_object())
      for (const auto& [field, other] : it->items())
        if (other.is_string()) spec.equal[field] = other.get<std::string>();
  // The "equal" keyword on a property ({"equal": "password"}) says the same.
  for (const auto& p : spec.props)
    if (auto it = p.schema.find("equal"); it != p.schema.end() && it->is_string())
      spec.equal[p.name] = it->get<std::string>();
  const Json* one_of = nullptr;
  if (auto it = root.find("oneOf"); it != root.end() && it->is_array()) one_of = &*it;
  if (auto then = root.find("then"); !one_of && then != root.end() && then->is_object())
    if (auto it = then->find("oneOf"); it != then->end() && it->is_array()) one_of = &*it;
  if (one_of)
    for (const auto& v : *one_of) {
      if (!v.is_object()) continue;
      Variant variant;
      variant.required = strings_of(v.value("required", Json::array()));
      if (auto n = v.find("not"); n != v.end() && n->is_object())
        variant.forbidden = strings_of(n->value("required", Json::array()));
      for (const auto& f : variant.required) spec.variant_fields.insert(f);
      for (const auto& f : variant.forbidden) spec.variant_fields.insert(f);
      spec.variants.push_back(std::move(variant));
    }
  return spec;
}

std::vector<std::string> types_of(const Json& schema) {
  std::vector<std::string> out;
  if (auto t = schema.find("type"); t != schema.end()) {
    if (t->is_string()) out.push_back(t->get<std::string>());
    for (const auto& s : strings_of(*t)) out.push_back(s);
  } else if (auto e = schema.find("enum"); e != schema.end() && e->is_array() && !e->empty()) {
    const Json& first = (*e)[0];
    out.push_back(first.is_string() ? "string" : first.is_boolean() ? "boolean" : "number");
  }
  return out;
}

bool has_type(const Json& schema, std::string_view type) {
  auto types = types_of(schema);
  if (type == "number" && std::find(types.begin(), types.end(), "integer") != types.end()) return true;
  return std::find(types.begin(), types.end(), type) != types.end();
}

const Json* enum_of(const Json& schema) {
  auto e = schema.find("enum");
  return e != schema.end() && e->is_array() && !e->empty() ? &*e : nullptr;
}

// ------------------------------------------------------------------------------------------------
// Values.
// ------------------------------------------------------------------------------------------------

/// Unusual strings within what a string schema without limits allows. None holds "{" or "}", so a
/// generated value never reads as a placeholder.
const std::vector<std::string>& unusual_strings() {
  static const std::vector<std::string> v = {
      "",
      std::string(300, 'x'),
      "Zo\xc3\xab-\xe6\x9d\xb1\xe4\xba\xac-\xf0\x9f\x9a\x80-\xc3\xb1",  // Zoë-東京-🚀-ñ
      "  two  spaces  ",
      "a.b..c.",
      "say \"hi\", it's",
      "back\\slash/forward",
      "tab\there\nnew\x01line\x1f",
      "null",
      " 0 ",
      "\xe2\x80\x8bzero-width",  // U+200B
      std::string(2000, 'y'),
  };
  return v;
}

std::string uuid_from(Rng& rng) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 36; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      out += '-';
    } else if (i == 14) {
      out += '4';
    } else if (i == 19) {
      out += hex[8 + rng.below(4)];
    } else {
      out += hex[rng.below(16)];
    }
  }
  return out;
}

/// UTF-8 text split into code points (a cut never splits one).
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string fit_length(std::string s, const Json& schema) {
  auto cps = code_points(s);
  if (auto max = schema.find("maxLength"); max != schema.end() && max->is_number_unsigned())
    if (cps.size() > max->get<std::size_t>()) cps.resize(max->get<std::size_t>());
  if (auto min = schema.find("minLength"); min != schema.end() && min->is_number_unsigned())
    while (cps.size() < min->get<std::size_t>()) cps.push_back("x");
  std::string out;
  for (const auto& c : cps) out += c;
  return out;
}

std::string plain_string(Rng& rng) { return "v" + std::to_string(rng.below(100000)); }

/// A value the schema of one property allows (the validator has the last word).
Json value_for(const Json& schema, Rng& rng, std::size_t n) {
  if (const Json* e = enum_of(schema)) {
    // Half the time the case number walks the values, so every value turns up in a few cases.
    return (*e)[rng.chance(500) ? (n % e->size()) : rng.below(e->size())];
  }
  if (has_type(schema, "string")) {
    if (schema.value("format", "") == "uuid") return uuid_from(rng);
    if (schema.contains("pattern") || schema.contains("format")) {
      auto examples = schema.value("examples", Json::array());
      return examples.is_array() && !examples.empty() ? examples[rng.below(examples.size())]
                                                      : Json(plain_string(rng));
    }
    const unsigned r = static_cast<unsigned>(rng.below(10));
    if (r < 2) {
      auto examples = schema.value("examples", Json::array());
      if (examples.is_array() && !examples.empty() && examples[0].is_string()) return examples[0];
    }
    if (r < 5) return fit_length(plain_string(rng), schema);
    return fit_length(rng.pick(unusual_strings()), schema);
  }
  if (has_type(schema, "array")) {
    Json items = schema.value("items", Json::object());
    Json out = Json::array();
    if (const Json* e = enum_of(items)) {
      const unsigned r = static_cast<unsigned>(rng.below(10));
      if (r == 0) return out;   // empty
      if (r == 1) return *e;    // every value, in order
      for (const auto& v : *e)  // a subset in a shuffled order
        if (rng.chance(400)) out.push_back(v);
      for (std::size_t i = out.size(); i > 1; --i) std::swap(out[i - 1], out[rng.below(i)]);
      if (r == 2 && !out.empty() && !schema.value("uniqueItems", false)) out.push_back(out[0]);  // a repeat
    } else {
      const std::size_t k = rng.below(4);
      for (std::size_t i = 0; i < k; ++i) out.push_back(value_for(items, rng, n + i));
    }
    return out;
  }
  if (has_type(schema, "integer") || has_type(schema, "number")) {
    long long lo =
        schema.contains("minimum") && schema["minimum"].is_number() ? schema["minimum"].get<long long>() : 0;
    long long hi = schema.contains("maximum") && schema["maximum"].is_number()
                       ? schema["maximum"].get<long long>()
                       : lo + 1000;
    if (hi < lo) hi = lo;
    const unsigned r = static_cast<unsigned>(rng.below(4));
    return r == 0   ? lo
           : r == 1 ? hi
                    : lo + static_cast<long long>(rng.below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  if (has_type(schema, "boolean")) return rng.chance(500);
  if (has_type(schema, "object")) return Json::object();
  return plain_string(rng);
}

// ------------------------------------------------------------------------------------------------
// Recipes: what a generated case is made of. A case is built from its recipe; shrinking edits the
// recipe and builds again, so a walk's expectations always come from the model.
// ------------------------------------------------------------------------------------------------

enum class Kind { kPositive, kNegative, kWalk };

struct Action {
  Role role = Role::kCreate;
  int item = 0;           // the walk's item it concerns
  Json body;              // create or update
  int same_name_as = -1;  // a create repeating the current name of another item
};

struct Recipe {
  Kind kind = Kind::kPositive;
  std::string what;  // the description's detail
  std::string tag;   // the negative kind
  Json body;         // positive and negative
  std::optional<std::string> raw_body;
  std::vector<std::string> attributes;  // the 422 must name one of them (negative)
  std::set<std::string> protect;        // fields a shrink must leave as they are
  std::vector<Action> actions;          // walk
};

}  // namespace

struct CaseGenerator::Impl {
  const Contract& contract;
  std::uint64_t seed;
  const Resource* resource = nullptr;
  BodySpec create;
  BodySpec update;
  std::string prefix;  // every generated name starts with it: the run id marks it for the sweep
  std::string secret = "{{secret}}";

  Impl(const Contract& c, std::uint64_t s) : contract(c), seed(s) {
    const Operation& op = contract.operation_of_record();
    if (op.role != Role::kCreate || !op.request)
      throw ConfigError("--generate: the operation of record (" + op.id + ") is not a create with a body");
    resource = &contract.resources().at(op.resource);
    create = read_spec(contract, op);
    if (const Operation* u = resource->operation(Role::kUpdate); u && u->request)
      update = read_spec(contract, *u);
    prefix = "sc-{{run_id}}-{{case_id}}";
  }

  Rng rng_for(std::size_t n) const { return Rng(splitmix(seed ^ splitmix(n + 0x51c0))); }

  std::string id_of(std::size_t n) const { return "gen-" + std::to_string(seed) + "-" + std::to_string(n); }

  bool valid(const BodySpec& spec, const Json& body) const { return spec.op->validate_request(body).valid(); }

  // The name field's value: the run id's prefix, sometimes with an unusual tail.
  std::string name_value(Rng& rng, const std::string& tail) const {
    std::string out = prefix + tail;
    if (rng.chance(300)) {
      std::string odd = rng.pick(unusual_strings());
      if (odd.size() > 100) odd.resize(100);
      out += "-" + odd;
    }
    return out;
  }

  std::string secret_value(Rng& rng) const {
    std::string out = secret;
    if (rng.chance(250)) {
      std::string odd = rng.pick(unusual_strings());
      if (odd.size() > 64) odd.resize(64);
      out += odd;
    }
    return out;
  }

  /// A body the spec's validator accepts (up to 32 draws; then the required fields alone).
  Json positive_body(const BodySpec& spec, Rng& rng, std::size_t n, const std::string& name_tail,
                     bool all_optional_absent_ok, bool is_update) const {
    for (int attempt = 0; attempt < 32; ++attempt) {
      Json body = Json::object();
      const Variant* variant =
          spec.variants.empty() ? nullptr : &spec.variants[rng.below(spec.variants.size())];
      for (const auto& p : spec.props) {
        if (spec.equal.count(p.name)) continue;  // filled from its partner below
        const bool in_variant = variant && std::find(variant->required.begin(), variant->required.end(),
                                                     p.name) != variant->required.end();
        const bool forbidden = variant && std::find(variant->forbidden.begin(), variant->forbidden.end(),
                                                    p.name) != variant->forbidden.end();
        if (forbidden) continue;
        if (is_update && spec.variant_fields.count(p.name)) continue;  // see walk(): a merge could hold both
        bool present = p.required || in_variant || rng.chance(all_optional_absent_ok ? 400 : 500);
        if (is_update && p.name == resource->name_field) present = rng.chance(150);
        if (is_update && p.secret) present = rng.chance(100);
        if (!present) continue;
        if (p.name == resource->name_field && has_type(p.schema, "string"))
          body[p.name] = name_value(rng, name_tail);
        else if (p.secret && has_type(p.schema, "string"))
          body[p.name] = secret_value(rng);
        else
          body[p.name] = value_for(p.schema, rng, n);
      }
      for (const auto& [field, other] : spec.equal) {
        const Prop* p = spec.prop(field);
        if (body.contains(other))
          body[field] = body[other];
        else if (p && p->required)
          body[field] = secret;
      }
      if (valid(spec, body)) return body;
    }
    Json body = Json::object();
    for (const auto& p : spec.props)
      if (p.required)
        body[p.name] = p.name == resource->name_field ? Json(prefix + name_tail)
                       : p.secret                     ? Json(secret)
                                                      : value_for(p.schema, rng, n);
    return body;
  }

  // ---- negative ----------------------------------------------------------------------------------

  static Json wrong_type_value(const Json& schema, Rng& rng) {
    if (rng.chance(400)) return nullptr;
    std::vector<Json> candidates = {Json(42),      Json(true),     Json("text"),
                                    Json::array(), Json::object(), Json(1.5)};
    std::vector<Json> wrong;
    for (const auto& c : candidates) {
      const std::string t = c.is_number_integer() ? "integer"
                            : c.is_number()       ? "number"
                            : c.is_boolean()      ? "boolean"
                            : c.is_string()       ? "string"
                            : c.is_array()        ? "array"
                                                  : "object";
      if (!has_type(schema, t) && !(t == "integer" && has_type(schema, "number"))) wrong.push_back(c);
    }
    return wrong.empty() ? Json(nullptr) : rng.pick(wrong);
  }

  static std::string near_miss(const std::string& v, Rng& rng) {
    switch (rng.below(6)) {
      case 0: {
        std::string s = v;
        s = ascii_lowercase(s);
        if (s != v) return s;
        for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
      }
      case 1:
        return v + "_";
      case 2:
        return v.empty() ? "x" : v.substr(0, v.size() - 1);
      case 3:
        return " " + v;
      case 4: {
        std::string s = v;
        for (auto& c : s)
          if (c == '_')
            c = '-';
          else if (c == '-')
            c = '_';
        return s == v ? v + "2" : s;
      }
      default:
        return v + " ";
    }
  }

  Recipe negative(Rng& rng, std::size_t n) const {
    const BodySpec& spec = create;
    const Json base = positive_body(spec, rng, n, "", false, false);
    std::vector<const Prop*> required, enums, formats, all;
    for (const auto& p : spec.props) {
      all.push_back(&p);
      if (p.required) required.push_back(&p);
      if (enum_of(p.schema) ||
          (has_type(p.schema, "array") && enum_of(p.schema.value("items", Json::object()))))
        enums.push_back(&p);
      if (has_type(p.schema, "string") && p.schema.contains("format")) formats.push_back(&p);
    }
    for (int attempt = 0; attempt < 32; ++attempt) {
      Recipe r;
      r.kind = Kind::kNegative;
      r.body = base;
      // Weights: missing, wrong type, enum near miss, both variants, mismatch, format, malformed.
      std::vector<unsigned> w = {required.empty() ? 0u : 15u,
                                 35u,
                                 enums.empty() ? 0u : 15u,
                                 spec.variants.size() > 1 ? 10u : 0u,
                                 spec.equal.empty() ? 0u : 10u,
                                 formats.empty() ? 0u : 5u,
                                 10u};
      switch (rng.weighted(w)) {
        case 0: {
          const Prop* p = rng.pick(required);
          r.body.erase(p->name);
          r.tag = "missing";
          r.what = "required field " + p->name + " missing";
          r.attributes = {p->name};
          break;
        }
        case 1: {
          const Prop* p = rng.pick(all);
          r.body[p->name] = wrong_type_value(p->schema, rng);
          r.tag = "wrong-type";
          r.what = p->name + " of the wrong type (" + r.body[p->name].dump() + ")";
          r.attributes = {p->name};
          r.protect.insert(p->name);
          break;
        }
        case 2: {
          const Prop* p = rng.pick(enums);
          if (const Json* e = enum_of(p->schema)) {
            const Json& v = (*e)[rng.below(e->size())];
            r.body[p->name] = v.is_string() ? Json(near_miss(v.get<std::string>(), rng)) : Json("x");
          } else {
            const Json& items = *enum_of(p->schema["items"]);
            const Json& v = items[rng.below(items.size())];
            Json arr =
                r.body.contains(p->name) && r.body[p->name].is_array() ? r.body[p->name] : Json::array();
            arr.insert(arr.begin() + static_cast<std::ptrdiff_t>(rng.below(arr.size() + 1)),
                       v.is_string() ? Json(near_miss(v.get<std::string>(), rng)) : Json("x"));
            r.body[p->name] = arr;
          }
          r.tag = "enum";
          r.what = p->name + " just outside its enum (" + r.body[p->name].dump() + ")";
          r.attributes = {p->name};
          r.protect.insert(p->name);
          break;
        }
        case 3: {
          for (const auto& v : spec.variants)
            for (const auto& f : v.required)
              if (!r.body.contains(f))
                if (const Prop* p = spec.prop(f)) r.body[f] = value_for(p->schema, rng, n);
          for (const auto& f : spec.variant_fields)
            if (const Prop* p = spec.prop(f); p && !r.body.contains(f))
              r.body[f] = value_for(p->schema, rng, n);
          r.tag = "oneof";
          r.what = "fields of every oneOf variant at once";
          for (const auto& f : spec.variant_fields) r.protect.insert(f);
          break;
        }
        case 4: {
          auto it = spec.equal.begin();
          std::advance(it, static_cast<std::ptrdiff_t>(rng.below(spec.equal.size())));
          const std::string source = r.body.contains(it->second) && r.body[it->second].is_string()
                                         ? r.body[it->second].get<std::string>()
                                         : secret;
          r.body[it->first] = source + "-mismatch";
          r.tag = "mismatch";
          r.what = it->first + " differs from " + it->second;
          r.attributes = {it->first};
          r.protect.insert(it->first);
          r.protect.insert(it->second);
          break;
        }
        case 5: {
          const Prop* p = rng.pick(formats);
          static const std::vector<std::string> bad = {"not-a-uuid", "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0",
                                                       "0b3f1a7e8c4d4f6e9a2b1c3d5e7f9a0b",
                                                       "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0g", ""};
          r.body[p->name] = rng.pick(bad);
          r.tag = "format";
          r.what = p->name + " not of format " + p->schema.value("format", "");
          r.attributes = {p->name};
          r.protect.insert(p->name);
          break;
        }
        default: {
          std::string text = base.dump();
          switch (rng.below(4)) {
            case 0:
              text.pop_back();  // cut short
              break;
            case 1:
              text.insert(text.size() - 1, ",");  // trailing comma
              break;
            case 2:
              text.replace(text.find(':'), 1, "=");
              break;
            default:
              text = "{'" + text.substr(2);  // a single quote
          }
          r.raw_body = text;
          r.tag = "malformed";
          r.what = "a body that is not JSON";
          return r;
        }
      }
      if (!valid(spec, r.body)) return r;
    }
    Recipe r;  // every draw stayed valid: a body that is not JSON at all
    r.kind = Kind::kNegative;
    r.raw_body = "{";
    r.tag = "malformed";
    r.what = "a body that is not JSON";
    return r;
  }

  // ---- walks -------------------------------------------------------------------------------------

  Recipe walk(Rng& rng, std::size_t n) const {
    Recipe r;
    r.kind = Kind::kWalk;
    const std::size_t steps = 3 + rng.below(8);
    int items = 0;
    std::vector<int> live, dead;
    const bool has_get = resource->operation(Role::kGet), has_list = resource->operation(Role::kList),
               has_update = resource->operation(Role::kUpdate) && update.op,
               has_delete = resource->operation(Role::kDelete);
    const bool unique_name =
        !resource->unique.empty() && resource->unique.front().field == resource->name_field;
    auto add_create = [&] {
      Action a;
      a.role = Role::kCreate;
      a.item = items++;
      a.body = positive_body(create_spec(), rng, n + a.item, "-" + std::to_string(a.item), false, false);
      r.actions.push_back(a);
      live.push_back(a.item);
    };
    add_create();
    for (std::size_t s = 1; s < steps; ++s) {
      // create, repeat a name, get, list, update, delete, touch a deleted item
      std::vector<unsigned> w = {15u,
                                 unique_name && !live.empty() ? 8u : 0u,
                                 has_get && !live.empty() ? 15u : 0u,
                                 has_list ? (dead.empty() ? 10u : 25u) : 0u,
                                 has_update && !live.empty() ? 20u : 0u,
                                 has_delete && !live.empty() ? 18u : 0u,
                                 !dead.empty() ? 8u : 0u};
      switch (rng.weighted(w)) {
        case 0:
          add_create();
          break;
        case 1: {
          Action a;
          a.role = Role::kCreate;
          a.item = items++;
          a.same_name_as = rng.pick(live);
          a.body = positive_body(create_spec(), rng, n + a.item, "-" + std::to_string(a.item), false, false);
          r.actions.push_back(a);
          break;
        }
        case 2:
          r.actions.push_back({Role::kGet, rng.pick(live), {}, -1});
          break;
        case 3:
          r.actions.push_back({Role::kList, -1, {}, -1});
          break;
        case 4: {
          Action a;
          a.role = Role::kUpdate;
          a.item = rng.pick(live);
          a.body = positive_body(update, rng, n + s, "-" + std::to_string(a.item) + "r" + std::to_string(s),
                                 true, true);
          r.actions.push_back(a);
          break;
        }
        case 5: {
          const int item = rng.pick(live);
          r.actions.push_back({Role::kDelete, item, {}, -1});
          live.erase(std::find(live.begin(), live.end(), item));
          dead.push_back(item);
          break;
        }
        default: {
          std::vector<Role> roles;
          if (has_get) roles.push_back(Role::kGet);
          if (has_update) roles.push_back(Role::kUpdate);
          if (has_delete) roles.push_back(Role::kDelete);
          if (roles.empty()) break;
          Action a;
          a.role = rng.pick(roles);
          a.item = rng.pick(dead);
          if (a.role == Role::kUpdate)
            a.body = positive_body(update, rng, n + s, "-" + std::to_string(a.item) + "x", true, true);
          r.actions.push_back(a);
        }
      }
    }
    r.what = std::to_string(r.actions.size()) + " steps over " + std::to_string(items) + " items";
    return r;
  }

  const BodySpec& create_spec() const { return create; }

  // ---- building cases ----------------------------------------------------------------------------

  Expectation status_of(const Operation& op) const {
    Expectation e;
    e.statuses = op.success_statuses();
    if (e.statuses.empty()) e.status_classes = {2};
    return e;
  }

  Recipe recipe(std::size_t n) const {
    Rng rng = rng_for(n);
    const unsigned r = static_cast<unsigned>(rng.below(100));
    const bool walks = resource->operation(Role::kGet) || resource->operation(Role::kList);
    if (r < 45 || (!walks && r >= 75)) {
      Recipe out;
      out.kind = Kind::kPositive;
      out.body = positive_body(create, rng, n, "", false, false);
      std::size_t optional = 0;
      for (const auto& p : create.props)
        if (!p.required && out.body.contains(p.name)) ++optional;
      out.what = std::to_string(optional) + " optional fields";
      return out;
    }
    if (r < 75) return negative(rng, n);
    return walk(rng, n);
  }

  std::optional<Case> build(const Recipe& r, const std::string& id) const {
    Case c;
    c.id = id;
    c.tags = {"generated"};
    const Operation& op = *create.op;
    if (r.kind != Kind::kWalk) {
      Step step;
      step.operation = op.name;
      if (r.raw_body) {
        step.raw_body = *r.raw_body;
      } else {
        step.body = r.body;
      }
      if (r.kind == Kind::kPositive) {
        c.tags.push_back("positive");
        c.description = "generated positive create: " + r.what;
        step.expect = status_of(op);
      } else {
        c.tags.push_back("negative");
        c.tags.push_back(r.tag);
        c.description = "generated negative create: " + r.what;
        if (r.raw_body) {
          step.expect.status_classes = {
              4};  // as the fixed cases: the contract is silent on bodies it cannot read
        } else {
          step.expect.statuses = {contract.validation_errors().status};
          if (!r.attributes.empty()) step.expect.errors.push_back({r.attributes, std::nullopt});
        }
      }
      c.steps.push_back(std::move(step));
      return c;
    }
    // A walk: the model says what each step must answer.
    c.tags.push_back("walk");
    c.description = "generated walk: " + r.what;
    struct Item {
      bool created = false, deleted = false;
      std::string var;
      Json fields = Json::object();  // what was sent and is not secret
      std::string name;
    };
    std::map<int, Item> items;
    std::set<std::string> names_held, names_freed;
    const Operation* get = resource->operation(Role::kGet);
    const Operation* list = resource->operation(Role::kList);
    const Operation* upd = resource->operation(Role::kUpdate);
    const Operation* del = resource->operation(Role::kDelete);
    const int validation = contract.validation_errors().status;
    const std::string& name_field = resource->name_field;
    auto keep_fields = [&](Item& item, const Json& body) {
      for (const auto& [k, v] : body.items())
        if (!contract.is_secret_field(k)) item.fields[k] = v;
      if (body.contains(name_field) && body[name_field].is_string()) {
        names_held.erase(item.name);
        names_freed.insert(item.name);
        item.name = body[name_field].get<std::string>();
        names_held.insert(item.name);
      }
    };
    for (const Action& a : r.actions) {
      Step step;
      const std::string var = "i" + std::to_string(a.item);
      if (a.role == Role::kCreate) {
        step.operation = op.name;
        Json body = a.body;
        std::string name = body.value(name_field, "");
        if (a.same_name_as >= 0) {
          auto other = items.find(a.same_name_as);
          if (other == items.end() || !other->second.created) continue;
          name = other->second.name;
          body[name_field] = name;
        }
        step.body = body;
        if (names_held.count(name)) {
          step.expect.statuses = {validation};
          step.expect.errors.push_back({{name_field}, std::nullopt});
        } else if (names_freed.count(name)) {
          continue;  // whether a freed name may be taken again is not the contract's to say
        } else {
          step.expect = status_of(op);
          step.capture[var] = "/" + resource->id_field;
          Item& item = items[a.item];
          item.created = true;
          item.var = "{{var:" + var + "}}";
          item.name = name;
          names_held.insert(name);
          keep_fields(item, body);
        }
      } else if (a.role == Role::kList) {
        if (!list) continue;
        step.operation = list->name;
        step.expect = status_of(*list);
        for (const auto& [k, item] : items) {
          if (!item.created) continue;
          (item.deleted ? step.expect.unlisted : step.expect.listed).push_back(item.var);
        }
      } else {
        auto it = items.find(a.item);
        if (it == items.end() || !it->second.created) continue;  // its create is gone (shrinking)
        Item& item = it->second;
        const Operation* target = a.role == Role::kGet ? get : a.role == Role::kUpdate ? upd : del;
        if (!target) continue;
        step.operation = target->name;
        step.path_params[resource->id_parameter] = item.var;
        if (a.role == Role::kUpdate) step.body = a.body;
        if (item.deleted) {
          step.expect.statuses = {404};
        } else if (a.role == Role::kGet) {
          step.expect = status_of(*target);
          for (const auto& [k, v] : item.fields.items()) step.expect.fields[k] = v;
        } else if (a.role == Role::kUpdate) {
          std::string name = a.body.value(name_field, "");
          if (!name.empty() && names_held.count(name) && name != item.name) continue;
          if (names_freed.count(name)) continue;
          step.expect = status_of(*target);
          for (const auto& [k, v] : a.body.items())
            if (!contract.is_secret_field(k)) step.expect.fields[k] = v;
          keep_fields(item, a.body);
        } else {
          step.expect.status_classes = {2};
          item.deleted = true;
          names_held.erase(item.name);
          names_freed.insert(item.name);
        }
      }
      c.steps.push_back(std::move(step));
    }
    if (c.steps.empty()) return std::nullopt;
    c.description = "generated walk: " + std::to_string(c.steps.size()) + " steps over " +
                    std::to_string(items.size()) + (items.size() == 1 ? " item" : " items");
    return c;
  }

  // ---- shrinking ---------------------------------------------------------------------------------

  /// The ways to make a body smaller, each a new body (the caller checks what each still means).
  std::vector<Json> smaller_bodies(const Json& body, const Recipe& r, bool positive) const {
    std::vector<Json> out;
    if (!body.is_object()) return out;
    for (const auto& [k, v] : body.items()) {
      if (r.protect.count(k)) continue;
      const Prop* p = create.prop(k);
      // A negative case keeps the one rule it breaks: its field stays, and no required one goes.
      if (p && p->required) continue;
      if (!positive && std::find(r.attributes.begin(), r.attributes.end(), k) != r.attributes.end()) continue;
      Json b = body;
      b.erase(k);
      out.push_back(b);
    }
    for (const auto& [k, v] : body.items()) {
      if (r.protect.count(k)) continue;
      if (v.is_array())
        for (std::size_t i = 0; i < v.size(); ++i) {
          Json b = body;
          b[k].erase(i);
          out.push_back(b);
        }
      if (v.is_string()) {
        const std::string s = v.get<std::string>();
        std::string keep;  // a placeholder prefix stays whole
        if (k == resource->name_field && s.rfind(prefix, 0) == 0) keep = prefix;
        if (s.rfind(secret, 0) == 0) keep = secret;
        auto cps = code_points(s.substr(keep.size()));
        if (cps.empty()) continue;
        std::vector<std::string> tries;
        if (keep.empty() && !cps.empty()) tries.push_back("x");
        tries.push_back(keep);
        for (std::size_t chunk = cps.size() / 2; chunk >= 1; chunk /= 2) {
          for (std::size_t at = 0; at + chunk <= cps.size() && tries.size() < 24; at += chunk) {
            std::string t = keep;
            for (std::size_t i = 0; i < cps.size(); ++i)
              if (i < at || i >= at + chunk) t += cps[i];
            tries.push_back(t);
          }
          if (chunk == 1) break;
        }
        for (const auto& t : tries) {
          if (t == s) continue;
          Json b = body;
          b[k] = t;
          // A field that must equal this one follows it.
          for (const auto& [field, other] : create.equal)
            if (other == k && b.contains(field) && body[field] == body[k]) b[field] = t;
          out.push_back(b);
        }
      }
    }
    return out;
  }

  std::vector<Recipe> candidates(const Recipe& r) const {
    std::vector<Recipe> out;
    if (r.kind == Kind::kWalk) {
      for (std::size_t i = r.actions.size(); i-- > 0;) {
        Recipe c = r;
        c.actions.erase(c.actions.begin() + static_cast<std::ptrdiff_t>(i));
        out.push_back(std::move(c));
      }
      for (std::size_t i = 0; i < r.actions.size(); ++i) {
        if (r.actions[i].body.is_null()) continue;
        const BodySpec& spec = r.actions[i].role == Role::kUpdate ? update : create;
        for (auto& b : smaller_bodies(r.actions[i].body, r, true)) {
          if (!spec.op || !valid(spec, b)) continue;
          Recipe c = r;
          c.actions[i].body = std::move(b);
          out.push_back(std::move(c));
        }
      }
      return out;
    }
    if (r.raw_body) return out;
    const bool positive = r.kind == Kind::kPositive;
    for (auto& b : smaller_bodies(r.body, r, positive)) {
      const bool ok = valid(create, b);
      if (positive != ok) continue;  // a positive case stays valid, a negative one invalid
      if (!positive && !r.attributes.empty()) {
        // ... for the same reason: the field it breaks is still named by a finding.
        bool named = false;
        for (const auto& f : create.op->validate_request(b).findings)
          if (f.pointer == "/" + r.attributes.front() ||
              f.pointer.rfind("/" + r.attributes.front() + "/", 0) == 0 || f.property == r.attributes.front())
            named = true;
        if (!named) continue;
      }
      Recipe c = r;
      c.body = std::move(b);
      out.push_back(std::move(c));
    }
    return out;
  }
};

CaseGenerator::CaseGenerator(const Contract& contract, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(contract, seed)) {}
CaseGenerator::~CaseGenerator() = default;

std::uint64_t CaseGenerator::seed() const { return impl_->seed; }

Case CaseGenerator::generate(std::size_t n) const {
  auto c = impl_->build(impl_->recipe(n), impl_->id_of(n));
  if (!c) {  // cannot happen: a walk starts with a create
    Recipe r;
    Rng rng(n);
    r.body = impl_->positive_body(impl_->create, rng, n, "", false, false);
    c = impl_->build(r, impl_->id_of(n));
  }
  c->source = "generated (seed " + std::to_string(impl_->seed) + ")";
  return *c;
}

std::vector<Case> CaseGenerator::generate(std::size_t first, std::size_t count) const {
  std::vector<Case> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(generate(first + i));
  return out;
}

Case CaseGenerator::shrink(const Case& failing, const std::function<bool(const Case&)>& still_fails,
                           std::size_t max_attempts, std::size_t* attempts) const {
  const std::string id = failing.id + "-min";
  std::size_t tried = 0;
  Case best = failing;
  best.id = id;
  const std::string head = "gen-" + std::to_string(impl_->seed) + "-";
  std::size_t n = 0;
  if (failing.id.rfind(head, 0) == 0) {
    const std::string rest = failing.id.substr(head.size());
    if (!rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos && rest.size() < 12)
      n = std::stoull(rest);
  }
  if (n == 0) {
    if (attempts) *attempts = 0;
    return best;
  }
  Recipe current = impl_->recipe(n);
  bool progress = true;
  while (progress && tried < max_attempts) {
    progress = false;
    for (auto& candidate : impl_->candidates(current)) {
      if (tried >= max_attempts) break;
      auto c = impl_->build(candidate, id);
      if (!c) continue;
      ++tried;
      c->description += " (shrunk from " + failing.id + ")";
      c->tags.push_back("shrunk");
      if (still_fails(*c)) {
        current = std::move(candidate);
        best = std::move(*c);
        progress = true;
        break;
      }
    }
  }
  if (best.id == id && std::find(best.tags.begin(), best.tags.end(), "shrunk") == best.tags.end())
    best.tags.push_back("shrunk");
  if (attempts) *attempts = tried;
  return best;
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32 | rd()) % 1000000000000ULL;  // short enough to type
}

namespace {

nlohmann::ordered_json status_json(const Expectation& e) {
  std::vector<nlohmann::ordered_json> all;
  for (int s : e.statuses) all.emplace_back(s);
  for (int c : e.status_classes) all.emplace_back(std::to_string(c) + "xx");
  if (all.size() == 1) return all[0];
  return nlohmann::ordered_json(all);
}

nlohmann::ordered_json expect_json(const Expectation& e, bool assumption) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (e.has_status()) out["status"] = status_json(e);
  if (!e.errors.empty()) {
    auto& errors = out["errors"] = nlohmann::ordered_json::array();
    for (const auto& x : e.errors) {
      nlohmann::ordered_json item = nlohmann::ordered_json::object();
      if (x.attributes.size() == 1)
        item["attribute"] = x.attributes[0];
      else if (!x.attributes.empty())
        item["attribute"] = x.attributes;
      if (x.code) item["code"] = *x.code;
      errors.push_back(item);
    }
  }
  if (assumption) return out;
  if (!e.fields.empty()) {
    auto& fields = out["fields"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : e.fields) fields[k] = nlohmann::ordered_json::parse(v.dump());
  }
  if (!e.listed.empty()) out["listed"] = e.listed;
  if (!e.unlisted.empty()) out["unlisted"] = e.unlisted;
  return out;
}

}  // namespace

nlohmann::ordered_json case_to_json(const Case& c) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  out["id"] = c.id;
  if (!c.description.empty()) out["description"] = c.description;
  std::vector<std::string> tags;
  for (const auto& t : c.tags)
    if (t != "unsettled" || c.unsettled.empty()) tags.push_back(t);
  if (!tags.empty()) out["tags"] = tags;
  if (!c.unsettled.empty()) out["unsettled"] = c.unsettled;
  auto& steps = out["steps"] = nlohmann::ordered_json::array();
  for (const auto& s : c.steps) {
    nlohmann::ordered_json step = nlohmann::ordered_json::object();
    if (!s.operation.empty()) step["operation"] = s.operation;
    nlohmann::ordered_json request = nlohmann::ordered_json::object();
    if (s.auth != AuthVariant::kValid) request["auth"] = std::string(to_string(s.auth));
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    for (const auto& [k, v] : s.path_params)
      if (v != "{{parent}}") params[k] = v;
    if (!params.empty()) request["path_params"] = params;
    if (s.body) request["body"] = nlohmann::ordered_json::parse(s.body->dump());
    if (s.raw_body) request["raw_body"] = *s.raw_body;
    if (s.content_type != "application/json") request["content_type"] = s.content_type;
    if (!request.empty()) step["request"] = request;
    step["expect"] = expect_json(s.expect, false);
    if (!s.assume.empty()) {
      auto& assume = step["assume"] = nlohmann::ordered_json::array();
      for (const auto& a : s.assume) {
        auto block = expect_json(a.expect, true);
        block["because"] = a.because;
        assume.push_back(block);
      }
    }
    if (!s.capture.empty()) {
      auto& capture = step["capture"] = nlohmann::ordered_json::object();
      for (const auto& [k, v] : s.capture) capture[k] = v;
    }
    steps.push_back(step);
  }
  return out;
}

}  // namespace sipcontract
