// Cleanup that never claims more than it verified, the ledger and `sipcontract cleanup` after a
// kill -9, the second and third signal, and reproduction lines that reproduce. Each runs against
// a reference server on loopback (in this process, so that it outlives the run under test).
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "runner_test_support.hpp"
#include "sipcontract/runner.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

/// The built-in contract with `edit` applied to its manifest, loaded from memory.
Contract contract_with(const std::function<void(nlohmann::json&)>& edit) {
  std::map<std::string, std::string> files;
  const Contract& v1 = Contract::builtin();
  auto manifest = nlohmann::json::parse(read_file(std::string(CONTRACT_TESTS_DIR) + "/contract.json"));
  edit(manifest);
  files["contract.json"] = manifest.dump(2);
  for (const auto& name : v1.schema_store().names()) files["schemas/" + name] = *v1.schema_store().find(name);
  for (const auto& [name, text] : v1.case_files()) files["cases/" + name] = text;
  return Contract::from_files(files, "edited v1");
}

/// How many lines of `path` hold `text`.
std::size_t lines_with(const std::filesystem::path& path, const std::string& text) {
  std::size_t n = 0;
  for (const auto& line : split_lines(read_file_or_empty(path)))
    if (contains(line, text)) ++n;
  return n;
}

}  // namespace

TEST_CASE("with neither a list nor a get sibling, what a DELETE claims is unverified, never gone",
          "[runner][cleanup][verify]") {
  const Contract contract = contract_with([](nlohmann::json& m) {
    m["operations"].erase("list");
    m["operations"].erase("get");
  });
  ServerOptions so;
  so.faults = {ServerFault::kIgnoreDelete};  // answers 204 and keeps the endpoint
  ServerGuard server(so);
  auto report =
      run_contract_tests(contract, builtin_matching({"valid-minimal", "valid-full"}), options_for(server));
  INFO(describe_failures(report));
  CHECK(report.failed() == 0);
  CHECK(report.cleanup.deleted == 0);
  CHECK_FALSE(report.cleanup.verified);
  REQUIRE(report.cleanup.unverified.size() == 2);
  for (const auto& u : report.cleanup.unverified) {
    CHECK_FALSE(u.id.empty());
    CHECK_THAT(u.name, Catch::Contains(report.run_id));
    CHECK_THAT(u.reason, Catch::Contains("no get operation"));
  }
  CHECK(report.exit_code() == 1);
  std::ostringstream console;
  write_summary(report, console);
  CHECK_THAT(console.str(), Catch::Contains("2 UNVERIFIED (may still be there)"));
  CHECK(console.str().find("nothing left behind") == std::string::npos);
  CHECK(console.str().find("0 left behind") == std::string::npos);
  CHECK(report_to_json(report)["cleanup"]["verified"] == false);
  std::ostringstream junit;
  write_junit(report, junit);
  CHECK_THAT(junit.str(), Catch::Contains("2 unverified"));
  CHECK(listed_endpoints(server, server.subscriber(), report.run_id).size() == 2);  // indeed still there
}

TEST_CASE("without a list, an endpoint that reads back as the contract's 404 is verified gone",
          "[runner][cleanup][verify]") {
  const Contract contract = contract_with([](nlohmann::json& m) { m["operations"].erase("list"); });
  ServerGuard server;
  auto report =
      run_contract_tests(contract, builtin_matching({"valid-minimal", "valid-full"}), options_for(server));
  INFO(describe_failures(report));
  CHECK(report.cleanup.clean());
  CHECK(report.cleanup.deleted == 2);
  CHECK(report.cleanup.verified_by == "reading back");
  CHECK(report.exit_code() == 0);
}

TEST_CASE("a kill -9 mid-run leaves a ledger from which sipcontract cleanup removes everything",
          "[runner][cleanup][ledger]") {
  ServerOptions so;
  so.faults = {ServerFault::kSlow};  // every answer waits: the run is still going when it is killed
  so.fault_delay_ms = 200;
  ServerGuard server(so);
  TempDir dir;
  const auto ledger = dir.path() / "ledger.jsonl";
  const std::map<std::string, std::string> env = {{"SIGNALWIRE_PROJECT_ID", server.options().project_id},
                                                  {"SIGNALWIRE_API_TOKEN", server.options().api_token}};
  Child run(
      {"run", "--base-url", server.base_url(), "--subscriber", server.subscriber(), "-j", "4", "--case",
       "valid-*", "--case", "codec-*", "--case", "cipher-*", "--max-time", "20", "--ledger", ledger.string()},
      env);
  // Killed once the server holds three of the run's endpoints and the ledger has announced more.
  for (int i = 0; i < 3000 && (server.server().endpoint_count() < 3 || lines_with(ledger, "\"sending\"") < 4);
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(server.server().endpoint_count() >= 3);
  run.kill();
  // Creates already on the wire may still land after the kill: they were announced first.
  const auto announced = lines_with(ledger, "\"sending\"");
  CHECK(announced >= server.server().endpoint_count());
  const std::string ledger_text = read_file(ledger);
  CHECK(ledger_text.find(server.options().api_token) == std::string::npos);

  auto r = run_cli({"cleanup", "--ledger", ledger.string()}, env);
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("nothing left behind"));
  CHECK_THAT(r.out, Catch::Contains("Result: CLEAN (exit 0)"));
  CHECK(server.server().endpoint_count() == 0);
  CHECK(lines_with(ledger, "\"complete\"") == 1);

  // Run again, it finds nothing more and says so; by run id alone it also needs a subscriber.
  auto again = run_cli({"cleanup", "--ledger", ledger.string()}, env);
  CHECK(again.exit_code == 0);
  auto no_subscriber = run_cli({"cleanup", "--run-id", "abcdef1234", "--base-url", server.base_url()}, env);
  CHECK(no_subscriber.exit_code == 2);
  CHECK_THAT(no_subscriber.err, Catch::Contains("--subscriber"));
}

TEST_CASE("sipcontract cleanup --run-id sweeps a subscriber's list by the run id in the names",
          "[runner][cleanup][ledger]") {
  ServerGuard server;
  RunOptions opts = options_for(server);
  opts.keep = true;
  auto kept = run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal", "codec-*"}), opts);
  REQUIRE(listed_endpoints(server, server.subscriber(), kept.run_id).size() == 8);
  auto r = run_cli({"cleanup", "--run-id", kept.run_id, "--base-url", server.base_url(), "--subscriber",
                    server.subscriber()},
                   {{"SIGNALWIRE_PROJECT_ID", server.options().project_id},
                    {"SIGNALWIRE_API_TOKEN", server.options().api_token}});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(listed_endpoints(server, server.subscriber(), kept.run_id).empty());
}

TEST_CASE("a second SIGINT still writes complete reports and lists what may be left, a third quits at once",
          "[runner][cli][signal]") {
  ServerOptions so;
  so.faults = {ServerFault::kSlow};  // each answer waits 2 s: cleanup cannot end before the second signal
  so.fault_delay_ms = 2000;
  std::atomic<int> requests{0};
  so.access_log = [&](const std::string&) { ++requests; };
  ServerGuard server(so);
  TempDir dir;
  const auto json_path = dir.path() / "report.json";
  const auto junit_path = dir.path() / "junit.xml";
  const std::map<std::string, std::string> env = {{"SIGNALWIRE_PROJECT_ID", server.options().project_id},
                                                  {"SIGNALWIRE_API_TOKEN", server.options().api_token}};
  const std::vector<std::string> args = {
      "run", "--base-url",  server.base_url(), "--subscriber",     server.subscriber(), "-j",
      "4",   "--case",      "valid-*",         "--case",           "codec-*",           "--max-time",
      "30",  "--no-ledger", "--report",        json_path.string(), "--junit",           junit_path.string()};
  SECTION("second signal: complete reports that name every endpoint still there") {
    Child child(args, env);
    for (int i = 0; i < 3000 && server.server().endpoint_count() < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(server.server().endpoint_count() >= 2);
    child.signal(SIGINT);
    std::optional<std::string> line;
    while ((line = child.next_line(std::chrono::seconds(30))) && !contains(*line, "interrupted (SIGINT)")) {
    }
    REQUIRE(line);
    child.signal(SIGINT);
    REQUIRE(child.wait(std::chrono::seconds(60)));
    INFO(child.out() << child.err());
    CHECK(child.exit_code() == 130);
    CHECK_THAT(child.out(), Catch::Contains("Interrupted by SIGINT twice"));
    auto report = nlohmann::json::parse(read_file(json_path));  // complete and valid
    CHECK(report["aborted"] == true);
    CHECK(report["cleanup"]["verified"] == false);
    CHECK_THAT(read_file(junit_path), Catch::EndsWith("</testsuites>\n"));
    // Every endpoint the server still holds is in the report, as left or unverified: by id, or, when
    // the second signal cut its create before the answer came (the id never reached the runner),
    // by the username that create sent. Which of the two depends on when the signal lands.
    std::set<std::string> reported;
    std::map<std::string, std::string> named;  // id -> the username it is reported by
    for (const char* list : {"leftovers", "unverified"})
      for (const auto& l : report["cleanup"][list]) {
        if (l["id"].is_string())
          reported.insert(l["id"].get<std::string>());
        else if (l["name"].is_string())
          for (const auto& id : listed_endpoints(server, server.subscriber(), l["name"].get<std::string>()))
            named[id] = l["name"].get<std::string>();
      }
    for (const auto& id : listed_endpoints(server, server.subscriber(), "")) {
      INFO("still there: " << id);
      CHECK((reported.count(id) == 1 || named.count(id) == 1));
      CHECK_THAT(child.out(), Catch::Contains(reported.count(id) == 1 ? id : named[id]));
    }
  }
  SECTION("third signal: quits at once, and leaves no report half-written") {
    Child child(args, env);
    for (int i = 0; i < 3000 && server.server().endpoint_count() < 1; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    child.signal(SIGINT);
    std::optional<std::string> line;
    while ((line = child.next_line(std::chrono::seconds(30))) && !contains(*line, "interrupted (SIGINT)")) {
    }
    child.signal(SIGINT);
    child.signal(SIGINT);
    REQUIRE(child.wait(std::chrono::seconds(30)));
    CHECK(child.exit_code() == 130);
    for (const auto& path : {json_path, junit_path}) {
      // Either the whole report or none; never a cut or empty one, never a temporary file left.
      const std::string text = read_file_or_empty(path);
      if (!text.empty()) CHECK(text.back() == '\n');
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
      CHECK_FALSE(contains(entry.path().filename().string(), ".tmp-"));
  }
}

TEST_CASE("a failing case's reproduction lines, after the exports, reproduce it and delete what they created",
          "[runner][reports][reproduce]") {
  ServerOptions so;
  so.faults = {ServerFault::kAcceptInvalid, ServerFault::kAcceptDuplicates};
  ServerGuard server(so);
  auto report = run_contract_tests(Contract::builtin(),
                                   builtin_matching({"password-confirmation-mismatch", "duplicate-username"}),
                                   options_for(server));
  REQUIRE(report.failed() == 2);
  REQUIRE(report.cleanup.clean());
  REQUIRE(server.server().endpoint_count() == 0);
  std::string exports;
  for (const auto& line : report.reproduce_exports) exports += line + "\n";
  CHECK_THAT(exports, Catch::Contains("export SC_SECRET="));
  for (const auto& c : report.cases) {
    INFO(c.id << ":\n" << c.reproduce);
    REQUIRE_FALSE(c.reproduce.empty());
    CHECK(c.reproduce.find(server.options().api_token) == std::string::npos);
    TempDir dir;
    auto script = dir.write("reproduce.sh", "set -u\n" + exports + c.reproduce);
    setenv("SIGNALWIRE_PROJECT_ID", server.options().project_id.c_str(), 1);
    setenv("SIGNALWIRE_API_TOKEN", server.options().api_token.c_str(), 1);
    FILE* p = popen(("sh " + script.string() + " 2>&1").c_str(), "r");
    REQUIRE(p);
    std::string output;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) output.append(buf, n);
    pclose(p);
    unsetenv("SIGNALWIRE_PROJECT_ID");
    unsetenv("SIGNALWIRE_API_TOKEN");
    INFO(output);
    // The faulty server accepts what the contract refuses: the same 201 the run reported.
    if (c.id == "password-confirmation-mismatch") {
      CHECK_THAT(output, Catch::StartsWith("HTTP/1.1 201"));
    } else {
      CHECK(output.find("HTTP/1.1 201") != output.rfind("HTTP/1.1 201"));  // both steps created
    }
    CHECK(server.server().endpoint_count() == 0);  // and the lines deleted what they made
  }
}
