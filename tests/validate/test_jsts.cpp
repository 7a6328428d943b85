// The official JSON-Schema-Test-Suite (https://github.com/json-schema-org/JSON-Schema-Test-Suite),
// draft7 folder: every required test through both verdict paths, the fast one (Schema::check on
// the document's bytes: simdjson and the verdict program) and the findings one (validate() on a
// parsed document: valijson and the compiled checks, without the verdict program's shortcut).
// Required tests must all pass on both; the optional ones (tests/draft7/optional) are run and
// reported, not required.
//
// The suite is not part of this repository: CI finds a copy at ../shared/jsts beside the checkout
// (JSTS_DIR). Where it is absent the test says so and passes without running anything.
// refRemote.json refers to http://localhost:1234/...: those documents are served from the
// suite's remotes/ folder through the schema store, never over the network.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "testing.hpp"

using namespace sipcontract;
using Access = sipcontract::detail::SchemaAccess;
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The remote documents, under the URIs the suite gives them.
SchemaStore remotes(const fs::path& root) {
  SchemaStore store;
  const fs::path folder = root / "remotes";
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    store.add("http://localhost:1234/" + fs::relative(entry.path(), folder).generic_string(),
              read_file(entry.path()));
  }
  return store;
}

struct Tally {
  std::size_t tests = 0;
  std::size_t fast_passed = 0;
  std::size_t findings_passed = 0;
  std::vector<std::string> failures;
};

/// Runs every group of one suite file; counts into `tally`.
void run_file(const fs::path& draft7, const fs::path& file, const SchemaStore& base, Tally& tally) {
  const Parsed groups = parse_json(read_file(file));
  REQUIRE(groups);
  const std::string name = fs::relative(file, draft7).generic_string();
  for (const auto& group : *groups) {
    const std::string where = name + ": " + group.value("description", std::string());
    std::optional<Schema> schema;
    std::string refused;
    try {
      SchemaStore store = base;
      store.add("jsts-schema.json", group.at("schema").dump());
      schema.emplace(Schema::compile(store, "jsts-schema.json"));
    } catch (const std::exception& e) {
      refused = e.what();
    }
    for (const auto& test : group.at("tests")) {
      ++tally.tests;
      const bool expected = test.at("valid").get<bool>();
      const std::string label = where + " / " + test.value("description", std::string());
      if (!schema) {
        tally.failures.push_back(label + ": schema refused: " + refused);
        continue;
      }
      const std::string text = test.at("data").dump();
      const bool fast = schema->check(text) == Verdict::kValid;
      const Parsed data = parse_json(text);
      const Result slow = data ? Access::slow_validate(*schema, *data) : Result{};
      const bool findings = data && slow.valid();
      // validate() (whose subschemas ask the verdict program first) reports what the findings path does.
      if (data && schema->validate(*data).findings != slow.findings)
        tally.failures.push_back(label + ": validate() and the findings path report different findings");
      // validate_text() (what `validate --ndjson` runs: simdjson's document, copied into nlohmann's
      // only when refused) reports the same, for the suite's numbers, strings and nesting too.
      if (data && schema->validate_text(text).result.findings != slow.findings)
        tally.failures.push_back(label + ": validate_text() and the findings path report different findings");
      for (const auto& finding : slow.findings)
        if (finding.message.find("internal error") != std::string::npos)
          tally.failures.push_back(label + ": " + finding.message);
      if (fast == expected) ++tally.fast_passed;
      if (findings == expected) ++tally.findings_passed;
      if (fast != expected || findings != expected) {
        tally.failures.push_back(label + ": expected " + (expected ? "valid" : "invalid") + ", fast path " +
                                 (fast ? "valid" : "invalid") + ", findings path " +
                                 (findings ? "valid" : "invalid"));
      }
    }
  }
}

std::string report(const char* what, const Tally& tally) {
  std::ostringstream out;
  out << "JSON-Schema-Test-Suite draft7, " << what << ": " << tally.tests << " tests; fast path "
      << tally.fast_passed << " passed, findings path " << tally.findings_passed << " passed";
  return out.str();
}

}  // namespace

TEST_CASE("JSON-Schema-Test-Suite draft7: every required test passes on both paths", "[validate][jsts]") {
  const fs::path root = JSTS_DIR;
  if (!fs::is_directory(root / "tests" / "draft7")) {
    WARN("skipped: the JSON-Schema-Test-Suite copy is absent (" << root.string() << ")");
    return;
  }
  const SchemaStore store = remotes(root);
  Tally required, optional;
  std::vector<fs::path> files, optional_files;
  for (const auto& entry : fs::directory_iterator(root / "tests" / "draft7")) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
  }
  for (const auto& entry : fs::recursive_directory_iterator(root / "tests" / "draft7" / "optional")) {
    if (entry.is_regular_file() && entry.path().extension() == ".json")
      optional_files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::sort(optional_files.begin(), optional_files.end());
  const fs::path draft7 = root / "tests" / "draft7";
  for (const auto& file : files) run_file(draft7, file, store, required);
  for (const auto& file : optional_files) run_file(draft7, file, store, optional);

  std::cout << report("required", required) << '\n' << report("optional", optional) << '\n';
  // The optional tests not passed, counted by file (most are formats treated as annotations).
  std::map<std::string, std::size_t> by_file;
  for (const auto& failure : optional.failures) ++by_file[failure.substr(0, failure.find(':'))];
  for (const auto& [file, count] : by_file)
    std::cout << "  optional, not passed: " << file << ": " << count << '\n';
  CHECK(required.tests > 800);
  std::string failures;
  for (const auto& failure : required.failures) failures += failure + "\n";
  INFO(failures);
  CHECK(required.failures.empty());
  CHECK(required.fast_passed == required.tests);
  CHECK(required.findings_passed == required.tests);
}
