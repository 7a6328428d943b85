// The fast verdict path (Schema::check, the verdict program behind is_valid) against the
// findings path (parse_json + valijson and the compiled checks): the same verdict on every
// schema case, every fixture, the parse-level rules and the number semantics of draft 7.
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "internal.hpp"
#include "testing.hpp"

using namespace sipcontract;
using sipcontract::test::schema_of;
using Access = sipcontract::detail::SchemaAccess;

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* name_of(Verdict verdict) {
  switch (verdict) {
    case Verdict::kValid:
      return "valid";
    case Verdict::kInvalid:
      return "invalid";
    case Verdict::kNotJson:
      return "not JSON";
  }
  return "?";
}

/// Holds every path to the slow one on `text`; returns the verdict.
Verdict agree(const Schema& schema, std::string_view text, const ParseLimits& limits = {}) {
  const Verdict slow = Access::slow_check(schema, text, limits);
  const Verdict fast = schema.check(text, limits);
  INFO("text: " << std::string(text.substr(0, 300)));
  INFO("slow path: " << name_of(slow) << ", fast path: " << name_of(fast));
  CHECK(fast == slow);
  const Parsed parsed = parse_json(text, limits);
  if (parsed) {
    const auto program = Access::fast_is_valid(schema, *parsed);
    if (program) CHECK(*program == (slow == Verdict::kValid));
    CHECK(schema.is_valid(*parsed) == (slow == Verdict::kValid));
    CHECK(schema.validate(*parsed).valid() == (slow == Verdict::kValid));
  }
  // validate_text gives the verdict with the slow path's own error or findings.
  const TextResult checked = schema.validate_text(text, limits);
  CHECK(checked.verdict == slow);
  if (slow == Verdict::kNotJson) {
    REQUIRE_FALSE(parsed);
    CHECK(checked.error.to_string() == parsed.error().to_string());
    CHECK(checked.error.byte_offset == parsed.error().byte_offset);
  } else if (slow == Verdict::kInvalid) {
    CHECK(checked.result.findings == Access::slow_validate(schema, *parsed).findings);
    CHECK(checked.result.findings == schema.validate(*parsed).findings);
  } else {
    CHECK(checked.result.findings.empty());
  }
  return slow;
}

/// Every schema of the built-in contract, by file name.
std::vector<std::pair<std::string, const Schema*>> contract_schemas() {
  std::vector<std::pair<std::string, const Schema*>> out;
  for (const auto& name : Contract::builtin().schema_store().names())
    out.emplace_back(name, &Contract::builtin().schema(name));
  return out;
}

}  // namespace

TEST_CASE("every schema of the contract has the fast path", "[validate][fast]") {
  for (const auto& [name, schema] : contract_schemas()) {
    INFO(name);
    CHECK(schema->has_fast_path());
  }
}

TEST_CASE("the fast path agrees with the findings path on every schema case", "[validate][fast][cases]") {
  const auto schemas = contract_schemas();
  std::size_t cases = 0;
  for (const auto& entry : std::filesystem::directory_iterator(SCHEMAS_DIR)) {
    const std::string file = entry.path().filename().string();
    if (file.size() < 10 || file.compare(file.size() - 10, 10, ".test.json") != 0) continue;
    INFO(file);
    const Parsed parsed = parse_json(read_file(entry.path()));
    REQUIRE(parsed);
    for (const auto& item : *parsed) {
      INFO(item.value("description", std::string()));
      const std::string text = item["data"].dump();
      // Against every schema, not only its own: more documents for each verdict program.
      for (const auto& [name, schema] : schemas) {
        INFO("schema " << name);
        agree(*schema, text);
      }
      ++cases;
    }
  }
  CHECK(cases > 50);
}

TEST_CASE("the fast path agrees with the findings path on every fixture", "[validate][fast][fixtures]") {
  const auto schemas = contract_schemas();
  std::size_t documents = 0;
  std::size_t reported = 0;  // refusals whose findings report() made
  for (const auto& entry : std::filesystem::recursive_directory_iterator(FIXTURES_DIR)) {
    if (!entry.is_regular_file()) continue;
    const std::string file = entry.path().string();
    INFO(file);
    const std::string text = read_file(entry.path());
    std::vector<std::string> documents_of_file;
    if (entry.path().extension() == ".ndjson") {
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) documents_of_file.push_back(line);
    } else {
      documents_of_file.push_back(text);
    }
    for (const auto& document : documents_of_file) {
      for (const auto& [name, schema] : schemas) {
        INFO("schema " << name);
        // agree() holds validate_text() to the findings path, through report() where it explains.
        if (agree(*schema, document) == Verdict::kInvalid && Access::reported(*schema, document)) ++reported;
      }
      ++documents;
    }
  }
  CHECK(documents > 50);
  CHECK(reported > 50);
}

TEST_CASE("the fast path applies parse_json's rules", "[validate][fast][parse]") {
  const Schema any = schema_of("{}");
  CHECK(agree(any, "\xEF\xBB\xBF{\"a\": 1}") == Verdict::kValid);  // one byte order mark is skipped
  CHECK(agree(any, "\xEF\xBB\xBF\xEF\xBB\xBF{}") == Verdict::kNotJson);
  CHECK(agree(any, R"({"a": 1, "a": 1})") == Verdict::kNotJson);
  CHECK(agree(any, R"({"a": 1, "\u0061": 2})") == Verdict::kNotJson);  // repeated after unescaping
  CHECK(agree(any, R"([{"x": {"b": 1, "c": 2, "b": 3}}])") == Verdict::kNotJson);
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
  CHECK(agree(any, many + "\"k0\": 1}") == Verdict::kNotJson);  // the sorted check for big objects
  CHECK(agree(any, many + "\"k40\": 1}") == Verdict::kValid);
  CHECK(agree(any, R"({"a": 1, "A": 1, "a ": 1})") == Verdict::kValid);
  CHECK(agree(any, "\"\\uD800\"") == Verdict::kNotJson);
  CHECK(agree(any, "\"\\uDC00\"") == Verdict::kNotJson);
  CHECK(agree(any, "\"\\uD83D\\uDE00\"") == Verdict::kValid);
  CHECK(agree(any, "\"\xC3\x28\"") == Verdict::kNotJson);      // invalid UTF-8
  CHECK(agree(any, "\"\xED\xA0\x80\"") == Verdict::kNotJson);  // an encoded surrogate
  CHECK(agree(any, "\"a\x01\"") == Verdict::kNotJson);
  CHECK(agree(any, std::string("{}\0", 3)) == Verdict::kNotJson);
  CHECK(agree(any, std::string("\"a\0b\"", 5)) == Verdict::kNotJson);
  CHECK(agree(any, "\"\\u0000\"") == Verdict::kValid);
  for (const char* text :
       {"",   " ",  "\n",      "[1] 2",   "[1,]",  "{\"a\":1,}", "01",        "1.",      "-",
        "+1", ".5", "1e",      "nul",     "tru",   "NaN",        "Infinity",  "'a'",     "{a: 1}",
        "[",  "]",  "{\"a\"}", "\"\\x\"", "1e400", "-1e400",     "\t[ ]\r\n", "/* */ {}"}) {
    agree(any, text);
  }
  for (const char* text : {"18446744073709551615", "18446744073709551616", "-9223372036854775808",
                           "-9223372036854775809", "123456789012345678901234567890", "1e-400", "-0", "-0.0",
                           "4.9e-324", "1.7976931348623157e308", "[1e-400, -0, 0.0]"}) {
    CHECK(agree(any, text) == Verdict::kValid);
  }
}

TEST_CASE("the fast path finds a repeated key at any two places of an object of any size",
          "[validate][fast][parse]") {
  // Keys compared only where their lengths (modulo 64) meet, and pairwise up to 12 keys then by
  // sorting: objects of 2 to 16 members, with a key repeated at every pair of places, whose other
  // keys share lengths (and lengths 64 apart) without being the same.
  const Schema any = schema_of("{}");
  const auto key = [](std::size_t i) {
    // Lengths 2, 3, 66, 67, 2, 3, ... (one more from key 10 on): from the third key on, each meets
    // an earlier one's length modulo 64, the same or 64 apart.
    std::string name(1 + i % 2 + (i % 4 >= 2 ? 64 : 0), 'a');
    name += std::to_string(i);
    return name;
  };
  for (std::size_t size = 2; size <= 16; ++size) {
    const auto object = [&](std::size_t repeat_at, std::size_t of) {
      std::string text = "{";
      for (std::size_t i = 0; i < size; ++i) {
        if (i > 0) text += ", ";
        text += "\"" + key(i == repeat_at ? of : i) + "\": " + std::to_string(i);
      }
      return text + "}";
    };
    INFO("members " << size);
    CHECK(agree(any, object(size, size)) == Verdict::kValid);
    for (std::size_t later = 1; later < size; ++later) {
      for (std::size_t earlier = 0; earlier < later; ++earlier) {
        INFO("key " << later << " repeats key " << earlier);
        CHECK(agree(any, object(later, earlier)) == Verdict::kNotJson);
      }
    }
  }
}

TEST_CASE("the fast path applies the size and depth limits", "[validate][fast][parse]") {
  const Schema any = schema_of("{}");
  ParseLimits limits;
  limits.max_bytes = 10;
  CHECK(agree(any, "[1, 2, 3]", limits) == Verdict::kValid);
  CHECK(agree(any, "[1, 2, 3, 4]", limits) == Verdict::kNotJson);
  limits = ParseLimits{};
  limits.max_depth = 3;
  CHECK(agree(any, "[[[1]]]", limits) == Verdict::kValid);
  CHECK(agree(any, "[[[[1]]]]", limits) == Verdict::kNotJson);
  CHECK(agree(any, R"({"a": [{"b": 1}]})", limits) == Verdict::kValid);
  CHECK(agree(any, R"({"a": [{"b": {}}]})", limits) == Verdict::kNotJson);
  CHECK(agree(any, R"([1, [2, [3]], {"x": [4]}])", limits) == Verdict::kValid);
  limits = ParseLimits{};
  CHECK(agree(any, std::string(256, '[') + std::string(256, ']'), limits) == Verdict::kValid);
  CHECK(agree(any, std::string(257, '[') + std::string(257, ']'), limits) == Verdict::kNotJson);
  // Past simdjson's own depth limit (1024), parse_json decides.
  limits.max_depth = 2000;
  CHECK(agree(any, std::string(1500, '[') + std::string(1500, ']'), limits) == Verdict::kValid);
}

TEST_CASE("the fast path bounds a recursive schema's depth as the findings path does",
          "[validate][fast][ref]") {
  const Schema tree = schema_of(R"({"type": "array", "items": {"$ref": "#"}})");
  ParseLimits limits;
  limits.max_depth = 1000;
  CHECK(agree(tree, std::string(512, '[') + std::string(512, ']'), limits) == Verdict::kValid);
  CHECK(agree(tree, std::string(513, '[') + std::string(513, ']'), limits) == Verdict::kInvalid);
  CHECK(agree(tree, "[[], [[]], [1]]", limits) == Verdict::kInvalid);
  const Schema linked = schema_of(
      R"({"definitions": {"node": {"type": "object", "properties": {"next": {"$ref": "#/definitions/node"},
          "value": {"type": "integer"}}, "required": ["value"]}}, "$ref": "#/definitions/node"})");
  CHECK(agree(linked, R"({"value": 1, "next": {"value": 2, "next": {"value": 3}}})") == Verdict::kValid);
  CHECK(agree(linked, R"({"value": 1, "next": {"value": 2, "next": {"value": 3.5}}})") == Verdict::kInvalid);
  CHECK(agree(linked, R"({"value": 1, "next": {"next": {"value": 3}}})") == Verdict::kInvalid);
}

TEST_CASE("the fast path compares numbers as draft 7 does", "[validate][fast][numbers]") {
  const Schema integer = schema_of(R"({"type": "integer"})");
  for (const char* text : {"1", "1.0", "-0.0", "1e2", "1.5", "18446744073709551615", "18446744073709551616",
                           "-9223372036854775809", "1e300", "4.9e-324"}) {
    agree(integer, text);
  }
  const Schema choices = schema_of(R"({"enum": [1, "1", null, [1, 2], {"a": true}, 18446744073709551615]})");
  for (const char* text : {"1", "1.0", "\"1\"", "null", "[1, 2]", "[1.0, 2e0]", "[2, 1]", "{\"a\": true}",
                           "{\"a\": true, \"b\": 1}", "{\"a\": 1}", "18446744073709551615",
                           "18446744073709551614", "1.8446744073709552e19", "true", "2"}) {
    agree(choices, text);
  }
  const Schema constant = schema_of(R"({"const": {"a": [1, "x"], "b": {"c": null}}})");
  for (const char* text :
       {R"({"b": {"c": null}, "a": [1.0, "x"]})", R"({"a": [1, "x"]})",
        R"({"a": [1, "x"], "b": {"c": null}, "d": 1})", R"({"a": ["x", 1], "b": {"c": null}})"}) {
    agree(constant, text);
  }
  const Schema unique = schema_of(R"({"uniqueItems": true})");
  std::string long_unique = "[";
  for (int i = 0; i < 40; ++i) long_unique += std::to_string(i) + ".0, ";
  for (const char* text :
       {"[1, 1.0]", "[1, \"1\"]", "[[1], [1.0]]", "[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1}]",
        "[{\"a\": 1}, {\"a\": 2}]", "[0, -0.0]", "[null, false, 0, \"\", [], {}]", "[]", "[1]"}) {
    agree(unique, text);
  }
  CHECK(agree(unique, long_unique + "40]") == Verdict::kValid);
  CHECK(agree(unique, long_unique + "17]") == Verdict::kInvalid);
  CHECK(agree(unique, long_unique + "{\"a\": [1]}, {\"a\": [1.0]}]") == Verdict::kInvalid);
  const Schema bounds = schema_of(
      R"({"minimum": -9223372036854775808, "maximum": 18446744073709551615, "exclusiveMaximum": 1e19,
          "multipleOf": 3})");
  for (const char* text : {"0", "3", "4", "-9223372036854775807", "-9223372036854775808",
                           "9999999999999999999", "18446744073709551615", "1.8e19", "3.0", "4.5", "-1e300"}) {
    agree(bounds, text);
  }
  const Schema decimal = schema_of(R"({"multipleOf": 0.1, "exclusiveMinimum": 0})");
  for (const char* text : {"0.3", "0.30000000000000004", "0.35", "7", "0", "1e-9", "123456789.1"}) {
    agree(decimal, text);
  }
}

TEST_CASE("the fast path applies every keyword as the findings path does", "[validate][fast][keywords]") {
  struct Case {
    const char* schema;
    std::vector<const char*> documents;
  };
  const std::vector<Case> cases = {
      {R"({"type": ["string", "null"], "minLength": 2, "maxLength": 3})",
       {"\"ab\"", "\"a\"", "\"abcd\"", "\"\xC3\xA9\xC3\xA9\"", "\"\xF0\x9F\x98\x80\"", "null", "1"}},
      {R"({"pattern": "^[a-z]+\\d?$", "format": "uuid"})",
       {"\"abc1\"", "\"ABC\"", "5", "\"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b\""}},
      {R"({"pattern": "\\u00e9", "minLength": 1})", {"\"caf\xC3\xA9\"", "\"cafe\""}},
      {R"({"format": "date-time"})", {"\"2024-02-29T12:00:00Z\"", "\"2023-02-29T12:00:00Z\"", "{}"}},
      {R"({"format": "email"})", {"\"a@b.co\"", "\"a@@b\"", "1"}},
      {R"({"minItems": 1, "maxItems": 2, "items": {"type": "integer"}})",
       {"[]", "[1]", "[1, 2.0]", "[1, 2, 3]", "[\"a\"]", "{}"}},
      {R"({"items": [{"type": "string"}, {"type": "number"}], "additionalItems": false})",
       {"[]", "[\"a\"]", "[\"a\", 1]", "[\"a\", 1, 2]", "[1]"}},
      {R"({"items": [{"type": "string"}], "additionalItems": {"type": "boolean"}})",
       {"[\"a\", true, false]", "[\"a\", true, 1]"}},
      {R"({"items": [{"type": "string"}]})", {"[\"a\", 1, null]", "[2]"}},
      {R"({"contains": {"const": 3}})", {"[1, 2, 3]", "[1, 2]", "[]", "[3.0]", "\"x\""}},
      {R"({"minProperties": 1, "maxProperties": 2})",
       {"{}", "{\"a\": 1}", "{\"a\": 1, \"b\": 2, \"c\": 3}", "[]"}},
      {R"({"required": ["a", "b"], "properties": {"a": {"type": "string"}}, "additionalProperties": false})",
       {"{\"a\": \"x\", \"b\": 1}", "{\"a\": \"x\"}", "{\"a\": 1, \"b\": 1}",
        "{\"a\": \"x\", \"b\": 1, \"c\": 1}", "5"}},
      {R"({"patternProperties": {"^x-": {"type": "integer"}, "y$": {"minimum": 0}},
           "additionalProperties": {"type": "string"}})",
       {"{\"x-a\": 1, \"b\": \"s\"}", "{\"x-a\": \"s\"}", "{\"b\": 1}", "{\"x-y\": -1}", "{\"x-y\": 1}"}},
      {R"({"properties": {"a": true, "b": false, "c": {}, "d": {"not": {}}, "e": {"type": "null"},
           "f": {"type": "null"}, "g": {"type": "null"}, "h": {"type": "null"}, "i": {"type": "null"},
           "j": {"type": "null"}}})",
       {"{\"a\": 1}", "{\"b\": 1}", "{\"c\": 1, \"j\": null}", "{\"d\": 1}", "{\"j\": 1}", "{\"zz\": 1}"}},
      {R"({"propertyNames": {"maxLength": 3, "pattern": "^[a-z]"}})",
       {"{\"abc\": 1}", "{\"abcd\": 1}", "{\"Abc\": 1}", "{}", "[\"abcdef\"]"}},
      {R"({"dependencies": {"a": ["b"], "c": {"required": ["d"]}, "e": {"not": {"type": "object"}}}})",
       {"{\"a\": 1, \"b\": 1}", "{\"a\": 1}", "{\"c\": 1, \"d\": 1}", "{\"c\": 1}", "{\"e\": 1}", "{}", "3"}},
      {R"({"allOf": [{"type": "number"}, {"minimum": 2}], "anyOf": [{"maximum": 3}, {"multipleOf": 5}]})",
       {"2", "3", "4", "10", "1", "\"a\""}},
      {R"({"oneOf": [{"type": "integer"}, {"minimum": 2}]})", {"1", "2", "2.5", "-1.5"}},
      {R"({"not": {"required": ["a"]}})", {"{}", "{\"a\": 1}", "5", "[]"}},
      {R"({"not": {"anyOf": [{"required": ["a"]}, {"required": ["b", "c"]}]}})",
       {"{}", "{\"a\": 1}", "{\"b\": 1}", "{\"b\": 1, \"c\": 1}", "\"s\""}},
      {R"({"not": {"type": "string", "title": "a string"}})", {"1", "\"s\""}},
      {R"({"if": {"properties": {"k": {"const": "n"}}}, "then": {"required": ["n"]}, "else": {"required": ["s"]}})",
       {"{\"k\": \"n\", \"n\": 1}", "{\"k\": \"n\"}", "{\"k\": \"s\", \"s\": 1}", "{\"k\": \"s\"}", "{}",
        "1"}},
      {R"({"if": {"type": "string"}, "then": {"minLength": 2}})", {"\"a\"", "\"ab\"", "1"}},
      {R"({"if": {"type": "string"}, "else": {"type": "integer"}})", {"\"a\"", "1", "1.5"}},
      {R"({"then": {"type": "string"}, "else": {"type": "string"}})", {"1", "\"a\""}},
      {R"({"x-sipcontract-equal-properties": {"a": "b"}})",
       {"{\"a\": 1, \"b\": 1.0}", "{\"a\": 1, \"b\": 2}", "{\"a\": 1}", "{\"a\": [1], \"b\": [1]}", "2"}},
      {R"({"const": null})", {"null", "0", "false"}},
      {"false", {"1", "null"}},
      {"true", {"1", "null"}},
      {R"({"enum": ["b", "a", "c"]})", {"\"a\"", "\"d\"", "1", "null"}},
      {R"({"type": "object", "unknownKeyword": 5, "definitions": {"x": {"type": "string"}}})", {"{}", "1"}},
  };
  for (const auto& c : cases) {
    INFO("schema: " << c.schema);
    const Schema schema = schema_of(c.schema);
    CHECK(schema.has_fast_path());
    for (const char* document : c.documents) agree(schema, document);
  }
}

TEST_CASE("the fast path resolves references across files", "[validate][fast][ref]") {
  const Schema schema = schema_of(R"({"properties": {"id": {"$ref": "other.json#/definitions/id"},
                                      "list": {"type": "array", "items": {"$ref": "other.json#/definitions/code"}}}})",
                                  {{"other.json", R"({"definitions": {"id": {"$ref": "#/definitions/uuid"},
                                      "uuid": {"type": "string", "format": "uuid"},
                                      "code": {"enum": ["A", "B"]}}})"}});
  CHECK(agree(schema, R"({"id": "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "list": ["A", "B"]})") ==
        Verdict::kValid);
  CHECK(agree(schema, R"({"id": "0b3f1a7e", "list": ["A"]})") == Verdict::kInvalid);
  CHECK(agree(schema, R"({"list": ["A", "C"]})") == Verdict::kInvalid);
}

TEST_CASE("the contract's text entry points give validate_request's findings", "[validate][fast][contract]") {
  const Contract& contract = Contract::builtin();
  const std::string valid = test::valid_request().dump();
  CHECK(contract.check_request(valid) == Verdict::kValid);
  CHECK(contract.validate_request_text(valid).valid());
  auto broken = test::valid_request();
  broken["codecs"] = {"OPUS", "G711"};
  broken["password_confirmation"] = "other";
  const TextResult checked = contract.validate_request_text(broken.dump());
  CHECK(checked.verdict == Verdict::kInvalid);
  CHECK(checked.result.findings == contract.validate_request(broken).findings);
  CHECK(contract.check_request("{\"username\": ") == Verdict::kNotJson);
  CHECK(contract.validate_request_text("{\"username\": ").error.to_string() ==
        parse_json("{\"username\": ").error().to_string());
  const std::string response = test::valid_response().dump();
  CHECK(contract.check_response(201, response) == Verdict::kValid);
  CHECK(contract.check_response(201, "{}") == Verdict::kInvalid);
  CHECK(contract.check_response(418, response) == Verdict::kInvalid);
  CHECK(contract.check_response(418, "{") == Verdict::kNotJson);
  const TextResult undocumented = contract.validate_response_text(418, response);
  CHECK(undocumented.verdict == Verdict::kInvalid);
  CHECK(undocumented.result.findings == contract.validate_response(418, test::valid_response()).findings);
  CHECK(contract.validate_response_text(401, R"({"error": "Unauthorized"})").valid());
}

TEST_CASE("threads sharing one schema get the same verdicts from bytes", "[validate][fast][threads]") {
  const Schema& schema = Contract::builtin().request_schema();
  std::vector<std::string> texts;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(FIXTURES_DIR) + "/requests/valid"))
    texts.push_back(read_file(entry.path()));
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(FIXTURES_DIR) + "/requests/invalid"))
    texts.push_back(read_file(entry.path()));
  texts.push_back(std::string(30000, ' ') + test::valid_request().dump());  // the thread's parser grows
  texts.push_back(std::string(300000, ' ') +
                  test::valid_request().dump());  // past 64 KiB: a parser of its own
  std::vector<Verdict> expected;
  for (const auto& text : texts) expected.push_back(Access::slow_check(schema, text));
  CHECK(expected.back() == Verdict::kValid);
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 50; ++round) {
        for (std::size_t i = 0; i < texts.size(); ++i) {
          if (schema.check(texts[i]) != expected[i]) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("the fast path compares keys and enum strings of every length byte for byte",
          "[validate][fast][strings]") {
  // Strings of 0 to 24 bytes cover every way the verdict program compares them (one byte, 2, 4
  // and 8 byte words, the last word overlapping): a string equal to an allowed one, and one
  // differing from it in each single byte, as an enum value and as a required property's name.
  for (std::size_t length = 0; length <= 24; ++length) {
    std::string allowed;
    for (std::size_t i = 0; i < length; ++i) allowed += static_cast<char>('a' + i % 26);
    const std::string quoted = "\"" + allowed + "\"";
    // A decoy of the same length differing in its last byte, so that a length check alone never decides.
    std::string decoy = allowed;
    if (length > 0) decoy.back() = 'Z';
    const Schema enums =
        schema_of("{\"enum\": [" + (length > 0 ? "\"" + decoy + "\", " : std::string()) + quoted + "]}");
    const Schema required = schema_of("{\"required\": [" + quoted + "]}");
    INFO("length " << length);
    CHECK(agree(enums, quoted) == Verdict::kValid);
    CHECK(agree(required, "{" + quoted + ": 1}") == Verdict::kValid);
    for (std::size_t at = 0; at < length; ++at) {
      std::string other = allowed;
      other[at] = 'A';
      INFO("differs at byte " << at);
      CHECK(agree(enums, "\"" + other + "\"") == Verdict::kInvalid);
      CHECK(agree(required, "{\"" + other + "\": 1}") == Verdict::kInvalid);
    }
  }
}

TEST_CASE("the fast path finds a member's declared schema among names of its length, however many",
          "[validate][fast][strings]") {
  // Declared names are looked up among those of the member's length: a scan of a few, a binary
  // search of many (40 names of 3 bytes here), and one bucket for every name of 63 bytes or more.
  // Each name's schema is its own (a const of its index), so a name matched to a neighbour's
  // schema is refused where the findings path accepts it, and the other way round.
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back("p" + std::to_string(10 + i));                    // 3 bytes
  for (int i = 0; i < 5; ++i) names.push_back(std::string(1 + i, static_cast<char>('a' + i)));   // 1 to 5
  for (int i = 0; i < 6; ++i) names.push_back(std::string(62 + i, static_cast<char>('k' + i)));  // 62 to 67
  names.push_back(std::string(63, 'k') + "x");  // 64 bytes, beside the one of 'k' alone
  nlohmann::json properties = nlohmann::json::object();
  for (std::size_t i = 0; i < names.size(); ++i) properties[names[i]] = {{"const", i}};
  const Schema schema =
      schema_of(nlohmann::json{{"properties", properties}, {"additionalProperties", false}}.dump());
  for (std::size_t i = 0; i < names.size(); ++i) {
    INFO("property " << names[i].size() << " bytes: " << names[i].substr(0, 8));
    const std::string name = nlohmann::json(names[i]).dump();
    CHECK(agree(schema, "{" + name + ": " + std::to_string(i) + "}") == Verdict::kValid);
    CHECK(agree(schema, "{" + name + ": " + std::to_string(i + 1) + "}") == Verdict::kInvalid);
    // Undeclared: the same length, a byte changed (first and last).
    std::string other = names[i];
    other.front() = 'Q';
    CHECK(agree(schema, "{" + nlohmann::json(other).dump() + ": " + std::to_string(i) + "}") ==
          Verdict::kInvalid);
    other = names[i];
    other.back() = 'Q';
    CHECK(agree(schema, "{" + nlohmann::json(other).dump() + ": " + std::to_string(i) + "}") ==
          Verdict::kInvalid);
  }
  // Under strict mode too (its walk looks names up the same way).
  const Schema strict = schema_of(nlohmann::json{{"properties", properties}}.dump()).strict();
  CHECK(agree(strict, "{\"p10\": 0, \"p49\": 39, \"e\": 4}") == Verdict::kInvalid);
  CHECK(agree(strict, "{\"p10\": 0, \"p49\": 39, \"eeeee\": 44}") == Verdict::kValid);
  CHECK(agree(strict, "{\"p10\": 0, \"p50\": 39}") == Verdict::kInvalid);
}

TEST_CASE("release() empties a document from the leaves up, at any depth", "[validate][release]") {
  using sipcontract::detail::validation::release;
  nlohmann::json document = nlohmann::json::parse(
      R"({"a": [1, "a string longer than the short-string buffer", {"b": {"c": [[], {}, null]}}], "d": true})");
  release(document);
  CHECK(document == nlohmann::json::object());
  nlohmann::json array =
      nlohmann::json::array({nlohmann::json::array({"x", nlohmann::json::object({{"y", 1}})})});
  release(array);
  CHECK(array == nlohmann::json::array());
  nlohmann::json scalar = "kept";
  release(scalar);
  CHECK(scalar == "kept");
  // Far deeper than a recursive walk could go on a worker thread's stack.
  nlohmann::json deep = nlohmann::json::array();
  nlohmann::json* innermost = &deep;
  for (int i = 0; i < 200000; ++i) {
    innermost->push_back(i % 2 == 0 ? nlohmann::json::array() : nlohmann::json::object());
    innermost = &innermost->back();
    if (innermost->is_object()) {
      (*innermost)["k"] = nlohmann::json::array();
      innermost = &(*innermost)["k"];
    }
  }
  release(deep);
  CHECK(deep == nlohmann::json::array());
}

TEST_CASE("report() makes the contract's usual refusals' findings on simdjson's document",
          "[validate][fast][report]") {
  const Schema& schema = Contract::builtin().schema("create-sip-endpoint.request.json");
  REQUIRE_FALSE(schema.secret_fields().empty());
  const auto body = [](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json doc = test::valid_request();
    change(doc);
    return doc.dump();
  };
  const std::vector<std::string> refused = {
      body([](auto& d) {
        d["codecs"] = {"OPUS", "opus"};
      }),                                                                      // enum, with a suggestion
      body([](auto& d) { d["call_handler"] = "ai_agent"; }),                   // enum
      body([](auto& d) { d["username"] = 12; }),                               // type of a member
      body([](auto& d) { d["codecs"] = "OPUS"; }),                             // type: a list as one value
      body([](auto& d) { d.erase("password"); }),                              // required
      body([](auto& d) { d["password_confirmation"] = "something else"; }),    // the equal pair
      body([](auto& d) { d["calling_handler_resource_id"] = "not-a-uuid"; }),  // format
      body([](auto& d) {  // both variants' fields: oneOf's presence rules
        d["call_handler"] = "default";
        d["calling_handler_resource_id"] = "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f";
      }),
      body([](auto& d) {  // several at once, at several depths
        d["username"] = 1;
        d["codecs"] = {"x", 2, "G722", "g722"};
        d["encryption"] = "strict";
        d["password_confirmation"] = "y";
        d.erase("password");
      }),
      body([](auto& d) { d["codecs"] = {d["password"]}; }),  // a secret value in another field
      body([](auto& d) {
        d["ciphers"] = {1234, "hack-me-if-you-can"};
      }),
      // Secret values wherever a secret field puts them: in a list under a secret field; in an
      // object under one; under a name spelled in other case; in an object that is a member of the
      // root; in an object deeper down; in a root that is a list (refused for its type alone).
      body([](auto& d) {
        d["password"] = d["password_confirmation"] = {"Sup3r-Secret-Value", 123456789};
        d["codecs"] = {"Sup3r-Secret-Value", "OPUS"};
        d["ciphers"] = {123456789};
      }),
      body([](auto& d) {
        d["password"] = d["password_confirmation"] = {{"k", "Object-Under-Secret"}};
        d["codecs"] = {"Object-Under-Secret"};
      }),
      body([](auto& d) {
        d["PassWord"] = "Other-Case-Secret";
        d["codecs"] = {"Other-Case-Secret"};
      }),
      body([](auto& d) {
        d["description"] = {{"password", "Member-Object-Secret"}};
        d["codecs"] = {"Member-Object-Secret"};
      }),
      body([](auto& d) {
        d["codecs"] = {{{"password", "Nested-Secret-Value"}}, "Nested-Secret-Value"};
      }),
      R"([{"password": "Array-Root-Secret"}, "Array-Root-Secret"])",
      "[1]",
      "\"a body\"",
      "null",
  };
  for (const auto& text : refused) {
    INFO(text);
    const auto reported = Access::reported(schema, text);
    REQUIRE(reported.has_value());
    const Parsed parsed = parse_json(text);
    REQUIRE(parsed);
    CHECK(*reported == Access::slow_validate(schema, *parsed).findings);
    CHECK(*reported == schema.validate_text(text).result.findings);
    for (const auto& finding : *reported) {
      for (const char* secret : {"hack-me-if-you-can", "Sup3r-Secret", "123456789", "Object-Under",
                                 "Other-Case", "Member-Object", "Nested-Secret", "Array-Root"})
        CHECK(to_string(finding).find(secret) == std::string::npos);
    }
  }
  // Valid and not-JSON documents are nothing report() explains.
  CHECK_FALSE(Access::reported(schema, test::valid_request().dump()));
  CHECK_FALSE(Access::reported(schema, "{\"username\":"));
}

TEST_CASE("report() leaves a document to the findings path where a failing rule is one it does not follow",
          "[validate][fast][report]") {
  const Schema patterns =
      schema_of(R"({"patternProperties": {"^x": {"type": "string"}}, "required": ["a"]})");
  CHECK_FALSE(Access::reported(patterns, R"({"xa": 1})"));
  CHECK(agree(patterns, R"({"xa": 1})") == Verdict::kInvalid);
  CHECK(Access::reported(patterns, R"({"xa": "s"})"));  // only required fails: report() says it
  CHECK(agree(patterns, R"({"xa": "s"})") == Verdict::kInvalid);
  const Schema negated = schema_of(R"({"not": {"type": "string"}})");
  CHECK_FALSE(Access::reported(negated, R"("s")"));
  CHECK(agree(negated, R"("s")") == Verdict::kInvalid);
  const Schema additional = schema_of(R"({"properties": {"a": {}}, "additionalProperties": false})");
  CHECK_FALSE(Access::reported(additional, R"({"a": 1, "b": 2})"));
  CHECK(agree(additional, R"({"a": 1, "b": 2})") == Verdict::kInvalid);
  // In strict mode the findings path makes every finding.
  const Schema strict = Contract::builtin().schema("create-sip-endpoint.request.json").strict(true);
  nlohmann::json doc = test::valid_request();
  doc["username"] = 1;
  CHECK_FALSE(Access::reported(strict, doc.dump()));
  CHECK(agree(strict, doc.dump()) == Verdict::kInvalid);
}

TEST_CASE("report() gives findings the findings path's limits would cut to that path",
          "[validate][fast][report]") {
  // allOf is valijson's own keyword there, run beside a failing type.
  const Schema typed_all = schema_of(R"({"type": "object", "allOf": [{"minimum": 5}]})");
  CHECK_FALSE(Access::reported(typed_all, "1"));
  CHECK(agree(typed_all, "1") == Verdict::kInvalid);
  CHECK(Access::slow_validate(typed_all, 1).findings.size() == 2);
  const Schema nested = schema_of(R"({"properties": {"a": {"type": "string", "allOf": [{"maximum": 3}]}}})");
  CHECK(agree(nested, R"({"a": 5})") == Verdict::kInvalid);
  const Schema variant =
      schema_of(R"({"anyOf": [{"type": "null", "allOf": [{"minimum": 5}]}, {"multipleOf": 2}]})");
  CHECK(agree(variant, "3") == Verdict::kInvalid);
  // Many findings: the findings path counts its summaries toward its limits, and each variant of
  // anyOf has its own; report() leaves such documents to it.
  const auto ones = [](std::size_t n) {
    std::string text = "[";
    for (std::size_t i = 0; i < n; ++i) text += i > 0 ? ",1" : "1";
    return text + "]";
  };
  const Schema chained = schema_of(
      R"({"items": {"if": true, "then": {"if": true, "then": {"if": true, "then": {"if": true, "then": {"type": "string"}}}}}})");
  CHECK(agree(chained, ones(801)) == Verdict::kInvalid);
  CHECK_FALSE(Access::reported(chained, ones(801)));
  CHECK(Access::reported(chained, ones(3)));
  const Schema either = schema_of(R"({"anyOf": [{"items": {"type": "string"}}, {"type": "object"}]})");
  CHECK(agree(either, ones(4001)) == Verdict::kInvalid);
  CHECK(Access::reported(either, ones(3)));
  const Schema strings = schema_of(R"({"items": {"type": "string"}})");
  CHECK(agree(strings, ones(5000)) == Verdict::kInvalid);
  CHECK_FALSE(Access::reported(strings, ones(5000)));
  CHECK(Access::reported(strings, ones(50)));
}
