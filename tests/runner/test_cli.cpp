// `sipcontract run` as a user runs it: the real binary (SIPCONTRACT_BIN) as a child process,
// with credentials passed through its environment only.
#include <catch2/catch.hpp>
#include <csignal>
#include <thread>

#include "runner_test_support.hpp"
#include "sipcontract/runner.hpp"
#include "test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {
std::map<std::string, std::string> credentials_of(const ServerGuard& server) {
  return {{"SIGNALWIRE_PROJECT_ID", server.options().project_id},
          {"SIGNALWIRE_API_TOKEN", server.options().api_token}};
}
}  // namespace

TEST_CASE("run --help documents the exit codes and the environment", "[runner][cli]") {
  auto r = run_cli({"run", "--help"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("Exit codes: 0") && Catch::Contains("3 the target could not be reached"));
  CHECK_THAT(r.out, Catch::Contains("SIGNALWIRE_API_TOKEN") && Catch::Contains("--skip-unsettled"));
}

TEST_CASE("sipcontract run with no target runs the whole suite against an in-process server",
          "[runner][cli]") {
  TempDir dir;
  auto junit = (dir.path() / "junit.xml").string();
  auto report = (dir.path() / "report.json").string();
  auto r = run_cli({"run", "--junit", junit, "--report", report});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out,
             Catch::Contains("(in-process reference server)") && Catch::Contains("Result: PASSED (exit 0)"));
  CHECK_THAT(read_file(junit), Catch::Contains("<testsuite"));
  auto j = nlohmann::json::parse(read_file(report));
  CHECK(j["summary"]["failed"] == 0);
  CHECK(j["summary"]["cases"] == builtin_cases().size());
}

TEST_CASE("run --list lists the selected cases", "[runner][cli]") {
  auto r = run_cli({"run", "--list", "--tag", "auth"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("auth-none") && Catch::Contains("auth-malformed-header"));
  CHECK(r.out.find("valid-minimal") == std::string::npos);
  auto sharded = run_cli({"run", "--list", "--shard", "2/2"});
  CHECK(sharded.exit_code == 0);
}

TEST_CASE("configuration errors exit 2 with one line naming the problem", "[runner][cli][config]") {
  const std::string uuid = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
  SECTION("credentials missing from the environment") {
    auto r = run_cli({"run", "--base-url", "http://127.0.0.1:9/api/fabric", "--subscriber", uuid});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("SIGNALWIRE_PROJECT_ID is not set"));
  }
  SECTION("plain HTTP to another host") {
    auto r = run_cli(
        {"run", "--base-url", "http://sip.example.com/api/fabric", "--subscriber", uuid},
        {{"SIGNALWIRE_PROJECT_ID", "proj-cli-test"}, {"SIGNALWIRE_API_TOKEN", "PTcli0123456789abcdef"}});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("plain HTTP"));
  }
  SECTION("no case matches") {
    auto r = run_cli({"run", "--case", "no-such-case-*"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("no case matches"));
  }
  SECTION("a bad shard") {
    auto r = run_cli({"run", "--shard", "3"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--shard 3"));
  }
  SECTION("an unreadable case folder") {
    auto r = run_cli({"run", "--cases", "/nonexistent/cases"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("/nonexistent/cases"));
  }
  SECTION("an unset environment variable in a case names it, the case and the field") {
    TempDir dir;
    dir.write("cases/env.json",
              R"({"id":"needs-env","request":{"body":{"username":"{{env:SIPCONTRACT_TEST_UNSET}}"}},
                                    "expect":{"status":422}})");
    auto r = run_cli({"run", "--cases", dir.path().string()});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("SIPCONTRACT_TEST_UNSET") && Catch::Contains("needs-env") &&
                          Catch::Contains("/request/body/username"));
  }
  SECTION("--subscriber without --base-url") {
    auto r = run_cli({"run", "--subscriber", uuid});
    CHECK(r.exit_code == 2);
  }
  SECTION("--max-time 0 says what is allowed") {
    auto r = run_cli({"run", "--max-time", "0"});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("--max-time: must be more than 0 and at most 86400 seconds"));
  }
  SECTION("a --ca-file that is not a PEM bundle, before anything is sent") {
    TempDir dir;
    auto bad = dir.write("ca.pem", "not a certificate");
    auto r = run_cli(
        {"run", "--base-url", "https://127.0.0.1:9/api/fabric", "--subscriber", uuid, "--ca-file",
         bad.string()},
        {{"SIGNALWIRE_PROJECT_ID", "proj-cli-test"}, {"SIGNALWIRE_API_TOKEN", "PTcli0123456789abcdef"}});
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("holds no PEM certificate"));
    CHECK(split_lines(r.err).size() == 1);
  }
}

TEST_CASE("run --version prints the version and exits 0", "[runner][cli]") {
  auto r = run_cli({"run", "--version"});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("sipcontract "));
  auto c = run_cli({"cleanup", "--version"});
  CHECK(c.exit_code == 0);
}

TEST_CASE("a shard of a CI matrix larger than the suite passes with nothing to run", "[runner][cli][shard]") {
  TempDir dir;
  auto report = (dir.path() / "report.json").string();
  auto r = run_cli({"run", "--shard", "99/100", "--report", report});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("shard 99/100 holds no case"));
  auto j = nlohmann::json::parse(read_file(report));
  CHECK(j["summary"]["cases"] == 0);
  CHECK(j["exit_code"] == 0);
}

TEST_CASE("off a terminal, or on a dumb one, the console gets no cursor control", "[runner][cli][console]") {
  // run_cli's stdout is a file, not a terminal; TERM=dumb is honoured as well.
  auto r = run_cli({"run", "--case", "valid-minimal"}, {{"TERM", "dumb"}});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find('\r') == std::string::npos);
  CHECK(r.out.find("\033[") == std::string::npos);
}

TEST_CASE("an unreachable target exits 3", "[runner][cli]") {
  int port = 0;
  {
    ServerGuard probe;
    port = probe.server().port();
  }
  auto r = run_cli(
      {"run", "--base-url", "http://127.0.0.1:" + std::to_string(port) + "/api/fabric", "--subscriber",
       "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "--case", "auth-*", "--retries", "0"},
      {{"SIGNALWIRE_PROJECT_ID", "proj-cli-test"}, {"SIGNALWIRE_API_TOKEN", "PTcli0123456789abcdef"}});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.out, Catch::Contains("TARGET UNREACHABLE"));
}

TEST_CASE("a failing target exits 1 and credentials given by environment never show", "[runner][cli]") {
  ServerOptions so;
  so.faults = {ServerFault::kLeakToken};
  so.api_token = "tok-CLI-DISTINCTIVE-91";
  ServerGuard server(so);
  auto r = run_cli(
      {"run", "--base-url", server.base_url(), "--subscriber", server.subscriber(), "--case", "valid-*"},
      credentials_of(server));
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.out, Catch::Contains("[secrets] /api_token"));
  CHECK(r.out.find("tok-CLI-DISTINCTIVE-91") == std::string::npos);
  CHECK(r.err.find("tok-CLI-DISTINCTIVE-91") == std::string::npos);
  CHECK(listed_endpoints(server, server.subscriber(), "").empty());
}

TEST_CASE("SIGINT mid-run stops scheduling, cleans up, prints the summary and exits 130",
          "[runner][cli][signal]") {
  ServerOptions so;
  so.faults = {ServerFault::kSlow};
  so.fault_delay_ms = 300;
  std::atomic<int> requests{0};
  so.access_log = [&](const std::string&) { ++requests; };
  ServerGuard server(so);
  Child child({"run", "--base-url", server.base_url(), "--subscriber", server.subscriber(), "-j", "2",
               "--case", "valid-*", "--case", "cipher-*", "--case", "codec-*", "--max-time", "20"},
              credentials_of(server));
  // Wait until the run has created something, then interrupt it.
  for (int i = 0; i < 1000 && requests.load() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(requests.load() >= 3);
  child.signal(SIGINT);
  REQUIRE(child.wait(std::chrono::seconds(60)));
  INFO(child.out() << child.err());
  CHECK(child.exit_code() == 130);
  CHECK_THAT(child.out(), Catch::Contains("interrupted (SIGINT)"));
  CHECK_THAT(child.out(), Catch::Contains("Summary:") && Catch::Contains("Interrupted by SIGINT"));
  CHECK_THAT(child.out(), Catch::Contains("Result: INTERRUPTED (exit 130)"));
  CHECK_THAT(child.out(), Catch::Contains("nothing left behind"));
  CHECK(listed_endpoints(server, server.subscriber(), "").empty());
}

TEST_CASE("SIGTERM exits 143 after cleanup", "[runner][cli][signal]") {
  ServerOptions so;
  so.faults = {ServerFault::kSlow};
  so.fault_delay_ms = 300;
  std::atomic<int> requests{0};
  so.access_log = [&](const std::string&) { ++requests; };
  ServerGuard server(so);
  Child child(
      {"run", "--base-url", server.base_url(), "--subscriber", server.subscriber(), "--case", "codec-*"},
      credentials_of(server));
  for (int i = 0; i < 1000 && requests.load() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  child.signal(SIGTERM);
  REQUIRE(child.wait(std::chrono::seconds(60)));
  CHECK(child.exit_code() == 143);
  CHECK(listed_endpoints(server, server.subscriber(), "").empty());
}
