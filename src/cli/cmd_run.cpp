// placeholder until the module lands
#include "commands.hpp"
namespace sipcontract::cli {
void add_run_command(CLI::App&, CommandResult&) {}
}  // namespace sipcontract::cli
