// schemas/<name>.test.json through the CLI: every case's data, as one NDJSON stream per schema
// (`validate --schema <name>.json --ndjson --format json`), gets the expected verdict, and each
// invalid case a finding with its pointer and keyword. Format: schemas/README.md.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace sipcontract::test;

namespace {

const fs::path kSchemas = SCHEMAS_DIR;

std::vector<fs::path> test_files() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(kSchemas))
    if (entry.path().filename().string().ends_with(".test.json")) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("every schema has a test file and every test file a schema", "[cli][schemas]") {
  std::set<std::string> schemas, tests;
  for (const auto& entry : fs::directory_iterator(kSchemas)) {
    std::string name = entry.path().filename().string();
    if (name.ends_with(".test.json"))
      tests.insert(name.substr(0, name.size() - 10));
    else if (name.ends_with(".json"))
      schemas.insert(name.substr(0, name.size() - 5));
  }
  CHECK(schemas.size() == 10);
  CHECK(schemas == tests);
}

TEST_CASE("every schema test case gets its verdict, pointer and keyword from validate --schema",
          "[cli][schemas][validate]") {
  TempDir dir;
  std::size_t cases_run = 0;
  for (const auto& test_file : test_files()) {
    const std::string name = test_file.filename().string();
    const std::string schema_name = name.substr(0, name.size() - 10) + ".json";
    const auto cases = nlohmann::json::parse(read_file(test_file));
    REQUIRE(cases.is_array());
    REQUIRE(!cases.empty());
    // One stream per target: the schema's root, or one of its definitions.
    std::map<std::string, std::vector<const nlohmann::json*>> by_target;
    std::set<std::string> descriptions;
    for (const auto& c : cases) {
      INFO(name << ": " << c.dump());
      REQUIRE(c.contains("description"));
      REQUIRE(c.contains("valid"));
      REQUIRE(c.contains("data"));
      CHECK(descriptions.insert(c["description"].get<std::string>()).second);
      if (!c["valid"].get<bool>()) {
        REQUIRE(c.contains("pointer"));
        REQUIRE(c.contains("keyword"));
      }
      by_target[c.value("definition", "")].push_back(&c);
    }
    for (const auto& [definition, group] : by_target) {
      std::string stream;
      for (const auto* c : group) stream += (*c)["data"].dump() + "\n";
      auto data = dir.write("cases.ndjson", stream);
      std::vector<std::string> args{"validate", "--ndjson", "--format", "json", "--max-findings", "0"};
      if (definition.empty()) {
        args.insert(args.end(), {"--schema", (kSchemas / schema_name).string()});
      } else {
        auto wrapper =
            dir.write("definition-" + definition + ".json",
                      nlohmann::json{{"$ref", schema_name + "#/definitions/" + definition}}.dump());
        args.insert(args.end(), {"--schema-dir", kSchemas.string(), "--schema", wrapper.string()});
      }
      args.push_back(data.string());
      auto run = run_cli(args);
      INFO(name << " " << (definition.empty() ? "(root)" : definition) << ": " << run.describe());
      REQUIRE(run.exited());
      auto lines = split_lines(run.out);
      REQUIRE(lines.size() == group.size() + 1);  // one object a case, then the summary
      for (std::size_t i = 0; i < group.size(); ++i) {
        const auto& c = *group[i];
        INFO(name << ": " << c["description"].get<std::string>() << "\n  output: " << lines[i]);
        auto result = nlohmann::json::parse(lines[i]);
        REQUIRE(result["line"] == i + 1);
        CHECK(!result.contains("error"));
        CHECK(result["valid"] == c["valid"]);
        if (!c["valid"].get<bool>()) {
          bool found = false;
          for (const auto& f : result["findings"]) {
            found = found || (f["pointer"] == c["pointer"] && f["keyword"] == c["keyword"] &&
                              (!c.contains("property") || f.value("property", "") == c["property"]));
          }
          CHECK(found);
        }
        ++cases_run;
      }
    }
  }
  CHECK(cases_run >= 500);
}
