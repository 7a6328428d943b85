// Draft-7 keyword semantics, where valijson 1.0 departs from the spec, and the
// compiled keywords' findings.
#include <string>

#include "helpers.hpp"

using namespace sipcontract;
using sipcontract::test::describe;
using sipcontract::test::doc;
using sipcontract::test::find_finding;
using sipcontract::test::schema_of;

namespace {

// validate() and is_valid() must agree on every verdict.
bool valid(const Schema& schema, const nlohmann::json& instance) {
  const Result result = schema.validate(instance);
  INFO(describe(result));
  CHECK(result.valid() == schema.is_valid(instance));
  return result.valid();
}

}  // namespace

TEST_CASE("type integer accepts 1.0 and refuses 1.5", "[validate][type][draft7]") {
  const Schema schema = schema_of(R"({"type": "integer"})");
  CHECK(valid(schema, doc("1")));
  CHECK(valid(schema, doc("1.0")));
  CHECK(valid(schema, doc("-9223372036854775808")));
  CHECK(valid(schema, doc("18446744073709551615")));
  CHECK_FALSE(valid(schema, doc("1.5")));
  CHECK(schema.validate(doc("1.5")).findings.at(0).message == "expected integer, got number");
  CHECK(schema.validate(doc("\"1\"")).findings.at(0).message == "expected integer, got string");
}

TEST_CASE("type lists name every accepted type", "[validate][type]") {
  const Schema schema = schema_of(R"({"type": ["string", "number", "null"]})");
  CHECK(valid(schema, doc("null")));
  CHECK(valid(schema, doc("2")));
  const Result result = schema.validate(doc("[]"));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].message == "expected string, number or null, got array");
}

TEST_CASE("const compares numbers by value and shows both sides", "[validate][const][draft7]") {
  const Schema schema = schema_of(R"({"const": 1})");
  CHECK(valid(schema, doc("1.0")));
  CHECK_FALSE(valid(schema, doc("2")));
  const Schema object = schema_of(R"({"const": {"a": [1, "x"]}})");
  CHECK(valid(object, doc(R"({"a": [1.0, "x"]})")));
  CHECK_FALSE(valid(object, doc(R"({"a": ["x", 1]})")));
  const Result result = schema_of(R"({"const": "Unauthorized"})").validate(doc("\"Forbidden\""));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "const");
  CHECK(result.findings[0].message == "expected \"Unauthorized\", got \"Forbidden\"");
  CHECK(result.findings[0].allowed == std::vector<nlohmann::json>{"Unauthorized"});
}

TEST_CASE("enum matches any JSON type by draft-7 equality", "[validate][enum][draft7]") {
  const Schema schema = schema_of(R"({"enum": [1, "1", null, [1, 2], {"a": true}]})");
  CHECK(valid(schema, doc("1.0")));
  CHECK(valid(schema, doc("\"1\"")));
  CHECK(valid(schema, doc("null")));
  CHECK(valid(schema, doc("[1, 2.0]")));
  CHECK(valid(schema, doc(R"({"a": true})")));
  CHECK_FALSE(valid(schema, doc("[2, 1]")));
  CHECK_FALSE(valid(schema, doc("false")));
  const Result result = schema.validate(doc("2"));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].message ==
        R"(2 is not an allowed value; allowed: 1, "1", null, [1,2], {"a":true})");
}

TEST_CASE("uniqueItems treats 1 and 1.0 as equal", "[validate][uniqueItems][draft7]") {
  const Schema schema = schema_of(R"({"uniqueItems": true})");
  CHECK(valid(schema, doc(R"([1, 2, "1", [1], {"a": 1}])")));
  CHECK_FALSE(valid(schema, doc("[1, 1.0]")));
  CHECK_FALSE(valid(schema, doc(R"([{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}])")));
  const Result result = schema.validate(doc(R"(["a", "b", "a"])"));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].keyword == "uniqueItems");
  CHECK(result.findings[0].message == "items 0 and 2 are equal; items must be unique");
}

TEST_CASE("uniqueItems stays linear on a large array", "[validate][uniqueItems][limits]") {
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 200000; ++i) items.push_back(i);
  const Schema schema = schema_of(R"({"uniqueItems": true})");
  CHECK(valid(schema, items));
  items.push_back(199999.0);
  CHECK_FALSE(valid(schema, items));
}

TEST_CASE("contains needs one matching item and fails on an empty array", "[validate][contains][draft7]") {
  const Schema schema = schema_of(R"({"contains": {"type": "integer", "minimum": 5}})");
  CHECK(valid(schema, doc(R"(["a", 3, 7])")));
  CHECK(valid(schema, doc(R"({"not": "an array"})")));
  const Result none = schema.validate(doc("[1, 2]"));
  REQUIRE(none.findings.size() == 1);
  CHECK(none.findings[0].keyword == "contains");
  CHECK(none.findings[0].message == "no item matches the \"contains\" schema");
  const Result empty = schema.validate(doc("[]"));
  REQUIRE(empty.findings.size() == 1);
  CHECK(empty.findings[0].message ==
        "must contain an item matching the \"contains\" schema; the array is empty");
}

TEST_CASE("propertyNames reports the name that breaks it", "[validate][propertyNames][draft7]") {
  const Schema schema = schema_of(R"({"propertyNames": {"pattern": "^[a-z_]+$", "maxLength": 8}})");
  CHECK(valid(schema, doc(R"({"ok_name": 1})")));
  CHECK(valid(schema, doc("[]")));
  const Result result = schema.validate(doc(R"({"ok": 1, "Bad": 2})"));
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].keyword == "propertyNames");
  CHECK(result.findings[0].property == "Bad");
  CHECK(result.findings[0].message ==
        "property name \"Bad\" is not allowed: \"Bad\" does not match the pattern \"^[a-z_]+$\"");
  CHECK_FALSE(schema_of(R"({"propertyNames": false})").is_valid(doc(R"({"a": 1})")));
  CHECK(schema_of(R"({"propertyNames": false})").is_valid(doc("{}")));
}

TEST_CASE("if then else applies the branch the condition selects", "[validate][if][draft7]") {
  const Schema schema = schema_of(R"({
    "if": {"properties": {"kind": {"const": "number"}}, "required": ["kind"]},
    "then": {"properties": {"value": {"type": "number"}}},
    "else": {"properties": {"value": {"type": "string"}}}
  })");
  CHECK(valid(schema, doc(R"({"kind": "number", "value": 3})")));
  CHECK(valid(schema, doc(R"({"kind": "text", "value": "x"})")));
  const Result then_fails = schema.validate(doc(R"({"kind": "number", "value": "3"})"));
  INFO(describe(then_fails));
  REQUIRE(then_fails.findings.size() == 1);
  CHECK(then_fails.findings[0].pointer == "/value");
  CHECK(then_fails.findings[0].keyword == "type");
  CHECK_FALSE(valid(schema, doc(R"({"value": 3})")));
  // then without if means nothing
  CHECK(valid(schema_of(R"({"then": false})"), doc("1")));
}

TEST_CASE("dependencies in both forms", "[validate][dependencies][draft7]") {
  const Schema schema = schema_of(R"({
    "dependencies": {
      "credit_card": ["billing_address"],
      "name": {"required": ["first"], "properties": {"first": {"type": "string"}}}
    }
  })");
  CHECK(valid(schema, doc(R"({"credit_card": 1, "billing_address": "x"})")));
  CHECK(valid(schema, doc(R"({"billing_address": "x"})")));
  CHECK(valid(schema, doc(R"({"name": 1, "first": "a"})")));
  const Result list = schema.validate(doc(R"({"credit_card": 1})"));
  REQUIRE(list.findings.size() == 1);
  CHECK(list.findings[0].keyword == "dependencies");
  CHECK(list.findings[0].property == "billing_address");
  CHECK(list.findings[0].message ==
        "property \"billing_address\" is required when \"credit_card\" is present");
  const Result schema_form = schema.validate(doc(R"({"name": 1, "first": 2})"));
  INFO(describe(schema_form));
  REQUIRE(schema_form.findings.size() == 1);
  CHECK(schema_form.findings[0].pointer == "/first");
  CHECK(schema_form.findings[0].message == "when \"name\" is present: expected string, got number");
}

TEST_CASE("additionalItems applies past an items array and defaults to anything",
          "[validate][items][draft7]") {
  const Schema open = schema_of(R"({"items": [{"type": "string"}, {"type": "number"}]})");
  CHECK(valid(open, doc(R"(["a", 1, null, {}])")));
  CHECK(valid(open, doc(R"(["a"])")));
  const Result wrong = open.validate(doc(R"([1, "a"])"));
  REQUIRE(wrong.findings.size() == 2);
  CHECK(wrong.findings[0].pointer == "/0");
  CHECK(wrong.findings[1].pointer == "/1");

  const Schema closed = schema_of(R"({"items": [{"type": "string"}], "additionalItems": false})");
  CHECK(valid(closed, doc(R"(["a"])")));
  const Result extra = closed.validate(doc(R"(["a", 1, 2])"));
  REQUIRE(extra.findings.size() == 1);
  CHECK(extra.findings[0].keyword == "additionalItems");
  CHECK(extra.findings[0].message == "must have at most 1 item, got 3");

  const Schema typed =
      schema_of(R"({"items": [{"type": "string"}], "additionalItems": {"type": "integer"}})");
  CHECK(valid(typed, doc(R"(["a", 1, 2])")));
  // valijson restarts additionalItems at the first item that failed; the spec does not
  const Result typed_wrong = typed.validate(doc(R"([5, 1, "x"])"));
  INFO(describe(typed_wrong));
  REQUIRE(typed_wrong.findings.size() == 2);
  CHECK(typed_wrong.findings[0].pointer == "/0");
  CHECK(typed_wrong.findings[1].pointer == "/2");

  // with a single items schema, additionalItems is ignored
  CHECK(valid(schema_of(R"({"items": {"type": "string"}, "additionalItems": false})"), doc(R"(["a", "b"])")));
}

TEST_CASE("exclusiveMinimum and exclusiveMaximum are numbers in draft 7", "[validate][numbers][draft7]") {
  const Schema schema = schema_of(R"({"exclusiveMinimum": 5, "exclusiveMaximum": 10.5})");
  CHECK(valid(schema, doc("5.000001")));
  CHECK(valid(schema, doc("10")));
  const Result low = schema.validate(doc("5"));
  REQUIRE(low.findings.size() == 1);
  CHECK(low.findings[0].keyword == "exclusiveMinimum");
  CHECK(low.findings[0].message == "must be > 5, got 5");
  CHECK(schema.validate(doc("10.5")).findings.at(0).message == "must be < 10.5, got 10.5");
  CHECK(valid(schema, doc("\"not a number\"")));
  const Schema both = schema_of(R"({"minimum": 1, "maximum": 3})");
  CHECK(valid(both, doc("1")));
  CHECK(valid(both, doc("3.0")));
  CHECK(both.validate(doc("0")).findings.at(0).message == "must be >= 1, got 0");
  CHECK(both.validate(doc("4")).findings.at(0).message == "must be <= 3, got 4");
  CHECK_THROWS_AS(schema_of(R"({"minimum": 1, "exclusiveMinimum": true})"), SchemaError);
}

TEST_CASE("comparisons of large integers are exact", "[validate][numbers]") {
  const Schema schema = schema_of(R"({"maximum": 9007199254740992})");
  CHECK(valid(schema, doc("9007199254740992")));
  CHECK_FALSE(valid(schema, doc("9007199254740993")));
  CHECK_FALSE(valid(schema_of(R"({"const": 9007199254740993})"), doc("9007199254740992.0")));
}

TEST_CASE("multipleOf works for integers and decimals", "[validate][numbers][draft7]") {
  const Schema five = schema_of(R"({"multipleOf": 5})");
  CHECK(valid(five, doc("10")));
  CHECK(valid(five, doc("10.0")));
  CHECK_FALSE(valid(five, doc("5.5")));  // valijson truncates 5.5 to 5 and accepts it
  CHECK_FALSE(valid(five, doc("7")));
  CHECK(five.validate(doc("7")).findings.at(0).message == "must be a multiple of 5, got 7");
  const Schema tenth = schema_of(R"({"multipleOf": 0.1})");
  CHECK(valid(tenth, doc("0.3")));
  CHECK(valid(tenth, doc("4")));
  CHECK_FALSE(valid(tenth, doc("0.35")));
  CHECK_THROWS_AS(schema_of(R"({"multipleOf": 0})"), SchemaError);
}

TEST_CASE("string lengths count characters", "[validate][length]") {
  const Schema schema = schema_of(R"({"minLength": 2, "maxLength": 3})");
  CHECK(valid(schema, doc("\"éé\"")));
  CHECK(valid(schema, doc("\"€€€\"")));
  CHECK(schema.validate(doc("\"a\"")).findings.at(0).message == "must be at least 2 characters long, got 1");
  CHECK(schema.validate(doc("\"abcd\"")).findings.at(0).message ==
        "must be at most 3 characters long, got 4");
  CHECK(valid(schema, doc("12345")));
}

TEST_CASE("item and property counts", "[validate][count]") {
  const Schema items = schema_of(R"({"minItems": 1, "maxItems": 2})");
  CHECK(items.validate(doc("[]")).findings.at(0).message == "must have at least 1 item, got 0");
  CHECK(items.validate(doc("[1,2,3]")).findings.at(0).message == "must have at most 2 items, got 3");
  const Schema properties = schema_of(R"({"minProperties": 2})");
  CHECK(properties.validate(doc(R"({"a": 1})")).findings.at(0).message ==
        "must have at least 2 properties, got 1");
}

TEST_CASE("additionalProperties false lists every unknown property", "[validate][additionalProperties]") {
  const Schema schema = schema_of(R"({"properties": {"a": {}, "b": {}}, "additionalProperties": false})");
  CHECK(valid(schema, doc(R"({"a": 1})")));
  const Result result = schema.validate(doc(R"({"a": 1, "x": 2, "y": 3})"));
  INFO(describe(result));
  REQUIRE(result.findings.size() == 2);
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[0].keyword == "additionalProperties");
  CHECK(result.findings[0].property == "x");
  CHECK(result.findings[0].message == "property \"x\" is not allowed; allowed: \"a\" and \"b\"");
  CHECK(result.findings[1].property == "y");
}

TEST_CASE("patternProperties use RE2 and combine with additionalProperties",
          "[validate][patternProperties]") {
  const Schema schema = schema_of(R"({
    "properties": {"id": {"type": "string"}},
    "patternProperties": {"^x-": {"type": "string"}, "^n_\\d+$": {"type": "integer"}},
    "additionalProperties": {"type": "boolean"}
  })");
  CHECK(valid(schema, doc(R"({"id": "a", "x-note": "b", "n_12": 3, "other": true})")));
  const Result result = schema.validate(doc(R"({"x-note": 1, "n_1": "x", "other": 0})"));
  INFO(describe(result));
  REQUIRE(result.findings.size() == 3);
  CHECK(result.findings[0].pointer == "/n_1");
  CHECK(result.findings[1].pointer == "/other");
  CHECK(result.findings[2].pointer == "/x-note");
}

TEST_CASE("pattern is searched anywhere in the string with RE2", "[validate][pattern]") {
  const Schema schema = schema_of(R"({"pattern": "\\d{3}"})");
  CHECK(valid(schema, doc("\"ab123cd\"")));
  CHECK(valid(schema, doc("12")));
  const Result result = schema.validate(doc("\"ab12\""));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "pattern");
  CHECK(result.findings[0].message == R"("ab12" does not match the pattern "\\d{3}")");
  CHECK(valid(schema_of(R"({"pattern": "^\\u0041\\u00e9$"})"), doc("\"Aé\"")));
  CHECK(valid(schema_of(R"({"pattern": "^(?<word>[a-z]+)$"})"), doc("\"abc\"")));
}

TEST_CASE("a pattern means what ECMA-262 says where RE2 reads it otherwise", "[validate][pattern]") {
  // Found by a differential run against ajv: each of these answered as RE2 reads the pattern.
  struct Case {
    const char* pattern;
    std::string text;
    bool matches;
  };
  const Case cases[] = {
      // "." is any character but a line terminator.
      {"^.$", "a", true},
      {"^.$", "\r", false},
      {"^.$", "\n", false},
      {"^.$", "\u2028", false},
      {"^.$", "\u2029", false},
      {"^[.]$", ".", true},  // in a class, a dot
      {"^[.]$", "a", false},
      // \s and \S know ECMA's white space, in and out of a class.
      {"^\\s$", "\u00a0", true},
      {"^\\s$", "\v", true},
      {"^\\s$", "\ufeff", true},
      {"^\\s$", "\u3000", true},
      {"^\\s$", "\u2005", true},
      {"^\\s$", "x", false},
      {"^\\S$", "\u00a0", false},
      {"^\\S$", "\u200b", true},  // a zero-width space is not white space
      {"^\\S$", "é", true},
      {"^[\\s]$", "\u1680", true},
      {"^[^\\s]$", "\u3000", false},
      {"^[\\S]$", "\u00a0", false},
      {"^[\\S]$", "😀", true},
      {"^[a\\S]$", " ", false},
      // A surrogate pair written as two escapes is the character it encodes; a lone one matches none.
      {"^\\uD83D\\uDE00$", "😀", true},
      {"^\\ud83d\\ude00+$", "😀😀", true},
      {"\\uD83D", "😀", false},
      {"^\\u00e9$", "é", true},
      // [\b] is a backspace, \cJ a line feed, [^] any character, [] none.
      {"^[\\b]$", "\b", true},
      {"^\\cJ$", "\n", true},
      {"^[^]$", "\n", true},
      {"[]", "a", false},
      {"^a[]?b$", "ab", true},
  };
  for (const auto& c : cases) {
    INFO(c.pattern << " on " << nlohmann::json(c.text).dump());
    const Schema schema = schema_of(nlohmann::json{{"pattern", c.pattern}}.dump());
    CHECK(valid(schema, nlohmann::json(c.text)) == c.matches);
    const Schema names = schema_of(nlohmann::json{{"propertyNames", {{"pattern", c.pattern}}}}.dump());
    CHECK(valid(names, nlohmann::json{{c.text, 1}}) == c.matches);
    const Schema properties = schema_of(nlohmann::json{{"patternProperties", {{c.pattern, false}}}}.dump());
    CHECK(valid(properties, nlohmann::json{{c.text, 1}}) == !c.matches);
  }
}

TEST_CASE("a pattern that would backtrack forever runs in linear time", "[validate][pattern][limits]") {
  const Schema schema = schema_of(R"({"pattern": "^(a+)+$"})");
  const std::string text = std::string(100000, 'a') + "!";
  CHECK_FALSE(valid(schema, nlohmann::json(text)));
  CHECK(valid(schema, nlohmann::json(std::string(100000, 'a'))));
}

TEST_CASE("a pattern RE2 cannot compile is a schema error naming it and its place", "[validate][pattern]") {
  try {
    schema_of(R"({"properties": {"a": {"pattern": "(?=x)y"}}})");
    FAIL("expected a SchemaError");
  } catch (const SchemaError& e) {
    CHECK(std::string(e.what()).rfind(
              "test.json: /properties/a/pattern: RE2 cannot compile the pattern \"(?=x)y\":", 0) == 0);
  }
  try {
    schema_of(R"({"patternProperties": {"(a": {}}})");
    FAIL("expected a SchemaError");
  } catch (const SchemaError& e) {
    CHECK(std::string(e.what()) ==
          "test.json: /patternProperties/(a: RE2 cannot compile the pattern \"(a\": missing ): (a");
  }
}

TEST_CASE("oneOf says which variants matched when more than one does", "[validate][oneOf]") {
  const Schema schema = schema_of(R"({"oneOf": [
    {"title": "short", "maxLength": 5}, {"title": "lower", "pattern": "^[a-z]*$"}, {"type": "string"}]})");
  CHECK(valid(schema, doc("\"ABCDEFGH\"")));
  const Result result = schema.validate(doc("\"abc\""));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "oneOf");
  CHECK(result.findings[0].message ==
        "matches more than one variant (\"short\", \"lower\", #3); it must match exactly one");
}

TEST_CASE("oneOf reports the closest variant's findings with absolute pointers", "[validate][oneOf]") {
  const Schema schema = schema_of(R"({"properties": {"contact": {"oneOf": [
    {"title": "email", "type": "object", "required": ["email"], "properties": {"email": {"format": "email"}}},
    {"title": "phone", "type": "object", "required": ["phone", "country"]}]}}})");
  CHECK(valid(schema, doc(R"({"contact": {"email": "a@example.com"}})")));
  const Result result = schema.validate(doc(R"({"contact": {"email": "not-an-email"}})"));
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "/contact/email");
  CHECK(result.findings[0].keyword == "oneOf");
  CHECK(result.findings[0].message == "in variant \"email\": \"not-an-email\" is not a valid email");
}

TEST_CASE("anyOf passes on any match and otherwise reports the closest variant", "[validate][anyOf]") {
  const Schema schema = schema_of(R"({"anyOf": [{"type": "string", "minLength": 3}, {"type": "integer"}]})");
  CHECK(valid(schema, doc("\"abc\"")));
  CHECK(valid(schema, doc("7")));
  const Result result = schema.validate(doc("\"ab\""));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "anyOf");
  CHECK(result.findings[0].message == "in variant #1: must be at least 3 characters long, got 2");
}

TEST_CASE("not with a general schema names the schema's title", "[validate][not]") {
  const Schema schema =
      schema_of(R"({"not": {"title": "a negative number", "type": "number", "maximum": -1}})");
  CHECK(valid(schema, doc("0")));
  CHECK(schema.validate(doc("-3")).findings.at(0).message == "must not match \"a negative number\"");
}

TEST_CASE("not over required fails for a non-object, as required holds vacuously",
          "[validate][not][draft7]") {
  const Schema schema = schema_of(R"({"not": {"required": ["a"]}})");
  CHECK(valid(schema, doc(R"({"b": 1})")));
  CHECK_FALSE(valid(schema, doc(R"({"a": 1})")));
  CHECK_FALSE(valid(schema, doc("5")));
  CHECK_FALSE(valid(schema, doc("[]")));
  CHECK(schema.validate(doc("5")).findings.at(0).keyword == "not");
}

TEST_CASE("boolean schemas", "[validate][draft7]") {
  CHECK(valid(schema_of("true"), doc("{}")));
  const Result root = schema_of("false").validate(doc("1"));
  REQUIRE(root.findings.size() == 1);
  CHECK(root.findings[0].keyword == "false schema");
  const Schema properties = schema_of(R"({"properties": {"a": false, "b": true}})");
  CHECK(valid(properties, doc(R"({"b": 1})")));
  const Result result = properties.validate(doc(R"({"a": 1})"));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "/a");
  CHECK(result.findings[0].message == "no value is allowed here (the schema is false)");
}

TEST_CASE("pointers escape names and tell indices from numeric names", "[validate][findings]") {
  const Schema schema =
      schema_of(R"({"additionalProperties": {"type": "array", "items": {"type": "string"}}})");
  const Result result = schema.validate(doc(R"({"a/b~c": [1], "2": ["x", 3]})"));
  INFO(describe(result));
  REQUIRE(result.findings.size() == 2);
  CHECK(result.findings[0].pointer == "/2/1");
  CHECK(result.findings[1].pointer == "/a~1b~0c/0");
}

TEST_CASE("findings come in document order", "[validate][findings]") {
  const Schema schema = schema_of(R"({"type": "object", "required": ["z"],
    "properties": {"a": {"type": "string"}, "list": {"items": {"type": "integer"}}}})");
  const Result result = schema.validate(doc(R"({"list": [1, "x", 3, "y", 5, 6, 7, 8, 9, 10, "z"], "a": 1})"));
  REQUIRE(result.findings.size() == 5);
  CHECK(result.findings[0].pointer == "");
  CHECK(result.findings[1].pointer == "/a");
  CHECK(result.findings[2].pointer == "/list/1");
  CHECK(result.findings[3].pointer == "/list/3");
  CHECK(result.findings[4].pointer == "/list/10");
}

TEST_CASE("a secret field's value never appears in any message", "[validate][secret]") {
  const std::string secret = "Sup3r-Secret-Value";
  const Schema schema =
      schema_of(R"({"properties": {
    "password": {"type": "string", "enum": ["one", "two"], "const": "one", "format": "uuid",
                 "pattern": "^[0-9]+$", "minLength": 40, "maxLength": 3},
    "password_confirmation": {"type": "number"},
    "nested": {"properties": {"password": {"enum": ["sUP3R-SECRET-VALUE"]}}},
    "list": {"properties": {"password": {"items": {"format": "email"}}}}
  }})")
          .with_secret_fields({"password", "password_confirmation"});  // as a contract names them
  const nlohmann::json body = {{"password", secret},
                               {"password_confirmation", secret},
                               {"nested", {{"password", secret}}},
                               {"list", {{"password", {secret}}}}};
  const Result result = schema.validate(body);
  INFO(describe(result));
  CHECK(result.findings.size() == 9);
  for (const auto& f : result.findings) {
    CHECK(to_json(f).dump().find("Sup3r") == std::string::npos);
    CHECK(to_string(f).find("Sup3r") == std::string::npos);
    CHECK(to_string(f).find(std::to_string(secret.size())) == std::string::npos);  // not even its length
  }
  const Finding* near_miss = find_finding(result, "/nested/password", "enum");
  REQUIRE(near_miss);
  CHECK_FALSE(near_miss->suggestion.has_value());
  CHECK(near_miss->message.rfind("the value (hidden: secret field) is not an allowed value", 0) == 0);
}

TEST_CASE("a secret member of a value shown in a message is hidden", "[validate][secret]") {
  const Schema schema =
      schema_of(R"({"const": {"user": "a"}, "enum": [{"user": "a"}]})").with_secret_fields({"password"});
  const Result result = schema.validate(doc(R"({"user": "b", "password": "Sup3r-Secret-Value"})"));
  INFO(describe(result));
  REQUIRE(result.findings.size() == 2);
  for (const auto& f : result.findings) CHECK(to_string(f).find("Sup3r") == std::string::npos);
  CHECK(find_finding(result, "", "const")->message ==
        R"(expected {"user":"a"}, got {"password":(hidden),"user":"b"})");
}

TEST_CASE("a 20 MB string is checked without trouble and shown shortened", "[validate][limits]") {
  const std::string big(20u << 20, 'x');
  const Schema schema = schema_of(R"({"properties": {"s": {"enum": ["a"], "pattern": "^y", "format": "uuid",
    "maxLength": 10, "type": "string"}}})");
  const nlohmann::json body = {{"s", big}};
  const Result result = schema.validate(body);
  INFO(describe(result));
  REQUIRE(result.findings.size() == 4);
  for (const auto& f : result.findings) CHECK(f.message.size() < 300);
  CHECK(find_finding(result, "/s", "format")->message ==
        "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"... (20971520 characters) is "
        "not a "
        "valid uuid");
  CHECK_FALSE(schema.is_valid(body));
}

TEST_CASE("a recursive schema refuses an instance deeper than it is applied to", "[validate][limits][ref]") {
  const Schema tree = schema_of(R"({"type": "object", "properties": {"child": {"$ref": "#"}}})");
  nlohmann::json shallow = nlohmann::json::object();
  shallow["child"]["child"]["child"] = nlohmann::json::object();
  CHECK(valid(tree, shallow));
  shallow["child"]["child"]["child"] = 3;
  const Result wrong = tree.validate(shallow);
  REQUIRE(wrong.findings.size() == 1);
  CHECK(wrong.findings[0].pointer == "/child/child/child");

  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "{\"child\":";
  deep += "{}" + std::string(20000, '}');
  ParseLimits limits;
  limits.max_depth = 30000;
  auto parsed = parse_json(deep, limits);
  REQUIRE(parsed);
  const Result result = tree.validate(*parsed);
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].keyword == "depth");
  CHECK_FALSE(tree.is_valid(*parsed));
}

TEST_CASE("a flood of findings stops at a bound", "[validate][limits]") {
  const Schema schema = schema_of(R"({"items": {"enum": ["a"]}})");
  nlohmann::json items = nlohmann::json::array();
  for (int i = 0; i < 100000; ++i) items.push_back("b");
  const Result result = schema.validate(items);
  CHECK(result.findings.size() <= 1001);
  CHECK(result.findings.back().keyword == "limit");
  CHECK(result.findings.front().pointer == "/0");
}

TEST_CASE("unknown formats are annotations", "[validate][format]") {
  CHECK(valid(schema_of(R"({"format": "x-custom"})"), doc("\"anything\"")));
  CHECK(valid(schema_of(R"({"format": "uuid"})"), doc("{}")));  // valijson fails an object here
  CHECK(valid(schema_of(R"({"format": "date"})"), doc("12")));  // valijson fails a number here
}
