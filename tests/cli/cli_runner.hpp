// Runs the sipcontract executable as a child process for the CLI tests: captured stdout and
// stderr, exit code or signal, a wall-clock guard and an address-space limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace sipcontract::test {

/// How to run the child.
struct RunOptions {
  std::filesystem::path stdin_path;  ///< file to read as stdin (empty: /dev/null)
  std::chrono::seconds timeout{60};  ///< killed (SIGKILL) and reported as timed out past this
  std::size_t address_space_limit = std::size_t{2} << 30;  ///< RLIMIT_AS of the child; 0 for none
  std::size_t capture_limit = std::size_t{64}
                              << 20;  ///< bytes kept of each stream (the rest is counted, dropped)
};

/// What the child did.
struct RunResult {
  int exit_code = -1;         ///< the exit status, or -1 when it did not exit normally
  int signal = 0;             ///< the signal that ended it, 0 when it exited
  bool timed_out = false;     ///< killed by the wall-clock guard
  std::string out;            ///< stdout (up to capture_limit)
  std::string err;            ///< stderr (up to capture_limit)
  std::size_t out_bytes = 0;  ///< total stdout size
  std::size_t err_bytes = 0;  ///< total stderr size

  /// True when the child exited by itself (no signal, no timeout).
  bool exited() const { return !timed_out && signal == 0 && exit_code >= 0; }
  /// A one-line description for assertion messages.
  std::string describe() const;
};

/// Runs SIPCONTRACT_BIN with `args` (not including argv[0]). Never throws for child failures.
RunResult run_cli(const std::vector<std::string>& args, const RunOptions& options = {});

/// A private temporary folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  /// Writes `bytes` to `name` inside the folder and returns its path.
  std::filesystem::path write(const std::string& name, const std::string& bytes) const;

 private:
  std::filesystem::path path_;
};

/// The whole content of a file (throws std::runtime_error when unreadable).
std::string read_file(const std::filesystem::path& path);

/// `text` split at "\n" (a final empty piece is dropped).
std::vector<std::string> split_lines(const std::string& text);

/// Whether the tests run under a sanitizer that needs a huge address space (no RLIMIT_AS then).
bool sanitized_build();

}  // namespace sipcontract::test
