// What the test suites share: a child process (the sipcontract binary or another program) with
// an environment of the test's choosing, stdout and stderr on files, bounded waits, an optional
// address-space limit, its exit code or signal and its peak memory; sanitizer-build detection;
// temporary folders; reading files. One implementation, so that every suite gets the same
// guarantees (no child outlives its test, no wait is unbounded, no credential leaks in from the
// test's own environment).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sipcontract::test {

/// True in an AddressSanitizer or ThreadSanitizer build: they reserve terabytes of address space,
/// so an RLIMIT_AS cannot apply, and their shadow memory inflates the resident size.
bool sanitizer_build();

/// The sipcontract executable of this build (its absolute path).
const std::string& sipcontract_binary();

/// A private temporary folder (mkdtemp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The folder.
  const std::filesystem::path& path() const { return path_; }
  /// Writes `bytes` to `name` (folders in it are created) and returns its path; throws
  /// std::runtime_error when it cannot.
  std::filesystem::path write(const std::string& name, const std::string& bytes) const;

 private:
  std::filesystem::path path_;
};

/// The whole content of a file; throws std::runtime_error when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// The whole content of a file, or "" when it does not exist or cannot be read (for outputs a
/// child may or may not have written).
std::string read_file_or_empty(const std::filesystem::path& path);

/// `text` split at "\n" (a final empty piece is dropped).
std::vector<std::string> split_lines(const std::string& text);

/// Whether `needle` occurs in `haystack`.
bool contains(const std::string& haystack, const std::string& needle);

/// A listening TCP socket on `host` (an IPv4 loopback address) and a port the kernel picked, for
/// tests that play a raw server; closed on destruction. Throws std::runtime_error naming the
/// address when it cannot listen.
class LoopbackListener {
 public:
  explicit LoopbackListener(const std::string& host = "127.0.0.1", int backlog = 64);
  ~LoopbackListener();
  LoopbackListener(const LoopbackListener&) = delete;
  LoopbackListener& operator=(const LoopbackListener&) = delete;
  /// The listening socket (SOCK_CLOEXEC, SO_REUSEADDR), for poll() and accept().
  int fd() const { return fd_; }
  /// The port it listens on.
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// How to start a child.
struct ProcessOptions {
  std::string program;                     ///< an absolute path; empty: sipcontract_binary()
  std::vector<std::string> args;           ///< the arguments after argv[0]
  std::map<std::string, std::string> env;  ///< the environment, over PATH and the sanitizer variables
  std::filesystem::path stdin_path;        ///< file read as stdin (empty: /dev/null)
  std::size_t address_space_limit = 0;     ///< RLIMIT_AS of the child, 0 for none; never in sanitizer builds
  std::chrono::seconds timeout{60};  ///< run_process(): killed (SIGKILL) and reported timed out past this
  std::size_t capture_limit = 0;     ///< run_process(): bytes kept of each stream, 0 for all
};

/// What a child run to completion did.
struct ProcessResult {
  int exit_code = -1;         ///< the exit status, or -1 when it did not exit normally
  int signal = 0;             ///< the signal that ended it (SIGKILL after a timeout), 0 when it exited
  bool timed_out = false;     ///< killed by the wall-clock guard
  std::string out;            ///< stdout (up to capture_limit)
  std::string err;            ///< stderr (up to capture_limit)
  std::size_t out_bytes = 0;  ///< total stdout size
  std::size_t err_bytes = 0;  ///< total stderr size
  double seconds = 0;         ///< wall time from start to exit
  long max_rss_kb = 0;        ///< peak resident set size (getrusage of the child)

  /// True when the child exited by itself (no signal, no timeout).
  bool exited() const { return !timed_out && signal == 0 && exit_code >= 0; }
  /// A one-line description for assertion messages.
  std::string describe() const;
};

/// A running child with stdout and stderr on files of a private folder. Its environment is PATH
/// and the sanitizers' option variables of the test process plus ProcessOptions::env, nothing
/// else (so no credential of the test's own environment reaches it); SIGINT, SIGTERM and SIGPIPE
/// start at their default action and no signal is blocked, whatever the test process does. The
/// constructor throws std::runtime_error when the program cannot be started. A child still running
/// at destruction is killed with SIGKILL and reaped.
class Process {
 public:
  /// Starts the child `options` describe.
  explicit Process(const ProcessOptions& options);
  /// Starts sipcontract_binary() ARGS with `env`.
  Process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env);
  /// Starts `program` ARGS (an absolute path) with `env`.
  Process(const std::string& program, const std::vector<std::string>& args,
          const std::map<std::string, std::string>& env);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// Waits up to `limit` for the exit; true when it exited (exit_code()/term_signal() then valid).
  bool wait(std::chrono::milliseconds limit);
  /// Sends `sig` while the child runs.
  void signal(int sig);
  /// SIGKILL and reap (nothing when it already exited).
  void kill();
  /// Sends `signal` (0: none) and waits up to `timeout` for the exit; the exit code, 128+signal
  /// when killed by one, or -1 when it did not exit in time.
  int finish(int signal, std::chrono::seconds timeout = std::chrono::seconds(60));
  /// True once the child has been reaped.
  bool done() const { return done_; }
  /// The exit status, or -1 while running or when it ended by a signal.
  int exit_code() const;
  /// The signal that ended it, 0 while running or when it exited.
  int term_signal() const;
  /// Peak resident set size of the child in KiB (0 until reaped).
  long max_rss_kb() const { return max_rss_kb_; }
  /// Wall time from start to exit (or until now while running).
  double seconds() const;

  /// stdout so far (at most `limit` bytes when not 0).
  std::string out(std::size_t limit = 0) const;
  /// stderr so far (at most `limit` bytes when not 0).
  std::string err(std::size_t limit = 0) const;
  /// Bytes written to stdout so far.
  std::size_t out_bytes() const;
  /// Bytes written to stderr so far.
  std::size_t err_bytes() const;
  /// The first line of stdout (without "\n"), waiting up to `timeout`; "" when none came.
  std::string first_line(std::chrono::seconds timeout = std::chrono::seconds(30)) const;
  /// The next stdout line not yet returned by next_line() (without "\n"), waiting up to
  /// `timeout`; std::nullopt when the child ended without writing one, or after `timeout`.
  std::optional<std::string> next_line(std::chrono::seconds timeout = std::chrono::seconds(30));

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = 0;
  long max_rss_kb_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point end_;
  std::size_t line_offset_ = 0;  // bytes of stdout next_line() has consumed
};

/// Runs the child `options` describe to completion (or its timeout) and returns what it did.
ProcessResult run_process(const ProcessOptions& options);

}  // namespace sipcontract::test
