// SchemaStore and Schema: where schema documents come from, and running a compiled schema.
#include <atomic>
#include <fstream>
#include <limits>
#include <mutex>
#include <sstream>
#include <system_error>

#include "compiled.hpp"
#include "fast.hpp"
#include "fast_text.hpp"
#include "schema_compiler.hpp"
#include "testing.hpp"

namespace sipcontract::detail {}  // namespace sipcontract::detail

namespace sipcontract::detail::validation {

std::string read_text_file(const std::filesystem::path& path, const char* what) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw SchemaError("cannot read " + std::string(what) + " " + path.string() + ": " + ec.message());
  const ParseLimits limits;
  if (size > limits.max_bytes) {
    throw SchemaError(std::string(what) + " " + path.string() + " is " + std::to_string(size) +
                      " bytes; the limit is " + std::to_string(limits.max_bytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SchemaError("cannot open " + std::string(what) + " " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw SchemaError("cannot read " + std::string(what) + " " + path.string());
  return std::move(text).str();
}

namespace {

// Validation of a recursive schema recurses once per level of the instance; past
// this depth the instance is refused before valijson could exhaust the stack.
constexpr std::size_t kMaxValidationDepth = 512;

bool deeper_than(const Json& value, std::size_t limit) {
  std::vector<std::pair<const Json*, std::size_t>> stack = {{&value, 1}};
  while (!stack.empty()) {
    auto [node, depth] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    if (depth > limit) return true;
    for (const auto& child : *node) {
      if (child.is_structured()) stack.emplace_back(&child, depth + 1);
    }
  }
  return false;
}

const Context& root_context() {
  static const Context root = {"<root>"};
  return root;
}

bool is_schema_file(const std::string& name) {
  const auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".json") && !ends_with(".test.json");
}

// Every "$ref" string in a document (any depth; documents are depth-bounded by parsing).
void collect_refs(const Json& node, std::vector<std::string>& into) {
  std::vector<const Json*> stack = {&node};
  while (!stack.empty()) {
    const Json* current = stack.back();
    stack.pop_back();
    if (current->is_object()) {
      if (auto ref = current->find("$ref"); ref != current->end() && ref->is_string()) into.push_back(*ref);
      for (const auto& child : *current) stack.push_back(&child);
    } else if (current->is_array()) {
      for (const auto& child : *current) stack.push_back(&child);
    }
  }
}

}  // namespace
}  // namespace sipcontract::detail::validation

namespace sipcontract {

using detail::validation::Json;

SchemaStore SchemaStore::from_directory(const std::filesystem::path& dir) {
  SchemaStore store;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) throw SchemaError("cannot read schema folder " + dir.string() + ": " + ec.message());
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) throw SchemaError("cannot read schema folder " + dir.string() + ": " + ec.message());
    const std::string name = it->path().filename().string();
    std::error_code type_error;
    if (!detail::validation::is_schema_file(name) || !it->is_regular_file(type_error)) continue;
    store.add(name, detail::validation::read_text_file(it->path(), "schema"));
  }
  if (ec) throw SchemaError("cannot read schema folder " + dir.string() + ": " + ec.message());
  return store;
}

void SchemaStore::add(std::string name, std::string text) { documents_[std::move(name)] = std::move(text); }

const std::string* SchemaStore::find(const std::string& name) const {
  auto it = documents_.find(name);
  return it == documents_.end() ? nullptr : &it->second;
}

std::vector<std::string> SchemaStore::names() const {
  std::vector<std::string> out;
  out.reserve(documents_.size());
  for (const auto& entry : documents_) out.push_back(entry.first);
  return out;
}

Schema Schema::compile(const SchemaStore& store, const std::string& name) {
  return Schema(detail::validation::compile_schema(store, name));
}

namespace detail {
/// A schema to compile on first use (Schema::compile_on_use).
struct DeferredSchema {
  std::shared_ptr<const SchemaStore> store;
  std::string name;
  std::once_flag once;
  std::shared_ptr<const CompiledSchema> compiled;     // set once, inside call_once
  std::atomic<const CompiledSchema*> ready{nullptr};  // `compiled`, once it is set

  const CompiledSchema& get() {
    // Once compiled, one atomic load: call_once costs a few dozen instructions more, on every
    // document.
    if (const CompiledSchema* done = ready.load(std::memory_order_acquire)) return *done;
    // A throw leaves `once` unset: the next use compiles again and throws the same error.
    std::call_once(once, [this] {
      compiled = validation::compile_schema(*store, name);
      ready.store(compiled.get(), std::memory_order_release);
    });
    return *compiled;
  }
};
}  // namespace detail

Schema Schema::compile_on_use(std::shared_ptr<const SchemaStore> store, std::string name) {
  auto deferred = std::make_shared<detail::DeferredSchema>();
  deferred->store = std::move(store);
  deferred->name = std::move(name);
  return Schema(std::move(deferred));
}

const detail::CompiledSchema& Schema::compiled() const { return impl_ ? *impl_ : deferred_->get(); }

Schema Schema::from_file(const std::filesystem::path& path) {
  namespace v = detail::validation;
  SchemaStore store;
  const std::string name = path.filename().string();
  store.add(name, v::read_text_file(path, "schema"));
  // Load the files its $refs name (and theirs) from the same folder; an absolute
  // URI can only be matched to a file by its "$id", so then the whole folder is read.
  const std::filesystem::path folder =
      path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::vector<std::string> queue = {name};
  bool whole_folder = false;
  while (!queue.empty() && !whole_folder) {
    const std::string current = queue.back();
    queue.pop_back();
    const Parsed parsed = parse_json(*store.find(current));
    if (!parsed) continue;  // compile() reports it
    std::vector<std::string> refs;
    v::collect_refs(*parsed, refs);
    for (const auto& ref : refs) {
      std::string document = ref.substr(0, ref.find('#'));
      if (document.rfind("./", 0) == 0) document.erase(0, 2);
      if (document.empty() || store.find(document) != nullptr) continue;
      if (document.find(':') != std::string::npos) {
        whole_folder = true;
        break;
      }
      if (document.find('/') != std::string::npos) continue;  // compile() reports it
      std::error_code ec;
      if (!std::filesystem::is_regular_file(folder / document, ec)) continue;  // compile() reports it
      store.add(document, v::read_text_file(folder / document, "schema"));
      queue.push_back(document);
    }
  }
  if (whole_folder) {
    SchemaStore all = SchemaStore::from_directory(folder);
    for (const auto& other : all.names()) {
      if (store.find(other) == nullptr) store.add(other, *all.find(other));
    }
  }
  return compile(store, name);
}

Result Schema::validate(const nlohmann::json& instance) const {
  const auto& compiled = this->compiled();
  // Most documents are valid: the verdict program says so without building a finding.
  if (compiled.fast && !(compiled.recursive && detail::validation::deeper_than(
                                                   instance, detail::validation::kMaxValidationDepth))) {
    const bool valid = detail::fast::valid(*compiled.fast, instance);
    if (valid && (!strict_ || detail::fast::strict_valid(*compiled.fast, instance))) return Result{};
    return detail::SchemaAccess::findings(*this, instance, !valid);
  }
  return detail::SchemaAccess::findings(*this, instance);
}

Schema Schema::strict(bool on) const {
  if (on && compiled().fast == nullptr)
    throw SchemaError(compiled().title +
                      ": strict mode needs the verdict program, which this schema has not");
  Schema out = *this;
  out.strict_ = on;
  return out;
}

Schema Schema::with_secret_fields(std::vector<std::string> fields) const {
  Schema out = *this;
  out.secret_fields_ = std::make_shared<const std::vector<std::string>>(std::move(fields));
  return out;
}

namespace {
// Constant-initialized at namespace scope, not a function's static: no guard to test on each call
// (one per line of validate_text()), and ready before any other file's static initialization.
constinit const std::vector<std::string> kNoSecretFields;
}  // namespace

const std::vector<std::string>& Schema::secret_fields() const {
  return secret_fields_ ? *secret_fields_ : kNoSecretFields;
}

}  // namespace sipcontract

namespace sipcontract::detail {

Result SchemaAccess::slow_validate(const Schema& schema, const nlohmann::json& instance) {
  const validation::ValijsonOnly alone;
  return findings(schema, instance);
}

Result SchemaAccess::findings(const Schema& schema, const nlohmann::json& instance, bool refused) {
  namespace v = detail::validation;
  const auto& compiled = schema.compiled();
  const v::FindingsScope scope(instance, schema.secret_fields(),
                               &compiled.names);  // no secret in any finding; findings by index
  Result result;
  if (compiled.recursive && v::deeper_than(instance, v::kMaxValidationDepth)) {
    result.findings.push_back(Finding{"",
                                      "depth",
                                      "the document nests deeper than " +
                                          std::to_string(v::kMaxValidationDepth) +
                                          " levels, the most this recursive schema is applied to",
                                      "",
                                      {},
                                      std::nullopt});
    return result;
  }
  valijson::ValidationResults results;
  bool valid = false;
  bool stopped = false;
  try {
    valid = v::run_unit(*compiled.root, instance, v::root_context(), &results, refused);
  } catch (const v::TooManyFindings&) {
    stopped = true;
  }
  std::vector<v::LocatedFinding> located;
  if (!valid) located = v::collect_findings(results);
  if (schema.strict_) {
    const std::size_t before = located.size();
    fast::strict_findings(*compiled.fast, instance, located);
    valid = valid && located.size() == before;
  }
  if (valid) return result;
  result.findings = v::locate_findings(std::move(located), instance);
  if (result.findings.size() > v::kMaxFindings) {
    result.findings.resize(v::kMaxFindings);
    stopped = true;
  }
  if (stopped) {
    result.findings.push_back(
        Finding{"",
                "limit",
                "validation stopped after " + std::to_string(result.findings.size()) + " findings",
                "",
                {},
                std::nullopt});
  }
  if (result.findings.empty()) {
    // Every failure reports a finding; this keeps a verdict from ever reading as valid.
    result.findings.push_back(Finding{"", "schema", "does not match the schema", "", {}, std::nullopt});
  }
  return result;
}

bool SchemaAccess::slow_is_valid(const Schema& schema, const nlohmann::json& instance) {
  namespace v = detail::validation;
  const v::ValijsonOnly alone;
  const auto& compiled = schema.compiled();
  if (compiled.recursive && v::deeper_than(instance, v::kMaxValidationDepth)) return false;
  return v::run_unit(*compiled.root, instance, v::root_context(), nullptr) &&
         (!schema.strict_ || fast::strict_valid(*compiled.fast, instance));
}

std::optional<bool> SchemaAccess::fast_is_valid(const Schema& schema, const nlohmann::json& instance) {
  const auto& compiled = schema.compiled();
  if (!compiled.fast) return std::nullopt;
  if (compiled.recursive && validation::deeper_than(instance, validation::kMaxValidationDepth)) return false;
  return fast::valid(*compiled.fast, instance) &&
         (!schema.strict_ || fast::strict_valid(*compiled.fast, instance));
}

std::optional<std::vector<Finding>> SchemaAccess::reported(const Schema& schema, std::string_view text) {
  const auto& compiled = schema.compiled();
  if (!compiled.fast) return std::nullopt;
  fast::Refusal refusal;
  refusal.secret_fields = &schema.secret_fields();
  const std::size_t recursion_limit =
      compiled.recursive ? validation::kMaxValidationDepth : std::numeric_limits<std::size_t>::max();
  if (fast::check_text(*compiled.fast, text, ParseLimits{}, recursion_limit, schema.strict_, &refusal) !=
          fast::TextVerdict::kInvalid ||
      !refusal.explained)
    return std::nullopt;
  return std::move(refusal.findings);
}

Verdict SchemaAccess::slow_check(const Schema& schema, std::string_view text, const ParseLimits& limits) {
  const Parsed parsed = parse_json(text, limits);
  if (!parsed) return Verdict::kNotJson;
  return slow_is_valid(schema, *parsed) ? Verdict::kValid : Verdict::kInvalid;
}

}  // namespace sipcontract::detail

namespace sipcontract {

bool Schema::is_valid(const nlohmann::json& instance) const {
  namespace v = detail::validation;
  const auto& compiled = this->compiled();
  if (compiled.recursive && v::deeper_than(instance, v::kMaxValidationDepth)) return false;
  if (compiled.fast) {
    return detail::fast::valid(*compiled.fast, instance) &&
           (!strict_ || detail::fast::strict_valid(*compiled.fast, instance));
  }
  return v::run_unit(*compiled.root, instance, v::root_context(), nullptr);
}

Verdict Schema::check(std::string_view text, const ParseLimits& limits) const {
  namespace v = detail::validation;
  const auto& compiled = this->compiled();
  if (text.size() > limits.max_bytes) return Verdict::kNotJson;
  if (compiled.fast) {
    const std::size_t recursion_limit =
        compiled.recursive ? v::kMaxValidationDepth : std::numeric_limits<std::size_t>::max();
    switch (detail::fast::check_text(*compiled.fast, text, limits, recursion_limit, strict_)) {
      case detail::fast::TextVerdict::kValid:
        return Verdict::kValid;
      case detail::fast::TextVerdict::kInvalid:
        return Verdict::kInvalid;
      case detail::fast::TextVerdict::kNotJson:
        return Verdict::kNotJson;
      case detail::fast::TextVerdict::kUndecided:
        break;
    }
  }
  const Parsed parsed = parse_json(text, limits);
  if (!parsed) return Verdict::kNotJson;
  return is_valid(*parsed) ? Verdict::kValid : Verdict::kInvalid;
}

TextResult Schema::validate_text(std::string_view text, const ParseLimits& limits) const {
  namespace v = detail::validation;
  TextResult out;
  const auto& compiled = this->compiled();
  if (compiled.fast && text.size() <= limits.max_bytes) {
    // The verdict program, and for a document it refuses the document itself, from one parse.
    const std::size_t recursion_limit =
        compiled.recursive ? v::kMaxValidationDepth : std::numeric_limits<std::size_t>::max();
    detail::fast::Refusal refusal;
    refusal.secret_fields = &secret_fields();
    refusal.names = &compiled.names;
    switch (detail::fast::check_text(*compiled.fast, text, limits, recursion_limit, strict_, &refusal)) {
      case detail::fast::TextVerdict::kValid:
        return out;
      case detail::fast::TextVerdict::kInvalid:
        if (refusal.explained) {
          out.result.findings = std::move(refusal.findings);
          out.verdict = Verdict::kInvalid;
          return out;
        }
        if (refusal.document && !refusal.document->is_discarded() && !refusal.document->is_null()) {
          nlohmann::json& document = *refusal.document;
          // Without strict mode the program's refusal is the schema's own verdict.
          out.result = detail::SchemaAccess::findings(*this, document, !strict_);
          out.verdict = out.result.valid() ? Verdict::kValid : Verdict::kInvalid;
          v::release(document);
          return out;
        }
        break;  // too deep for this recursive schema: parse_json's document below says so
      case detail::fast::TextVerdict::kNotJson:
      case detail::fast::TextVerdict::kUndecided:
        break;
    }
  } else if (check(text, limits) == Verdict::kValid) {
    return out;
  }
  // Not valid: the findings path explains it, with parse_json's exact error or validate()'s findings.
  ParseLimits hiding = limits;
  hiding.secret_fields = &secret_fields();
  hiding.names = &compiled.names;
  Parsed parsed = parse_json(text, hiding);
  if (!parsed) {
    out.verdict = Verdict::kNotJson;
    out.error = parsed.error();
    return out;
  }
  out.result = detail::SchemaAccess::findings(*this, *parsed);
  out.verdict = out.result.valid() ? Verdict::kValid : Verdict::kInvalid;
  return out;
}

bool Schema::has_fast_path() const { return compiled().fast != nullptr; }

const std::string& Schema::title() const { return compiled().title; }

}  // namespace sipcontract
