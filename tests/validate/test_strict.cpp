// Strict mode (Schema::strict): members no applying schema object declares are findings, with
// the closest declared name as a suggestion; both verdict paths include it.
#include <string>

#include "helpers.hpp"
#include "testing.hpp"

using namespace sipcontract;
using sipcontract::test::describe;
using sipcontract::test::doc;
using sipcontract::test::find_finding;
using sipcontract::test::schema_of;
using sipcontract::test::valid_request;
using Access = sipcontract::detail::SchemaAccess;

namespace {

/// validate() on `text`, after checking that every verdict path agrees with it.
Result checked(const Schema& schema, const std::string& text) {
  const Result result = schema.validate(doc(text));
  INFO(text << "\n" << describe(result));
  CHECK((schema.check(text) == Verdict::kValid) == result.valid());
  CHECK(schema.is_valid(doc(text)) == result.valid());
  CHECK(Access::slow_is_valid(schema, doc(text)) == result.valid());
  CHECK(Access::fast_is_valid(schema, doc(text)) == std::optional<bool>(result.valid()));
  CHECK(Access::slow_validate(schema, doc(text)).findings == result.findings);
  CHECK(schema.validate_text(text).result.findings == result.findings);
  return result;
}

}  // namespace

TEST_CASE("strict mode flags a misspelled request field with a suggestion", "[validate][strict]") {
  const Schema& request = Contract::builtin().request_schema();
  const Schema strict = request.strict();
  CHECK(strict.is_strict());
  CHECK_FALSE(request.is_strict());
  auto body = valid_request();
  body["codec"] = {"OPUS"};
  CHECK(request.validate(body).valid());  // objects are open by default
  const Result result = checked(strict, body.dump());
  REQUIRE(result.findings.size() == 1);
  const Finding& f = result.findings[0];
  CHECK(f.pointer == "");
  CHECK(f.keyword == "strict");
  CHECK(f.property == "codec");
  CHECK(f.suggestion == nlohmann::json("codecs"));
  CHECK(f.message ==
        "property \"codec\" is not declared by the schema (strict mode); did you mean \"codecs\"?");

  body = valid_request();
  body["passwordConfirmation"] = "x";
  const Result second = checked(strict, body.dump());
  REQUIRE(second.findings.size() == 1);
  CHECK(second.findings[0].suggestion == nlohmann::json("password_confirmation"));
  CHECK(checked(strict, valid_request().dump()).valid());
}

TEST_CASE("strict mode counts every schema object that applies in place", "[validate][strict]") {
  const Schema schema = schema_of(R"({
    "properties": {"a": {"type": "integer"}},
    "allOf": [{"properties": {"b": true}}],
    "oneOf": [{"properties": {"c": true}, "required": ["c"]}, {"$ref": "#/definitions/d"}],
    "definitions": {"d": {"properties": {"d": true}, "required": ["d"]}},
    "if": {"properties": {"e": true}}, "then": {"patternProperties": {"^x-": true}},
    "dependencies": {"a": {"properties": {"f": true}}}})")
                            .strict();
  CHECK(checked(schema, R"({"a": 1, "b": 2, "c": 3, "e": 4, "x-y": 5, "f": 6})").valid());
  CHECK(checked(schema, R"({"d": 1, "b": 2})").valid());
  const Result result = checked(schema, R"({"c": 1, "zz": 2})");
  REQUIRE(find_finding(result, "", "strict") != nullptr);
  CHECK(find_finding(result, "", "strict")->property == "zz");
}

TEST_CASE("strict mode goes into nested objects and arrays, and leaves open objects alone",
          "[validate][strict]") {
  const Schema schema = schema_of(R"({
    "properties": {
      "list": {"items": {"properties": {"name": true}}},
      "pair": {"items": [{"properties": {"k": true}}], "additionalItems": {"properties": {"v": true}}},
      "open": {"properties": {"a": true}, "additionalProperties": true},
      "typed": {"properties": {"a": true}, "additionalProperties": {"type": "string"}},
      "free": {"type": "object"}
    }})")
                            .strict();
  CHECK(checked(schema, R"({"list": [{"name": 1}], "pair": [{"k": 1}, {"v": 2}], "open": {"b": 1},
                            "typed": {"b": "x"}, "free": {"anything": 1}})")
            .valid());
  const Result result =
      checked(schema, R"({"list": [{"name": 1}, {"nmae": 2}], "pair": [{"v": 1}, {"k": 2}]})");
  CHECK(result.findings.size() == 3);
  REQUIRE(find_finding(result, "/list/1", "strict") != nullptr);
  CHECK(find_finding(result, "/list/1", "strict")->suggestion == nlohmann::json("name"));
  CHECK(find_finding(result, "/pair/0", "strict") != nullptr);
  CHECK(find_finding(result, "/pair/1", "strict") != nullptr);
}

TEST_CASE("strict mode adds to the other findings in document order", "[validate][strict]") {
  const Schema schema =
      schema_of(R"({"properties": {"a": {"type": "string"}, "b": {"type": "string"}}})").strict();
  const Result result = checked(schema, R"({"b": 1, "a": 2, "c": 3})");
  REQUIRE(result.findings.size() == 3);
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].keyword == "strict");
  CHECK(result.findings[1].pointer == "/a");
  CHECK(result.findings[2].pointer == "/b");
}
