// The conformance matrix: the whole suite against every conforming variant of the reference server
// (each takes another answer the contract allows: 400 or 415 for unreadable bodies, a 422 that
// names only the first problem, chunked or gzip bodies, Connection: close, pagination, extra
// fields, ...) must pass: 0 failures, exit 0, cleanup verified, nothing left. Then the faults a
// cleanup must not be fooled by, and -j against the in-process server.
#include <catch2/catch.hpp>
#include <chrono>

#include "runner_test_support.hpp"
#include "sipcontract/runner.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

struct MatrixRun {
  RunReport report;
  std::vector<std::string> left;  // the run's endpoints the server still lists afterwards
  std::size_t stored = 0;         // every endpoint the server holds afterwards
};

MatrixRun run_against(ServerOptions so, const std::vector<Case>& cases, std::size_t jobs = 4) {
  ServerGuard server(std::move(so));
  RunOptions opts = options_for(server);
  opts.jobs = jobs;
  MatrixRun out;
  out.report = run_contract_tests(Contract::builtin(), cases, opts);
  out.stored = server.server().endpoint_count();
  return out;
}

void require_pass(const MatrixRun& run, const std::string& what) {
  INFO(what << ":\n" << describe_failures(run.report));
  CHECK(run.report.failed() == 0);
  CHECK(run.report.skipped() == 0);
  CHECK(run.report.exit_code() == 0);
  CHECK(run.report.cleanup.verified);
  CHECK(run.report.cleanup.leftovers.empty());
  CHECK(run.report.cleanup.unverified.empty());
  CHECK(run.report.cleanup.deleted == run.report.cleanup.created);
  CHECK(run.report.cleanup.created > 20);
  CHECK(run.stored == 0);
}

}  // namespace

TEST_CASE("the whole suite passes against every conforming variant of the reference server",
          "[runner][matrix]") {
  const auto cases = builtin_cases();
  for (ServerVariant variant : all_variants()) {
    DYNAMIC_SECTION("variant " << variant_name(variant)) {
      ServerOptions so;
      so.variants = {variant};
      auto run = run_against(so, cases);
      require_pass(run, std::string(variant_name(variant)));
      // Each variant changes something the suite sees: an answer the contract leaves open shows as a
      // warning where it differs from what the suite assumes, never as a failure.
      for (const auto& c : run.report.cases)
        for (const auto& s : c.steps)
          for (const auto& f : s.failures) CHECK(f.severity != Severity::kFailure);
    }
  }
}

TEST_CASE("the whole suite passes against the reference server with every wire variant at once",
          "[runner][matrix]") {
  ServerOptions so;
  so.variants = {ServerVariant::kChunked,         ServerVariant::kGzip,
                 ServerVariant::kConnectionClose, ServerVariant::kExtraFields,
                 ServerVariant::kPaginated,       ServerVariant::kMediaType,
                 ServerVariant::kDelete200,       ServerVariant::kCreateOnlyField,
                 ServerVariant::kErrorsReversed};
  require_pass(run_against(so, builtin_cases()), "every wire variant");
}

TEST_CASE("the open points the variants take show as warnings, and as failures only with --strict",
          "[runner][matrix][strict]") {
  ServerOptions so;
  so.variants = {ServerVariant::kStatus415, ServerVariant::kErrorsFirstOnly};
  const auto cases = builtin_matching({"body-*", "missing-everything"});
  auto lenient = run_against(so, cases);
  INFO(describe_failures(lenient.report));
  CHECK(lenient.report.failed() == 0);
  CHECK(lenient.report.warnings() >= 3);
  const CheckFailure* w = find_failure(lenient.report, "status");
  REQUIRE(w);
  CHECK(w->severity == Severity::kWarning);
  CHECK(w->assumption == "invalid-body-status");
  const CheckFailure* a = find_failure(lenient.report, "attribute");
  REQUIRE(a);
  CHECK(a->severity == Severity::kWarning);
  CHECK(a->assumption == "error-items-complete");
  CHECK(lenient.report.exit_code() == 0);

  ServerGuard server(so);
  auto opts = options_for(server);
  opts.strict = true;
  auto report = run_contract_tests(Contract::builtin(), cases, opts);
  CHECK(report.failed() >= 3);
  CHECK(report.exit_code() == 1);
  CHECK(report.warnings() == 0);
}

TEST_CASE("a server that stores and then answers 500, with its list failing, gets an unverified cleanup",
          "[runner][matrix][cleanup]") {
  ServerOptions so;
  so.faults = {ServerFault::kStoreThen500, ServerFault::kList503};
  ServerGuard server(so);
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-*"}), options_for(server));
  INFO(describe_failures(report));
  CHECK(report.failed() > 0);
  CHECK(report.exit_code() == 1);
  CHECK_FALSE(report.cleanup.verified);
  REQUIRE(report.cleanup.unverified.size() == server.server().endpoint_count());
  for (const auto& u : report.cleanup.unverified) {
    CHECK(u.id.empty());  // no 201 ever told an id
    CHECK_THAT(u.name, Catch::Contains(report.run_id));
    CHECK_THAT(u.reason, Catch::Contains("the list answered 503"));
  }
  std::ostringstream console;
  write_summary(report, console);
  CHECK_THAT(console.str(), Catch::Contains("UNVERIFIED (may still be there)"));
  CHECK(console.str().find("nothing left behind") == std::string::npos);
  auto json = report_to_json(report);
  CHECK(json["cleanup"]["verified"] == false);
  CHECK(json["cleanup"]["unverified"][0]["name"].get<std::string>().find(report.run_id) != std::string::npos);
  std::ostringstream junit;
  write_junit(report, junit);
  CHECK_THAT(junit.str(), Catch::Contains("UNVERIFIED: subscriber"));
}

TEST_CASE("a server that stores and then answers 500 is swept by the run id: nothing left",
          "[runner][matrix][cleanup]") {
  ServerOptions so;
  so.faults = {ServerFault::kStoreThen500};
  ServerGuard server(so);
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-*"}), options_for(server));
  INFO(describe_failures(report));
  CHECK(report.failed() > 0);  // every create answered 500
  CHECK(report.cleanup.clean());
  CHECK(report.cleanup.deleted == report.cleanup.created);
  CHECK(report.cleanup.created > 0);
  CHECK(server.server().endpoint_count() == 0);
}

TEST_CASE("a gateway's own 404 to DELETE never counts as gone", "[runner][matrix][cleanup]") {
  SECTION("the list still shows them: left behind") {
    ServerOptions so;
    so.faults = {ServerFault::kGatewayDelete404};
    ServerGuard server(so);
    auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal", "valid-full"}),
                                     options_for(server));
    CHECK(report.cleanup.deleted == 0);
    REQUIRE(report.cleanup.leftovers.size() == 2);
    for (const auto& l : report.cleanup.leftovers)
      CHECK_THAT(l.reason, Catch::Contains("not the contract's 404"));
    CHECK(report.exit_code() == 1);
  }
  SECTION("and a list that hides them: reading back still finds them") {
    ServerOptions so;
    so.faults = {ServerFault::kGatewayDelete404, ServerFault::kListOmits};
    ServerGuard server(so);
    auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal", "valid-full"}),
                                     options_for(server));
    CHECK(report.cleanup.deleted == 0);
    REQUIRE(report.cleanup.leftovers.size() == 2);
    for (const auto& l : report.cleanup.leftovers)
      CHECK_THAT(l.reason, Catch::Contains("still readable") && Catch::Contains("list no longer shows it"));
    CHECK(report.exit_code() == 1);
    CHECK(server.server().endpoint_count() == 2);
  }
}

TEST_CASE("a read-back that answers 404 while the endpoint stays listed fails state, and cleanup still works",
          "[runner][matrix][cleanup]") {
  ServerOptions so;
  so.faults = {ServerFault::kGet404};
  ServerGuard server(so);
  auto report =
      run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal"}), options_for(server));
  const CheckFailure* f = find_failure(report, "state");
  REQUIRE(f);
  CHECK(f->severity == Severity::kFailure);
  // Gone from the list, and the get answers the contract's 404: verified, and true.
  CHECK(report.cleanup.clean());
  CHECK(server.server().endpoint_count() == 0);
}

TEST_CASE("run -j 1, 8, 32 and 64 against the in-process server: no transport failure, no retry",
          "[runner][matrix][jobs]") {
  const auto cases = builtin_cases();
  for (std::size_t jobs : {1, 8, 32, 64}) {
    for (int round = 0; round < 3; ++round) {
      DYNAMIC_SECTION("-j " << jobs << " round " << round + 1) {
        // Sized the way `sipcontract run` sizes its in-process server.
        ServerOptions so;
        so.threads = jobs + 16;
        so.listen_backlog = static_cast<int>(512 + 4 * jobs);
        auto run = run_against(so, cases, jobs);
        INFO(describe_failures(run.report));
        CHECK(find_failure(run.report, "transport") == nullptr);
        CHECK(find_failure(run.report, "max-time") == nullptr);
        CHECK(run.report.retries() == 0);
        require_pass(run, "-j " + std::to_string(jobs));
      }
    }
  }
}
