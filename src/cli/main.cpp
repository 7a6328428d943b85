// sipcontract: validate payloads, serve the reference implementation, run the contract suite.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>

#include "commands.hpp"
#include "sipcontract/contract.hpp"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // TLS and socket writes to a closed peer must not kill us
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
  sipcontract::cli::add_validate_command(app, result);
  sipcontract::cli::add_serve_command(app, result);
  sipcontract::cli::add_run_command(app, result);
  sipcontract::cli::add_cleanup_command(app, result);
  sipcontract::cli::add_diff_command(app, result);

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
