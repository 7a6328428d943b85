// Runs every schemas/<name>.test.json against schemas/<name>.json (see schemas/README.md).
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>

#include "helpers.hpp"

using namespace sipcontract;
using sipcontract::test::describe;

namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::set<std::string> files_ending(const std::string& suffix) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(SCHEMAS_DIR)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && ends_with(name, suffix)) names.insert(name);
  }
  return names;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string stem(const std::string& name, const std::string& suffix) {
  return name.substr(0, name.size() - suffix.size());
}

}  // namespace

TEST_CASE("every schema has a test file and every test file a schema", "[validate][cases]") {
  std::set<std::string> schemas, tests;
  for (const auto& name : files_ending(".json")) {
    if (ends_with(name, ".test.json")) {
      tests.insert(stem(name, ".test.json"));
    } else {
      schemas.insert(stem(name, ".json"));
    }
  }
  REQUIRE_FALSE(schemas.empty());
  for (const auto& schema : schemas) {
    INFO("schemas/" << schema << ".json has no " << schema << ".test.json");
    CHECK(tests.count(schema) == 1);
  }
  for (const auto& test : tests) {
    INFO("schemas/" << test << ".test.json has no " << test << ".json");
    CHECK(schemas.count(test) == 1);
  }
}

TEST_CASE("every case of every schema test file holds", "[validate][cases]") {
  const SchemaStore store = SchemaStore::from_directory(SCHEMAS_DIR);
  std::size_t cases = 0;
  for (const auto& file : files_ending(".test.json")) {
    const std::string schema_name = stem(file, ".test.json") + ".json";
    if (store.find(schema_name) == nullptr) continue;  // reported by the test above
    const std::string path = std::string(SCHEMAS_DIR) + "/" + file;
    INFO(file);
    std::string text;
    text = read_file(path);
    const Parsed parsed = parse_json(text);
    INFO(parsed.error().to_string());
    REQUIRE(parsed);
    REQUIRE(parsed->is_array());
    const Schema whole = Schema::compile(store, schema_name);
    std::set<std::string> descriptions;
    for (const auto& item : *parsed) {
      REQUIRE(item.is_object());
      REQUIRE(item.contains("description"));
      REQUIRE(item.contains("valid"));
      REQUIRE(item.contains("data"));
      const std::string description = item["description"];
      INFO(description);
      CHECK(descriptions.insert(description).second);  // unique within the file
      std::optional<Schema> definition;
      if (item.contains("definition")) {
        SchemaStore with_case = store;
        with_case.add("(case).json", nlohmann::json{{"$ref", schema_name + "#/definitions/" +
                                                                 item["definition"].get<std::string>()}}
                                         .dump());
        definition = Schema::compile(with_case, "(case).json");
      }
      const Schema& schema = definition ? *definition : whole;
      const Result result = schema.validate(item["data"]);
      INFO(describe(result));
      const bool expected = item["valid"];
      CHECK(result.valid() == expected);
      CHECK(schema.is_valid(item["data"]) == expected);
      if (!expected && (item.contains("pointer") || item.contains("keyword") || item.contains("property"))) {
        const bool found = std::any_of(result.findings.begin(), result.findings.end(), [&](const Finding& f) {
          return (!item.contains("pointer") || f.pointer == item["pointer"]) &&
                 (!item.contains("keyword") || f.keyword == item["keyword"]) &&
                 (!item.contains("property") || f.property == item["property"]);
        });
        INFO("expected a finding at \"" << item.value("pointer", std::string("*")) << "\" with keyword "
                                        << item.value("keyword", std::string("*")));
        CHECK(found);
      }
      ++cases;
    }
  }
  CHECK(cases > 0);
}
