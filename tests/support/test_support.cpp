// The child process of the test suites: fork + exec rather than posix_spawn, because RLIMIT_AS
// must be set in the child before exec; only async-signal-safe calls between the two (every
// string is prepared before fork). A close-on-exec pipe carries the errno of a failed setup or
// exec back, so a program that cannot start is an exception, not an exit code to guess at.
#include "test_support.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sipcontract::test {

namespace {

// The variables a child inherits from the test process: PATH, and the sanitizers' settings so a
// sanitizer build's child reports (and suppresses) like its parent.
constexpr const char* kInherited[] = {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS",
                                      "LSAN_OPTIONS"};

// Puts `fd` on `target` without close-on-exec (dup2 clears it; when they are equal it must be
// cleared by hand). Async-signal-safe.
bool move_fd(int fd, int target) {
  if (fd == target) return ::fcntl(fd, F_SETFD, 0) == 0;
  return ::dup2(fd, target) == target;
}

// In the child: reports `error` on the pipe and ends with `code`. Async-signal-safe.
[[noreturn]] void child_fail(int report_fd, int error, int code) {
  [[maybe_unused]] const ssize_t n = ::write(report_fd, &error, sizeof error);
  ::_exit(code);
}

std::string read_limited(const std::filesystem::path& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  if (limit == 0) {
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string text(limit, '\0');
  in.read(text.data(), static_cast<std::streamsize>(limit));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::size_t size_of(const std::filesystem::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

}  // namespace

bool sanitizer_build() {
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

const std::string& sipcontract_binary() {
  static const std::string path = SIPCONTRACT_BIN;
  return path;
}

// --- files -----------------------------------------------------------------------------------

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "sipcontract-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& bytes) const {
  const auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
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

std::string read_file_or_empty(const std::filesystem::path& path) { return read_limited(path, 0); }

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

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// --- the child -------------------------------------------------------------------------------

Process::Process(const std::vector<std::string>& args, const std::map<std::string, std::string>& env)
    : Process(sipcontract_binary(), args, env) {}

Process::Process(const std::string& program, const std::vector<std::string>& args,
                 const std::map<std::string, std::string>& env)
    : Process([&] {
        ProcessOptions options;
        options.program = program;
        options.args = args;
        options.env = env;
        return options;
      }()) {}

Process::Process(const ProcessOptions& options) {
  std::vector<std::string> argv_s = {options.program.empty() ? sipcontract_binary() : options.program};
  argv_s.insert(argv_s.end(), options.args.begin(), options.args.end());
  std::map<std::string, std::string> env_m;
  for (const char* name : kInherited)
    if (const char* value = std::getenv(name)) env_m[name] = value;
  for (const auto& [k, v] : options.env) env_m.insert_or_assign(k, v);
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env_m) env_s.push_back(k + "=" + v);
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string in_path = options.stdin_path.empty() ? "/dev/null" : options.stdin_path.string();
  const std::string out_path = (dir_.path() / "stdout").string();
  const std::string err_path = (dir_.path() / "stderr").string();
  const rlim_t as_limit = sanitizer_build() ? 0 : static_cast<rlim_t>(options.address_space_limit);
  const rlimit as_rlimit{as_limit, as_limit};

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  start_ = std::chrono::steady_clock::now();
  pid_ = ::fork();
  if (pid_ < 0) {
    const int error = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw std::runtime_error(std::string("fork: ") + std::strerror(error));
  }
  if (pid_ == 0) {
    ::close(report[0]);
    if (as_limit != 0 && ::setrlimit(RLIMIT_AS, &as_rlimit) != 0) child_fail(report[1], errno, 126);
    const int in = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0 || !move_fd(in, STDIN_FILENO)) child_fail(report[1], errno, 126);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0 || !move_fd(out, STDOUT_FILENO)) child_fail(report[1], errno, 126);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (err < 0 || !move_fd(err, STDERR_FILENO)) child_fail(report[1], errno, 126);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE}) ::signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    child_fail(report[1], errno, 127);
  }
  ::close(report[1]);
  int error = 0;
  ssize_t n;
  while ((n = ::read(report[0], &error, sizeof error)) < 0 && errno == EINTR) {
  }
  ::close(report[0]);
  if (n > 0) {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    done_ = true;
    throw std::runtime_error("cannot start " + argv_s[0] + ": " + std::strerror(error));
  }
}

Process::~Process() { kill(); }

bool Process::wait(std::chrono::milliseconds limit) {
  if (done_) return true;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    rusage usage{};
    const pid_t r = ::wait4(pid_, &status_, WNOHANG, &usage);
    if (r == pid_) {
      end_ = std::chrono::steady_clock::now();
      max_rss_kb_ = usage.ru_maxrss;
      done_ = true;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Process::signal(int sig) {
  if (!done_) ::kill(pid_, sig);
}

void Process::kill() {
  if (done_ || pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  rusage usage{};
  while (::wait4(pid_, &status_, 0, &usage) < 0 && errno == EINTR) {
  }
  end_ = std::chrono::steady_clock::now();
  max_rss_kb_ = usage.ru_maxrss;
  done_ = true;
}

int Process::finish(int sig, std::chrono::seconds timeout) {
  if (sig != 0) signal(sig);
  if (!wait(timeout)) return -1;
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

int Process::exit_code() const { return done_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }

int Process::term_signal() const { return done_ && WIFSIGNALED(status_) ? WTERMSIG(status_) : 0; }

double Process::seconds() const {
  return std::chrono::duration<double>((done_ ? end_ : std::chrono::steady_clock::now()) - start_).count();
}

std::string Process::out(std::size_t limit) const { return read_limited(dir_.path() / "stdout", limit); }
std::string Process::err(std::size_t limit) const { return read_limited(dir_.path() / "stderr", limit); }
std::size_t Process::out_bytes() const { return size_of(dir_.path() / "stdout"); }
std::size_t Process::err_bytes() const { return size_of(dir_.path() / "stderr"); }

std::string Process::first_line(std::chrono::seconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string text = out();
    if (const auto nl = text.find('\n'); nl != std::string::npos) return text.substr(0, nl);
    if (std::chrono::steady_clock::now() >= deadline) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<std::string> Process::next_line(std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    // Whether it had ended before this read: then nothing more can come after it.
    const bool ended = wait(std::chrono::milliseconds(0));
    const std::string text = out();
    if (text.size() > line_offset_) {
      if (const auto nl = text.find('\n', line_offset_); nl != std::string::npos) {
        std::string line = text.substr(line_offset_, nl - line_offset_);
        line_offset_ = nl + 1;
        return line;
      }
    }
    if (ended || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ProcessResult::describe() const {
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

ProcessResult run_process(const ProcessOptions& options) {
  Process child(options);
  ProcessResult result;
  if (!child.wait(options.timeout)) {
    result.timed_out = true;
    child.kill();
  }
  result.exit_code = result.timed_out ? -1 : child.exit_code();
  result.signal = child.term_signal();
  result.seconds = child.seconds();
  result.max_rss_kb = child.max_rss_kb();
  result.out = child.out(options.capture_limit);
  result.err = child.err(options.capture_limit);
  result.out_bytes = child.out_bytes();
  result.err_bytes = child.err_bytes();
  return result;
}

LoopbackListener::LoopbackListener(const std::string& host, int backlog) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  socklen_t len = sizeof addr;
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd_);
    throw std::runtime_error("not an IPv4 address: " + host);
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, backlog) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("cannot listen on " + host + ": " + why);
  }
  port_ = ntohs(addr.sin_port);
}

LoopbackListener::~LoopbackListener() { ::close(fd_); }

}  // namespace sipcontract::test
