#include "hostile_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace sipcontract::test {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Waits until `fd` is readable (or closed) for up to `ms`; false on timeout or when stopping.
bool wait_readable(int fd, const std::atomic<bool>& stopping, int ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stopping) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 50)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
  return false;
}

}  // namespace

std::string RawRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return "";
}

bool RawRequest::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

// --- Peer ------------------------------------------------------------------------------------

bool Peer::send(std::string_view data) {
  while (!data.empty()) {
    if (stopping_ || reset_) return false;
    pollfd p{fd_, POLLOUT, 0};
    const int ready = ::poll(&p, 1, 50);
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    if (p.revents & (POLLERR | POLLHUP)) return false;
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool Peer::send_repeated(std::string_view chunk, std::size_t total) {
  while (total > 0) {
    const std::size_t n = std::min(total, chunk.size());
    if (!send(chunk.substr(0, n))) return false;
    total -= n;
  }
  return true;
}

bool Peer::idle(std::chrono::milliseconds duration) {
  const auto deadline = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < deadline) {
    if (stopping_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      // Readable: either more bytes (ignored) or the peer closed.
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return false;
    }
  }
  return true;
}

void Peer::reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  reset_ = true;
  close_after = true;
}

// --- HostileServer ---------------------------------------------------------------------------

HostileServer::HostileServer(Behaviour behaviour, const std::string& host)
    : behaviour_(std::move(behaviour)), host_(host), listener_(host) {
  acceptor_ = std::thread([this] { accept_loop(); });
}

HostileServer::~HostileServer() {
  stopping_ = true;
  acceptor_.join();
  {
    // Wakes every connection thread blocked on its socket.
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
}

std::string HostileServer::base_url() const {
  return "http://" + host_ + ":" + std::to_string(listener_.port()) + "/api/fabric";
}

std::vector<RawRequest> HostileServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

void HostileServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listener_.fd(), POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++connections_;
    std::lock_guard lock(mutex_);
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void HostileServer::serve(int fd) {
  std::string buffer;
  Peer peer(fd, stopping_);
  auto fill = [&]() {
    if (!wait_readable(fd, stopping_, 30000)) return false;
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  while (!stopping_ && !peer.close_after) {
    std::size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (buffer.size() > 64 * 1024 || !fill()) goto done;
    }
    RawRequest request;
    {
      std::istringstream head(buffer.substr(0, end));
      std::string line;
      std::getline(head, line);
      std::istringstream first(line);
      first >> request.method >> request.target;
      while (std::getline(head, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        request.headers.emplace_back(line.substr(0, colon), value);
      }
    }
    buffer.erase(0, end + 4);
    const std::size_t length =
        std::min<std::size_t>(std::strtoull(request.header("Content-Length").c_str(), nullptr, 10), 1u << 20);
    while (buffer.size() < length) {
      if (!fill()) goto done;
    }
    request.body = buffer.substr(0, length);
    buffer.erase(0, length);
    {
      sockaddr_in local{};
      socklen_t len = sizeof local;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
      char text[INET_ADDRSTRLEN] = {};
      ::inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
      request.local_host = text;
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    behaviour_(request, peer);
  }
done:
  std::lock_guard lock(mutex_);
  open_fds_.erase(fd);
  ::close(fd);
}

std::string http_response(int status, std::string_view body, std::string_view content_type,
                          std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Hostile\r\n";
  if (!content_type.empty()) out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += extra_headers;
  out += "\r\n";
  out += body;
  return out;
}

bool answer_cleanup(const RawRequest& request, Peer& peer) {
  if (request.method == "GET") {
    peer.send(http_response(200, R"({"data":[],"links":{}})"));
    return true;
  }
  if (request.method == "DELETE") {
    peer.send(http_response(404, R"({"error":"Not Found"})"));
    return true;
  }
  return false;
}

// --- RunResult -------------------------------------------------------------------------------

std::vector<std::pair<std::string, std::string>> RunResult::failures() const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!report_json.is_object() || !report_json.contains("cases")) return out;
  for (const auto& c : report_json["cases"])
    for (const auto& step : c.value("steps", nlohmann::json::array()))
      for (const auto& f : step.value("failures", nlohmann::json::array()))
        out.emplace_back(c.value("id", ""), f.value("check", ""));
  return out;
}

bool RunResult::failed_with(const std::string& case_id, const std::string& check) const {
  const auto all = failures();
  return std::find(all.begin(), all.end(), std::make_pair(case_id, check)) != all.end();
}

std::string RunResult::describe() const {
  std::string text = "exited " + std::string(exited ? "yes" : "NO (killed by the guard)") + ", exit code " +
                     std::to_string(exit_code) + ", signal " + std::to_string(term_signal) + ", " +
                     std::to_string(seconds) + " s, peak RSS " + std::to_string(max_rss_kb / 1024) + " MB\n";
  if (report_json.is_object()) {
    for (const auto& c : report_json["cases"])
      for (const auto& step : c.value("steps", nlohmann::json::array()))
        for (const auto& f : step.value("failures", nlohmann::json::array()))
          text += c.value("id", "") + ": [" + f.value("check", "") + "] " + f.value("message", "") + "\n";
  } else {
    text += "(no readable report)\n";
  }
  text += "stderr: " + err.substr(0, 2000);
  return text;
}

std::string RunResult::all_output() const { return out + "\n" + err + "\n" + report + "\n" + junit; }

// --- the child -------------------------------------------------------------------------------

long rss_bound_kb() {
  // The runner holds at most --max-response-bytes (8 MiB) of body per worker; a sanitizer's shadow
  // memory and quarantine add a few hundred MB on top.
  return sanitizer_build() ? 1024L * 1024 : 256L * 1024;
}

RunResult run_sipcontract(const RunSpec& spec) {
  static const bool sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;
  const TempDir dir;
  const std::string report_path = (dir.path() / "report.json").string();
  const std::string junit_path = (dir.path() / "junit.xml").string();

  ProcessOptions options;
  options.args = {"run"};
  options.args.insert(options.args.end(), spec.args.begin(), spec.args.end());
  options.args.insert(options.args.end(), {"--report", report_path, "--junit", junit_path});
  // The credentials win over a same-named variable of spec.env, as they always have.
  options.env = spec.env;
  options.env.insert_or_assign("SIGNALWIRE_PROJECT_ID", kProjectId);
  options.env.insert_or_assign("SIGNALWIRE_API_TOKEN", kApiToken);
  options.address_space_limit = spec.address_space_bytes;
  options.timeout = spec.guard;
  const ProcessResult child = run_process(options);

  RunResult result;
  result.exited = !child.timed_out;
  result.exit_code = child.exit_code;
  result.term_signal = child.signal;
  result.seconds = child.seconds;
  result.max_rss_kb = child.max_rss_kb;
  result.out = child.out;
  result.err = child.err;
  result.report = read_file_or_empty(report_path);
  result.junit = read_file_or_empty(junit_path);
  result.report_json = nlohmann::json::parse(result.report, nullptr, /*allow_exceptions=*/false);
  if (result.report_json.is_discarded()) result.report_json = nullptr;
  return result;
}

}  // namespace sipcontract::test
