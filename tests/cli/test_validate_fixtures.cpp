// Every committed fixture through `sipcontract validate`: valid ones exit 0, invalid ones exit 1
// and show the finding (pointer and keyword) or the parse error their .expect.json names.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace sipcontract::test;

namespace {

const fs::path kFixtures = FIXTURES_DIR;

/// The documents (not .expect.json) in a folder, sorted for a stable test order.
std::vector<fs::path> documents_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.ends_with(".json") && !name.ends_with(".expect.json"))
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// The `validate` arguments that select the schema of a fixture folder.
struct Group {
  fs::path dir;
  std::vector<std::string> args;
};

std::vector<Group> groups(const std::string& verdict) {
  std::vector<Group> out{{kFixtures / "requests" / verdict, {"validate", "request"}}};
  for (const char* status : {"201", "401", "404", "422", "500"})
    out.push_back({kFixtures / "responses" / status / verdict, {"validate", "response", "--status", status}});
  return out;
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

/// How to_string() shows a pointer: the root as "(root)".
std::string shown(const std::string& pointer) { return pointer.empty() ? "(root)" : pointer; }

bool has_finding_line(const std::string& out, const std::string& pointer, const std::string& keyword) {
  for (const auto& line : split_lines(out))
    if (line.starts_with("  " + shown(pointer) + ": ") && line.ends_with("[" + keyword + "]")) return true;
  return false;
}

bool has_json_finding(const nlohmann::json& file, const std::string& pointer, const std::string& keyword) {
  if (!file.contains("findings")) return false;
  for (const auto& f : file["findings"])
    if (f.value("pointer", "?") == pointer && f.value("keyword", "?") == keyword) return true;
  return false;
}

}  // namespace

TEST_CASE("every valid fixture validates with exit code 0", "[cli][validate][fixtures]") {
  std::size_t checked = 0;
  for (const auto& group : groups("valid")) {
    for (const auto& doc : documents_in(group.dir)) {
      INFO("fixture " << doc.string());
      auto run = run_cli(with(group.args, {doc.string()}));
      INFO(run.describe() << "\n" << run.out);
      CHECK(run.exit_code == 0);
      CHECK(run.out == doc.string() + ": valid\n");
      CHECK(run.err.empty());
      ++checked;
    }
  }
  CHECK(checked >= 20);
}

TEST_CASE("every invalid fixture exits 1 and shows the finding its expect file names",
          "[cli][validate][fixtures]") {
  std::size_t checked = 0;
  for (const auto& group : groups("invalid")) {
    for (const auto& doc : documents_in(group.dir)) {
      INFO("fixture " << doc.string());
      fs::path expect_path = doc.parent_path() / (doc.stem().string() + ".expect.json");
      REQUIRE(fs::exists(expect_path));
      const auto expect = nlohmann::json::parse(read_file(expect_path));

      auto text = run_cli(with(group.args, {doc.string()}));
      INFO("text: " << text.describe() << "\n" << text.out);
      CHECK(text.exit_code == 1);
      auto json = run_cli(with(group.args, {"--format", "json", doc.string()}));
      INFO("json: " << json.describe() << "\n" << json.out);
      CHECK(json.exit_code == 1);
      REQUIRE(nlohmann::json::accept(json.out));
      const auto report = nlohmann::json::parse(json.out);
      REQUIRE(report["files"].size() == 1);
      const auto& file = report["files"][0];
      CHECK(file["file"] == doc.string());
      CHECK(file["valid"] == false);
      CHECK(report["valid"] == false);

      if (expect.value("parse_error", false)) {
        // One line, "FILE: line L, column C: ...", and no findings.
        auto lines = split_lines(text.out);
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].starts_with(doc.string() + ": line "));
        CHECK(lines[0].find(", column ") != std::string::npos);
        if (expect.contains("line"))
          CHECK(lines[0].starts_with(doc.string() + ": line " + std::to_string(expect["line"].get<int>()) +
                                     ", "));
        CHECK(file["error"]["kind"] == "parse");
        CHECK(!file.contains("findings"));
        CHECK(report["summary"]["not_json"] == 1);
      } else {
        std::vector<std::pair<std::string, std::string>> wanted{{expect["pointer"], expect["keyword"]}};
        for (const auto& pair : expect.value("also", nlohmann::json::array()))
          wanted.emplace_back(pair[0], pair[1]);
        auto lines = split_lines(text.out);
        REQUIRE(!lines.empty());
        CHECK(lines[0].starts_with(doc.string() + ": invalid ("));
        CHECK(lines.size() >= 2);
        for (std::size_t i = 1; i < lines.size(); ++i) CHECK(lines[i].starts_with("  "));
        for (const auto& [pointer, keyword] : wanted) {
          INFO("expected finding " << pointer << " [" << keyword << "]");
          CHECK(has_finding_line(text.out, pointer, keyword));
          CHECK(has_json_finding(file, pointer, keyword));
        }
        CHECK(file["findings"].size() == lines.size() - 1);
      }
      for (const auto& s : expect.value("contains", nlohmann::json::array())) {
        INFO("must contain " << s);
        CHECK(text.out.find(s.get<std::string>()) != std::string::npos);
      }
      for (const auto& s : expect.value("excludes", nlohmann::json::array())) {
        INFO("must not contain " << s);
        for (const auto* stream : {&text.out, &text.err, &json.out, &json.err})
          CHECK(stream->find(s.get<std::string>()) == std::string::npos);
      }
      ++checked;
    }
  }
  CHECK(checked >= 40);
}

TEST_CASE("every invalid fixture has an expect file and every expect file a fixture", "[cli][fixtures]") {
  for (const auto& group : groups("invalid")) {
    for (const auto& entry : fs::directory_iterator(group.dir)) {
      const std::string name = entry.path().filename().string();
      INFO(entry.path().string());
      if (name.ends_with(".expect.json")) {
        auto doc = group.dir / (name.substr(0, name.size() - std::string(".expect.json").size()) + ".json");
        CHECK(fs::exists(doc));
        auto expect = nlohmann::json::parse(read_file(entry.path()));
        CHECK((expect.value("parse_error", false) ||
               (expect.contains("pointer") && expect.contains("keyword"))));
      } else {
        CHECK(name.ends_with(".json"));
        CHECK(fs::exists(group.dir / (entry.path().stem().string() + ".expect.json")));
      }
    }
  }
}
