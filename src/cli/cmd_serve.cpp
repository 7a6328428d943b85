// placeholder until the module lands
#include "commands.hpp"
namespace sipcontract::cli {
void add_serve_command(CLI::App&, CommandResult&) {}
}  // namespace sipcontract::cli
