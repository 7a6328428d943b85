// Helpers for the runner tests: a reference server on a free loopback port, run options aimed
// at it, lookups in a RunReport, the server's list operation, and the sipcontract binary run to
// completion (tests/support's child, with its own environment, so credentials never go on a
// command line).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/runner.hpp"
#include "sipcontract/server.hpp"
#include "test_support.hpp"

namespace sipcontract::test {

/// A started reference server; stopped by the destructor.
class ServerGuard {
 public:
  explicit ServerGuard(ServerOptions options = {})
      : server_(std::make_unique<ReferenceServer>(std::move(options))) {
    server_->start();
  }
  ~ServerGuard() { server_->stop(); }
  ServerGuard(const ServerGuard&) = delete;
  ServerGuard& operator=(const ServerGuard&) = delete;

  ReferenceServer& server() { return *server_; }
  const ServerOptions& options() const { return server_->options(); }
  const std::string& subscriber() const { return server_->options().parents.front(); }
  std::string base_url() const { return server_->base_url(); }

 private:
  std::unique_ptr<ReferenceServer> server_;
};

/// Options that aim a run at `server` with its credentials (retries off: faults are deterministic).
RunOptions options_for(const ServerGuard& server);

/// The built-in cases whose id matches one of `globs`.
std::vector<Case> builtin_matching(const std::vector<std::string>& globs);

/// The first failure with check id `check` (and `pointer`, when given) in any case; null if none.
const CheckFailure* find_failure(const RunReport& report, std::string_view check,
                                 std::optional<std::string_view> pointer = std::nullopt);

/// Every failure of the report as "case: [check] pointer: message" lines, for INFO().
std::string describe_failures(const RunReport& report);

/// The ids of every endpoint the server lists for `subscriber` whose username contains `marker`
/// (all of them when `marker` is empty); follows links.next.
std::vector<std::string> listed_endpoints(const ServerGuard& server, const std::string& subscriber,
                                          const std::string& marker);

/// A running sipcontract child process with stdout and stderr captured to files (tests/support).
using Child = Process;

/// What run_cli() saw: exit_code, out and err (and the rest of ProcessResult).
using CliResult = ProcessResult;

/// Runs the binary to completion (120 s guard) with an environment of `env` (plus PATH and the
/// sanitizer option variables when set).
CliResult run_cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

}  // namespace sipcontract::test
