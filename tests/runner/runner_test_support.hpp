// Helpers for the runner tests: a reference server on a free loopback port, run options aimed
// at it, lookups in a RunReport, the server's list operation, and a child-process runner for
// the sipcontract binary (with its own environment, so credentials never go on a command line).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/runner.hpp"
#include "sipcontract/server.hpp"

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
  const std::string& subscriber() const { return server_->options().subscribers.front(); }
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

/// A temporary folder removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& path);

/// A running sipcontract child process with stdout and stderr captured to files.
class Child {
 public:
  /// Starts SIPCONTRACT_BIN with `args` and an environment of exactly `env` (plus PATH and the
  /// sanitizer option variables when set).
  Child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  /// Waits up to `limit`; true when the child exited (exit_code()/term_signal() then valid).
  bool wait(std::chrono::milliseconds limit);
  void signal(int sig);
  int exit_code() const { return exit_code_; }
  int term_signal() const { return term_signal_; }
  std::string out() const;
  std::string err() const;

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  bool done_ = false;
  int exit_code_ = -1;
  int term_signal_ = 0;
};

/// Runs the binary to completion (60 s guard) and returns {exit code, stdout, stderr}.
struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CliResult run_cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});

}  // namespace sipcontract::test
