// parse_json: positions, limits, UTF-8, and messages that never echo input text.
#include <random>
#include <string>

#include "helpers.hpp"

using namespace sipcontract;

TEST_CASE("a well-formed document parses to the same value nlohmann reads", "[validate][parse]") {
  const std::string text = R"({"a": [1, 2.5, -3, 18446744073709551615, true, null, "x\u00e9"], "b": {}})";
  auto parsed = parse_json(text);
  REQUIRE(parsed);
  CHECK(*parsed == nlohmann::json::parse(text));
  CHECK((*parsed)["a"][3].is_number_unsigned());
}

TEST_CASE("a truncated document is reported with its line and column", "[validate][parse]") {
  auto parsed = parse_json("{\n  \"a\": 1,\n  \"b\": [1, 2]");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().to_string() == "line 3, column 14: unexpected end of input; expected '}'");
  CHECK(parsed.error().line == 3);
  CHECK(parsed.error().column == 14);
  CHECK(parsed.error().byte_offset == 25);
}

TEST_CASE("a syntax error points at the offending character", "[validate][parse]") {
  auto parsed = parse_json("{\"a\": 1,\n \"b\" 2}");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().to_string() == "line 2, column 6: unexpected number literal; expected ':'");
}

TEST_CASE("columns count characters, not bytes", "[validate][parse]") {
  auto parsed = parse_json("{\"é€\": x}");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().line == 1);
  CHECK(parsed.error().column == 8);
  CHECK(parsed.error().message.rfind("invalid literal", 0) == 0);
}

TEST_CASE("parse errors never repeat the text of the input", "[validate][parse][secret]") {
  for (const char* text : {R"({"password": "hunter2-secret)", "{\"password\": \"hunter2-secret\n\"}",
                           R"({"password": "hunter2-secret\q"})", R"({"password": hunter2-secret})",
                           R"({"password": "hunter2-secret" "x"})"}) {
    auto parsed = parse_json(text);
    REQUIRE_FALSE(parsed);
    INFO(parsed.error().to_string());
    CHECK(parsed.error().to_string().find("hunter2") == std::string::npos);
    CHECK(parsed.error().to_string().find("last read") == std::string::npos);
  }
}

TEST_CASE("invalid UTF-8 is refused with its position", "[validate][parse]") {
  SECTION("a lone continuation byte") {
    auto parsed = parse_json("{\"a\": \"x\x80y\"}");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().to_string() == "line 1, column 9: invalid UTF-8 (ill-formed byte sequence)");
  }
  SECTION("an overlong encoding") {
    CHECK_FALSE(parse_json("\"\xC0\xAF\""));
    CHECK_FALSE(parse_json("\"\xE0\x80\xAF\""));
  }
  SECTION("an encoded surrogate and a code point past U+10FFFF") {
    CHECK_FALSE(parse_json("\"\xED\xA0\x80\""));
    CHECK_FALSE(parse_json("\"\xF4\x90\x80\x80\""));
  }
  SECTION("a sequence cut short at the end") {
    auto parsed = parse_json("\"\xE2\x82");
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message == "invalid UTF-8 (ill-formed byte sequence)");
  }
  SECTION("four-byte characters are fine") { CHECK(parse_json("\"\xF0\x9F\x98\x80\"")); }
}

TEST_CASE("input over the size limit is refused before parsing", "[validate][parse][limits]") {
  ParseLimits limits;
  limits.max_bytes = 10;
  auto parsed = parse_json("[1,2,3,4,5]", limits);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().to_string() == "input is 11 bytes; the limit is 10 bytes");
  CHECK(parsed.error().line == 0);
  CHECK(parse_json("[1,2,3,45]", limits));
}

TEST_CASE("nesting up to the depth limit parses and one level more is refused", "[validate][parse][limits]") {
  const std::string ok = std::string(256, '[') + std::string(256, ']');
  CHECK(parse_json(ok));
  const std::string deep = std::string(257, '[') + std::string(257, ']');
  auto parsed = parse_json(deep);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().to_string() == "line 1, column 257: nesting deeper than 256 levels");

  ParseLimits limits;
  limits.max_depth = 2;
  CHECK(parse_json(R"({"a": [1]})", limits));
  CHECK_FALSE(parse_json(R"({"a": {"b": []}})", limits));
}

TEST_CASE("a document 100,000 levels deep is refused without recursion", "[validate][parse][limits]") {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":[";
  auto parsed = parse_json(deep);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().message == "nesting deeper than 256 levels");
}

TEST_CASE("a duplicate key is refused at the key", "[validate][parse]") {
  auto parsed = parse_json("{\"a\": 1,\n \"a\": 2}");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().to_string() == "line 2, column 2: duplicate key \"a\"");
  CHECK(parse_json(R"({"a": {"a": 1}, "b": {"a": 2}})"));
}

TEST_CASE("a number too large for a double is refused without echoing it", "[validate][parse]") {
  auto parsed = parse_json("[1e400]");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().to_string() == "line 1, column 6: number out of range");
}

TEST_CASE("empty input, trailing text and a byte-order mark", "[validate][parse]") {
  auto empty = parse_json("");
  REQUIRE_FALSE(empty);
  CHECK(empty.error().line == 1);
  CHECK(empty.error().column == 1);
  auto trailing = parse_json("{} x");
  REQUIRE_FALSE(trailing);
  CHECK(trailing.error().to_string() == "line 1, column 4: invalid literal; expected end of input");
  CHECK(parse_json("\xEF\xBB\xBF{}"));
}

TEST_CASE("a 20 MB string parses", "[validate][parse][limits]") {
  const std::string text = "{\"s\": \"" + std::string(20u << 20, 'a') + "\"}";
  auto parsed = parse_json(text);
  REQUIRE(parsed);
  CHECK((*parsed)["s"].get_ref<const std::string&>().size() == (20u << 20));
}

TEST_CASE("arbitrary bytes never make parse_json throw", "[validate][parse]") {
  std::mt19937 random(12345);
  const std::string alphabet = "{}[]:,\"\\ 0123456789.eE+-truefalsn\x80\xC3\xFF\n\t";
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const int length = static_cast<int>(random() % 40);
    for (int i = 0; i < length; ++i) text += alphabet[random() % alphabet.size()];
    Parsed parsed = nlohmann::json();
    REQUIRE_NOTHROW(parsed = parse_json(text));
    if (!parsed) {
      CHECK_FALSE(parsed.error().message.empty());
    }
  }
}

TEST_CASE("a NUL byte after the document is refused, not read as the end of the input", "[validate][parse]") {
  // nlohmann's lexer stops at a NUL byte: without this rule "{}\0..." would read as "{}".
  auto parsed = parse_json(std::string("{}\0{\"password\": \"x\"}", 20));
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error().to_string() == "line 1, column 3: unexpected NUL byte; expected end of input");
  CHECK_FALSE(parse_json(std::string("1\0", 2)));
  CHECK_FALSE(parse_json(std::string("\"a\0\"", 4)));
  CHECK(parse_json("\"\\u0000\""));
}
