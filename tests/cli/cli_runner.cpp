// The child-process runner of the CLI tests: fork/exec (so that RLIMIT_AS can be set between the
// two), poll() on both pipes so neither can fill up and block the child, and a deadline.
#include "cli_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sipcontract::test {

namespace {

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

bool sanitized_build() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

std::string RunResult::describe() const {
  std::ostringstream s;
  if (timed_out)
    s << "timed out";
  else if (signal != 0)
    s << "killed by signal " << signal << " (" << ::strsignal(signal) << ")";
  else
    s << "exit code " << exit_code;
  s << "; stdout " << out_bytes << " bytes, stderr " << err_bytes << " bytes";
  if (!err.empty()) s << "; stderr starts: " << err.substr(0, 300);
  return s.str();
}

RunResult run_cli(const std::vector<std::string>& args, const RunOptions& options) {
  RunResult result;
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<std::string> argv_storage;
  argv_storage.push_back(SIPCONTRACT_BIN);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  const std::string stdin_path = options.stdin_path.empty() ? "/dev/null" : options.stdin_path.string();
  rlim_t limit = sanitized_build() ? 0 : static_cast<rlim_t>(options.address_space_limit);

  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (limit != 0) {
      struct rlimit rl {
        limit, limit
      };
      ::setrlimit(RLIMIT_AS, &rl);
    }
    int in = ::open(stdin_path.c_str(), O_RDONLY);
    if (in < 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  close_fd(out_pipe[1]);
  close_fd(err_pipe[1]);

  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  std::size_t* totals[2] = {&result.out_bytes, &result.err_bytes};
  char buffer[1 << 16];
  while (fds[0] >= 0 || fds[1] >= 0) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd polled[2];
    nfds_t count = 0;
    int which[2];
    for (int i = 0; i < 2; ++i)
      if (fds[i] >= 0) {
        polled[count] = {fds[i], POLLIN, 0};
        which[count++] = i;
      }
    int ready = ::poll(polled, count, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t k = 0; k < count; ++k) {
      if (polled[k].revents == 0) continue;
      int i = which[k];
      ssize_t n = ::read(fds[i], buffer, sizeof buffer);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        close_fd(fds[i]);
        continue;
      }
      *totals[i] += static_cast<std::size_t>(n);
      std::size_t room =
          options.capture_limit > sinks[i]->size() ? options.capture_limit - sinks[i]->size() : 0;
      sinks[i]->append(buffer, std::min(room, static_cast<std::size_t>(n)));
    }
  }
  close_fd(fds[0]);
  close_fd(fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  if (result.timed_out) {
    result.exit_code = -1;
  }
  return result;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sipcontract-cli-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& bytes) const {
  auto p = path_ / name;
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
  return p;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace sipcontract::test
