#include "runner_test_support.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sipcontract::test {

namespace {
// A server that stops reading mid-body must not kill the test process with SIGPIPE.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();
}  // namespace

RunOptions options_for(const ServerGuard& server) {
  (void)kSigpipeIgnored;
  RunOptions o;
  o.target = {server.base_url(), server.subscriber(), server.options().project_id, server.options().api_token,
              true};
  o.jobs = 4;
  o.transport.retries = 0;
  o.transport.timeout = std::chrono::seconds(30);
  o.transport.max_time = std::chrono::seconds(20);
  return o;
}

std::vector<Case> builtin_matching(const std::vector<std::string>& globs) {
  Selection s;
  s.globs = globs;
  return select_cases(builtin_cases(), s);
}

const CheckFailure* find_failure(const RunReport& report, std::string_view check,
                                 std::optional<std::string_view> pointer) {
  for (const auto& c : report.cases)
    for (const auto& st : c.steps)
      for (const auto& f : st.failures)
        if (f.check == check && (!pointer || f.pointer == *pointer)) return &f;
  return nullptr;
}

std::string describe_failures(const RunReport& report) {
  std::string out;
  for (const auto& c : report.cases)
    for (const auto& st : c.steps)
      for (const auto& f : st.failures)
        out += c.id + " step " + std::to_string(st.index + 1) + ": [" + f.check + "] " + f.pointer + ": " +
               f.message + " (expected " + f.expected + ", actual " + f.actual + ")\n";
  for (const auto& l : report.cleanup.leftovers) out += "left: " + l.id + ": " + l.reason + "\n";
  for (const auto& n : report.cleanup.notes) out += "note: " + n + "\n";
  return out.empty() ? "(no failures)" : out;
}

std::vector<std::string> listed_endpoints(const ServerGuard& server, const std::string& subscriber,
                                          const std::string& marker) {
  httplib::Client client(server.base_url().substr(0, server.base_url().find("/api/fabric")));
  client.set_basic_auth(server.options().project_id, server.options().api_token);
  client.set_read_timeout(std::chrono::seconds(60));
  std::vector<std::string> ids;
  std::string path = "/api/fabric/resources/subscribers/" + subscriber + "/sip_endpoints";
  for (int page = 0; page < 1000 && !path.empty(); ++page) {
    auto res = client.Get(path);
    if (!res) throw std::runtime_error("list: " + httplib::to_string(res.error()));
    if (res->status != 200) throw std::runtime_error("list answered " + std::to_string(res->status));
    auto doc = nlohmann::json::parse(res->body);
    for (const auto& item : doc.at("data"))
      if (marker.empty() || item.at("username").get<std::string>().find(marker) != std::string::npos)
        ids.push_back(item.at("id").get<std::string>());
    path.clear();
    if (doc["links"].contains("next") && doc["links"]["next"].is_string()) {
      auto next = doc["links"]["next"].get<std::string>();
      auto at = next.find("/api/fabric");
      if (at != std::string::npos) path = next.substr(at);
    }
  }
  return ids;
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("sipcontract-runner-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& text) const {
  auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Child::Child(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  (void)kSigpipeIgnored;
  std::vector<std::string> argv_s = {SIPCONTRACT_BIN};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  // PATH, and the sanitizers' settings so a sanitizer build's child reports like its parent.
  for (const char* name : {"PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"})
    if (const char* value = std::getenv(name)) env_s.push_back(std::string(name) + "=" + value);
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  auto out = (dir_.path() / "stdout").string();
  auto err = (dir_.path() / "stderr").string();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  // The child starts with default signal dispositions whatever the test process ignores.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  int rc = posix_spawn(&pid_, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("posix_spawn " + argv_s[0] + " failed: " + std::to_string(rc));
}

Child::~Child() {
  if (pid_ > 0 && !done_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
}

bool Child::wait(std::chrono::milliseconds limit) {
  if (done_) return true;
  auto until = std::chrono::steady_clock::now() + limit;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      done_ = true;
      if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) term_signal_ = WTERMSIG(status);
      return true;
    }
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void Child::signal(int sig) {
  if (pid_ > 0 && !done_) ::kill(pid_, sig);
}

std::string Child::out() const { return read_file(dir_.path() / "stdout"); }
std::string Child::err() const { return read_file(dir_.path() / "stderr"); }

CliResult run_cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  Child child(args, env);
  CliResult r;
  if (!child.wait(std::chrono::seconds(120))) {
    child.signal(SIGKILL);
    child.wait(std::chrono::seconds(10));
    r.err = "timed out";
    return r;
  }
  r.exit_code = child.exit_code();
  r.out = child.out();
  r.err = child.err();
  return r;
}

}  // namespace sipcontract::test
