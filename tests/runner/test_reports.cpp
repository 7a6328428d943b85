// Reports: console, JUnit XML, JSON and curl lines; and the rule that no secret reaches any of them.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <pugixml.hpp>

#include "runner_test_support.hpp"
#include "sipcontract/base64.hpp"
#include "sipcontract/runner.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

struct AllOutputs {
  RunReport report;
  std::string console;
  std::string junit;
  std::string json;
};

AllOutputs run_and_write(ServerGuard& server, RunOptions opts, const std::vector<Case>& cases,
                         bool tty = false) {
  AllOutputs out;
  std::ostringstream console, junit, json;
  ConsoleProgress progress(console, tty);
  out.report = run_contract_tests(Contract::builtin(), cases, opts, &progress);
  write_summary(out.report, console);
  write_junit(out.report, junit);
  write_json_report(out.report, json);
  out.console = console.str();
  out.junit = junit.str();
  out.json = json.str();
  (void)server;
  return out;
}

}  // namespace

TEST_CASE("no secret reaches the console, JUnit or JSON report, even when the server leaks them",
          "[runner][reports][secrets]") {
  const std::string password = "Pw-DISTINCTIVE-8f3k2";
  const std::string project = "proj-DISTINCTIVE-7a1";
  const std::string token = "tok-DISTINCTIVE-SECRET-55c";
  for (bool leaky : {false, true}) {
    DYNAMIC_SECTION((leaky ? "a server that leaks password and token" : "the conforming server")) {
      ServerOptions so;
      so.project_id = project;
      so.api_token = token;
      if (leaky) so.faults = {ServerFault::kLeakSecret, ServerFault::kLeakToken};
      ServerGuard server(so);
      RunOptions opts = options_for(server);
      opts.secret = password;
      auto out = run_and_write(server, opts, builtin_cases());
      if (leaky) {
        REQUIRE(find_failure(out.report, "secrets", "/password"));
        REQUIRE(find_failure(out.report, "secrets", "/api_token"));
      } else {
        INFO(describe_failures(out.report));
        CHECK(out.report.failed() == 0);
      }
      const std::vector<std::string> secrets = {
          password,
          password + "-mismatch",
          token,
          base64_encode(project + ":" + token),
          base64_encode(std::string("00000000-0000-4000-8000-000000000000:") + token),
          base64_encode(project + ":sipcontract-wrong-token")};
      for (const auto& s : secrets) {
        INFO("secret " << s);
        CHECK(out.console.find(s) == std::string::npos);
        CHECK(out.junit.find(s) == std::string::npos);
        CHECK(out.json.find(s) == std::string::npos);
      }
      if (leaky) CHECK_THAT(out.console, Catch::Contains("<redacted>"));
    }
  }
}

TEST_CASE("the JUnit report has a testcase per case with check and pointer in each failure message",
          "[runner][reports][junit]") {
  ServerOptions so;
  so.faults = {ServerFault::kBadEnum};
  ServerGuard server(so);
  auto cases = builtin_matching({"valid-minimal", "auth-none", "drift-*"});
  auto opts = options_for(server);
  opts.skip_unsettled = true;
  auto out = run_and_write(server, opts, cases);
  pugi::xml_document doc;
  REQUIRE(doc.load_string(out.junit.c_str()));
  auto suite = doc.child("testsuites").child("testsuite");
  REQUIRE(suite);
  CHECK(suite.attribute("tests").as_int() == 4);  // three cases and cleanup
  CHECK(suite.attribute("failures").as_int() == 1);
  CHECK(suite.attribute("skipped").as_int() == 1);
  auto failing = suite.find_child_by_attribute("testcase", "name", "valid-minimal");
  REQUIRE(failing);
  CHECK(std::string(failing.attribute("classname").value()) == "createSubscriberSipEndpoint");
  // bad-enum breaks the first list-of-enum field of the item schema: ciphers.
  CHECK_THAT(failing.child("failure").attribute("message").value(), Catch::StartsWith("enum /ciphers/0"));
  CHECK(std::string(failing.child("failure").attribute("type").value()) == "enum");
  CHECK_THAT(failing.child("failure").text().get(), Catch::Contains("reproduce (after the exports below):"));
  CHECK_THAT(failing.child("failure").text().get(), Catch::Contains("r1=$(curl -sS -i -X POST"));
  // The response is there for a person to read.
  CHECK_THAT(failing.child("failure").text().get(), Catch::Contains("response: 201 application/json"));
  CHECK_THAT(failing.child("failure").text().get(), Catch::Contains("\"ciphers\":[\"aead_aes_256_gcm_8\"]"));
  auto skipped = suite.find_child_by_attribute("testcase", "name", "drift-codec-opus-variant");
  REQUIRE(skipped.child("skipped"));
  CHECK(suite.find_child_by_attribute("testcase", "name", "auth-none").first_child().empty());
}

TEST_CASE("the JSON report has the documented shape", "[runner][reports][json]") {
  ServerGuard server;
  auto out =
      run_and_write(server, options_for(server), builtin_matching({"valid-minimal", "duplicate-username"}));
  auto j = nlohmann::json::parse(out.json);
  CHECK(j["tool"] == "sipcontract");
  CHECK(j["operation"] == "createSubscriberSipEndpoint");
  CHECK(j["run_id"] == out.report.run_id);
  CHECK(j["summary"] ==
        nlohmann::json{
            {"cases", 2}, {"passed", 2}, {"failed", 0}, {"skipped", 0}, {"warnings", 0}, {"retries", 0}});
  CHECK(j["cleanup"]["verified"] == true);
  CHECK(j["cleanup"]["verified_by"] == "list and reading back");
  CHECK(j["cleanup"]["unverified"].empty());
  CHECK(j["diagnosis"].is_null());
  CHECK(j["assumptions"].contains("error-codes"));
  CHECK(j["exit_code"] == 0);
  CHECK(j["interrupted_by"].is_null());
  CHECK(j["unreachable"] == false);
  CHECK(j["target"]["in_process"] == true);
  REQUIRE(j["cases"].size() == 2);
  const auto& dup = j["cases"][0]["id"] == "duplicate-username" ? j["cases"][0] : j["cases"][1];
  CHECK(dup["id"] == "duplicate-username");
  CHECK(dup["outcome"] == "passed");
  REQUIRE(dup["steps"].size() == 2);
  CHECK(dup["steps"][0]["status"] == 201);
  CHECK(dup["steps"][0].contains("created_id"));
  CHECK(dup["steps"][1]["status"] == 422);
  CHECK(dup["steps"][1]["failures"].empty());
  CHECK(j["cleanup"]["created"] == 2);
  CHECK(j["cleanup"]["deleted"] == 2);
  CHECK(j["cleanup"]["leftovers"].empty());
}

TEST_CASE("the console shows a line per case off a terminal and one progress line on it",
          "[runner][reports][console]") {
  ServerOptions so;
  so.faults = {ServerFault::kNoEcho};
  ServerGuard server(so);
  auto cases = builtin_matching({"valid-full", "auth-none"});
  SECTION("not a terminal") {
    auto out = run_and_write(server, options_for(server), cases, false);
    CHECK_THAT(out.console, Catch::Contains("] FAIL valid-full  (echo, state)"));
    CHECK_THAT(out.console, Catch::Contains("] PASS auth-none"));
    CHECK_THAT(out.console,
               Catch::Contains("Summary: 2 cases: 1 passed, 1 failed, 0 skipped; 0 warnings; 0 retries"));
    CHECK_THAT(out.console, Catch::Contains("[echo] /caller_id"));
    CHECK_THAT(out.console, Catch::Contains("    reproduce:\n      # valid-full: 1 request"));
    CHECK_THAT(out.console, Catch::Contains("r1=$(curl -sS -i -X POST"));
    CHECK_THAT(out.console, Catch::Contains("response: 201 application/json"));
    CHECK_THAT(out.console, Catch::Contains("Checks:\n  echo: 1 failure\n  state: 1 failure"));
    CHECK_THAT(out.console, Catch::Contains("Result: FAILED (exit 1)"));
    CHECK(out.console.find('\r') == std::string::npos);
  }
  SECTION("a terminal") {
    auto out = run_and_write(server, options_for(server), cases, true);
    CHECK_THAT(out.console, Catch::Contains("\r\033[K[2/2]"));
    CHECK(out.console.find("PASS auth-none") == std::string::npos);  // only failures stay on screen
    CHECK_THAT(out.console, Catch::Contains("FAIL valid-full"));
  }
}

TEST_CASE("a failure's curl line reproduces the request with credentials from the environment",
          "[runner][reports][curl]") {
  ServerOptions so;
  so.faults = {ServerFault::kWrongDefault};
  ServerGuard server(so);
  auto opts = options_for(server);
  opts.secret = "Pw-curl-check-1";
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal"}), opts);
  REQUIRE(report.failed() == 1);
  const auto& curl = report.cases[0].steps[0].curl;
  CHECK_THAT(curl, Catch::StartsWith("curl -sS -i -X POST '" + server.base_url()));
  CHECK_THAT(curl, Catch::Contains("-u \"$SIGNALWIRE_PROJECT_ID:$SIGNALWIRE_API_TOKEN\""));
  CHECK_THAT(curl, Catch::Contains("\"password\":\"'\"${SC_SECRET}\"'\""));
  CHECK_THAT(curl, Catch::Contains("\"password_confirmation\":\"'\"${SC_SECRET}\"'\""));
  CHECK(curl.find("Pw-curl-check-1") == std::string::npos);
  REQUIRE(report.reproduce_exports.size() == 1);
  CHECK_THAT(report.reproduce_exports[0], Catch::StartsWith("export SC_SECRET=\"$(head -c 12 /dev/urandom"));
  // Run it: the shell expands the variables, and the server answers (a 201: the password and
  // its confirmation are the same variable).
  setenv("SIGNALWIRE_PROJECT_ID", server.options().project_id.c_str(), 1);
  setenv("SIGNALWIRE_API_TOKEN", server.options().api_token.c_str(), 1);
  setenv("SC_SECRET", "any-value-1", 1);
  FILE* p = popen((curl + " 2>&1").c_str(), "r");
  REQUIRE(p);
  std::string output;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
  pclose(p);
  unsetenv("SIGNALWIRE_PROJECT_ID");
  unsetenv("SIGNALWIRE_API_TOKEN");
  unsetenv("SC_SECRET");
  CHECK_THAT(output, Catch::StartsWith("HTTP/1.1 201"));
}
