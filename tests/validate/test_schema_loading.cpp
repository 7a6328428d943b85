// Loading schemas: stores, files, $ref resolution, and the errors a broken schema gets.
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "helpers.hpp"

using namespace sipcontract;
using sipcontract::test::describe;
using sipcontract::test::doc;
using sipcontract::test::error_of;
using sipcontract::test::schema_of;

namespace {

// A fresh folder under the system temp dir, removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::random_device seed;
    path_ = std::filesystem::temp_directory_path() / ("sipcontract-validate-" + std::to_string(seed()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace

TEST_CASE("a cross-file $ref resolves in the store, and local $refs stay in their own file",
          "[validate][ref]") {
  const std::map<std::string, std::string> others = {
      {"defs.json",
       R"({"definitions": {"id": {"$ref": "#/definitions/text"}, "text": {"type": "string"}}})"}};
  const Schema schema = schema_of(R"({"properties": {"id": {"$ref": "defs.json#/definitions/id"}},
                                      "definitions": {"text": {"type": "integer"}}})",
                                  others);
  CHECK(schema.is_valid(doc(R"({"id": "x"})")));
  const Result result = schema.validate(doc(R"({"id": 1})"));
  INFO(describe(result));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "/id");
  CHECK(result.findings[0].message == "expected string, got number");
}

TEST_CASE("two files with the same local pointer do not collide", "[validate][ref]") {
  // valijson keys its cache by pointer alone: both "#/definitions/X" would share one schema.
  const std::map<std::string, std::string> others = {
      {"a.json", R"({"$ref": "#/definitions/X", "definitions": {"X": {"type": "string"}}})"},
      {"b.json", R"({"$ref": "#/definitions/X", "definitions": {"X": {"type": "integer"}}})"}};
  const Schema schema =
      schema_of(R"({"properties": {"a": {"$ref": "a.json"}, "b": {"$ref": "b.json"}}})", others);
  CHECK(schema.is_valid(doc(R"({"a": "x", "b": 1})")));
  CHECK_FALSE(schema.is_valid(doc(R"({"a": 1})")));
  CHECK_FALSE(schema.is_valid(doc(R"({"b": "x"})")));
}

TEST_CASE("a $ref may name a schema by its $id and use an escaped pointer", "[validate][ref]") {
  const std::map<std::string, std::string> others = {
      {"common.json", R"({"$id": "https://example.com/schemas/common.json",
                          "definitions": {"a/b": {"type": "string"}, "c d": {"type": "number"}}})"}};
  const Schema schema = schema_of(R"({"properties": {
      "x": {"$ref": "https://example.com/schemas/common.json#/definitions/a~1b"},
      "y": {"$ref": "common.json#/definitions/c%20d"}}})",
                                  others);
  CHECK(schema.is_valid(doc(R"({"x": "s", "y": 1})")));
  CHECK_FALSE(schema.is_valid(doc(R"({"x": 1})")));
  CHECK_FALSE(schema.is_valid(doc(R"({"y": "s"})")));
}

TEST_CASE("a schema whose root is a $ref to another file compiles", "[validate][ref]") {
  const Schema schema = schema_of(R"({"title": "wrapper", "$ref": "inner.json"})",
                                  {{"inner.json", R"({"type": "object", "required": ["a"]})"}});
  CHECK(schema.title() == "wrapper");
  CHECK(schema.is_valid(doc(R"({"a": 1})")));
  CHECK_FALSE(schema.is_valid(doc("{}")));
}

TEST_CASE("a schema that applies itself to the same value without end is refused, naming the cycle",
          "[validate][ref][errors]") {
  // Each of these once overflowed the stack while validating (found by a differential run against ajv).
  const std::vector<std::pair<std::string, std::string>> cycles = {
      {R"({"allOf": [{"$ref": "#"}]})", "test.json# -> test.json#/allOf/0 -> test.json#"},
      {R"({"anyOf": [{"type": "string"}, {"$ref": "#"}]})", "test.json# -> test.json#/anyOf/1 -> test.json#"},
      {R"({"oneOf": [{"$ref": "#"}]})", "test.json# -> test.json#/oneOf/0 -> test.json#"},
      {R"({"not": {"$ref": "#"}})", "test.json# -> test.json#/not -> test.json#"},
      {R"({"if": {"$ref": "#"}})", "test.json# -> test.json#/if -> test.json#"},
      {R"({"if": true, "then": {"$ref": "#"}})", "test.json# -> test.json#/then -> test.json#"},
      {R"({"if": false, "else": {"$ref": "#"}})", "test.json# -> test.json#/else -> test.json#"},
      {R"({"dependencies": {"x": {"$ref": "#"}}})", "test.json# -> test.json#/dependencies/x -> test.json#"},
      {R"({"definitions": {"a": {"oneOf": [{"$ref": "#/definitions/a"}]}}, "$ref": "#/definitions/a"})",
       "test.json#/definitions/a -> test.json#/definitions/a/oneOf/0 -> test.json#/definitions/a"},
      {R"({"definitions": {"a": {"allOf": [{"$ref": "#/definitions/b"}]}, "b": {"not": {"$ref": "#/definitions/a"}}},
          "properties": {"p": {"$ref": "#/definitions/a"}}})",
       "test.json#/definitions/a -> test.json#/definitions/a/allOf/0 -> test.json#/definitions/b -> "
       "test.json#/definitions/b/not -> test.json#/definitions/a"},
  };
  for (const auto& [text, chain] : cycles) {
    INFO(text);
    const std::string error = error_of([&] { schema_of(text); });
    CHECK(error.find(": the schema applies itself to the same value without end (evaluation would never "
                     "finish): " +
                     chain) != std::string::npos);
  }
  // Recursion that moves on to a part of the value each time round is a recursive schema, not a cycle.
  const Schema tree = schema_of(R"({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"$ref": "#"}}],
                                    "dependencies": {"x": {"properties": {"x": {"$ref": "#"}}}}})");
  CHECK(tree.is_valid(doc("[1, [2, [3]]]")));
  CHECK_FALSE(tree.is_valid(doc(R"([1, ["a"]])")));
}

TEST_CASE("broken references and schemas are load-time errors that name the place", "[validate][errors]") {
  CHECK(error_of([] { schema_of(R"({"properties": {"a": {"$ref": "missing.json#/x"}}})"); }) ==
        "test.json: /properties/a/$ref: $ref \"missing.json#/x\": no schema named \"missing.json\" in the "
        "schema store");
  CHECK(error_of([] { schema_of(R"({"properties": {"a": {"$ref": "#/definitions/nope"}}})"); }) ==
        "test.json: /properties/a/$ref: $ref \"#/definitions/nope\" points to nothing in test.json");
  CHECK(error_of([] {
          schema_of(R"({"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#"}}})");
        }).find("$ref cycle with no schema in it") != std::string::npos);
  CHECK(error_of([] { schema_of(R"({"type": "strnig"})"); }) == "test.json: /type: unknown type \"strnig\"");
  CHECK(error_of([] { schema_of(R"({"properties": {"a": 12}})"); }) ==
        "test.json: /properties/a: a schema must be an object or a boolean, not number");
  CHECK(error_of([] { schema_of(R"({"minLength": -1})"); }) ==
        "test.json: /minLength: minLength must be a non-negative integer");
  CHECK(error_of([] { schema_of(R"({"required": "a"})"); }) ==
        "test.json: /required: must be an array of strings");
  CHECK(error_of([] { schema_of(R"({"$ref": "#foo"})"); }) ==
        "test.json: /$ref: $ref \"#foo\": no schema has the $id \"#foo\"");
  CHECK(error_of([] { schema_of("{\"type\": \n}"); }) ==
        "test.json: line 2, column 1: unexpected '}'; expected '[', "
        "'{', or a literal");
  CHECK(error_of([] {
          SchemaStore store;
          Schema::compile(store, "nothing.json");
        }) == "nothing.json: (root): no schema named \"nothing.json\" in the schema store");
}

TEST_CASE("a recursive schema through $ref compiles and validates each level", "[validate][ref]") {
  const Schema schema = schema_of(R"({"definitions": {"node": {"type": "object",
      "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}},
      "$ref": "#/definitions/node"})");
  CHECK(schema.is_valid(doc(R"({"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]})")));
  const Result result =
      schema.validate(doc(R"({"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]})"));
  REQUIRE(result.findings.size() == 1);
  CHECK(result.findings[0].pointer == "/children/0/children/0/value");
}

TEST_CASE("Schema::from_file reads the file and the files its $refs name", "[validate][files]") {
  TempDir dir;
  dir.write("main.json",
            R"({"title": "main", "properties": {"c": {"$ref": "./common.json#/definitions/c"}}})");
  dir.write("common.json", R"({"definitions": {"c": {"$ref": "more.json"}}})");
  dir.write("more.json", R"({"enum": ["x"]})");
  dir.write("broken.json", "{ not json");  // unrelated, so never read
  const Schema schema = Schema::from_file(dir.path() / "main.json");
  CHECK(schema.title() == "main");
  CHECK(schema.is_valid(doc(R"({"c": "x"})")));
  CHECK_FALSE(schema.is_valid(doc(R"({"c": "y"})")));
  CHECK_THROWS_AS(Schema::from_file(dir.path() / "broken.json"), SchemaError);
  CHECK_THROWS_AS(Schema::from_file(dir.path() / "absent.json"), SchemaError);
}

TEST_CASE("SchemaStore reads a folder's schemas but not its test files", "[validate][files]") {
  TempDir dir;
  dir.write("a.json", "{}");
  dir.write("a.test.json", "[]");
  dir.write("notes.md", "#");
  const SchemaStore store = SchemaStore::from_directory(dir.path());
  CHECK(store.names() == std::vector<std::string>{"a.json"});
  REQUIRE(store.find("a.json") != nullptr);
  CHECK(*store.find("a.json") == "{}");
  CHECK(store.find("a.test.json") == nullptr);
  CHECK_THROWS_AS(SchemaStore::from_directory(dir.path() / "absent"), SchemaError);
}

TEST_CASE("the built-in store holds the repository's schemas", "[validate][files]") {
  const SchemaStore builtin = Contract::builtin().schema_store();
  const SchemaStore folder = SchemaStore::from_directory(SCHEMAS_DIR);
  CHECK(builtin.names() == folder.names());
  for (const auto& name : folder.names()) {
    INFO(name);
    CHECK(*builtin.find(name) == *folder.find(name));
  }
}

TEST_CASE("a schema compiled on first use: the same schema, its error at that use", "[validate][errors]") {
  auto store = std::make_shared<SchemaStore>();
  store->add("good.json", R"({"title": "Good", "properties": {"n": {"type": "integer"}}})");
  store->add("broken.json", R"({"properties": {"n": {"$ref": "missing.json"}}})");
  // Deferring costs nothing now and refuses nothing yet.
  const Schema good = Schema::compile_on_use(store, "good.json");
  const Schema broken = Schema::compile_on_use(store, "broken.json");
  CHECK(good.title() == "Good");
  CHECK(good.validate(doc(R"({"n": "x"})")).findings ==
        Schema::compile(*store, "good.json").validate(doc(R"({"n": "x"})")).findings);
  CHECK(good.check(R"({"n": 1})") == Verdict::kValid);
  // The error compile() throws, from the first use and from every later one.
  const std::string expected = error_of([&] { Schema::compile(*store, "broken.json"); });
  REQUIRE(expected != "(no error)");
  CHECK(error_of([&] { (void)broken.is_valid(doc("{}")); }) == expected);
  CHECK(error_of([&] { (void)broken.check("{}"); }) == expected);
  // Copies (strict, secret fields) share the one compilation.
  CHECK(good.strict().validate(doc(R"({"m": 1})")).findings.size() == 1);
}

TEST_CASE("every schema of every built-in contract compiles (they are compiled on first use)",
          "[validate][contract]") {
  for (const auto& name : Contract::builtin_names()) {
    const Contract& contract = Contract::builtin(name);
    for (const auto& file : contract.schema_store().names()) {
      if (file.ends_with(".test.json")) continue;
      INFO(name << ": " << file);
      CHECK_NOTHROW(contract.schema(file).title());
    }
  }
}
