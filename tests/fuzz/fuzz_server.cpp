// Fuzz target: the reference server's request handling, from raw bytes on the wire.
//
// Each input is written as is to a fresh loopback connection of one in-process ReferenceServer
// (its transport and request parser, routing, auth, body reading, validation and the store), the
// client half-closes, and everything the server answers is read until it closes. The seam is the
// socket on purpose: the connection code (deadlines, header caps, lingering close, keep-alive,
// pipelining, Expect: 100-continue) is where a hostile client lands first. The parser alone, with
// properties of its own, is fuzz_http's.
//
// Beyond "no crash, no leak": the server never answers 5xx but 501 and 505 (the transport's
// answers to a method, transfer coding or HTTP version it does not implement; its handlers do not
// throw), never shows its API token unless the input itself carried it, and closes every
// connection within a bound after the client has stopped sending (a hang is a bug, reported by a
// trap).
//
// Seeds: tests/fuzz/seeds/server/*.http, raw requests that use the credentials below.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "sipcontract/server.hpp"

namespace {

// The seeds' credentials: "Authorization: Basic ZnV6ei1wcm9qZWN0OmZ1enotdG9rZW4tU0VDUkVU".
constexpr const char* kProject = "fuzz-project";
constexpr const char* kToken = "fuzz-token-SECRET";
constexpr const char* kTokenBase64 = "ZnV6ei1wcm9qZWN0OmZ1enotdG9rZW4tU0VDUkVU";
constexpr const char* kSubscriber = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
// The store is emptied (a new server) past this many endpoints, so creates keep succeeding.
constexpr std::size_t kRestartAt = 5000;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_server: %s\n", what);
  std::fflush(stderr);
  __builtin_trap();
}

[[noreturn]] void fail_errno(const char* call) {
  std::fprintf(stderr, "fuzz_server: %s failed: %s\n", call, std::strerror(errno));
  std::fflush(stderr);
  __builtin_trap();
}

// Statuses the server logged while the current input was served (one line per request).
// Atomics: the server's threads write them, the fuzzing thread reads them after the connection closed.
struct Log {
  std::atomic<int> server_errors{0};
  std::atomic<int> requests{0};
};
Log g_log;

// The status of an access-log line: `TIME IP "METHOD PATH" STATUS BYTES DURATIONms[ reset]`,
// read from the end because the path may hold spaces or quotes.
int status_of(std::string_view line) {
  if (line.size() > 6 && line.substr(line.size() - 6) == " reset") line.remove_suffix(6);
  for (int field = 0; field < 2; ++field) {  // drop DURATION and BYTES
    const auto space = line.rfind(' ');
    if (space == std::string_view::npos) return -1;
    line = line.substr(0, space);
  }
  const auto space = line.rfind(' ');
  if (space == std::string_view::npos) return -1;
  return std::atoi(std::string(line.substr(space + 1)).c_str());
}

std::unique_ptr<sipcontract::ReferenceServer> make_server() {
  sipcontract::ServerOptions options;
  options.project_id = kProject;
  options.api_token = kToken;
  options.parents = {kSubscriber};
  options.threads = 4;
  options.max_body_bytes = 64 * 1024;
  options.read_timeout_ms = 2000;
  options.request_timeout_ms = 4000;
  options.keep_alive_timeout_ms = 2000;
  options.access_log = [](const std::string& line) {
    ++g_log.requests;
    const int status = status_of(line);
    if (status < 0) fail(("unreadable access-log line: " + line).c_str());
    if (status >= 500 && status != 501 && status != 505) ++g_log.server_errors;
  };
  auto server = std::make_unique<sipcontract::ReferenceServer>(options);
  server->start();
  return server;
}

sipcontract::ReferenceServer& server() {
  static std::unique_ptr<sipcontract::ReferenceServer> instance = make_server();
  if (instance->endpoint_count() >= kRestartAt) {
    instance.reset();
    instance = make_server();
  }
  return *instance;
}

// Sends `input` on a new connection, half-closes, and returns everything the server sent until it
// closed. Sending and reading are interleaved so that a server that answers (and stops reading)
// before the input is all sent cannot deadlock the exchange.
std::string exchange(int port, std::string_view input) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket() failed");
  // Every exchange leaves this side in TIME_WAIT (the client half-closes first), which holds its
  // source port for 60 s: at the ~1,800 exchanges a second of a long run, one source address would
  // run out of the 28k ephemeral ports within a minute wherever net.ipv4.tcp_tw_reuse is 0 (Debian's
  // default 2 reuses them on loopback). Any 127/8 address is this host, so the source rotates over
  // 127.0.0.1-127.0.0.254; IP_BIND_ADDRESS_NO_PORT leaves the port to connect(), which picks it
  // knowing the whole 4-tuple.
  static std::uint32_t next_source = 0;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + next_source++ % 254);
  const int on = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) fail_errno("bind()");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  // Non-blocking, so that a signal cannot end the wait: libFuzzer's timer (SIGALRM) interrupted a
  // blocking connect() that waited for room in the server's accept queue (EINTR, a 10-minute run).
  // Not accepted within 15 s is a server that stopped accepting: a finding.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) fail_errno("connect()");
    const auto accept_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          accept_deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) fail("the server did not accept a connection within 15 s");
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready > 0) break;
      if (ready < 0 && errno != EINTR) fail_errno("poll() on connect");
    }
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) fail_errno("getsockopt(SO_ERROR)");
    if (error != 0) {
      errno = error;
      fail_errno("connect()");
    }
  }

  // The server's own bounds (read timeout 2 s, request deadline 4 s, lingering close 2 s) end
  // every connection well before this.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  std::string received;
  std::size_t sent = 0;
  bool write_open = true;
  for (;;) {
    if (write_open && sent == input.size()) {
      ::shutdown(fd, SHUT_WR);
      write_open = false;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      fail("the server did not close the connection within 15 s of the client's last byte");
    pollfd p{fd, static_cast<short>(POLLIN | (write_open ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) fail("poll() failed");
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buffer[16384];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n == 0) break;  // the server closed: done
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        break;  // a reset: the server closed with unread input (allowed: it answered or gave up)
      }
      if (received.size() < (1u << 20)) received.append(buffer, static_cast<std::size_t>(n));
    }
    if (write_open && (p.revents & POLLOUT)) {
      const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        write_open = false;  // the server stopped reading (it answered and closed): keep reading
        ::shutdown(fd, SHUT_WR);
      }
    }
  }
  ::close(fd);
  return received;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  g_log.server_errors = 0;
  g_log.requests = 0;
  const std::string answer = exchange(server().port(), input);

  static const bool verbose = std::getenv("SIPCONTRACT_FUZZ_VERBOSE") != nullptr;  // to check seeds
  if (verbose)
    std::fprintf(stderr, "%d request(s) logged; answer:\n%s\n---\n", g_log.requests.load(), answer.c_str());
  if (g_log.server_errors != 0) fail("the server answered 5xx");
  for (const char* secret : {kToken, kTokenBase64}) {
    if (answer.find(secret) != std::string::npos && input.find(secret) == std::string_view::npos)
      fail("the server's answer shows its API token");
  }
  // Every request the server logged was answered: at least as many status lines as log lines.
  std::size_t status_lines = 0;
  for (std::size_t at = answer.find("HTTP/1.1 "); at != std::string::npos;
       at = answer.find("HTTP/1.1 ", at + 1))
    ++status_lines;
  if (g_log.requests > 0 && status_lines == 0) fail("the server logged a request but sent no status line");
  return 0;
}
