// The whole contract suite between two processes (`sipcontract serve` and `sipcontract run`)
// with distinctive secrets, and every byte either of them wrote searched for them: the runner's
// console and stderr, its JUnit and JSON reports, the server's console, stderr and access log.
// Once against the conforming server, once against one that leaks the password and the token in
// every 201 (the runner must report the leak and still show neither). `sipcontract validate`
// on request bodies that carry the password is searched too.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include "hostile_support.hpp"

using namespace sipcontract::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kPassword = "Pw-E2E-DISTINCTIVE-3b9q";

// The shipped cases, with the run's generated password replaced by one from the environment, so
// that the test knows the value to search for.
fs::path cases_with_known_password(const fs::path& root) {
  const fs::path dir = root / "cases";
  fs::create_directories(dir);
  std::size_t replaced = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(CONTRACT_TESTS_DIR) / "cases")) {
    std::string text = read_file_or_empty(entry.path());
    for (std::size_t at; (at = text.find("{{secret}}")) != std::string::npos; ++replaced)
      text.replace(at, 10, "{{env:SC_E2E_PASSWORD}}");
    std::ofstream(dir / entry.path().filename(), std::ios::binary) << text;
  }
  REQUIRE(replaced > 50);  // every valid and most invalid cases send it
  return dir;
}

std::vector<std::string> secrets() {
  const std::string token = kApiToken;
  return {kPassword,  // also finds "<password>-mismatch"
          token, base64_encode(std::string(kProjectId) + ":" + token),
          base64_encode("00000000-0000-4000-8000-000000000000:" + token),  // the wrong-project variant
          "Basic " + base64_encode(std::string(kProjectId) + ":" + token)};
}

void check_clean(const std::string& what, const std::string& text) {
  for (const auto& secret : secrets()) {
    INFO(what << " must not contain " << secret);
    CHECK(text.find(secret) == std::string::npos);
  }
}

}  // namespace

TEST_CASE("no secret reaches any console, report or the server's access log in a whole-suite run",
          "[hostile][secrets]") {
  for (const bool leaky : {false, true}) {
    DYNAMIC_SECTION((leaky ? "a server that leaks the password and the token" : "the conforming server")) {
      const TempDir scratch;
      const fs::path cases = cases_with_known_password(scratch.path());
      const fs::path access_log = scratch.path() / "access.log";
      const std::map<std::string, std::string> credentials = {{"SIGNALWIRE_PROJECT_ID", kProjectId},
                                                              {"SIGNALWIRE_API_TOKEN", kApiToken}};
      std::vector<std::string> serve_args = {
          "serve", "--port", "0", "--subscriber", kSubscriber, "--access-log", access_log.string()};
      if (leaky) serve_args.insert(serve_args.end(), {"--fault", "leak-secret", "--fault", "leak-token"});
      Process serve(serve_args, credentials);
      const std::string first = serve.first_line();
      std::smatch m;
      REQUIRE(
          std::regex_match(first, m, std::regex(R"(^listening on (http://127\.0\.0\.1:\d+/api/fabric)$)")));
      const std::string base_url = m[1];

      auto run_env = credentials;
      run_env["SC_E2E_PASSWORD"] = kPassword;
      const fs::path report = scratch.path() / "report.json";
      const fs::path junit = scratch.path() / "junit.xml";
      Process run({"run", "--base-url", base_url, "--subscriber", kSubscriber, "--cases", cases.string(),
                   "-j", "4", "--report", report.string(), "--junit", junit.string()},
                  run_env);
      const int run_exit = run.finish(0, std::chrono::seconds(300));
      const int serve_exit = serve.finish(SIGTERM);
      INFO("run stdout:\n" << run.out().substr(0, 4000) << "\nrun stderr:\n" << run.err());
      CHECK(run_exit == (leaky ? 1 : 0));
      CHECK(serve_exit == 0);
      const std::string log = read_file_or_empty(access_log);
      const std::string report_text = read_file_or_empty(report);
      CHECK(std::count(log.begin(), log.end(), '\n') > 60);  // a line per request of the suite
      CHECK(report_text.find("\"cases\"") != std::string::npos);
      if (leaky) {
        CHECK(report_text.find("\"check\": \"secrets\"") != std::string::npos);
        CHECK(run.out().find("<redacted>") != std::string::npos);
      }
      std::cout << "secrets: " << (leaky ? "leaky" : "conforming") << " server: run exit " << run_exit << ", "
                << std::count(log.begin(), log.end(), '\n') << " access-log lines, "
                << run.out().size() + run.err().size() + report_text.size() +
                       read_file_or_empty(junit).size() + log.size() + serve.out().size() + serve.err().size()
                << " bytes searched" << std::endl;
      check_clean("run stdout", run.out());
      check_clean("run stderr", run.err());
      check_clean("JSON report", report_text);
      check_clean("JUnit report", read_file_or_empty(junit));
      check_clean("serve stdout", serve.out());
      check_clean("serve stderr", serve.err());
      check_clean("access log", log);
    }
  }
}

TEST_CASE("sipcontract validate never shows the password of the bodies it checks", "[hostile][secrets]") {
  const TempDir scratch;
  const std::string pw = kPassword;
  const std::vector<std::string> bodies = {
      R"({"username":"u","password":")" + pw + R"(","password_confirmation":")" + pw + R"(-mismatch"})",
      R"({"username":7,"password":")" + pw + R"(","password_confirmation":")" + pw + R"("})",
      R"({"username":"u","password":[")" + pw + R"("],"password_confirmation":{"x":")" + pw + R"("}})",
      R"({"username":"u","password":")" + pw + R"(","password_confirmation":")" + pw + R"(",)",  // not JSON
  };
  std::string ndjson;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    std::ofstream(scratch.path() / ("body" + std::to_string(i) + ".json")) << bodies[i];
    ndjson += bodies[i] + "\n";
  }
  std::ofstream(scratch.path() / "bodies.ndjson") << ndjson;
  for (const char* format : {"text", "json"}) {
    std::vector<std::string> args = {"validate", "--format", format, "request"};
    for (std::size_t i = 0; i < bodies.size(); ++i)
      args.push_back((scratch.path() / ("body" + std::to_string(i) + ".json")).string());
    Process files(args, {});
    CHECK(files.finish(0) == 1);
    Process lines(
        {"validate", "--ndjson", "--format", format, "request", (scratch.path() / "bodies.ndjson").string()},
        {});
    CHECK(lines.finish(0) == 1);
    INFO("format " << format << "\n" << files.out() << lines.out());
    CHECK(files.out().find("invalid") != std::string::npos);
    check_clean("validate stdout", files.out() + lines.out());
    check_clean("validate stderr", files.err() + lines.err());
  }
}
