// The subcommands of the sipcontract executable; each file adds one to the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace sipcontract::cli {

inline constexpr int kExitOk = 0;           ///< everything checked conforms
inline constexpr int kExitViolation = 1;    ///< a document or response breaks the contract
inline constexpr int kExitUsage = 2;        ///< bad flags, unreadable input, schema or manifest
inline constexpr int kExitUnreachable = 3;  ///< run: the target could not be reached

/// Where a subcommand's callback leaves the process exit code.
struct CommandResult {
  int exit_code = kExitOk;
};

/// An environment variable's value; nullopt when it is unset or empty.
inline std::optional<std::string> env_value(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

/// The built-in contracts' names ("v1, v2"), for --help.
std::string builtin_contract_names();
/// "--parent" and the name each built-in contract gives its parent option ("--subscriber"), as a
/// CLI11 option name list ("--parent,--subscriber").
std::string parent_option_names();
/// What the built-in contracts call the parent ("subscriber"), for --help.
std::string parent_titles();
/// The default contract's credential variables ("A and B") and secret fields ("a, b"), for help texts.
std::string credential_variables();
std::string secret_field_names();
/// The {{env:NAME}} variables the default contract's cases read ("A, B", or "none").
std::string case_variables();

/// The description of serve, run or cleanup (kNetCommands), for its own help and for the list in
/// `sipcontract --help`.
std::string net_command_summary(std::string_view command);

/// The commands that talk HTTP (serve, run, cleanup) are built into a second executable,
/// sipcontract-net, that `sipcontract` hands them to (as git hands `git foo` to git-foo), so
/// that validate and diff start without loading OpenSSL, cpp-httplib and their dependencies:
/// loading them was two thirds of every command's start-up (docs/architecture.md, src/cli).
inline constexpr const char* kNetCommands[] = {"serve", "run", "cleanup"};
/// Replaces this process with sipcontract-net, given the same arguments; returns only when that
/// fails, with the exit code after a one-line message on stderr.
int exec_net_command(std::string_view command, char** argv);

void add_validate_command(CLI::App& app, CommandResult& result);
void add_serve_command(CLI::App& app, CommandResult& result);
void add_run_command(CLI::App& app, CommandResult& result);
void add_cleanup_command(CLI::App& app, CommandResult& result);
void add_diff_command(CLI::App& app, CommandResult& result);

}  // namespace sipcontract::cli
