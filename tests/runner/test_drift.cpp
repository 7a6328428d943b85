// Drift attribution: a run of one contract version against a server of the other fails, and the
// report says which version the target appears to follow, how many failures that explains and
// the command to run against it; the run of the matching version passes. Real reference servers
// on loopback port 0, in both directions.
#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "runner_test_support.hpp"
#include "sipcontract/contract.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

/// A reference server of `contract` on a free loopback port; stopped by the destructor.
class VersionServer {
 public:
  explicit VersionServer(const Contract& contract)
      : server_(std::make_unique<ReferenceServer>(ServerOptions{}, contract)) {
    server_->start();
  }
  ~VersionServer() { server_->stop(); }
  VersionServer(const VersionServer&) = delete;
  VersionServer& operator=(const VersionServer&) = delete;

  /// Run options aimed at it as at a remote target (so the drift command names it).
  RunOptions options() const {
    RunOptions o;
    const auto& so = server_->options();
    o.target = {server_->base_url(), so.parents.front(), so.project_id, so.api_token, false};
    o.jobs = 4;
    o.transport.retries = 0;
    o.transport.timeout = std::chrono::seconds(30);
    o.transport.max_time = std::chrono::seconds(20);
    return o;
  }

 private:
  std::unique_ptr<ReferenceServer> server_;
};

std::size_t failures_of(const RunReport& report) {
  std::size_t n = 0;
  for (const auto& c : report.cases) n += c.count(Severity::kFailure);
  return n;
}

/// Which checks failed in which step of which case. The number of findings is not compared
/// between two runs: a list answer carries the items other cases hold at that moment, so its
/// schema findings (one per item that breaks the selected version) depend on the interleaving.
std::set<std::tuple<std::string, std::size_t, std::string>> failed_checks(const RunReport& report) {
  std::set<std::tuple<std::string, std::size_t, std::string>> out;
  for (const auto& c : report.cases)
    for (const auto& s : c.steps)
      for (const auto& f : s.failures)
        if (f.severity == Severity::kFailure) out.insert({c.id, s.index, f.check});
  return out;
}

void check_attributed(const Contract& selected, const Contract& target_version) {
  VersionServer server(target_version);
  const auto cases = contract_cases(selected);
  RunOptions options = server.options();
  const RunReport report = run_contract_tests(selected, cases, options);
  INFO(describe_failures(report));
  REQUIRE(report.failed() > 0);
  CHECK(report.exit_code() == 1);
  REQUIRE(report.drift);
  CHECK(report.drift.version == target_version.name());
  CHECK(report.drift.failures == failures_of(report));
  CHECK(report.drift.explained * 2 >= report.drift.failures);
  CHECK(
      contains(report.drift.command, "sipcontract run --contract " + target_version.name() + " --base-url "));
  CHECK(contains(report.drift.command, report.base_url));

  // Once, at the top of the summary (before the failures), and in both reports.
  std::ostringstream summary;
  write_summary(report, summary);
  const std::string text = summary.str();
  const auto drift_at = text.find("Drift: the target appears to follow contract " + target_version.name());
  REQUIRE(drift_at != std::string::npos);
  CHECK(text.find("Drift:", drift_at + 1) == std::string::npos);
  CHECK(drift_at < text.find("Failures:"));
  CHECK(contains(text, "Run against " + target_version.name() + ": " + report.drift.command));
  const auto json = report_to_json(report);
  CHECK(json["drift"]["version"] == target_version.name());
  CHECK(json["drift"]["explained"] == report.drift.explained);
  CHECK(json["drift"]["failures"] == report.drift.failures);
  CHECK(json["drift"]["command"] == report.drift.command);
  std::ostringstream junit;
  write_junit(report, junit);
  CHECK(contains(junit.str(), "name=\"drift_version\" value=\"" + target_version.name() + "\""));
  CHECK(contains(junit.str(), "name=\"drift_command\""));

  // No failure became a pass: without attribution the same cases fail.
  RunOptions plain = server.options();
  plain.versions = std::vector<const Contract*>{};
  const RunReport without = run_contract_tests(selected, cases, plain);
  CHECK_FALSE(without.drift);
  CHECK(without.failed() == report.failed());
  CHECK(failed_checks(without) == failed_checks(report));
}

void check_passes(const Contract& version) {
  VersionServer server(version);
  const RunReport report = run_contract_tests(version, contract_cases(version), server.options());
  INFO(describe_failures(report));
  CHECK(report.failed() == 0);
  CHECK(report.exit_code() == 0);
  CHECK(report.cleanup.clean());
  CHECK_FALSE(report.drift);
  CHECK(report_to_json(report)["drift"].is_null());
}

}  // namespace

TEST_CASE("drift: v1 against a v2 server fails and attributes its failures to v2", "[drift]") {
  check_attributed(Contract::builtin("v1"), Contract::builtin("v2"));
}

TEST_CASE("drift: v2 against a v1 server fails and attributes its failures to v1", "[drift]") {
  check_attributed(Contract::builtin("v2"), Contract::builtin("v1"));
}

TEST_CASE("drift: v2 against a v2 server passes with no drift line", "[drift]") {
  check_passes(Contract::builtin("v2"));
}

TEST_CASE("drift: v1 against a v1 server passes with no drift line", "[drift]") {
  check_passes(Contract::builtin("v1"));
}

TEST_CASE("drift: explained failures are marked in the JSON report and stay failures", "[drift]") {
  VersionServer server(Contract::builtin("v2"));
  const auto& v1 = Contract::builtin("v1");
  const RunReport report = run_contract_tests(v1, contract_cases(v1), server.options());
  const auto json = report_to_json(report);
  std::size_t marked = 0;
  for (const auto& c : json["cases"])
    for (const auto& s : c["steps"])
      for (const auto& f : s["failures"])
        if (f.contains("explained_by")) {
          CHECK(f["explained_by"] == "v2");
          ++marked;
        }
  CHECK(marked == report.drift.explained);
  // A case whose only failures are explained is still a failed case.
  const auto* minimal = find_failure(report, "schema");
  REQUIRE(minimal != nullptr);
  CHECK(report.failed() > 0);
}
