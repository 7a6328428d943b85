// sipcontract/contract.hpp: a contract as typed data. One contract is a folder (or the same files
// in memory): `contract.json` (the manifest), `schemas/*.json` (draft 7) and `cases/*.json` (what
// `sipcontract run` sends). The manifest names the API's operations (method, path, parameters,
// request and response schemas per status), the resources they act on (identity, the name a run
// marks, uniqueness, the defaults and echo rules of their fields, pagination), authentication, the
// secret fields, the error shape, and the assumptions the cases may make. validate, serve, run and
// diff read a contract only through this module; nothing else parses a manifest.
//
//   const auto& contract = sipcontract::Contract::builtin();            // "v1", compiled in
//   auto other = sipcontract::Contract::load("contracts/v2");           // or any folder
//   const auto& create = contract.operation_of_record();
//   auto result = create.validate_request(body);                        // findings, as validate gives
//   for (const auto& [status, response] : create.responses) ...
//
// A manifest that cannot be read, names a schema its folder lacks, or holds a member nothing reads
// is a SchemaError naming the file and the member (a typo must not silently drop a rule).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sipcontract/validate.hpp"

namespace sipcontract {

/// What an operation does to its resource.
enum class Role { kCreate, kList, kGet, kUpdate, kDelete };
/// "create", "list", "get", "update", "delete".
std::string_view to_string(Role role);

/// A path parameter of an operation ("{fabric_subscriber_id}").
struct PathParameter {
  std::string name;
  std::string format;  ///< "uuid" or "" (any non-empty segment)
};

/// A documented answer of an operation.
struct ResponseSpec {
  int status = 0;
  std::string content_type;  ///< the media type of its body ("" when it has none)
  std::string schema_name;   ///< "" when the answer has no body (a 204)
  const Schema* schema = nullptr;
};

/// What a request body must be.
struct RequestSpec {
  std::string content_type;
  std::string schema_name;
  const Schema* schema = nullptr;
};

/// One operation of the API.
struct Operation {
  std::string name;  ///< the manifest's key ("create"); cases name operations by it or by id
  std::string id;    ///< e.g. "createSubscriberSipEndpoint" (reports use it)
  std::string title;
  std::string resource;  ///< the resource it acts on
  Role role = Role::kCreate;
  bool of_record = false;  ///< the operation the contract is about (validate's default)
  std::string method;      ///< "POST"
  std::string path;        ///< relative to the contract's base path, with "{name}" parameters
  std::vector<PathParameter> path_parameters;
  std::optional<RequestSpec> request;
  std::map<int, ResponseSpec> responses;

  /// The response documented for `status`, or nullptr.
  const ResponseSpec* response(int status) const;
  /// The documented 2xx statuses, in order.
  std::vector<int> success_statuses() const;
  /// The documented statuses, in order.
  std::vector<int> statuses() const;
  /// Every finding of `body` against the request schema (no finding when there is none).
  Result validate_request(const nlohmann::json& body) const;
  /// Every finding of `body` against the schema for `status`; an undocumented status gives one
  /// finding with keyword "status" naming the documented ones.
  Result validate_response(int status, const nlohmann::json& body) const;
};

/// How a field of a resource is filled when a create does not send it, and what a 201 must echo.
struct FieldRule {
  std::string name;
  /// The documented default: a create that omits the field gets it, and the 201 must say so.
  std::optional<nlohmann::json> default_value;
  /// The default is an assumption, not the contract's (its id in the assumptions table).
  std::string default_assumption;
  /// The default does not apply when the request sent this other field.
  std::string unless_sent;
  /// Where the contract is silent: what the reference server answers for an omitted field (a
  /// literal, or {"generate": "uuid"}); never checked.
  std::optional<nlohmann::json> absent_value;
};

/// A rule that no two items share a field's value.
struct UniqueRule {
  std::string field;
  std::string scope;    ///< "project" (every parent) or "parent"
  std::string code;     ///< the 422 item's code for a repeat
  std::string message;  ///< and its message
};

/// How a list answer is paged.
struct PageSpec {
  std::string items = "data";   ///< the member holding the page's items
  std::string links = "links";  ///< the member holding self/first/next/prev
  std::string size_parameter;   ///< query parameter of the page size ("" = none)
  std::size_t default_size = 50;
  std::size_t max_size = 1000;
  std::string token_parameter;  ///< query parameter of the page cursor ("" = none)
};

/// A resource the operations act on.
struct Resource {
  std::string name;  ///< the manifest's key ("sip_endpoint")
  std::string title;
  std::string parent_parameter;   ///< the path parameter of the parent its items live under
  std::string parent_title;       ///< what a person calls the parent ("subscriber")
  std::string parent_option;      ///< the command-line option and placeholder naming the parent
  std::string id_field;           ///< the member holding an item's id ("id")
  std::string id_parameter;       ///< the path parameter naming one item
  std::string name_field;         ///< the request field a run marks with its run id
  std::string schema_name;        ///< an item as the API returns it
  std::vector<FieldRule> fields;  ///< the fields a create fills from a request, in schema order
  std::vector<UniqueRule> unique;
  PageSpec pages;

  /// The operation with `role` on this resource, or nullptr.
  const Operation* operation(Role role) const;
  /// The rule of `field`, or nullptr.
  const FieldRule* field(std::string_view name) const;

 private:
  friend class Contract;
  std::map<Role, const Operation*> operations_;
};

/// The 422 the API answers to a request it will not accept.
struct ValidationErrorShape {
  int status = 422;
  std::string items = "errors";  ///< the member holding the items
  nlohmann::json item_template;  ///< members every item carries ({"type": ..., "url": ...})
  std::string attribute = "attribute";
  std::string code = "code";
  std::string message = "message";
  /// The code for each situation: "missing", "invalid", "unreadable", "full".
  std::map<std::string, std::string> codes;
  /// codes[situation], or "" when the contract names none.
  std::string code_for(const std::string& situation) const;
};

/// How requests authenticate.
struct AuthSpec {
  std::string scheme = "basic";
  std::string user_env;      ///< the environment variable holding the user (SIGNALWIRE_PROJECT_ID)
  std::string user_title;    ///< what a person calls it ("Project ID")
  std::string token_env;  ///< the environment variable holding the token (the Basic auth secret)
  std::string token_title;
};

/// A property a schema declares at its root, with its own schema: a "$ref" at the property, and
/// one at its "items", followed to the schema it names (so an enum or a format defined elsewhere
/// shows). What a server or a tool needs to know of a field without a validator.
struct PropertySchema {
  std::string name;
  nlohmann::json schema;
};

/// Where a rule comes from.
struct Source {
  std::string title;
  std::string url;
};

/// A contract: operations, resources, schemas, cases. Immutable once loaded; safe to share.
class Contract {
 public:
  /// Loads a contract folder (contract.json, schemas/, cases/), or a contract.json whose
  /// schemas/ and cases/ sit beside it. Throws SchemaError naming the file and the problem.
  static Contract load(const std::filesystem::path& path);
  /// Loads a contract from files in memory: relative path ("contract.json", "schemas/x.json",
  /// "cases/y.json") -> text. No temporary folder.
  static Contract from_files(const std::map<std::string, std::string>& files, const std::string& origin);
  /// A contract compiled into this binary ("v1", the contract of record, unless named).
  static const Contract& builtin(std::string_view name = "v1");
  /// The names of the built-in contracts.
  static std::vector<std::string> builtin_names();
  /// A built-in name, or a folder or contract.json path.
  static Contract resolve(const std::string& name_or_path);

  const std::string& name() const { return name_; }
  const std::string& title() const { return title_; }
  const std::vector<Source>& sources() const { return sources_; }
  /// Where the contract came from ("built-in v1" or a path), for messages.
  const std::string& origin() const { return origin_; }
  /// What Contract::resolve() takes to load this contract again: a built-in one's name, or the
  /// absolute path of the folder or contract.json it was loaded from (a ledger records it).
  std::string reference() const;
  /// The path prefix every operation's path sits under ("/api/fabric").
  const std::string& base_path() const { return base_path_; }
  const AuthSpec& auth() const { return auth_; }
  /// The media type of request and response bodies unless an operation says otherwise.
  const std::string& media_type() const { return media_type_; }
  /// Request fields whose values are never shown (password, password_confirmation).
  const std::vector<std::string>& secret_fields() const { return secret_fields_; }
  bool is_secret_field(std::string_view field) const;
  /// Fixed error bodies by status (401, 404, 500) the reference server answers with.
  const std::map<int, nlohmann::json>& error_bodies() const { return error_bodies_; }
  const ValidationErrorShape& validation_errors() const { return validation_; }
  /// id -> what is assumed (cases' "assume" blocks and field defaults name them).
  const std::map<std::string, std::string>& assumptions() const { return assumptions_; }

  /// Every operation, by its manifest key.
  const std::map<std::string, Operation>& operations() const { return operations_; }
  /// The operation named `key` or with id `key`, or nullptr.
  const Operation* operation(std::string_view key) const;
  /// The operation the contract is about (exactly one has "of_record").
  const Operation& operation_of_record() const { return *of_record_; }
  const std::map<std::string, Resource>& resources() const { return resources_; }
  /// The resource of the operation of record.
  const Resource& main_resource() const;

  /// The schemas, by file name; and one of them compiled (throws SchemaError when absent).
  const SchemaStore& schema_store() const { return *store_; }
  const Schema& schema(const std::string& name) const;
  /// The property names the schema `name` declares at its root (following a root "$ref" and
  /// "allOf"), in document order: the fields the contract documents for such a document.
  std::vector<std::string> documented_properties(const std::string& name) const;
  /// The same properties with their schemas (see PropertySchema), in document order.
  std::vector<PropertySchema> property_schemas(const std::string& name) const;
  /// The case files: name ("valid.json") -> text, in name order.
  const std::map<std::string, std::string>& case_files() const { return case_files_; }
  /// The folder the cases were read from ("" in memory): body files resolve there.
  const std::filesystem::path& cases_dir() const { return cases_dir_; }

  // The operation of record, for the callers that deal with it alone.
  Result validate_request(const nlohmann::json& body) const;
  Result validate_response(int status, const nlohmann::json& body) const;
  Verdict check_request(std::string_view text, const ParseLimits& limits = {}) const;
  TextResult validate_request_text(std::string_view text, const ParseLimits& limits = {}) const;
  Verdict check_response(int status, std::string_view text, const ParseLimits& limits = {}) const;
  TextResult validate_response_text(int status, std::string_view text, const ParseLimits& limits = {}) const;
  const Schema* response_schema(int status) const;
  const Schema& request_schema() const;
  std::vector<int> documented_statuses() const;

  Contract(const Contract& other);
  Contract& operator=(const Contract& other);
  Contract(Contract&&) noexcept;
  Contract& operator=(Contract&&) noexcept;
  ~Contract();

 private:
  Contract() = default;
  friend struct ContractLoader;
  void relink();  // points the operations' schemas and the resources' operations into this copy

  std::string name_, title_, origin_, base_path_, media_type_ = "application/json";
  std::vector<Source> sources_;
  AuthSpec auth_;
  std::vector<std::string> secret_fields_;
  std::map<int, nlohmann::json> error_bodies_;
  ValidationErrorShape validation_;
  std::map<std::string, std::string> assumptions_;
  std::map<std::string, Operation> operations_;
  const Operation* of_record_ = nullptr;
  std::map<std::string, Resource> resources_;
  std::shared_ptr<const SchemaStore> store_;
  std::map<std::string, Schema> schemas_;
  std::map<std::string, std::string> case_files_;
  std::filesystem::path cases_dir_;
};

}  // namespace sipcontract
