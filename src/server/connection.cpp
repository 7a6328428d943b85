#include "connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sipcontract::detail::refserver {
namespace {

thread_local ConnectionState* tls_connection = nullptr;

using Clock = std::chrono::steady_clock;

// poll() on one descriptor, retried on EINTR; true when one of `events` (or an error or hang-up,
// which the next read or write reports) is ready within `timeout`.
bool wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // Rounded up, so that a wait never ends before `timeout` has fully passed.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1 << 30)));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

void ip_and_port(const sockaddr_storage& addr, std::string& ip, int& port) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (addr.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    ::inet_ntop(AF_INET, &a.sin_addr, text.data(), text.size());
    port = ntohs(a.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    ::inet_ntop(AF_INET6, &a.sin6_addr, text.data(), text.size());
    port = ntohs(a.sin6_port);
  }
  ip = text.data();
}

// httplib's own SocketStream lives in its compiled library (not in the header), so the loop below
// brings its own: buffered reads, a per-read timeout capped by the request's overall deadline (a
// client that trickles one byte at a time cannot hold a worker forever), and writes that a
// handler can turn off to reset the connection without answering.
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(int fd, const ConnectionLimits& limits, const ConnectionState& state)
      : fd_(fd), limits_(limits), state_(state) {}

  void begin_request(Clock::time_point deadline) {
    deadline_ = deadline;
    header_bytes_ = 0;
    in_headers_ = true;
    line_length_ = 0;
  }
  bool has_buffered_data() const { return offset_ < size_; }

  bool is_readable() const override {
    if (has_buffered_data()) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) return false;
    return wait_for(fd_, POLLIN, std::min(left, limits_.read_timeout));
  }

  bool is_writable() const override { return !state_.reset && wait_for(fd_, POLLOUT, limits_.write_timeout); }

  ssize_t read(char* ptr, std::size_t size) override {
    const ssize_t n = read_some(ptr, size);
    if (n > 0 && in_headers_ && !count_header_bytes(ptr, static_cast<std::size_t>(n))) return -1;
    return n;
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (state_.reset || !is_writable()) return -1;
    for (;;) {
      const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip_and_port(addr, ip, port);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip_and_port(addr, ip, port);
  }

  socket_t socket() const override { return fd_; }

 private:
  ssize_t read_some(char* ptr, std::size_t size) {
    if (has_buffered_data()) {
      const std::size_t n = std::min(size, size_ - offset_);
      std::memcpy(ptr, buffer_.data() + offset_, n);
      offset_ += n;
      return static_cast<ssize_t>(n);
    }
    if (!is_readable()) return -1;
    if (size >= buffer_.size()) return receive(ptr, size);
    const ssize_t n = receive(buffer_.data(), buffer_.size());
    if (n <= 0) return n;
    size_ = static_cast<std::size_t>(n);
    offset_ = std::min(size, size_);
    std::memcpy(ptr, buffer_.data(), offset_);
    return static_cast<ssize_t>(offset_);
  }

  // httplib limits the length of each header line but not their number, so the request line and
  // headers together are capped here: bytes are counted until the blank line that ends them.
  // False when the cap is passed (the read then fails and httplib answers 400).
  bool count_header_bytes(const char* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] == '\n') {
        if (line_length_ == 0) {  // an empty line ("\r\n" or "\n"): the headers are complete
          in_headers_ = false;
          return true;
        }
        line_length_ = 0;
      } else if (data[i] != '\r') {
        ++line_length_;
      }
      if (++header_bytes_ > limits_.max_header_bytes) return false;
    }
    return true;
  }

  ssize_t receive(char* ptr, std::size_t size) {
    for (;;) {
      const ssize_t n = ::recv(fd_, ptr, size, 0);
      if (n >= 0 || errno != EINTR) return n;
    }
  }

  int fd_;
  const ConnectionLimits& limits_;
  const ConnectionState& state_;
  Clock::time_point deadline_ = Clock::now();
  std::array<char, 16384> buffer_{};
  std::size_t offset_ = 0;
  std::size_t size_ = 0;
  std::size_t header_bytes_ = 0;
  bool in_headers_ = true;
  std::size_t line_length_ = 0;
};

// After answering a request whose body was left unread, closing at once would make the kernel
// send a reset, and a client still sending its body could lose the answer. Half-close instead,
// then read and drop what the client still sends, for a bounded time and amount.
void lingering_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  std::array<char, 16384> sink{};
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  std::size_t total = 0;
  while (total < (64u << 20)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !wait_for(fd, POLLIN, left)) break;
    const ssize_t n = ::recv(fd, sink.data(), sink.size(), 0);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

}  // namespace

ConnectionState* current_connection() { return tls_connection; }

HttpServer::HttpServer(ConnectionLimits limits) : limits_(limits) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  const auto seconds = [](std::chrono::milliseconds ms) { return static_cast<time_t>(ms.count() / 1000); };
  const auto micros = [](std::chrono::milliseconds ms) {
    return static_cast<time_t>(ms.count() % 1000 * 1000);
  };
  // The loop below enforces these itself; httplib uses them for the accepted sockets' options and
  // the Keep-Alive header it sends.
  set_read_timeout(seconds(limits_.read_timeout), micros(limits_.read_timeout));
  set_write_timeout(seconds(limits_.write_timeout), micros(limits_.write_timeout));
  set_keep_alive_timeout(std::max<time_t>(1, seconds(limits_.keep_alive_timeout)));
  set_keep_alive_max_count(std::max<std::size_t>(1, limits_.keep_alive_max_requests));
}

HttpServer::~HttpServer() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void HttpServer::shutdown() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof(one));
  stop();
}

bool HttpServer::sleep_unless_stopping(std::chrono::milliseconds duration) const {
  return !wait_for(wake_fd_, POLLIN, duration);
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  ConnectionState state;
  state.fd = sock;
  SocketStream stream(sock, limits_, state);
  tls_connection = &state;

  bool ok = true;
  const std::size_t max_requests = std::max<std::size_t>(1, limits_.keep_alive_max_requests);
  for (std::size_t served = 0; served < max_requests && !stopping_; ++served) {
    // The first request may take a read timeout to start; later ones are keep-alive waits, which
    // shutdown() cuts short through the eventfd.
    if (!stream.has_buffered_data()) {
      pollfd fds[2] = {{sock, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      const auto wait = served == 0 ? limits_.read_timeout : limits_.keep_alive_timeout;
      int n;
      do {
        n = ::poll(fds, 2, static_cast<int>(wait.count()));
      } while (n < 0 && errno == EINTR);
      if (n <= 0 || fds[1].revents != 0 || fds[0].revents == 0) break;
    }
    state.request_start = Clock::now();
    state.close_after_response = false;
    stream.begin_request(state.request_start + limits_.request_timeout);
    const bool last = served + 1 == max_requests || stopping_;
    bool connection_closed = false;
    ok = process_request(stream, last, connection_closed, nullptr);
    if (!ok || connection_closed || state.close_after_response || state.reset) break;
  }
  tls_connection = nullptr;

  if (state.reset) {
    // SO_LINGER with a zero timeout turns close() into a TCP reset: the client sees the
    // connection torn down without any answer.
    linger l{1, 0};
    ::setsockopt(sock, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    ::close(sock);
  } else if (state.close_after_response) {
    lingering_close(sock);
  } else {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  return ok;
}

BoundedThreadPool::BoundedThreadPool(std::size_t threads, std::size_t max_queued)
    : max_queued_(std::max<std::size_t>(1, max_queued)) {
  threads = std::max<std::size_t>(1, threads);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

BoundedThreadPool::~BoundedThreadPool() { shutdown(); }

void BoundedThreadPool::enqueue(std::function<void()> fn) {
  {
    std::unique_lock lock(mutex_);
    has_room_.wait(lock, [&] { return jobs_.size() < max_queued_ || shutdown_; });
    if (!shutdown_) {
      jobs_.push_back(std::move(fn));
      has_job_.notify_one();
      return;
    }
  }
  fn();  // after shutdown: the job sees the server stopping and just closes its socket
}

void BoundedThreadPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (shutdown_ && threads_.empty()) return;
    shutdown_ = true;
  }
  has_job_.notify_all();
  has_room_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void BoundedThreadPool::work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mutex_);
      has_job_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
      if (jobs_.empty()) return;  // shut down and drained
      fn = std::move(jobs_.front());
      jobs_.pop_front();
      has_room_.notify_one();
    }
    fn();
  }
}

}  // namespace sipcontract::detail::refserver
