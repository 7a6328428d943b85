// Runs the sipcontract executable as a child process for the CLI tests (tests/support does the
// work): captured stdout and stderr, exit code or signal, a wall-clock guard and an address-space
// limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace sipcontract::test {

/// How the CLI tests run the child: a 60 s guard, RLIMIT_AS of 2 GiB and 64 MiB kept of each
/// stream unless a test says otherwise.
struct RunOptions : ProcessOptions {
  RunOptions() {
    timeout = std::chrono::seconds(60);
    address_space_limit = std::size_t{2} << 30;
    capture_limit = std::size_t{64} << 20;
  }
};

/// What the child did.
using RunResult = ProcessResult;

/// Runs the sipcontract binary with `args` (not including argv[0]). Never throws for child failures.
RunResult run_cli(const std::vector<std::string>& args, const RunOptions& options = {});

/// The same with stdout on /dev/full (through /bin/sh), where every write fails with ENOSPC. The
/// caller checks that /dev/full exists.
RunResult run_cli_to_full_device(const std::vector<std::string>& args);

}  // namespace sipcontract::test
