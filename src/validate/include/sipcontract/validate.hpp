// sipcontract/validate.hpp: JSON parsing with limits, and draft-7 schemas compiled once and
// shared by any number of threads. (A contract, its operations and their schemas: contract.hpp.)
//
//   auto schema = sipcontract::Schema::from_file("schema.json");
//   auto parsed = sipcontract::parse_json(text);
//   if (!parsed) std::cerr << parsed.error().to_string() << '\n';
//   for (const auto& f : schema.validate(*parsed).findings)
//     std::cout << f.pointer << ": " << f.message << " [" << f.keyword << "]\n";
//
// A document that breaks a schema is a result value (Result with findings);
// a schema that cannot be loaded is an exception (SchemaError).
// Compiled schemas are immutable and may be shared by any number of threads.
//
// From bytes, the fast way (a verdict for every line of a stream, findings only
// for the lines that need them):
//
//   if (schema.check(line) != sipcontract::Verdict::kValid) {
//     auto checked = schema.validate_text(line);  // the parse error, or every finding
//   }
//
// check() parses with simdjson and runs the schema compiled into a verdict program
// (no allocation per document); its verdict is by definition the one of parse_json()
// followed by is_valid(), which the tests and a differential fuzz target hold it to.
#pragma once

#include <cstddef>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sipcontract {

/// Bounds applied to every document read (requests, responses, schemas).
struct ParseLimits {
  std::size_t max_bytes = 64u << 20;  ///< larger input is refused before parsing
  std::size_t max_depth = 256;        ///< deeper nesting of arrays/objects is refused
  /// Member names whose values are secret (compared without case, as Schema::with_secret_fields):
  /// an error that would name a member (a repeated key) says "(hidden)" where the name holds the
  /// value of one of them, wherever in the text it sits. Not owned; none when null.
  const std::vector<std::string>* secret_fields = nullptr;
  /// Property names the schema declares, sorted: such a name is shown even where a secret is part
  /// of it (the schema's text says nothing of the secret). Not owned; none when null.
  const std::vector<std::string>* names = nullptr;
};

/// Why a text is not an acceptable JSON document; line and column are 1-based.
struct ParseError {
  std::string message;
  std::size_t line = 0;
  std::size_t column = 0;
  std::size_t byte_offset = 0;
  /// One line: "line L, column C: message" (or the message alone when no position applies).
  std::string to_string() const;
};

/// Either a document or the reason there is none.
class Parsed {
 public:
  Parsed(nlohmann::json document) : document_(std::move(document)) {}
  Parsed(ParseError error) : error_(std::move(error)) {}
  explicit operator bool() const { return error_.message.empty(); }
  const nlohmann::json& operator*() const { return document_; }
  nlohmann::json& operator*() { return document_; }
  const nlohmann::json* operator->() const { return &document_; }
  const ParseError& error() const { return error_; }

 private:
  nlohmann::json document_;
  ParseError error_;
};

/// Parses UTF-8 JSON text within the limits; never throws for bad input.
Parsed parse_json(std::string_view text, const ParseLimits& limits = {});

/// The values an "enum" or "const" allows, as a finding holds them: read-only, and shared by every
/// finding of the same rule (a finding holds the schema's list, not a copy of it). Reads as a
/// `const std::vector<nlohmann::json>&`, and is made from one. (Before 0.2, `Finding::allowed` was
/// that vector itself; code that changed a finding's list now makes a new one.)
///
/// A reference that values() (or the conversion) gives lives as long as some AllowedValues holds
/// the list: bind the AllowedValues, not the reference, to keep a temporary finding's values.
class AllowedValues {
 public:
  AllowedValues() = default;
  // Implicit both ways, so that a finding's list is made from, compared with and read as a vector.
  AllowedValues(std::vector<nlohmann::json> values);  // NOLINT(google-explicit-constructor)
  AllowedValues(std::initializer_list<nlohmann::json> values)
      : AllowedValues(std::vector<nlohmann::json>(values)) {}
  operator const std::vector<nlohmann::json>&() const { return values(); }  // NOLINT

  const std::vector<nlohmann::json>& values() const { return shared_ ? shared_->values : empty_list(); }
  bool empty() const { return !shared_ || shared_->values.empty(); }
  std::size_t size() const { return shared_ ? shared_->values.size() : 0; }
  const nlohmann::json& operator[](std::size_t i) const { return values()[i]; }
  const nlohmann::json& at(std::size_t i) const { return values().at(i); }
  const nlohmann::json& front() const { return values().front(); }
  const nlohmann::json& back() const { return values().back(); }
  std::vector<nlohmann::json>::const_iterator begin() const { return values().begin(); }
  std::vector<nlohmann::json>::const_iterator end() const { return values().end(); }
  std::vector<nlohmann::json>::const_iterator cbegin() const { return values().cbegin(); }
  std::vector<nlohmann::json>::const_iterator cend() const { return values().cend(); }
  /// The values as one JSON array, as nlohmann's dump() writes it (ill-formed UTF-8 replaced):
  /// written once, when the list is made.
  const std::string& json() const;

  friend bool operator==(const AllowedValues& a, const AllowedValues& b) { return a.values() == b.values(); }
  // Compared with a vector without making a list of it.
  friend bool operator==(const AllowedValues& a, const std::vector<nlohmann::json>& b) {
    return a.values() == b;
  }

 private:
  struct Shared {
    std::vector<nlohmann::json> values;
    std::string json;
  };
  static const std::vector<nlohmann::json>& empty_list();
  std::shared_ptr<const Shared> shared_;
};

/// One way a document breaks a rule.
struct Finding {
  std::string pointer;  ///< RFC 6901 JSON Pointer of the offending value ("" is the root)
  std::string
      keyword;  ///< the rule broken: a draft-7 keyword ("enum", "oneOf", ...) or an x-sipcontract-* one
  std::string message;    ///< one line a person can act on; never shows a secret field's value
  std::string property;   ///< for "required" and "additionalProperties": the property concerned
  AllowedValues allowed;  ///< for "enum"/"const": the allowed values
  std::optional<nlohmann::json> suggestion;  ///< for "enum": the closest allowed value, when one is obvious

  bool operator==(const Finding&) const = default;
};

/// Every finding of one validation, in document order; valid() when there are none.
struct Result {
  std::vector<Finding> findings;
  bool valid() const { return findings.empty(); }
};

/// A text's verdict against a schema, without the findings that explain it.
enum class Verdict {
  kValid,    ///< acceptable JSON that satisfies the schema
  kInvalid,  ///< acceptable JSON that breaks the schema
  kNotJson,  ///< not acceptable JSON (syntax, UTF-8, size, depth, a repeated key: see parse_json)
};

/// A text's verdict with what explains it (Schema::validate_text).
struct TextResult {
  Verdict verdict = Verdict::kValid;
  ParseError error;  ///< when kNotJson: why, exactly as parse_json() reports it
  Result result;     ///< when kInvalid: every finding, exactly as validate() reports them
  bool valid() const { return verdict == Verdict::kValid; }
};

/// A schema, manifest or schema folder that cannot be read, parsed or compiled.
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Where a schema's "$ref"s to other files are looked up: file name -> document text.
/// Built from a folder (every *.json in it) or document by document.
class SchemaStore {
 public:
  /// Every *.json file directly in `dir`; throws SchemaError if the folder is unreadable.
  static SchemaStore from_directory(const std::filesystem::path& dir);
  /// Adds or replaces one document under `name` (e.g. "common.json").
  void add(std::string name, std::string text);
  /// The text stored under `name`, or nullptr.
  const std::string* find(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::string> documents_;
};

namespace detail {
struct CompiledSchema;
struct DeferredSchema;
struct SchemaAccess;  // the module's internals (and its equivalence tests) reach a compiled schema
}  // namespace detail

/// A compiled draft-7 schema. Cheap to copy; safe to share across threads.
class Schema {
 public:
  /// Compiles the document `name` of `store`, resolving cross-file "$ref"s in the store.
  static Schema compile(const SchemaStore& store, const std::string& name);
  /// The same schema compiled on its first use instead (once, by whichever thread uses it first):
  /// for a contract's schemas, most of which one command never uses. A schema that does not
  /// compile throws its SchemaError from that use (and every later one).
  static Schema compile_on_use(std::shared_ptr<const SchemaStore> store, std::string name);
  /// Compiles a schema file; "$ref"s to other files resolve in the same folder.
  static Schema from_file(const std::filesystem::path& path);

  /// Every finding, in document order.
  Result validate(const nlohmann::json& instance) const;
  /// Verdict only: stops at the first failure (faster than validate()).
  bool is_valid(const nlohmann::json& instance) const;
  /// Verdict from bytes, the fastest way: the same verdict as parse_json(text, limits) then
  /// is_valid(). Builds no nlohmann document unless the fast parser refuses the text.
  Verdict check(std::string_view text, const ParseLimits& limits = {}) const;
  /// Findings from bytes: check() first; only a text that is not valid is parsed again with
  /// parse_json() and validated, so its error or findings are exactly theirs.
  TextResult validate_text(std::string_view text, const ParseLimits& limits = {}) const;
  /// True when verdicts come from the compiled verdict program; false when the schema uses
  /// something it does not support (verdicts are then validate()'s, and check() is no faster).
  bool has_fast_path() const;
  /// The schema's "title" (or its name when it has none).
  const std::string& title() const;

  /// The same schema in strict mode (cheap: the compiled form is shared). Strict mode adds a
  /// finding (keyword "strict") for every member of an object that no schema object applying to
  /// it declares in "properties" or "patternProperties", with the closest declared name as its
  /// suggestion; objects whose schema declares no member, or says "additionalProperties", are
  /// not judged. Every verdict (check, is_valid, validate) includes it.
  Schema strict(bool on = true) const;
  bool is_strict() const { return strict_; }
  /// A copy whose findings never show the value of a member named in `fields` (compared without
  /// case), nor the same value wherever else it sits in the document: a contract's secret fields.
  Schema with_secret_fields(std::vector<std::string> fields) const;
  const std::vector<std::string>& secret_fields() const;

 private:
  friend struct detail::SchemaAccess;
  explicit Schema(std::shared_ptr<const detail::CompiledSchema> impl) : impl_(std::move(impl)) {}
  explicit Schema(std::shared_ptr<detail::DeferredSchema> deferred) : deferred_(std::move(deferred)) {}
  /// The compiled form: impl_, or deferred_'s, compiled now if this is its first use.
  const detail::CompiledSchema& compiled() const;
  std::shared_ptr<const detail::CompiledSchema> impl_;  // compiled at construction...
  std::shared_ptr<detail::DeferredSchema> deferred_;    // ...or on first use
  bool strict_ = false;
  std::shared_ptr<const std::vector<std::string>> secret_fields_;
};

/// Escapes one reference token for a JSON Pointer ("~" -> "~0", "/" -> "~1").
std::string pointer_escape(std::string_view token);

/// A finding as one line: "<pointer>: <message> [<keyword>]" (the root pointer "" printed as "(root)").
std::string to_string(const Finding& finding);

/// A finding as JSON: {"pointer","keyword","message"[,"property","allowed","suggestion"]}.
nlohmann::json to_json(const Finding& finding);

}  // namespace sipcontract
