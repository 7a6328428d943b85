// The two executables (src/cli/main.cpp): `sipcontract` lists every command, keeps validate and
// diff, and hands serve, run and cleanup to sipcontract-net, whose help, errors and exit codes
// reach the user unchanged.
#include <catch2/catch.hpp>
#include <filesystem>

#include "cli_runner.hpp"
#include "test_support.hpp"

using namespace sipcontract::test;

TEST_CASE("sipcontract --help lists validate, serve, run, cleanup and diff", "[cli][dispatch]") {
  const auto r = run_cli({"--help"});
  INFO(r.describe());
  CHECK(r.exit_code == 0);
  for (const char* command : {"validate", "serve", "run", "cleanup", "diff"}) {
    INFO(command);
    CHECK_THAT(r.out, Catch::Contains(std::string("\n  ") + command + " "));
  }
}

TEST_CASE("serve, run and cleanup answer with their own help, errors and exit codes", "[cli][dispatch]") {
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"serve", "--port"}, {"run", "--base-url"}, {"cleanup", "--ledger"}};
  for (const auto& [command, option] : commands) {
    INFO(command);
    const auto help = run_cli({command, "--help"});
    INFO(help.describe());
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out,
               Catch::Contains("Usage: sipcontract " + command + " [OPTIONS]") && Catch::Contains(option));

    const auto wrong = run_cli({command, "--no-such-option"});
    INFO(wrong.describe());
    CHECK(wrong.exit_code == 2);
    CHECK_THAT(wrong.err, Catch::StartsWith("sipcontract: ") && Catch::Contains("--no-such-option"));
    CHECK(split_lines(wrong.err).size() == 1);

    const auto version = run_cli({command, "--version"});
    CHECK(version.exit_code == 0);
    CHECK_THAT(version.out, Catch::StartsWith("sipcontract "));
  }
}

TEST_CASE("without sipcontract-net, validate still works and a network command says where it looked",
          "[cli][dispatch]") {
  TempDir dir;
  const auto alone = dir.path() / "sipcontract";
  std::filesystem::copy_file(sipcontract_binary(), alone);
  std::filesystem::permissions(alone, std::filesystem::perms::owner_all);
  const auto body = dir.write("body.json", "{\"name\": 3}");

  ProcessOptions validate;
  validate.program = alone.string();
  validate.args = {"validate", "request", body.string()};
  const auto checked = run_process(validate);
  INFO(checked.describe());
  CHECK(checked.exit_code == 1);
  CHECK_THAT(checked.out, Catch::Contains("missing required property \"username\""));

  for (const std::string command : {"serve", "run", "cleanup"}) {
    ProcessOptions net;
    net.program = alone.string();
    net.args = {command, "--help"};
    const auto r = run_process(net);
    INFO(r.describe());
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(split_lines(r.err).size() == 1);
    CHECK_THAT(r.err,
               Catch::StartsWith("sipcontract: cannot start the " + command + " command: sipcontract-net") &&
                   Catch::Contains(dir.path().string()) && Catch::Contains("libexec/sipcontract"));
  }
}
