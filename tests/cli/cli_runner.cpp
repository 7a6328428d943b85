// The CLI tests' runner: the shared child process with the CLI suite's limits.
#include "cli_runner.hpp"

namespace sipcontract::test {

RunResult run_cli(const std::vector<std::string>& args, const RunOptions& options) {
  ProcessOptions process = options;
  process.args = args;
  return run_process(process);
}

}  // namespace sipcontract::test
