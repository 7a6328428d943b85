// Proof that every check fires: for each check, a reference server that breaks exactly that
// rule (ServerFault), and the runner must report that check (at that pointer where there is one).
// Against the conforming server the whole suite passes with no finding. After every run the
// server lists none of the run's endpoints.
#include <httplib.h>

#include <catch2/catch.hpp>

#include "runner_test_support.hpp"
#include "sipcontract/runner.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

/// Runs `globs` of the built-in cases against a server with `faults`.
struct FaultRun {
  RunReport report;
  std::vector<std::string> left;  // the run's endpoints the server still lists afterwards
};

FaultRun run_with(std::set<ServerFault> faults, const std::vector<std::string>& globs,
                  const std::function<void(ServerOptions&, RunOptions&)>& tweak = {}) {
  ServerOptions so;
  so.faults = std::move(faults);
  RunOptions opts;
  opts.jobs = 4;
  opts.transport.retries = 0;
  opts.transport.timeout = std::chrono::seconds(30);
  opts.transport.max_time = std::chrono::seconds(20);
  if (tweak) tweak(so, opts);
  ServerGuard server(so);
  opts.target = options_for(server).target;
  FaultRun out;
  out.report = run_contract_tests(Contract::builtin(), builtin_matching(globs), opts);
  out.left = listed_endpoints(server, server.subscriber(), out.report.run_id);
  return out;
}

}  // namespace

TEST_CASE("the conforming reference server passes the whole suite with no finding",
          "[runner][faults][conforming]") {
  ServerGuard server;
  RunOptions opts = options_for(server);
  auto cases = builtin_cases();
  auto report = run_contract_tests(Contract::builtin(), cases, opts);
  INFO(describe_failures(report));
  CHECK(report.cases.size() == cases.size());
  CHECK(report.failed() == 0);
  CHECK(report.skipped() == 0);
  CHECK(report.passed() == cases.size());
  CHECK(report.retries() == 0);
  CHECK(report.exit_code() == 0);
  for (const auto& c : report.cases)
    for (const auto& s : c.steps) CHECK(s.failures.empty());
  CHECK(report.cleanup.created > 20);
  CHECK(report.cleanup.deleted == report.cleanup.created);
  CHECK(report.cleanup.leftovers.empty());
  CHECK(listed_endpoints(server, server.subscriber(), "").empty());
}

TEST_CASE("every check fires against the server that breaks its rule", "[runner][faults]") {
  struct Expect {
    ServerFault fault;
    std::vector<std::string> cases;
    std::string check;
    std::optional<std::string> pointer;
  };
  const std::vector<Expect> table = {
      {ServerFault::kWrongStatus, {"valid-minimal"}, "status", ""},
      {ServerFault::kWrongStatus, {"valid-minimal"}, "undocumented-status", ""},
      {ServerFault::kWrongContentType, {"valid-minimal"}, "content-type", ""},
      {ServerFault::kNonJsonBody, {"valid-minimal"}, "json", ""},
      {ServerFault::kBadEnum, {"valid-minimal"}, "enum", "/ciphers/0"},
      {ServerFault::kBadUuid, {"valid-minimal"}, "schema", "/id"},
      {ServerFault::kNoEcho, {"valid-full"}, "echo", "/caller_id"},
      {ServerFault::kWrongDefault, {"valid-minimal"}, "echo", "/encryption"},
      {ServerFault::kLeakSecret, {"valid-minimal"}, "secrets", "/password"},
      {ServerFault::kLeakToken, {"valid-minimal"}, "secrets", "/api_token"},
      {ServerFault::kAcceptDuplicates, {"duplicate-username"}, "status", ""},
      {ServerFault::kAcceptInvalid, {"missing-username"}, "status", ""},
      {ServerFault::kNoAuth, {"auth-none"}, "status", ""},
      {ServerFault::kUnknownParentOk, {"subscriber-unknown"}, "status", ""},
      {ServerFault::kBadErrorShape, {"missing-username"}, "schema", std::nullopt},
      {ServerFault::kBadErrorShape, {"missing-username"}, "attribute", "/errors"},
      {ServerFault::kWrongAttribute, {"missing-username"}, "attribute", "/errors/0/attribute"},
      {ServerFault::kUndocumentedStatus, {"missing-username"}, "undocumented-status", ""},
      {ServerFault::kResetConnection, {"valid-minimal"}, "transport", ""},
      {ServerFault::kTruncatedBody, {"valid-minimal"}, "transport", ""},
      {ServerFault::kDeepNesting, {"valid-minimal"}, "json", ""},
  };
  for (const auto& e : table) {
    DYNAMIC_SECTION(fault_name(e.fault) << " -> " << e.check) {
      auto run = run_with({e.fault}, e.cases);
      INFO(describe_failures(run.report));
      const CheckFailure* f = find_failure(run.report, e.check, e.pointer);
      REQUIRE(f != nullptr);
      CHECK(run.report.failed() == 1);
      CHECK(run.report.exit_code() != 0);
      CHECK(!f->message.empty());
      // Whatever went wrong, the run deleted what it created (the sweep finds creates whose
      // answer was lost, e.g. a truncated or unparsable 201, by the run id in the username).
      if (e.fault != ServerFault::kUnknownParentOk) CHECK(run.left.empty());
    }
  }
}

TEST_CASE("the schema check names the field a 201 lacks", "[runner][faults]") {
  auto run = run_with({ServerFault::kMissingField}, {"valid-minimal"});
  INFO(describe_failures(run.report));
  bool named = false;
  for (const auto& c : run.report.cases)
    for (const auto& s : c.steps)
      for (const auto& f : s.failures)
        if (f.check == "schema" && (f.pointer == "/id" || f.expected.find("id") != std::string::npos))
          named = true;
  CHECK(named);
  CHECK(run.left.empty());
}

TEST_CASE("an enum violation names the pointer, the value and the allowed values", "[runner][faults][enum]") {
  // bad-enum breaks the first list-of-enum field of the item schema: ciphers.
  auto run = run_with({ServerFault::kBadEnum}, {"valid-minimal"});
  const CheckFailure* f = find_failure(run.report, "enum", "/ciphers/0");
  REQUIRE(f);
  CHECK(f->actual == "\"aead_aes_256_gcm_8\"");
  CHECK_THAT(f->expected,
             Catch::Contains("\"AEAD_AES_256_GCM_8\"") && Catch::Contains("\"AES_CM_128_HMAC_SHA1_32\""));
}

TEST_CASE("a slow server is reported under max-time within the bound", "[runner][faults][slow]") {
  auto run =
      run_with({ServerFault::kSlow}, {"valid-minimal", "auth-none"}, [](ServerOptions& so, RunOptions& ro) {
        so.fault_delay_ms = 600;
        ro.transport.max_time = std::chrono::milliseconds(100);
      });
  INFO(describe_failures(run.report));
  REQUIRE(find_failure(run.report, "max-time"));
  CHECK(run.report.failed() == 2);
  for (const auto& c : run.report.cases)
    for (const auto& s : c.steps) CHECK(s.status == -1);  // cut at max-time, not waited out
  CHECK(run.left.empty());
}

TEST_CASE("a huge body stops at --max-response-bytes and is reported under size", "[runner][faults][size]") {
  auto run = run_with({ServerFault::kHugeBody}, {"valid-minimal"}, [](ServerOptions& so, RunOptions& ro) {
    so.fault_body_bytes = 6u << 20;
    ro.transport.max_response_bytes = 1u << 20;
  });
  INFO(describe_failures(run.report));
  const CheckFailure* f = find_failure(run.report, "size");
  REQUIRE(f);
  CHECK_THAT(f->message, Catch::Contains("--max-response-bytes"));
  CHECK(run.left.empty());
}

TEST_CASE("a DELETE that answers 204 and keeps the endpoint leaves it listed as left behind",
          "[runner][faults][cleanup]") {
  auto run = run_with({ServerFault::kIgnoreDelete}, {"valid-minimal", "valid-full"});
  INFO(describe_failures(run.report));
  CHECK(run.report.failed() == 0);
  REQUIRE(run.report.cleanup.leftovers.size() == 2);
  for (const auto& l : run.report.cleanup.leftovers) CHECK_THAT(l.reason, Catch::Contains("still listed"));
  CHECK(run.report.exit_code() == 1);
  CHECK(run.left.size() == 2);
  std::ostringstream junit;
  write_junit(run.report, junit);
  CHECK_THAT(junit.str(), Catch::Contains("type=\"cleanup\""));
}

TEST_CASE("with --keep the run keeps what it created and lists it", "[runner][cleanup]") {
  ServerGuard server;
  RunOptions opts = options_for(server);
  opts.keep = true;
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal", "codec-*"}), opts);
  CHECK(report.cleanup.kept);
  CHECK(report.cleanup.leftovers.size() == 8);
  CHECK(report.exit_code() == 0);
  CHECK(listed_endpoints(server, server.subscriber(), report.run_id).size() == 8);
}

TEST_CASE("a run with failures still deletes everything it created", "[runner][cleanup]") {
  // Every 201 is broken (bad enum), every case with a create fails, and all are cleaned up.
  auto run = run_with({ServerFault::kBadEnum}, {"valid-*", "cipher-*", "duplicate-username"});
  CHECK(run.report.failed() > 5);
  CHECK(run.report.cleanup.leftovers.empty());
  CHECK(run.report.cleanup.created == run.report.cleanup.deleted);
  CHECK(run.left.empty());
}

TEST_CASE("the cleanup sweep pages through the list and touches only the run's endpoints",
          "[runner][cleanup]") {
  // 60 endpoints that are not the run's come first in the list (page size 50), so the run's
  // endpoints, whose ids the truncated 201s never gave away, are only found on page two.
  ServerOptions so;
  so.faults = {ServerFault::kTruncatedBody};
  ServerGuard server(so);
  httplib::Client client(server.base_url().substr(0, server.base_url().find("/api/fabric")));
  client.set_basic_auth(server.options().project_id, server.options().api_token);
  const std::string path = "/api/fabric/resources/subscribers/" + server.subscriber() + "/sip_endpoints";
  for (int i = 0; i < 60; ++i) {
    nlohmann::json body = {
        {"username", "foreign-" + std::to_string(i)}, {"password", "x"}, {"password_confirmation", "x"}};
    client.Post(path, body.dump(), "application/json");  // the 201 is cut short, but the endpoint exists
  }
  REQUIRE(listed_endpoints(server, server.subscriber(), "foreign-").size() == 60);
  RunOptions opts = options_for(server);
  auto report =
      run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal", "valid-full"}), opts);
  INFO(describe_failures(report));
  CHECK(find_failure(report, "transport"));
  CHECK(report.cleanup.created == 2);
  CHECK(report.cleanup.deleted == 2);
  CHECK(listed_endpoints(server, server.subscriber(), report.run_id).empty());
  CHECK(listed_endpoints(server, server.subscriber(), "foreign-").size() == 60);
}
