// The CLI tests' runner: the shared child process with the CLI suite's limits.
#include "cli_runner.hpp"

namespace sipcontract::test {

RunResult run_cli(const std::vector<std::string>& args, const RunOptions& options) {
  ProcessOptions process = options;
  process.args = args;
  return run_process(process);
}

RunResult run_cli_to_full_device(const std::vector<std::string>& args) {
  RunOptions process;
  process.program = "/bin/sh";
  process.args = {"-c", "exec \"$0\" \"$@\" >/dev/full", sipcontract_binary()};
  process.args.insert(process.args.end(), args.begin(), args.end());
  return run_process(process);
}

}  // namespace sipcontract::test
