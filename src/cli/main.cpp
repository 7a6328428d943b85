// sipcontract: validate payloads, serve the reference implementation, run the contract suite.
//
// Built twice (src/cli/CMakeLists.txt): `sipcontract` holds validate and diff and hands serve, run
// and cleanup to `sipcontract-net` (SIPCONTRACT_NET_EXECUTABLE), which holds those three and the
// HTTP and TLS libraries they need. Both name themselves "sipcontract" in help and errors.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <string_view>

#include "commands.hpp"
#include "sipcontract/contract.hpp"

namespace {

#ifndef SIPCONTRACT_NET_EXECUTABLE
bool is_net_command(const char* arg) {
  for (const char* name : sipcontract::cli::kNetCommands)
    if (std::string_view(arg) == name) return true;
  return false;
}
#endif

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // TLS and socket writes to a closed peer must not kill us
#ifndef SIPCONTRACT_NET_EXECUTABLE
  // The command is the first argument (the top level has no options but --help and --version).
  if (argc > 1 && is_net_command(argv[1])) return sipcontract::cli::exec_net_command(argv[1], argv);
#endif
  CLI::App app{"sipcontract: checks an HTTP JSON API against its contract (built in: " +
                   sipcontract::Contract::builtin().operation_of_record().title + ", contract " +
                   sipcontract::Contract::builtin().name() + ")",
               "sipcontract"};
  app.set_version_flag("--version", std::string("sipcontract ") + SIPCONTRACT_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit codes: 0 success; 1 a document or response breaks the contract; 2 usage error, unreadable\n"
      "input or schema; 3 (run) the target could not be reached. `sipcontract COMMAND --help` for more.");

  sipcontract::cli::CommandResult result;
#ifdef SIPCONTRACT_NET_EXECUTABLE
  sipcontract::cli::add_serve_command(app, result);
  sipcontract::cli::add_run_command(app, result);
  sipcontract::cli::add_cleanup_command(app, result);
#else
  sipcontract::cli::add_validate_command(app, result);
  // Listed here for `sipcontract --help`. main() hands them over before parsing; should the parse
  // reach one anyway, its callback does.
  for (const char* name : sipcontract::cli::kNetCommands) {
    CLI::App* cmd = app.add_subcommand(name, sipcontract::cli::net_command_summary(name))
                        ->allow_extras()
                        ->prefix_command();
    cmd->set_help_flag();
    cmd->callback(
        [&result, name, argv] { result.exit_code = sipcontract::cli::exec_net_command(name, argv); });
  }
  sipcontract::cli::add_diff_command(app, result);
#endif

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "sipcontract: " << e.what() << " (see --help)\n";
    return sipcontract::cli::kExitUsage;
  }
  return result.exit_code;
}
