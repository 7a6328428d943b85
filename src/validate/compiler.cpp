// The schema compiler: rewrites draft-7 schema documents so that valijson parses
// only what it handles well, and compiles the rest into Checks (see compiled.hpp).
//
// Walk: every schema object reachable from the root (through subschema keywords
// and $refs) is visited once. Keywords that become checks are renamed in place
// ("oneOf" -> "x-sipcontract-oneOf") so that valijson ignores them while the
// subschemas under them keep their addresses; a std::map node handle moves the
// key, not the value. Every $ref is resolved once, against the store, and
// rewritten to "sipcontract://ref/<n>", which the fetch callback maps straight to
// the target node: valijson then never resolves a relative URI or a JSON Pointer
// itself (it mishandles a relative $ref at a schema root, skips empty pointer
// tokens and keys its cache by pointer alone, so two files with the same
// "#/definitions/X" would collide).
#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/schema_parser.hpp>

#include "compiled.hpp"
#include "fast.hpp"
#include "schema_compiler.hpp"
#include "uri.hpp"

namespace sipcontract::detail {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_metaschemas();
}  // namespace sipcontract::detail

namespace sipcontract::detail::validation {
namespace {

constexpr std::string_view kRenamed = "x-sipcontract-";
constexpr std::string_view kRefUri = "sipcontract://ref/";
constexpr std::string_view kEqualProperties = "x-sipcontract-equal-properties";
/// Keywords of another draft than the document's: kept for "$ref"s, acted on by no one.
constexpr std::string_view kIgnored = "x-sipcontract-ignored-";
/// The base URI of a store document whose name is not an absolute URI.
constexpr std::string_view kStoreScheme = "sipcontract-store:/";

enum class Draft { k4, k6, k7 };

// Where a schema object sits, for error messages and for resolving local $refs.
struct Location {
  std::string file;
  std::string pointer;
  std::string base;  ///< the base URI "$ref"s of this schema object resolve against (before its own "$id")
  Location operator/(std::string_view token) const {
    return {file, pointer + "/" + pointer_escape(token), base};
  }
  Location operator/(std::size_t index) const { return {file, pointer + "/" + std::to_string(index), base}; }
  std::string to_string() const { return file + ": " + (pointer.empty() ? std::string("(root)") : pointer); }
};

[[noreturn]] void fail(const Location& where, const std::string& problem) {
  throw SchemaError(where.to_string() + ": " + problem);
}

bool is_annotation(std::string_view key) {
  return key == "title" || key == "description" || key == "$comment" || key == "examples" || key == "default";
}

std::string percent_decode(std::string_view text, const Location& where) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) fail(where, "bad percent-encoding in $ref");
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || end != text.data() + i + 3) fail(where, "bad percent-encoding in $ref");
    out += static_cast<char>(value);
    i += 2;
  }
  return out;
}

class Compiler;

// Hands valijson the constraint for one rewritten schema object.
class BundleBuilder final : public valijson::ConstraintBuilder {
 public:
  explicit BundleBuilder(Compiler& compiler) : compiler_(compiler) {}
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& value) const override;

 private:
  Compiler& compiler_;
};

class Compiler {
 public:
  explicit Compiler(const SchemaStore& store) : store_(store), out_(std::make_shared<CompiledSchema>()) {
    parser_.addConstraintBuilder(kCompiledKeyword, new BundleBuilder(*this));
  }

  std::shared_ptr<CompiledSchema> compile(const std::string& name) {
    try {
      Json& root = load(name, Location{name, "", ""});
      if (root.is_object()) {
        if (auto title = root.find("title"); title != root.end() && title->is_string()) out_->title = *title;
      }
      if (out_->title.empty()) out_->title = name;
      walk(root, base_of_.at(&root));
      while (!pending_.empty()) {
        const std::size_t index = pending_.back();
        pending_.pop_back();
        const Target target = targets_[index];  // walking may grow targets_
        walk(*target.node, target.where);
      }
      check_ref_chains();
      check_same_value(&root);
      out_->names.assign(names_.begin(), names_.end());
      out_->recursive = has_cycle(&root);
      out_->fast = fast_.finish(&root);
      out_->root = unit_for(root);
      ensure_compiled(*out_->root);
      if (out_->fast) {
        for (auto& unit : out_->units) {
          unit->fast_node = fast_.node_of(unit->node);
          if (unit->fast_node != fast::kNone) unit->program = out_->fast.get();
        }
      }
    } catch (const SchemaError&) {
      throw;
    } catch (const std::exception& e) {
      throw SchemaError(name + ": " + e.what());
    }
    for (auto& unit : out_->units) {
      unit->node = nullptr;  // the documents die with the compiler
      unit->bundle = sole_bundle(*unit->schema);
    }
    return out_;
  }

  // The bundle at `index`, with every unit it runs compiled.
  const Bundle* bundle(std::int64_t index) {
    if (index < 0 || static_cast<std::size_t>(index) >= out_->bundles.size()) {
      throw std::runtime_error("unknown compiled bundle");
    }
    const Bundle* bundle = out_->bundles[static_cast<std::size_t>(index)].get();
    std::vector<Unit*> units;
    for (const auto& check : bundle->checks) check->units(units);
    for (Unit* unit : units) ensure_compiled(*unit);
    return bundle;
  }

 private:
  struct Target {
    Json* node;
    Location where;
  };

  // ---- documents and references ------------------------------------------
  //
  // Every document gets a base URI: its store name when that is an absolute URI
  // ("http://localhost:1234/x.json"), else "sipcontract-store:/<name>". Loading a document
  // indexes its schema objects: each "$id" (ignored beside "$ref", as draft 7 says) changes the
  // base URI below it and names a resource, or, as "#name", a location-independent identifier.
  // A "$ref" is resolved against the base URI of the object that holds it (RFC 3986), then
  // looked up among the resources, the store's documents and the built-in meta-schemas.
  Json& load(const std::string& file, const Location& from) {
    if (auto it = docs_.find(file); it != docs_.end()) return it->second;
    if (auto it = broken_.find(file); it != broken_.end()) throw SchemaError(it->second);
    try {
      return load_new(file, from);
    } catch (const SchemaError& e) {
      broken_.emplace(file, e.what());  // refused again, with the same reason, wherever it is named
      throw;
    }
  }

  Json& load_new(const std::string& file, const Location& from) {
    const std::string* text = store_.find(file);
    std::string builtin;
    if (text == nullptr) {
      if (auto meta = builtin_metaschema(file)) {
        builtin = std::string(*meta);
        text = &builtin;
      } else {
        fail(from, "no schema named " + quote(file) + " in the schema store");
      }
    }
    Parsed parsed = parse_json(*text);
    if (!parsed) throw SchemaError(file + ": " + parsed.error().to_string());
    const Draft draft = draft_of(*parsed, file);  // before the document is kept: a refused one is not
    Json& root = docs_.emplace(file, std::move(*parsed)).first->second;
    if (draft == Draft::k4) translate_draft4(root);
    if (draft == Draft::k6) translate_draft6(root);
    const std::string base = document_uri(file);
    uri_index_.emplace(base, &root);
    index(root, base, Location{file, "", base});
    return root;
  }

  // The built-in meta-schema named by `uri` ("http://json-schema.org/draft-07/schema"), if any.
  static std::optional<std::string_view> builtin_metaschema(std::string_view uri) {
    uri = without_fragment(uri);
    for (std::string_view scheme : {"http://", "https://"}) {
      if (uri.substr(0, scheme.size()) != scheme) continue;
      const std::string_view rest = uri.substr(scheme.size());
      for (const auto& [name, text] : detail::embedded_metaschemas()) {
        // draft-07.json -> json-schema.org/draft-07/schema
        const std::string_view draft = name.substr(0, name.size() - 5);
        if (rest == "json-schema.org/" + std::string(draft) + "/schema") return text;
      }
    }
    return std::nullopt;
  }

  static std::string document_uri(const std::string& file) {
    if (has_scheme(file)) return std::string(without_fragment(file));
    return std::string(kStoreScheme) + file;
  }

  // The draft a document declares with "$schema" (none: draft 7); other drafts are refused.
  static Draft draft_of(const Json& root, const std::string& file) {
    if (!root.is_object()) return Draft::k7;
    auto it = root.find("$schema");
    if (it == root.end()) return Draft::k7;
    const Location where{file, "/$schema", ""};
    if (!it->is_string()) fail(where, "$schema must be a string (a meta-schema URI)");
    const std::string& uri = it->get_ref<const std::string&>();
    std::string_view rest = without_fragment(uri);
    for (std::string_view scheme : {"http://", "https://"}) {
      if (rest.substr(0, scheme.size()) == scheme) rest.remove_prefix(scheme.size());
    }
    if (rest == "json-schema.org/draft-07/schema") return Draft::k7;
    if (rest == "json-schema.org/draft-06/schema") return Draft::k6;
    if (rest == "json-schema.org/draft-04/schema") return Draft::k4;
    std::string named;
    if (rest == "json-schema.org/draft-03/schema") named = "draft-03";
    if (rest == "json-schema.org/draft/2019-09/schema") named = "draft 2019-09";
    if (rest == "json-schema.org/draft/2020-12/schema") named = "draft 2020-12";
    if (rest == "json-schema.org/schema") named = "the latest draft (no fixed version)";
    const std::string supported =
        "sipcontract validates draft-07 schemas, and draft-06 and draft-04 ones (with their own semantics)";
    if (!named.empty())
      fail(where, "$schema " + quote(uri) + " declares " + named + ", which sipcontract does not support; " +
                      supported);
    fail(where, "$schema " + quote(uri) + " is not a meta-schema sipcontract knows; " + supported +
                    " (a schema without $schema is read as draft-07)");
  }

  // Draft 4 as draft 7: "id" is "$id", a boolean exclusiveMinimum/exclusiveMaximum qualifies
  // minimum/maximum, and the keywords draft 6 and 7 added mean nothing.
  static void translate_draft4(Json& node) {
    for_each_subschema(node, translate_draft4);
    if (!node.is_object()) return;
    if (auto id = node.find("id"); id != node.end() && id->is_string() && !node.contains("$id")) {
      node["$id"] = *id;
      node.erase("id");
    }
    for (const auto& [exclusive, bound] :
         {std::pair{"exclusiveMinimum", "minimum"}, std::pair{"exclusiveMaximum", "maximum"}}) {
      auto it = node.find(exclusive);
      if (it == node.end() || !it->is_boolean()) continue;
      const bool on = it->get<bool>();
      node.erase(exclusive);
      if (on && node.contains(bound)) {
        node[exclusive] = node[bound];
        node.erase(bound);
      }
    }
    for (const char* keyword : {"const", "contains", "propertyNames", "if", "then", "else"}) {
      rename_ignored(node, keyword);
    }
  }

  // Draft 6 as draft 7: without if, then and else.
  static void translate_draft6(Json& node) {
    for_each_subschema(node, translate_draft6);
    if (!node.is_object()) return;
    for (const char* keyword : {"if", "then", "else"}) rename_ignored(node, keyword);
  }

  // A keyword this document's draft does not have: kept (a "$ref" may still point into it) but
  // under a name no one acts on.
  static void rename_ignored(Json& node, const char* keyword) {
    auto& object = node.get_ref<Json::object_t&>();
    auto handle = object.extract(keyword);
    if (handle.empty()) return;
    handle.key() = std::string(kIgnored) + keyword;
    object.insert(std::move(handle));
  }

  // Calls f on every subschema of `node` that draft-7 keywords place (not enum or const values).
  template <class F>
  static void for_each_subschema(Json& node, F&& f) {
    if (!node.is_object()) return;
    for (const char* keyword : {"definitions", "properties", "patternProperties", "dependencies"}) {
      auto it = node.find(keyword);
      if (it == node.end() || !it->is_object()) continue;
      for (auto& member : *it) {
        if (member.is_object() || member.is_boolean()) f(member);
      }
    }
    for (const char* keyword : {"additionalProperties", "additionalItems", "contains", "propertyNames", "not",
                                "if", "then", "else", "items"}) {
      auto it = node.find(keyword);
      if (it != node.end() && (it->is_object() || it->is_boolean())) f(*it);
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf", "items"}) {
      auto it = node.find(keyword);
      if (it == node.end() || !it->is_array()) continue;
      for (auto& item : *it) f(item);
    }
  }

  // Records the base URI and location of every schema object under `node`, and its "$id"s.
  void index(Json& node, const std::string& base, const Location& where) {
    base_of_.emplace(&node, where);
    if (!node.is_object()) return;
    std::string inner = base;
    if (auto id = node.find("$id"); id != node.end() && id->is_string() && !node.contains("$ref")) {
      const auto uri = resolve_uri(base, id->get_ref<const std::string&>());
      if (!uri) fail(where / "$id", "$id " + quote(id->get<std::string>()) + " is not a URI reference");
      const std::string_view document = without_fragment(*uri);
      const std::string_view name = fragment_of(*uri);
      inner = std::string(document);
      if (name.empty()) {
        uri_index_.emplace(inner, &node);
      } else if (name.front() != '/') {
        uri_index_.emplace(*uri, &node);  // a location-independent identifier: "#name"
      }
    }
    // Children are located by walking the same keywords the subschema enumeration visits.
    for (const char* keyword : {"definitions", "properties", "patternProperties", "dependencies"}) {
      auto it = node.find(keyword);
      if (it == node.end() || !it->is_object()) continue;
      for (auto member = it->begin(); member != it->end(); ++member) {
        Location at = where / keyword / member.key();
        at.base = inner;
        index(member.value(), inner, at);
      }
    }
    for (const char* keyword : {"additionalProperties", "additionalItems", "contains", "propertyNames", "not",
                                "if", "then", "else", "items"}) {
      auto it = node.find(keyword);
      if (it == node.end() || !it->is_object()) continue;
      Location at = where / keyword;
      at.base = inner;
      index(*it, inner, at);
    }
    for (const char* keyword : {"allOf", "anyOf", "oneOf", "items"}) {
      auto it = node.find(keyword);
      if (it == node.end() || !it->is_array()) continue;
      for (std::size_t i = 0; i < it->size(); ++i) {
        Location at = where / keyword / i;
        at.base = inner;
        index((*it)[i], inner, at);
      }
    }
  }

  // The resource (a document or an object with that "$id") named by an absolute URI without
  // fragment; loads store documents as needed. `reference` is the "$ref" as written.
  Json* find_resource(const std::string& uri, const std::string& reference, const Location& where) {
    if (auto it = uri_index_.find(uri); it != uri_index_.end()) return it->second;
    if (uri.rfind(kStoreScheme, 0) == 0) {
      const std::string name = uri.substr(kStoreScheme.size());
      if (store_.find(name) != nullptr) return &load(name, where);
    } else if (store_.find(uri) != nullptr || builtin_metaschema(uri)) {
      return &load(uri, where);
    }
    // A document that names itself with this "$id": index every document of the store.
    for (const auto& name : store_.names()) {
      if (docs_.count(name) != 0) continue;
      try {
        load(name, where);
      } catch (const SchemaError&) {
        continue;  // a broken document that is not the one wanted
      }
      if (auto it = uri_index_.find(uri); it != uri_index_.end()) return it->second;
    }
    // As before "$id" was honoured: the reference's own file part, as a name in the store.
    std::string name(without_fragment(reference));
    if (name.rfind("./", 0) == 0) name.erase(0, 2);
    if (!name.empty() && store_.find(name) != nullptr) return &load(name, where);
    if (uri.rfind(kStoreScheme, 0) == 0 && uri.find('/', kStoreScheme.size()) != std::string::npos) {
      fail(where, "$ref " + quote(reference) +
                      " names a file outside the schema folder; keep every schema in one folder");
    }
    const std::string shown = uri.rfind(kStoreScheme, 0) == 0 ? uri.substr(kStoreScheme.size()) : uri;
    fail(where, "$ref " + quote(reference) + ": no schema named " + quote(shown) + " in the schema store");
  }

  // Follows a JSON Pointer through a document whose keywords may have been renamed.
  Json* resolve_pointer(Json& doc, const std::string& pointer) {
    Json* current = &doc;
    std::size_t start = 1;
    if (pointer.empty()) return current;
    while (start <= pointer.size()) {
      const std::size_t slash = pointer.find('/', start);
      std::string token =
          pointer.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      for (std::size_t at = 0; (at = token.find('~', at)) != std::string::npos; ++at) {
        if (at + 1 >= token.size() || (token[at + 1] != '0' && token[at + 1] != '1')) return nullptr;
        token.replace(at, 2, token[at + 1] == '1' ? "/" : "~");
      }
      if (current->is_object()) {
        auto it = current->find(token);
        if (it == current->end()) it = current->find(std::string(kRenamed) + token);
        if (it == current->end()) it = current->find(std::string(kIgnored) + token);
        if (it == current->end()) return nullptr;
        current = &*it;
      } else if (current->is_array()) {
        std::size_t index = 0;
        auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), index);
        if (ec != std::errc() || end != token.data() + token.size() || index >= current->size() ||
            (token.size() > 1 && token[0] == '0')) {
          return nullptr;
        }
        current = &(*current)[index];
      } else {
        return nullptr;
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    return current;
  }

  // Resolves a $ref to a target index, loading its document and queueing its walk.
  std::size_t target_for(const std::string& reference, const Location& where) {
    const auto uri = resolve_uri(where.base, reference);
    if (!uri) fail(where, "$ref " + quote(reference) + " is not a URI reference");
    const std::string document(without_fragment(*uri));
    const std::string fragment(fragment_of(*uri));
    Json* resource = find_resource(document, reference, where);
    Json* node = nullptr;
    const std::string pointer = percent_decode(fragment, where);
    if (pointer.empty() || pointer.front() == '/') {
      node = resolve_pointer(*resource, pointer);
      if (node == nullptr)
        fail(where, "$ref " + quote(reference) + " points to nothing in " + base_of_.at(resource).file);
    } else {
      auto it = uri_index_.find(document + "#" + fragment);
      if (it == uri_index_.end())
        fail(where, "$ref " + quote(reference) + ": no schema has the $id " + quote("#" + fragment));
      node = it->second;
    }
    if (auto it = target_index_.find(node); it != target_index_.end()) return it->second;
    Location at;
    if (auto known = base_of_.find(node); known != base_of_.end()) {
      at = known->second;
    } else {
      // Not a place draft-7 keywords put a schema (e.g. under "$defs"): located from its resource.
      const Location& from = base_of_.at(resource);
      at = Location{from.file, from.pointer + pointer, document};
    }
    targets_.push_back({node, at});
    target_index_.emplace(node, targets_.size() - 1);
    pending_.push_back(targets_.size() - 1);
    return targets_.size() - 1;
  }

  // The node a rewritten "$ref" leads to (through chains), or the node itself.
  const Json* dereference(const Json* node) const {
    for (std::size_t hops = 0; hops <= targets_.size() && node->is_object(); ++hops) {
      auto ref = node->find("$ref");
      if (ref == node->end() || !ref->is_string()) break;
      const auto& uri = ref->get_ref<const std::string&>();
      if (uri.rfind(kRefUri, 0) != 0) break;  // not walked yet
      node = targets_[ref_index(uri)].node;
    }
    return node;
  }

  static std::size_t ref_index(const std::string& uri) {
    std::size_t index = 0;
    std::from_chars(uri.data() + kRefUri.size(), uri.data() + uri.size(), index);
    return index;
  }

  // A $ref that leads only to other $refs in a circle has no schema at its end
  // (valijson would recurse until the stack overflows).
  void check_ref_chains() const {
    for (const auto& target : targets_) {
      std::set<const Json*> seen;
      std::vector<std::string> chain;
      const Json* node = target.node;
      const Location* where = &target.where;
      while (node->is_object() && node->contains("$ref")) {
        chain.push_back(where->file + "#" + where->pointer);
        if (!seen.insert(node).second)
          fail(target.where, "$ref cycle with no schema in it: " + join_words(chain));
        const std::size_t next = ref_index(node->at("$ref").get_ref<const std::string&>());
        node = targets_[next].node;
        where = &targets_[next].where;
      }
    }
  }

  // A schema that, through allOf, anyOf, oneOf, not, if/then/else, a dependency's schema or $ref,
  // comes back to itself for the same value would be evaluated without end (a recursive schema
  // moves on to a part of the value each time round): refused, as a $ref cycle with no schema is.
  void check_same_value(const Json* root) const {
    enum class Color { kWhite, kGrey, kBlack };
    std::unordered_map<const Json*, Color> color;
    struct Frame {
      const Json* node;
      std::size_t next;
      const Location* at;  // how the walk came here (null for where it started)
    };
    // From the root, then from each $ref's target (every schema walked is below one of them), so
    // that the cycle named is the same from run to run.
    std::vector<const Json*> starts = {root};
    for (const auto& target : targets_) starts.push_back(target.node);
    for (const Json* start : starts) {
      if (color[start] != Color::kWhite) continue;
      std::vector<Frame> stack = {{start, 0, nullptr}};
      color[start] = Color::kGrey;
      while (!stack.empty()) {
        Frame& top = stack.back();
        auto edges = same_value_.find(top.node);
        if (edges == same_value_.end() || top.next >= edges->second.size()) {
          color[top.node] = Color::kBlack;
          stack.pop_back();
          continue;
        }
        const auto& [next, at] = edges->second[top.next++];
        Color& c = color[next];
        if (c == Color::kGrey) {
          // The cycle: from `next` (where the last edge leads back to) round to it again.
          std::size_t from = stack.size() - 1;
          while (from > 0 && stack[from].node != next) --from;
          std::string chain = at.file + "#" + at.pointer;
          for (std::size_t i = from + 1; i < stack.size(); ++i)
            chain += " -> " + stack[i].at->file + "#" + stack[i].at->pointer;
          chain += " -> " + at.file + "#" + at.pointer;
          fail(at,
               "the schema applies itself to the same value without end (evaluation would never finish): " +
                   chain);
        }
        if (c == Color::kWhite) {
          c = Color::kGrey;
          stack.push_back({next, 0, &at});
        }
      }
    }
  }

  // True when the schema graph reachable from `root` has a cycle (a recursive schema).
  bool has_cycle(const Json* root) const {
    enum class Color { kWhite, kGrey, kBlack };
    std::unordered_map<const Json*, Color> color;
    std::vector<std::pair<const Json*, std::size_t>> stack = {{root, 0}};
    color[root] = Color::kGrey;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      auto edges = edges_.find(node);
      if (edges == edges_.end() || next >= edges->second.size()) {
        color[node] = Color::kBlack;
        stack.pop_back();
        continue;
      }
      const Json* child = edges->second[next++];
      Color& c = color[child];
      if (c == Color::kGrey) return true;
      if (c == Color::kWhite) {
        c = Color::kGrey;
        stack.push_back({child, 0});
      }
    }
    return false;
  }

  // ---- units ---------------------------------------------------------------
  Unit* unit_for(Json& node) {
    auto [it, inserted] = units_.emplace(&node, nullptr);
    if (inserted) {
      out_->units.push_back(std::make_unique<Unit>());
      out_->units.back()->node = &node;
      it->second = out_->units.back().get();
    }
    return it->second;
  }

  void ensure_compiled(Unit& unit) {
    if (unit.started) return;
    unit.started = true;
    const valijson::adapters::NlohmannJsonAdapter adapter(*unit.node);
    parser_.populateSchema(
        adapter, *unit.schema,
        [this](const std::string& uri) -> const Json* {
          if (uri.rfind(kRefUri, 0) != 0) return nullptr;
          const std::size_t index = ref_index(uri);
          return index < targets_.size() ? targets_[index].node : nullptr;
        },
        [](const Json*) {});  // the documents belong to the compiler
  }

  // ---- the walk --------------------------------------------------------------
  Json& rename(Json& node, const std::string& keyword, const Location& where) {
    auto& object = node.get_ref<Json::object_t&>();
    auto handle = object.extract(keyword);
    handle.key() = std::string(kRenamed) + keyword;
    auto result = object.insert(std::move(handle));
    if (!result.inserted)
      fail(where, "the keyword " + quote(result.node.key()) + " is reserved by sipcontract");
    return result.position->second;
  }

  // `same_value`: the child applies to the value its parent applies to (allOf, anyOf, oneOf, not,
  // if, then, else, a dependency's schema), not to a part of it.
  void child(Json& parent, Json& node, const Location& where, bool same_value = false) {
    edges_[&parent].push_back(&node);
    if (same_value) same_value_[&parent].push_back({&node, where});
    walk(node, where);
  }

  Unit* child_unit(Json& parent, Json& node, const Location& where, bool same_value = false) {
    child(parent, node, where, same_value);
    return unit_for(node);
  }

  std::string title_of(const Json& node) const {
    const Json* target = dereference(&node);
    if (target->is_object()) {
      if (auto title = target->find("title"); title != target->end() && title->is_string()) return *title;
    }
    return {};
  }

  static std::uint64_t count_value(const Json& value, const Location& where, const std::string& keyword) {
    if (!value.is_number() || !is_integral(value) || compare_numbers(value, Json(0)) < 0) {
      fail(where / keyword, keyword + " must be a non-negative integer");
    }
    if (value.is_number_float()) return static_cast<std::uint64_t>(value.get<double>());
    return value.get<std::uint64_t>();
  }

  static std::vector<std::string> string_list(const Json& value, const Location& where, bool non_empty) {
    if (!value.is_array() || (non_empty && value.empty())) {
      fail(where, non_empty ? "must be a non-empty array of strings" : "must be an array of strings");
    }
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const auto& item : value) {
      if (!item.is_string()) fail(where, "must be an array of strings");
      if (!seen.insert(item.get<std::string>()).second)
        fail(where, "repeats " + quote(item.get<std::string>()));
      names.push_back(item.get<std::string>());
    }
    return names;
  }

  // `not` whose schema only says which properties must not all be present: a
  // presence rule, reported by naming the properties (and used by oneOf to say
  // which variants exclude each other).
  static std::optional<std::vector<std::vector<std::string>>> presence_rule(const Json& schema) {
    const auto only = [](const Json& object, std::string_view keyword) {
      if (!object.is_object() || !object.contains(keyword)) return false;
      for (auto it = object.begin(); it != object.end(); ++it) {
        if (it.key() != keyword && !is_annotation(it.key())) return false;
      }
      return true;
    };
    const auto names = [](const Json& list) -> std::optional<std::vector<std::string>> {
      if (!list.is_array() || list.empty()) return std::nullopt;
      std::vector<std::string> out;
      for (const auto& item : list) {
        if (!item.is_string()) return std::nullopt;
        out.push_back(item.get<std::string>());
      }
      return out;
    };
    if (only(schema, "required")) {
      auto group = names(schema.at("required"));
      if (!group) return std::nullopt;
      return std::vector<std::vector<std::string>>{*group};
    }
    if (only(schema, "anyOf") && schema.at("anyOf").is_array() && !schema.at("anyOf").empty()) {
      std::vector<std::vector<std::string>> groups;
      for (const auto& branch : schema.at("anyOf")) {
        if (!only(branch, "required")) return std::nullopt;
        auto group = names(branch.at("required"));
        if (!group) return std::nullopt;
        groups.push_back(std::move(*group));
      }
      return groups;
    }
    return std::nullopt;
  }

  void walk(Json& node, const Location& incoming) {
    if (!visited_.insert(&node).second) return;
    Location where = incoming;
    if (node.is_boolean()) {
      // true is the empty schema; false gets a check that always fails with a message.
      const bool accept = node.get<bool>();
      node = Json::object();
      fast_.object(&node);
      if (!accept) {
        auto bundle = std::make_unique<Bundle>();
        bundle->checks.push_back(make_false_check());
        fast_.always_false(&node, bundle->checks.back().get());
        attach(node, std::move(bundle));
      }
      return;
    }
    if (!node.is_object()) fail(where, "a schema must be an object or a boolean, not " + type_name(node));
    if (node.contains(kCompiledKeyword))
      fail(where, "the keyword \"x-sipcontract-compiled\" is reserved by sipcontract");

    if (auto ref = node.find("$ref"); ref != node.end()) {
      // Draft 7: the other members of a $ref object are ignored.
      if (!ref->is_string()) fail(where / "$ref", "$ref must be a string");
      const std::size_t index = target_for(ref->get<std::string>(), where / "$ref");
      *ref = std::string(kRefUri) + std::to_string(index);
      edges_[&node].push_back(targets_[index].node);
      same_value_[&node].push_back({targets_[index].node, targets_[index].where});
      fast_.alias(&node, targets_[index].node);
      return;
    }
    // "$id" changes the base URI of the "$ref"s below it (index() checked that it resolves).
    if (auto id = node.find("$id"); id != node.end() && id->is_string()) {
      if (auto uri = resolve_uri(where.base, id->get_ref<const std::string&>()))
        where.base = std::string(without_fragment(*uri));
    }

    for (const char* annotation : {"title", "description"}) {
      if (auto it = node.find(annotation); it != node.end() && !it->is_string()) {
        fail(where / annotation, std::string(annotation) + " must be a string");
      }
    }

    auto bundle = std::make_unique<Bundle>();
    auto& checks = bundle->checks;
    const auto has = [&](const char* keyword) { return node.contains(keyword); };
    fast_.object(&node);

    if (has("type")) {
      const unsigned mask = compile_type(rename(node, "type", where), where / "type", checks);
      bundle->type = checks.front().get();
      fast_.type(&node, mask, bundle->type);
    }
    if (has("enum")) {
      const Json& values = rename(node, "enum", where);
      if (!values.is_array()) fail(where / "enum", "enum must be an array");
      checks.push_back(make_enum_check(std::vector<Json>(values.begin(), values.end())));
      fast_.enumeration(&node, values, checks.back().get());
    }
    if (has("const")) {
      const Json& value = rename(node, "const", where);
      checks.push_back(make_const_check(value));
      fast_.constant(&node, value, checks.back().get());
    }
    if (has("format")) {
      const Json& format = rename(node, "format", where);
      if (!format.is_string()) fail(where / "format", "format must be a string");
      // Unknown formats are annotations in draft 7.
      if (auto known = format_from_name(format.get_ref<const std::string&>())) {
        checks.push_back(make_format_check(*known, format));
        fast_.format(&node, *known, checks.back().get());
      }
    }
    if (has("pattern")) {
      const Json& pattern = rename(node, "pattern", where);
      if (!pattern.is_string()) fail(where / "pattern", "pattern must be a string");
      try {
        checks.push_back(make_pattern_check(pattern));
        fast_.pattern(&node, pattern, checks.back().get());
      } catch (const std::invalid_argument& e) {
        fail(where / "pattern",
             "RE2 cannot compile the pattern " + quote(pattern.get<std::string>(), 200) + ": " + e.what());
      }
    }
    for (const char* keyword :
         {"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"}) {
      if (has(keyword)) {
        const Json& value = rename(node, keyword, where);
        const std::uint64_t limit = count_value(value, where, keyword);
        checks.push_back(make_count_check(keyword, limit));
        fast_.count(&node, keyword, limit, checks.back().get());
      }
    }
    for (const char* keyword : {"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf"}) {
      if (!has(keyword)) continue;
      const Json& value = rename(node, keyword, where);
      if (value.is_boolean()) {
        fail(where / keyword,
             std::string(keyword) + " must be a number in draft 7 (the draft-4 boolean form is not)");
      }
      if (!value.is_number()) fail(where / keyword, std::string(keyword) + " must be a number");
      if (std::string_view(keyword) == "multipleOf" && compare_numbers(value, Json(0)) <= 0) {
        fail(where / keyword, "multipleOf must be greater than 0");
      }
      checks.push_back(make_number_check(keyword, value));
      fast_.number(&node, keyword, value, checks.back().get());
    }
    if (has("uniqueItems")) {
      const Json& value = rename(node, "uniqueItems", where);
      if (!value.is_boolean()) fail(where / "uniqueItems", "uniqueItems must be a boolean");
      if (value.get<bool>()) {
        checks.push_back(make_unique_items_check());
        fast_.unique_items(&node, checks.back().get());
      }
    }
    if (has("required")) {
      auto names = string_list(rename(node, "required", where), where / "required", false);
      names_.insert(names.begin(), names.end());
      if (!names.empty()) {
        fast_.required(&node, names);
        checks.push_back(make_required_check(std::move(names)));
      }
    }
    if (has("dependencies")) compile_dependencies(node, where, checks);
    if (has("propertyNames")) {
      Json& schema = rename(node, "propertyNames", where);
      checks.push_back(make_property_names_check(child_unit(node, schema, where / "propertyNames")));
      fast_.property_names(&node, &schema);
    }
    compile_properties(node, where, checks);
    compile_items(node, where, checks);
    if (has("contains")) {
      Json& schema = rename(node, "contains", where);
      checks.push_back(make_contains_check(child_unit(node, schema, where / "contains")));
      fast_.contains(&node, &schema);
    }
    if (has("allOf")) {
      Json& list = node["allOf"];
      if (!list.is_array() || list.empty())
        fail(where / "allOf", "allOf must be a non-empty array of schemas");
      std::vector<const Json*> schemas;
      for (std::size_t i = 0; i < list.size(); ++i) {
        child(node, list[i], where / "allOf" / i, true);
        schemas.push_back(&list[i]);
      }
      fast_.combine(&node, "allOf", std::move(schemas));
    }
    for (const char* keyword : {"anyOf", "oneOf"}) {
      if (!has(keyword)) continue;
      Json& list = rename(node, keyword, where);
      if (!list.is_array() || list.empty()) {
        fail(where / keyword, std::string(keyword) + " must be a non-empty array of schemas");
      }
      std::vector<Variant> variants;
      std::vector<const Json*> schemas;
      for (std::size_t i = 0; i < list.size(); ++i) {
        Unit* unit = child_unit(node, list[i], where / keyword / i, true);
        variants.push_back({unit, title_of(list[i])});
        schemas.push_back(&list[i]);
      }
      checks.push_back(make_variants_check(keyword, std::move(variants)));
      fast_.combine(&node, keyword, std::move(schemas), checks.back().get());
    }
    if (has("not")) {
      Json& schema = rename(node, "not", where);
      if (auto groups = presence_rule(schema)) {
        fast_.forbidden(&node, *groups);
        checks.push_back(make_forbidden_check(std::move(*groups)));
      } else {
        Unit* unit = child_unit(node, schema, where / "not", true);
        checks.push_back(make_not_check(unit, title_of(schema)));
        fast_.negate(&node, &schema);
      }
    }
    if (has("if")) {
      // A compiled check, first in the bundle (where valijson's own conditional ran, before every
      // other keyword), so that its branches go through run_unit and their verdict programs.
      Json* branches[3] = {&rename(node, "if", where), nullptr, nullptr};
      if (has("then")) branches[1] = &rename(node, "then", where);
      if (has("else")) branches[2] = &rename(node, "else", where);
      Unit* units[3] = {child_unit(node, *branches[0], where / "if", true), nullptr, nullptr};
      if (branches[1] != nullptr) units[1] = child_unit(node, *branches[1], where / "then", true);
      if (branches[2] != nullptr) units[2] = child_unit(node, *branches[2], where / "else", true);
      fast_.conditional(&node, branches[0], branches[1], branches[2]);
      checks.insert(checks.begin(), make_if_check(units[0], units[1], units[2]));
    }
    if (auto equal = node.find(kEqualProperties); equal != node.end()) {
      if (!equal->is_object())
        fail(where / kEqualProperties, "must be an object of property name to property name");
      std::vector<std::pair<std::string, std::string>> pairs;
      for (auto it = equal->begin(); it != equal->end(); ++it) {
        if (!it.value().is_string())
          fail(where / kEqualProperties / it.key(), "must be a property name (a string)");
        pairs.emplace_back(it.key(), it.value().get<std::string>());
      }
      if (!pairs.empty()) {
        fast_.equal_properties(&node, pairs);
        checks.push_back(make_equal_properties_check(std::move(pairs)));
      }
    }
    // Not draft-7 keywords, but valijson acts on them: "id" would change its
    // resolution scope, and "divisibleBy" makes it throw.
    for (const char* keyword : {"id", "divisibleBy"}) {
      if (has(keyword)) rename(node, keyword, where);
    }
    if (!checks.empty()) attach(node, std::move(bundle));
  }

  void attach(Json& node, std::unique_ptr<Bundle> bundle) {
    node[kCompiledKeyword] = out_->bundles.size();
    out_->bundles.push_back(std::move(bundle));
  }

  unsigned compile_type(const Json& value, const Location& where,
                        std::vector<std::unique_ptr<Check>>& checks) {
    static const std::map<std::string, unsigned, std::less<>> kTypes = {
        {"null", kTypeNull},     {"boolean", kTypeBoolean}, {"object", kTypeObject},  {"array", kTypeArray},
        {"number", kTypeNumber}, {"string", kTypeString},   {"integer", kTypeInteger}};
    std::vector<std::string> names;
    if (value.is_string()) {
      names.push_back(value.get<std::string>());
    } else if (value.is_array() && !value.empty()) {
      names = string_list(value, where, true);
    } else {
      fail(where, "type must be a type name or a non-empty array of type names");
    }
    unsigned mask = 0;
    for (const auto& name : names) {
      auto it = kTypes.find(name);
      if (it == kTypes.end()) fail(where, "unknown type " + quote(name));
      mask |= it->second;
    }
    checks.insert(checks.begin(), make_type_check(mask, std::move(names)));  // cheapest first
    return mask;
  }

  void compile_dependencies(Json& node, const Location& where, std::vector<std::unique_ptr<Check>>& checks) {
    Json& value = rename(node, "dependencies", where);
    if (!value.is_object()) fail(where / "dependencies", "dependencies must be an object");
    std::vector<std::pair<std::string, std::vector<std::string>>> lists;
    std::vector<std::pair<std::string, Unit*>> schemas;
    std::vector<std::pair<std::string, const Json*>> fast_schemas;
    for (auto it = value.begin(); it != value.end(); ++it) {
      const Location at = where / "dependencies" / it.key();
      names_.insert(it.key());
      if (it.value().is_array()) {
        lists.emplace_back(it.key(), string_list(it.value(), at, false));
        names_.insert(lists.back().second.begin(), lists.back().second.end());
      } else {
        schemas.emplace_back(it.key(), child_unit(node, it.value(), at, true));
        fast_schemas.emplace_back(it.key(), &it.value());
      }
    }
    if (!lists.empty() || !fast_schemas.empty()) fast_.dependencies(&node, lists, std::move(fast_schemas));
    if (!lists.empty() || !schemas.empty()) {
      checks.push_back(make_dependencies_check(std::move(lists), std::move(schemas)));
    }
  }

  void compile_properties(Json& node, const Location& where, std::vector<std::unique_ptr<Check>>& checks) {
    std::vector<std::string> declared;
    std::vector<std::pair<std::string, const Json*>> fast_properties, fast_patterns;
    if (node.contains("properties")) {
      // A compiled check rather than valijson's: each member's unit asks the verdict program first,
      // so a findings run spends valijson's time on the members that break their schema only.
      Json& properties = rename(node, "properties", where);
      if (!properties.is_object()) fail(where / "properties", "properties must be an object of schemas");
      std::vector<std::pair<std::string, Unit*>> units;
      for (auto it = properties.begin(); it != properties.end(); ++it) {
        declared.push_back(it.key());
        names_.insert(it.key());
        units.emplace_back(it.key(), child_unit(node, it.value(), where / "properties" / it.key()));
        fast_properties.emplace_back(it.key(), &it.value());
      }
      // First in the bundle: valijson applied properties before the bundle, and whatever the
      // value's type (a failed "type" check stops only the checks after it).
      if (!units.empty()) checks.insert(checks.begin(), make_properties_check(std::move(units)));
    }
    std::vector<PatternProperty> patterns;
    if (node.contains("patternProperties")) {
      Json& value = rename(node, "patternProperties", where);
      if (!value.is_object())
        fail(where / "patternProperties", "patternProperties must be an object of schemas");
      for (auto it = value.begin(); it != value.end(); ++it) {
        const Location at = where / "patternProperties" / it.key();
        if (auto problem = regex_problem(it.key())) {
          fail(at, "RE2 cannot compile the pattern " + quote(it.key(), 200) + ": " + *problem);
        }
        patterns.push_back({it.key(), child_unit(node, it.value(), at)});
        fast_patterns.emplace_back(it.key(), &it.value());
      }
    }
    Unit* additional = nullptr;
    const Json* fast_additional = nullptr;
    bool forbidden = false;
    bool open = false;
    if (node.contains("additionalProperties")) {
      Json& value = rename(node, "additionalProperties", where);
      if (value.is_boolean()) {
        forbidden = !value.get<bool>();
        open = value.get<bool>();
      } else {
        additional = child_unit(node, value, where / "additionalProperties");
        fast_additional = &value;
      }
    }
    fast_.properties(&node, std::move(fast_properties), std::move(fast_patterns), fast_additional, forbidden,
                     open);
    if (patterns.empty() && additional == nullptr && !forbidden) return;
    checks.push_back(
        make_extra_properties_check(std::move(declared), std::move(patterns), additional, forbidden));
  }

  void compile_items(Json& node, const Location& where, std::vector<std::unique_ptr<Check>>& checks) {
    auto items = node.find("items");
    if (items == node.end() || !items->is_array()) {
      // additionalItems means nothing beside a single items schema (or none).
      if (node.contains("additionalItems")) rename(node, "additionalItems", where);
      if (items == node.end()) return;
      // A single items schema applies to every item: the tuple check with no positional items, so
      // that each item goes through run_unit (and a valid one costs only its verdict).
      Json& schema = rename(node, "items", where);
      Unit* unit = child_unit(node, schema, where / "items");
      fast_.items(&node, &schema);
      checks.push_back(make_tuple_items_check({}, unit, false));
      return;
    }
    Json& list = rename(node, "items", where);
    std::vector<Unit*> units;
    std::vector<const Json*> fast_items;
    for (std::size_t i = 0; i < list.size(); ++i) {
      units.push_back(child_unit(node, list[i], where / "items" / i));
      fast_items.push_back(&list[i]);
    }
    Unit* additional = nullptr;
    const Json* fast_additional = nullptr;
    bool forbidden = false;
    if (node.contains("additionalItems")) {
      Json& value = rename(node, "additionalItems", where);
      if (value.is_boolean()) {
        forbidden = !value.get<bool>();
      } else {
        additional = child_unit(node, value, where / "additionalItems");
        fast_additional = &value;
      }
    }
    fast_.tuple(&node, std::move(fast_items), fast_additional, forbidden);
    checks.push_back(make_tuple_items_check(std::move(units), additional, forbidden));
  }

  const SchemaStore& store_;
  std::shared_ptr<CompiledSchema> out_;
  valijson::SchemaParser parser_{valijson::SchemaParser::kDraft7};
  std::map<std::string, Json> docs_;
  std::unordered_set<const Json*> visited_;
  std::vector<Target> targets_;
  std::unordered_map<const Json*, std::size_t> target_index_;
  std::map<std::string, std::string> broken_;          // documents that could not be loaded, and why
  std::unordered_map<std::string, Json*> uri_index_;   // resources and "#name" identifiers by URI
  std::unordered_map<const Json*, Location> base_of_;  // where each indexed schema object is
  std::vector<std::size_t> pending_;
  std::unordered_map<const Json*, Unit*> units_;
  std::unordered_map<const Json*, std::vector<const Json*>> edges_;
  // The subschemas (and $ref targets) each schema applies to its own value: see check_same_value().
  std::unordered_map<const Json*, std::vector<std::pair<const Json*, Location>>> same_value_;
  std::set<std::string> names_;  // CompiledSchema::names
  fast::Builder fast_;           // the verdict program, recorded beside the valijson form
};

valijson::constraints::Constraint* BundleBuilder::make(const valijson::adapters::Adapter& value) const {
  std::int64_t index = -1;
  if (!value.getInteger(index)) throw std::runtime_error("the x-sipcontract-compiled keyword is reserved");
  return new_bundle_constraint(compiler_.bundle(index));
}

}  // namespace

std::shared_ptr<const CompiledSchema> compile_schema(const SchemaStore& store, const std::string& name) {
  Compiler compiler(store);
  return compiler.compile(name);
}

}  // namespace sipcontract::detail::validation
