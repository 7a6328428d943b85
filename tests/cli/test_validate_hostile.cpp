// Hostile input for `sipcontract validate`: each gets a one-line error and exit 1 or 2, never a
// crash (exit by signal), a hang (killed after 60 s) or a memory blow-up (the child runs under
// RLIMIT_AS = 2 GiB). Large inputs are generated here, into a temporary folder.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace sipcontract::test;

namespace {

struct Hostile {
  std::string name;
  std::string bytes;
};

std::vector<Hostile> hostile_inputs() {
  std::vector<Hostile> inputs;
  inputs.push_back({"empty", ""});
  inputs.push_back(
      {"truncated", R"({"username": "justice-league", "password": "hack-me-if-you-can", "codecs": ["OP)"});
  inputs.push_back({"not-utf8", std::string("{\"username\": \"\xff\xfe\xc3\x28\", \"password\": \"p\"}")});
  inputs.push_back({"utf16-bom", std::string("\xff\xfe{\0\"\0}\0", 8)});
  inputs.push_back({"nul-bytes", std::string("{\"username\"\0: 1}", 16)});
  inputs.push_back({"deep-arrays", std::string(100000, '[') + std::string(100000, ']')});
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  inputs.push_back({"deep-objects", objects});
  inputs.push_back({"deep-unclosed", std::string(100000, '[')});
  inputs.push_back({"string-20mb", "\"" + std::string(20u << 20, 'a') + "\""});
  inputs.push_back(
      {"codec-20mb", R"({"username": "u", "password": "p", "password_confirmation": "p", "codecs": [")" +
                         std::string(20u << 20, 'G') + "\"]}"});
  std::mt19937 rng(0x5eed);
  std::string random(1u << 20, '\0');
  for (auto& c : random) c = static_cast<char>(rng() & 0xff);
  inputs.push_back({"random-bytes", random});
  inputs.push_back(
      {"huge-number", R"({"username": "u", "password": "p", "password_confirmation": "p", "n": 1)" +
                          std::string(100000, '0') + "}"});
  return inputs;
}

/// The child ended by itself (no signal, no timeout) and printed at most `max_output` bytes.
void check_contained(const RunResult& run, std::size_t max_output = 64u << 10) {
  INFO(run.describe());
  CHECK(!run.timed_out);
  CHECK(run.signal == 0);
  CHECK(run.exited());
  CHECK(run.out_bytes + run.err_bytes < max_output);  // no echo of a 20 MB value
}

}  // namespace

TEST_CASE("hostile files get a one-line error and exit 1, never a crash, hang or blow-up",
          "[cli][validate][hostile]") {
  TempDir dir;
  for (const auto& input : hostile_inputs()) {
    auto path = dir.write(input.name + ".json", input.bytes);
    for (const char* format : {"text", "json"}) {
      INFO(input.name << " as " << format);
      auto run = run_cli({"validate", "request", "--format", format, path.string()});
      check_contained(run);
      CHECK(run.exit_code == 1);
      if (std::string(format) == "text") {
        auto lines = split_lines(run.out);
        // One line for input that is not JSON; a verdict and its findings for JSON that breaks the schema.
        CHECK(!lines.empty());
        CHECK(lines[0].starts_with(path.string() + ": "));
        if (!lines.empty() && !lines[0].starts_with(path.string() + ": invalid (")) {
          CHECK(lines.size() == 1);
        }
        CHECK(run.err.empty());
      } else {
        CHECK(nlohmann::json::accept(run.out));
      }
    }
  }
}

TEST_CASE("hostile NDJSON streams are contained too", "[cli][validate][hostile][ndjson]") {
  TempDir dir;
  for (const auto& input : hostile_inputs()) {
    INFO(input.name);
    auto path = dir.write(input.name + ".ndjson", input.bytes + "\n" + input.bytes);
    auto run = run_cli({"validate", "request", "--ndjson", "--jobs", "2", path.string()});
    // Random bytes hold thousands of "lines", each with its own one-line error.
    check_contained(run, input.name == "random-bytes" ? (4u << 20) : (64u << 10));
    CHECK(run.exit_code == (input.bytes.empty() ? 0 : 1));
    auto lines = split_lines(run.out);
    REQUIRE(!lines.empty());
    CHECK(lines.back().starts_with(path.string() + ": "));
    CHECK(lines.back().find(" documents, ") != std::string::npos);
  }
}

TEST_CASE("a document with millions of findings is bounded by --max-findings", "[cli][validate][hostile]") {
  TempDir dir;
  std::string codecs;
  for (int i = 0; i < 2000000; ++i) codecs += i == 0 ? "1" : ",1";
  auto path = dir.write(
      "many.json",
      R"({"username": "u", "password": "p", "password_confirmation": "p", "codecs": [)" + codecs + "]}");
  auto run = run_cli({"validate", "request", path.string()});
  INFO(run.describe());
  CHECK(!run.timed_out);
  CHECK(run.signal == 0);
  CHECK(run.exit_code == 1);
  // The validator stops after a fixed number of findings and says so in a last "limit" finding.
  auto lines = split_lines(run.out);
  REQUIRE(lines.size() >= 3);
  CHECK(lines[0].starts_with(path.string() + ": invalid ("));
  CHECK(lines[0].ends_with("+ findings)"));
  CHECK(lines[1].starts_with("  /codecs/0: "));
  CHECK(lines.back().ends_with("[limit]"));
  CHECK(run.out_bytes < (1u << 20));

  auto few = run_cli({"validate", "request", "--max-findings", "10", path.string()});
  INFO(few.describe());
  CHECK(few.exit_code == 1);
  auto few_lines = split_lines(few.out);
  REQUIRE(few_lines.size() == 13);
  CHECK(few_lines[0] == lines[0]);
  CHECK(few_lines[11].starts_with("  ... "));
  CHECK(few_lines[11].ends_with(" more findings not shown (--max-findings)"));
  CHECK(few_lines[12] == lines.back());

  auto json = run_cli({"validate", "request", "--format", "json", "--max-findings", "10", path.string()});
  REQUIRE(nlohmann::json::accept(json.out));
  auto file = nlohmann::json::parse(json.out)["files"][0];
  CHECK(file["findings"].size() == 11);
  CHECK(file["findings"].back()["keyword"] == "limit");
  CHECK(file["findings_complete"] == false);
  CHECK(file["findings_total"].get<std::size_t>() > 10);
}

TEST_CASE("a directory or a missing path is one line on stderr and exit 2",
          "[cli][validate][hostile][exit]") {
  TempDir dir;
  const std::string missing = (dir.path() / "no-such-file.json").string();
  for (const auto& path : {dir.path().string(), missing}) {
    for (const char* mode : {"--format=text", "--ndjson"}) {
      INFO(path << " " << mode);
      auto run = run_cli({"validate", "request", mode, path});
      check_contained(run);
      CHECK(run.exit_code == 2);
      auto err = split_lines(run.err);
      REQUIRE(err.size() == 1);
      CHECK(err[0].find(path) != std::string::npos);
    }
    auto json = run_cli({"validate", "request", "--format", "json", path});
    check_contained(json);
    CHECK(json.exit_code == 2);
    REQUIRE(nlohmann::json::accept(json.out));
    CHECK(nlohmann::json::parse(json.out)["files"][0]["error"]["kind"] == "unreadable");
  }
}
