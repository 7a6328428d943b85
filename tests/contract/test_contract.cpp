// The contract module: a contract folder as typed data, loaded from files or from memory, with
// every member of the manifest read (one nothing reads is refused), the schemas compiled once,
// and the errors a broken contract gets.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <set>

#include "helpers.hpp"
#include "sipcontract/contract.hpp"
#include "test_support.hpp"

using namespace sipcontract;
using sipcontract::test::valid_request;
using sipcontract::test::valid_response;

namespace {

const std::filesystem::path kV1 = CONTRACT_TESTS_DIR;

/// The v1 contract's files, read from the repository (contract.json, schemas/*, cases/*).
std::map<std::string, std::string> v1_files() {
  std::map<std::string, std::string> files;
  files["contract.json"] = test::read_file(kV1 / "contract.json");
  for (const char* sub : {"schemas", "cases"})
    for (const auto& entry : std::filesystem::directory_iterator(kV1 / sub))
      if (entry.path().extension() == ".json")
        files[std::string(sub) + "/" + entry.path().filename().string()] = test::read_file(entry.path());
  return files;
}

/// The error loading v1 with its manifest changed by `edit`, or "(no error)".
std::string load_error(const std::function<void(nlohmann::json&)>& edit) {
  auto files = v1_files();
  auto manifest = nlohmann::json::parse(files["contract.json"]);
  edit(manifest);
  files["contract.json"] = manifest.dump();
  try {
    Contract::from_files(files, "test");
  } catch (const SchemaError& e) {
    return e.what();
  }
  return "(no error)";
}

/// Every JSON Pointer to an object member of `v` (the "$comment"s aside).
void member_pointers(const nlohmann::json& v, const std::string& at, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.items()) {
      if (key == "$comment") continue;
      const std::string p = at + "/" + pointer_escape(key);
      out.push_back(p);
      member_pointers(value, p, out);
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) member_pointers(v[i], at + "/" + std::to_string(i), out);
  }
}

}  // namespace

TEST_CASE("the built-in contract describes the whole resource", "[contract]") {
  const Contract& v1 = Contract::builtin();
  CHECK(v1.name() == "v1");
  CHECK(&Contract::builtin("v1") == &v1);
  CHECK(v1.base_path() == "/api/fabric");
  CHECK(v1.auth().scheme == "basic");
  CHECK(v1.secret_fields() == std::vector<std::string>{"password", "password_confirmation"});
  CHECK_FALSE(v1.sources().empty());
  for (const auto& s : v1.sources()) CHECK_THAT(s.url, Catch::StartsWith("https://"));

  const Operation& create = v1.operation_of_record();
  CHECK(create.name == "create");
  CHECK(create.method == "POST");
  CHECK(create.statuses() == std::vector<int>{201, 401, 404, 422, 500});
  REQUIRE(create.request);
  CHECK(create.request->schema->title() == "Create Subscriber SIP Endpoint: request body");
  REQUIRE(create.path_parameters.size() == 1);
  CHECK(create.path_parameters[0].format == "uuid");

  const Resource& res = v1.main_resource();
  for (Role role : {Role::kCreate, Role::kList, Role::kGet, Role::kUpdate, Role::kDelete}) {
    INFO(to_string(role));
    REQUIRE(res.operation(role) != nullptr);
    CHECK(res.operation(role)->role == role);
  }
  CHECK(res.operation(Role::kUpdate)->method == "PATCH");
  CHECK(res.operation(Role::kDelete)->response(204)->schema == nullptr);
  CHECK(res.operation(Role::kUpdate)->statuses() == std::vector<int>{200, 401, 404, 422, 500});
  REQUIRE(res.field("encryption"));
  CHECK(res.field("encryption")->default_value == nlohmann::json("default"));
  CHECK(res.field("call_handler")->default_assumption == "call-handler-default");
  CHECK(res.unique.size() == 1);
  CHECK(v1.assumptions().count("error-codes") == 1);
  CHECK_FALSE(v1.case_files().empty());
  CHECK(v1.documented_properties(res.schema_name).size() == 9);
}

TEST_CASE("a schema's properties come in document order with their referenced schemas", "[contract]") {
  const Contract& v1 = Contract::builtin();
  const std::vector<std::string> order = {"id",         "username",     "caller_id",
                                          "send_as",    "ciphers",      "codecs",
                                          "encryption", "call_handler", "calling_handler_resource_id"};
  CHECK(v1.documented_properties("sip-endpoint.json") == order);
  // A root "$ref" leads to the same declarations.
  CHECK(v1.documented_properties("create-sip-endpoint.response-201.json") == order);
  const auto properties = v1.property_schemas("sip-endpoint.json");
  REQUIRE(properties.size() == order.size());
  const auto schema_of = [&](const std::string& name) {
    for (const auto& p : properties)
      if (p.name == name) return p.schema;
    return nlohmann::json();
  };
  // "$ref" at the property and at its items is followed to common.json's definitions.
  CHECK(schema_of("id").at("format") == "uuid");
  CHECK(schema_of("encryption").at("enum") == nlohmann::json({"default", "required", "optional"}));
  CHECK(schema_of("codecs").at("type") == "array");
  CHECK(schema_of("codecs").at("items").at("enum").size() == 7);
  CHECK(schema_of("username").at("type") == "string");
  CHECK(v1.property_schemas("no-such-schema.json").empty());
}

TEST_CASE("the error bodies of the contract validate", "[contract]") {
  const Contract& contract = Contract::builtin();
  CHECK(contract.validate_response(401, {{"error", "Unauthorized"}}).valid());
  CHECK(contract.validate_response(404, {{"error", "Not Found"}}).valid());
  CHECK(contract.validate_response(500, {{"error", "Internal Server Error"}}).valid());
  for (const auto& [status, body] : contract.error_bodies())
    CHECK(contract.validate_response(status, body).valid());
  const Result wrong = contract.validate_response(401, {{"error", "Forbidden"}});
  REQUIRE(wrong.findings.size() == 1);
  CHECK(wrong.findings[0].pointer == "/error");
  const Result undocumented = contract.validate_response(418, nlohmann::json::object());
  REQUIRE(undocumented.findings.size() == 1);
  CHECK(undocumented.findings[0].keyword == "status");
}

TEST_CASE("a contract loaded from its folder or from memory behaves as the built-in one", "[contract]") {
  const Contract folder = Contract::load(kV1);
  const Contract file = Contract::load(kV1 / "contract.json");
  const Contract memory = Contract::from_files(v1_files(), "memory");
  const Contract& builtin = Contract::builtin();
  auto body = valid_request();
  body["codecs"] = {"opus"};
  for (const Contract* c : {&folder, &file, &memory}) {
    CHECK(c->documented_statuses() == builtin.documented_statuses());
    CHECK(c->validate_request(body).findings == builtin.validate_request(body).findings);
    CHECK(c->validate_response(201, valid_response()).valid());
    CHECK(c->case_files().size() == builtin.case_files().size());
    CHECK(c->operations().size() == 5);
  }
  CHECK(folder.cases_dir() == kV1 / "cases");
  // A copy points into its own schemas, not into the original's.
  std::optional<Contract> original = Contract::load(kV1);
  const Contract copy = *original;
  original.reset();
  CHECK(copy.validate_request(body).findings.size() == 1);
  CHECK(copy.main_resource().operation(Role::kGet)->response(200)->schema->title() == "SipEndpoint");
}

TEST_CASE("every member of every shipped manifest is read: a member nothing reads is refused", "[contract]") {
  for (const auto& name : Contract::builtin_names()) {
    // Each member, renamed, must make the load fail (a required one: missing; any other: unknown).
    const auto manifest =
        nlohmann::json::parse(test::read_file(std::filesystem::path(CONTRACTS_DIR) / name / "contract.json"));
    std::vector<std::string> pointers;
    member_pointers(manifest, "", pointers);
    REQUIRE(pointers.size() > 50);
    std::set<std::string> skipped_free_keys;  // members whose keys are names (operations, fields, ...)
    for (const auto& pointer : pointers) {
      const auto ptr = nlohmann::json::json_pointer(pointer);
      const std::string parent = ptr.parent_pointer().to_string();
      const std::string key = ptr.back();
      // Keys that are names chosen by the contract (an operation, a resource, a field, a status,
      // an assumption, a path parameter, an error body) are read as names, not as members.
      static const std::set<std::string> named = {"/operations", "/resources", "/assumptions",
                                                  "/errors/bodies"};
      auto parent_key = parent.substr(parent.rfind('/') + 1);
      if (named.count(parent) || parent.rfind("/errors/bodies", 0) == 0 || parent_key == "item" ||
          parent_key == "fields" || parent_key == "responses" || parent_key == "path_parameters" ||
          std::isdigit(static_cast<unsigned char>(key[0])))
        continue;
      INFO(name << ": " << pointer);
      const std::string error = load_error([&](nlohmann::json& m) {
        auto value = m.at(ptr);
        m.at(ptr.parent_pointer()).erase(key);
        m.at(ptr.parent_pointer())[key + "_typo"] = value;
      });
      CHECK_THAT(error, Catch::Contains(key + "_typo") || Catch::Contains("missing \"" + key + "\""));
    }
  }
}

TEST_CASE("a broken contract is an error naming the file and the member", "[contract][errors]") {
  CHECK_THAT(load_error([](nlohmann::json& m) { m["operations"]["create"]["request"]["schema"] = "x.json"; }),
             Catch::Contains("operations.create.request.schema: no schema named \"x.json\""));
  CHECK_THAT(load_error([](nlohmann::json& m) {
               m["operations"]["create"]["responses"]["2xx"] = {{"schema", "error-401.json"}};
             }),
             Catch::Contains("a status must be a number from 100 to 599"));
  CHECK_THAT(load_error([](nlohmann::json& m) { m["operations"]["list"]["of_record"] = true; }),
             Catch::Contains("exactly one operation has \"of_record\""));
  CHECK_THAT(load_error([](nlohmann::json& m) { m["operations"]["get"]["role"] = "fetch"; }),
             Catch::Contains("\"fetch\" is not a role"));
  CHECK_THAT(load_error([](nlohmann::json& m) {
               m["resources"]["sip_endpoint"]["fields"]["nickname"] = nlohmann::json::object();
             }),
             Catch::Contains("\"nickname\" is not a property of sip-endpoint.json"));
  CHECK_THAT(load_error([](nlohmann::json& m) {
               m["resources"]["sip_endpoint"]["fields"]["encryption"]["default_because"] =
                   "no-such-assumption";
             }),
             Catch::Contains("no assumption \"no-such-assumption\""));
  CHECK_THAT(load_error([](nlohmann::json& m) {
               m["operations"]["get"]["path_parameters"]["other"] = nlohmann::json::object();
             }),
             Catch::Contains("\"other\" is not in the path"));
  CHECK_THAT(load_error([](nlohmann::json& m) { m["operations"]["delete"]["role"] = "get"; }),
             Catch::Contains("a second get operation"));
  CHECK_THROWS_AS(Contract::load("/nonexistent/contract"), SchemaError);
  CHECK_THROWS_AS(Contract::builtin("v0"), SchemaError);
  CHECK_THROWS_AS(Contract::resolve("v0"), SchemaError);
  try {
    Contract::from_files({{"contract.json", "{ nope"}}, "memory");
    FAIL("no error");
  } catch (const SchemaError& e) {
    CHECK_THAT(e.what(), Catch::Contains("line 1, column 4"));
  }
}

TEST_CASE("a request body that is not an object gets the type finding alone", "[contract][oneOf]") {
  for (const char* text : {"[1]", "\"justice-league\"", "7", "null", "true"}) {
    const Result result = Contract::builtin().validate_request(nlohmann::json::parse(text));
    INFO(text);
    REQUIRE(result.findings.size() == 1);
    CHECK(result.findings[0].pointer == "");
    CHECK(result.findings[0].keyword == "type");
  }
}
