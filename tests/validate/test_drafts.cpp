// "$id" and "$ref" as draft 7 defines them (base URIs, location-independent identifiers, the
// built-in meta-schema), the drafts a "$schema" may declare, and exact multipleOf. The official
// suite (test_jsts.cpp) covers these too when its copy is present; these run everywhere.
#include <functional>
#include <string>

#include "helpers.hpp"
#include "testing.hpp"

using namespace sipcontract;
using sipcontract::test::doc;
using sipcontract::test::error_of;
using sipcontract::test::schema_of;
using Access = sipcontract::detail::SchemaAccess;

namespace {

/// The verdict on both paths, which must agree.
bool valid(const Schema& schema, const std::string& text) {
  const bool fast = schema.check(text) == Verdict::kValid;
  const bool findings = Access::slow_validate(schema, doc(text)).valid();
  INFO(text);
  CHECK(fast == findings);
  return fast;
}

}  // namespace

TEST_CASE("$id changes the base URI of the $refs below it", "[validate][refs]") {
  const Schema schema = schema_of(R"({
    "$id": "http://example.com/root.json",
    "properties": {"a": {"$ref": "item.json"}, "b": {"$ref": "#/definitions/n"}},
    "definitions": {
      "item": {"$id": "item.json", "type": "string"},
      "n": {"type": "number"}
    }})");
  CHECK(valid(schema, R"({"a": "x", "b": 1})"));
  CHECK_FALSE(valid(schema, R"({"a": 1})"));
  CHECK_FALSE(valid(schema, R"({"b": "x"})"));
}

TEST_CASE("a location-independent identifier is found by its name", "[validate][refs]") {
  const Schema schema = schema_of(R"({
    "items": {"$ref": "#code"},
    "definitions": {"c": {"$id": "#code", "enum": ["OPUS", "G722"]}}})");
  CHECK(valid(schema, R"(["OPUS"])"));
  CHECK_FALSE(valid(schema, R"(["G711"])"));
}

TEST_CASE("$id beside $ref does not change the base URI", "[validate][refs]") {
  const Schema schema = schema_of(R"({
    "$id": "http://example.com/base/",
    "definitions": {
      "s": {"$id": "http://example.com/foo.json", "type": "string"},
      "n": {"$id": "foo.json", "type": "number"}
    },
    "allOf": [{"$id": "http://example.com/", "$ref": "foo.json"}]})");
  CHECK(valid(schema, "1"));
  CHECK_FALSE(valid(schema, "\"a\""));
}

TEST_CASE("the draft-07 meta-schema is built in", "[validate][refs]") {
  const Schema schema = schema_of(R"({"$ref": "http://json-schema.org/draft-07/schema#"})");
  CHECK(valid(schema, R"({"type": "string", "minLength": 1})"));
  CHECK_FALSE(valid(schema, R"({"type": "strnig"})"));
  CHECK_FALSE(valid(schema, R"({"minLength": -1})"));
}

TEST_CASE("a $schema of another draft is refused by name", "[validate][drafts]") {
  CHECK(
      error_of([] { schema_of(R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})"); }) ==
      "test.json: /$schema: $schema \"https://json-schema.org/draft/2020-12/schema\" declares draft 2020-12, "
      "which sipcontract does not support; sipcontract validates draft-07 schemas, and draft-06 and "
      "draft-04 ones (with their own semantics)");
  CHECK(error_of([] {
          schema_of(R"({"$schema": "https://json-schema.org/draft/2019-09/schema"})");
        }).find("declares draft 2019-09") != std::string::npos);
  CHECK(error_of([] {
          schema_of(R"({"$schema": "http://json-schema.org/draft-03/schema#"})");
        }).find("declares draft-03") != std::string::npos);
  CHECK(error_of([] {
          schema_of(R"({"$schema": "http://example.com/my-meta"})");
        }).find("is not a meta-schema sipcontract knows") != std::string::npos);
  CHECK(error_of([] { schema_of(R"({"$schema": 7})"); }) ==
        "test.json: /$schema: $schema must be a string (a meta-schema URI)");
  // A referenced document's draft counts too.
  CHECK(error_of([] {
          schema_of(R"({"$ref": "other.json"})",
                    {{"other.json", R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})"}});
        }).find("declares draft 2020-12") != std::string::npos);
}

TEST_CASE("draft-07 and draft-06 $schema URIs are accepted, with or without https and #",
          "[validate][drafts]") {
  for (const char* uri :
       {"http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft-07/schema",
        "http://json-schema.org/draft-06/schema#"}) {
    INFO(uri);
    const Schema schema = schema_of(std::string(R"({"$schema": ")") + uri + R"(", "type": "integer"})");
    CHECK(valid(schema, "1"));
    CHECK_FALSE(valid(schema, "1.5"));
  }
}

TEST_CASE("draft-06 has no if/then/else", "[validate][drafts]") {
  const std::string body = R"("if": {"type": "string"}, "then": {"minLength": 3})";
  const Schema draft6 = schema_of(R"({"$schema": "http://json-schema.org/draft-06/schema#", )" + body + "}");
  const Schema draft7 = schema_of("{" + body + "}");
  CHECK(valid(draft6, "\"ab\""));
  CHECK_FALSE(valid(draft7, "\"ab\""));
}

TEST_CASE("draft-04 reads id, boolean exclusive bounds, and has no const", "[validate][drafts]") {
  const Schema schema = schema_of(R"({
    "$schema": "http://json-schema.org/draft-04/schema#",
    "id": "http://example.com/d4.json",
    "properties": {
      "a": {"maximum": 10, "exclusiveMaximum": true},
      "b": {"minimum": 1, "exclusiveMinimum": false},
      "c": {"const": 3},
      "d": {"$ref": "#/definitions/n"}
    },
    "definitions": {"n": {"type": "number"}}})");
  CHECK(valid(schema, R"({"a": 9.5, "b": 1, "c": 4, "d": 2})"));
  CHECK_FALSE(valid(schema, R"({"a": 10})"));
  CHECK_FALSE(valid(schema, R"({"b": 0})"));
  CHECK_FALSE(valid(schema, R"({"d": "x"})"));
}

TEST_CASE("multipleOf is exact on the numbers as written", "[validate][number]") {
  const Schema tenth = schema_of(R"({"multipleOf": 0.1})");
  CHECK(valid(tenth, "0.3"));
  CHECK(valid(tenth, "12345678.9"));
  CHECK_FALSE(valid(tenth, "0.31"));
  const Schema odd = schema_of(R"({"type": "integer", "multipleOf": 0.123456789})");
  CHECK_FALSE(valid(odd, "1e308"));
  const Schema small = schema_of(R"({"multipleOf": 1e-8})");
  CHECK(valid(small, "12391239123"));
  CHECK(valid(small, "1e300"));
  CHECK_FALSE(valid(small, "1e-9"));
  const Schema half = schema_of(R"({"multipleOf": 0.5})");
  CHECK(valid(half, "1e308"));
  CHECK(valid(half, "-7.5"));
  CHECK_FALSE(valid(half, "2.25"));
  const Schema big = schema_of(R"({"multipleOf": 3e300})");
  CHECK(valid(big, "6e300"));
  CHECK_FALSE(valid(big, "7"));
}

TEST_CASE("a refused document stays refused when a $ref names it after a search", "[validate][drafts]") {
  // The absolute URI is found in no document's $id, so every document of the store is loaded
  // (new.json is refused then); the fallback by file name must refuse it again, not use it.
  CHECK(error_of([] {
          schema_of(R"({"$id": "http://example.com/a.json", "$ref": "new.json"})",
                    {{"new.json", R"({"$schema": "https://json-schema.org/draft/2020-12/schema"})"}});
        }).find("declares draft 2020-12") != std::string::npos);
}
