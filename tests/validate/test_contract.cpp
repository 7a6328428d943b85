// Contract: the manifest, its schemas, and the errors a broken manifest gets.
#include <filesystem>
#include <fstream>
#include <random>

#include "helpers.hpp"

using namespace sipcontract;
using sipcontract::test::valid_request;
using sipcontract::test::valid_response;

namespace {

const std::filesystem::path kManifest =
    std::filesystem::path(CONTRACT_TESTS_DIR) / "create-subscriber-sip-endpoint.manifest.json";

std::string load_error(const std::string& manifest_text) {
  std::random_device seed;
  const auto path =
      std::filesystem::temp_directory_path() / ("sipcontract-manifest-" + std::to_string(seed()) + ".json");
  std::ofstream(path) << manifest_text;
  std::string error = "(no error)";
  try {
    Contract::load(path, SCHEMAS_DIR);
  } catch (const SchemaError& e) {
    error = e.what();
  }
  std::filesystem::remove(path);
  return error;
}

}  // namespace

TEST_CASE("the built-in contract documents the operation's statuses and rules", "[validate][contract]") {
  const Contract& contract = Contract::builtin();
  CHECK(contract.documented_statuses() == std::vector<int>{201, 401, 404, 422, 500});
  CHECK(contract.request_schema().title() == "Create Subscriber SIP Endpoint: request body");
  REQUIRE(contract.response_schema(201) != nullptr);
  CHECK(contract.response_schema(201)->title() == "Create Subscriber SIP Endpoint: 201 Created");
  CHECK(contract.response_schema(200) == nullptr);
  CHECK(contract.secret_fields() == std::vector<std::string>{"password", "password_confirmation"});
  for (const auto& field : contract.secret_fields()) CHECK(is_secret_field(field));
  REQUIRE(contract.echo_rules().size() == 8);
  CHECK(contract.echo_rules()[0].field == "username");
  CHECK_FALSE(contract.echo_rules()[0].when_sent);
  CHECK(contract.echo_rules()[1].when_sent);
  CHECK(contract.echo_rules()[5].default_value == nlohmann::json("default"));
  CHECK(contract.echo_rules()[6].unless_sent == "calling_handler_resource_id");
  CHECK(contract.manifest()["operation"]["method"] == "POST");
  CHECK(contract.schema("sip-endpoint.json").title() == "SipEndpoint");
  CHECK_THROWS_AS(contract.schema("nope.json"), SchemaError);
  CHECK(&Contract::builtin() == &contract);
}

TEST_CASE("the error bodies of the contract validate", "[validate][contract]") {
  const Contract& contract = Contract::builtin();
  CHECK(contract.validate_response(401, {{"error", "Unauthorized"}}).valid());
  CHECK(contract.validate_response(404, {{"error", "Not Found"}}).valid());
  CHECK(contract.validate_response(500, {{"error", "Internal Server Error"}}).valid());
  const nlohmann::json unprocessable = {{"errors",
                                         {{{"type", "validation_error"},
                                           {"code", "invalid_parameter"},
                                           {"message", "Ciphers are invalid"},
                                           {"attribute", nullptr},
                                           {"url", "https://signalwire.com/docs/apis/error-codes"}}}}};
  CHECK(contract.validate_response(422, unprocessable).valid());
  const Result wrong = contract.validate_response(401, {{"error", "Forbidden"}});
  REQUIRE(wrong.findings.size() == 1);
  CHECK(wrong.findings[0].pointer == "/error");
  CHECK(wrong.findings[0].message == "expected \"Unauthorized\", got \"Forbidden\"");
}

TEST_CASE("a contract loaded from the repository behaves as the built-in one", "[validate][contract]") {
  const Contract loaded = Contract::load(kManifest, SCHEMAS_DIR);
  const Contract& builtin = Contract::builtin();
  CHECK(loaded.documented_statuses() == builtin.documented_statuses());
  CHECK(loaded.manifest() == builtin.manifest());
  auto body = valid_request();
  body["codecs"] = {"opus"};
  CHECK(loaded.validate_request(body).findings == builtin.validate_request(body).findings);
  CHECK(loaded.validate_response(201, valid_response()).valid());
}

TEST_CASE("a broken manifest is an error naming the member", "[validate][contract][errors]") {
  CHECK(load_error("[]").find(": (root): must be an object") != std::string::npos);
  CHECK(load_error("{}").find(": (root): missing \"operation\"") != std::string::npos);
  CHECK(load_error(R"({"operation": {"request": {"schema": "x.json"}, "responses": {}}})")
            .find("operation.request.schema: no schema named \"x.json\" in the schema folder") !=
        std::string::npos);
  CHECK(load_error(R"({"operation": {"request": {"schema": "error-401.json"},
                        "responses": {"2xx": {"schema": "error-401.json"}}}})")
            .find("operation.responses.2xx: a status must be a number from 100 to 599") != std::string::npos);
  CHECK(load_error("{ nope").find("line 1, column 4: invalid literal") != std::string::npos);
  CHECK_THROWS_AS(Contract::load("/nonexistent/manifest.json", SCHEMAS_DIR), SchemaError);
  CHECK_THROWS_AS(Contract::load(kManifest, "/nonexistent/schemas"), SchemaError);
}

TEST_CASE("a request body that is not an object gets the type finding alone", "[validate][contract][oneOf]") {
  for (const char* text : {"[1]", "\"justice-league\"", "7", "null", "true"}) {
    const Result result = Contract::builtin().validate_request(nlohmann::json::parse(text));
    INFO(text);
    REQUIRE(result.findings.size() == 1);
    CHECK(result.findings[0].pointer == "");
    CHECK(result.findings[0].keyword == "type");
  }
}
