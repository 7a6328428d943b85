// Contract: one operation's manifest, with every schema of its store compiled once.
#include <algorithm>
#include <charconv>
#include <set>

#include "internal.hpp"

namespace sipcontract::detail {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_manifests();
}  // namespace sipcontract::detail

namespace sipcontract {
namespace {

using Json = nlohmann::json;

constexpr const char* kBuiltinManifest = "create-subscriber-sip-endpoint.manifest.json";

// Reads manifest members with errors that name the manifest and the member.
class ManifestReader {
 public:
  explicit ManifestReader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string& where, const std::string& problem) const {
    throw SchemaError("manifest " + name_ + ": " + where + ": " + problem);
  }
  const Json& object(const Json& parent, const char* key, const std::string& where) const {
    auto it = parent.find(key);
    if (it == parent.end()) fail(where, std::string("missing \"") + key + "\"");
    if (!it->is_object()) fail(where + "." + key, "must be an object");
    return *it;
  }
  std::string string(const Json& parent, const char* key, const std::string& where) const {
    auto it = parent.find(key);
    if (it == parent.end()) fail(where, std::string("missing \"") + key + "\"");
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      fail(where + "." + key, "must be a non-empty string");
    }
    return *it;
  }

 private:
  std::string name_;
};

}  // namespace

namespace detail::validation {

// Builds a contract from a parsed manifest and the store its schema names resolve in.
struct ContractBuilder {
  static void build(Contract& contract, nlohmann::json manifest, std::shared_ptr<const SchemaStore> store,
                    const std::string& manifest_name);
};

}  // namespace detail::validation

Contract Contract::load(const std::filesystem::path& manifest, const std::filesystem::path& schema_dir) {
  const std::string text = detail::validation::read_text_file(manifest, "manifest");
  Parsed parsed = parse_json(text);
  if (!parsed) throw SchemaError("manifest " + manifest.string() + ": " + parsed.error().to_string());
  auto store = std::make_shared<const SchemaStore>(SchemaStore::from_directory(schema_dir));
  Contract contract;
  detail::validation::ContractBuilder::build(contract, std::move(*parsed), std::move(store),
                                             manifest.string());
  return contract;
}

const Contract& Contract::builtin() {
  static const Contract contract = [] {
    for (const auto& [name, text] : detail::embedded_manifests()) {
      if (name != kBuiltinManifest) continue;
      Parsed parsed = parse_json(text);
      if (!parsed)
        throw SchemaError(std::string("manifest ") + kBuiltinManifest + ": " + parsed.error().to_string());
      Contract built;
      detail::validation::ContractBuilder::build(built, std::move(*parsed),
                                                 std::make_shared<const SchemaStore>(SchemaStore::builtin()),
                                                 kBuiltinManifest);
      return built;
    }
    throw SchemaError(std::string("the built-in manifest ") + kBuiltinManifest +
                      " is missing from this build");
  }();
  return contract;
}

Result Contract::validate_request(const nlohmann::json& body) const { return request_->validate(body); }

Result Contract::validate_response(int status, const nlohmann::json& body) const {
  if (const Schema* schema = response_schema(status)) return schema->validate(body);
  std::string documented;
  for (const auto& entry : responses_) {
    if (!documented.empty()) documented += ", ";
    documented += std::to_string(entry.first);
  }
  Result result;
  result.findings.push_back(Finding{
      "",
      "status",
      "status " + std::to_string(status) + " is not documented for this operation; documented: " + documented,
      "",
      {},
      std::nullopt});
  return result;
}

Verdict Contract::check_request(std::string_view text, const ParseLimits& limits) const {
  return request_->check(text, limits);
}

TextResult Contract::validate_request_text(std::string_view text, const ParseLimits& limits) const {
  return request_->validate_text(text, limits);
}

Verdict Contract::check_response(int status, std::string_view text, const ParseLimits& limits) const {
  if (const Schema* schema = response_schema(status)) return schema->check(text, limits);
  return parse_json(text, limits) ? Verdict::kInvalid : Verdict::kNotJson;
}

TextResult Contract::validate_response_text(int status, std::string_view text,
                                            const ParseLimits& limits) const {
  if (const Schema* schema = response_schema(status)) return schema->validate_text(text, limits);
  TextResult out;
  Parsed parsed = parse_json(text, limits);
  if (!parsed) {
    out.verdict = Verdict::kNotJson;
    out.error = parsed.error();
    return out;
  }
  out.result = validate_response(status, *parsed);
  out.verdict = Verdict::kInvalid;
  return out;
}

const Schema* Contract::response_schema(int status) const {
  auto it = responses_.find(status);
  return it == responses_.end() ? nullptr : &it->second;
}

const Schema& Contract::request_schema() const { return *request_; }

std::vector<int> Contract::documented_statuses() const {
  std::vector<int> statuses;
  for (const auto& entry : responses_) statuses.push_back(entry.first);
  return statuses;
}

const Schema& Contract::schema(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw SchemaError("the contract has no schema named \"" + name + "\"");
  return it->second;
}

std::vector<std::string> Contract::documented_properties(const std::string& name) const {
  std::vector<std::string> out;
  if (!store_) return out;
  // A root "$ref" ("sip-endpoint.json", "common.json#/definitions/X", "#/definitions/X") or an
  // "allOf" branch leads to further declarations; each document is visited once.
  std::vector<std::pair<std::string, std::string>> todo = {{name, ""}};  // file, JSON Pointer
  std::set<std::pair<std::string, std::string>> seen;
  while (!todo.empty()) {
    auto [file, pointer] = todo.back();
    todo.pop_back();
    if (!seen.insert({file, pointer}).second || seen.size() > 64) continue;
    const std::string* text = store_->find(file);
    if (!text) continue;
    Parsed doc = parse_json(*text);
    if (!doc) continue;
    const Json* node = &*doc;
    try {
      if (!pointer.empty()) node = &doc->at(Json::json_pointer(pointer));
    } catch (const std::exception&) {
      continue;
    }
    if (!node->is_object()) continue;
    if (auto props = node->find("properties"); props != node->end() && props->is_object())
      for (const auto& [key, value] : props->items())
        if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(key);
    // A named copy: clang 14 cannot capture a structured binding in a lambda (scripts/fuzz.sh).
    const std::string& current_file = file;
    auto follow = [&](const Json& schema) {
      if (!schema.is_object()) return;
      auto ref = schema.find("$ref");
      if (ref == schema.end() || !ref->is_string()) return;
      const std::string& target = ref->get_ref<const std::string&>();
      const auto hash = target.find('#');
      std::string target_file = hash == 0 ? current_file : target.substr(0, hash);
      std::string target_pointer = hash == std::string::npos ? "" : target.substr(hash + 1);
      todo.push_back({target_file, target_pointer});
    };
    follow(*node);
    if (auto all = node->find("allOf"); all != node->end() && all->is_array()) {
      for (const auto& branch : *all) {
        follow(branch);
        if (branch.is_object())
          if (auto props = branch.find("properties"); props != branch.end() && props->is_object())
            for (const auto& [key, value] : props->items())
              if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(key);
      }
    }
  }
  return out;
}

namespace detail::validation {

void ContractBuilder::build(Contract& contract, nlohmann::json manifest,
                            std::shared_ptr<const SchemaStore> store, const std::string& manifest_name) {
  const ManifestReader read(manifest_name);
  if (!manifest.is_object()) read.fail("(root)", "must be an object");

  // Every schema of the store, compiled once: a broken one is found at load time.
  for (const auto& name : store->names()) contract.by_name_.emplace(name, Schema::compile(*store, name));
  const auto schema_named = [&](const std::string& name, const std::string& where) -> const Schema& {
    auto it = contract.by_name_.find(name);
    if (it == contract.by_name_.end())
      read.fail(where, "no schema named \"" + name + "\" in the schema folder");
    return it->second;
  };

  const Json& operation = read.object(manifest, "operation", "(root)");
  const Json& request = read.object(operation, "request", "operation");
  contract.request_ =
      schema_named(read.string(request, "schema", "operation.request"), "operation.request.schema");

  const Json& responses = read.object(operation, "responses", "operation");
  if (responses.empty()) read.fail("operation.responses", "documents no status");
  for (auto it = responses.begin(); it != responses.end(); ++it) {
    const std::string where = "operation.responses." + it.key();
    int status = 0;
    const auto& key = it.key();
    auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), status);
    if (ec != std::errc() || end != key.data() + key.size() || status < 100 || status > 599) {
      read.fail(where, "a status must be a number from 100 to 599");
    }
    if (!it.value().is_object()) read.fail(where, "must be an object");
    contract.responses_.emplace(status,
                                schema_named(read.string(it.value(), "schema", where), where + ".schema"));
  }

  if (auto secrets = manifest.find("secret_fields"); secrets != manifest.end()) {
    if (!secrets->is_array()) read.fail("secret_fields", "must be an array of field names");
    for (const auto& field : *secrets) {
      if (!field.is_string()) read.fail("secret_fields", "must be an array of field names");
      contract.secret_fields_.push_back(field);
    }
  }

  if (auto echo = manifest.find("echo"); echo != manifest.end()) {
    if (!echo->is_array()) read.fail("echo", "must be an array of rules");
    for (std::size_t i = 0; i < echo->size(); ++i) {
      const Json& rule = (*echo)[i];
      const std::string where = "echo[" + std::to_string(i) + "]";
      if (!rule.is_object()) read.fail(where, "must be an object");
      EchoRule parsed;
      parsed.field = read.string(rule, "field", where);
      if (auto when = rule.find("when_sent"); when != rule.end()) {
        if (!when->is_boolean()) read.fail(where + ".when_sent", "must be a boolean");
        parsed.when_sent = *when;
      }
      if (auto value = rule.find("default"); value != rule.end()) parsed.default_value = *value;
      if (rule.contains("unless_sent")) parsed.unless_sent = read.string(rule, "unless_sent", where);
      if (rule.contains("default_because"))
        parsed.default_assumption = read.string(rule, "default_because", where);
      contract.echo_.push_back(std::move(parsed));
    }
  }

  if (auto siblings = manifest.find("siblings"); siblings != manifest.end()) {
    if (!siblings->is_object()) read.fail("siblings", "must be an object");
    for (auto it = siblings->begin(); it != siblings->end(); ++it) {
      if (!it.value().is_object()) read.fail("siblings." + it.key(), "must be an object");
      if (auto schema = it.value().find("schema"); schema != it.value().end()) {
        if (!schema->is_string()) read.fail("siblings." + it.key() + ".schema", "must be a schema name");
        schema_named(*schema, "siblings." + it.key() + ".schema");
      }
    }
  }

  contract.manifest_ = std::move(manifest);
  contract.store_ = std::move(store);
}

}  // namespace detail::validation
}  // namespace sipcontract
