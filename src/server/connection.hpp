// The reference server's transport: a cpp-httplib Server whose connection loop is our own, so that
// every request has an overall deadline, a handler can close or reset its connection, stop()
// wakes idle keep-alive connections at once, and requests of the common shape skip httplib's
// parser (connection.cpp says which and why); plus a thread pool with a bounded queue.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace sipcontract::detail::refserver {

/// Timeouts and keep-alive rules of every connection.
struct ConnectionLimits {
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds keep_alive_timeout{5000};
  std::size_t keep_alive_max_requests = 100;
  std::size_t max_header_bytes = 64 * 1024;  ///< request line and headers together, per request
};

/// What a handler knows and may decide about the connection its request came on.
struct ConnectionState {
  int fd = -1;
  std::chrono::steady_clock::time_point request_start;  ///< when the current request began
  bool close_after_response = false;  ///< answer, then close (the rest of the request is not read)
  bool reset = false;                 ///< send nothing more and reset the connection (a fault mode)
};

/// The connection the calling worker thread is serving, or nullptr outside a request.
ConnectionState* current_connection();

/// Answers a request the connection loop parsed itself (see HttpServer::set_direct_handler): fills
/// `res` with the status, every header (including those httplib would add: Content-Length,
/// Keep-Alive or Connection) and the body. `close_connection` says this is the connection's last
/// request, so the answer must say "Connection: close".
using DirectHandler =
    std::function<void(httplib::Request& req, httplib::Response& res, bool close_connection)>;

/// Whether `bytes` begin with a complete request of the shape the connection loop answers itself
/// (HttpServer::set_direct_handler), bodies up to `max_body` bytes; false means httplib parses it.
bool is_direct_request(std::string_view bytes, std::size_t max_body);

/// The status line, headers and body of `res` as cpp-httplib writes them (no body after HEAD),
/// appended to `out`.
void serialize_response(const httplib::Request& req, const httplib::Response& res, std::string& out);

/// A cpp-httplib Server that serves each connection with our own loop (see the file comment).
class HttpServer : public httplib::Server {
 public:
  explicit HttpServer(ConnectionLimits limits);
  ~HttpServer() override;

  /// Wakes every idle connection and every interruptible wait, then stops accepting.
  void shutdown();
  /// Waits up to `duration` unless shutdown() is called first; true when the full time passed.
  bool sleep_unless_stopping(std::chrono::milliseconds duration) const;
  bool stopping() const { return stopping_.load(); }

  /// Requests of the common simple shape (a complete HTTP/1.1 GET, POST or DELETE with a plain
  /// path, a Content-Length body and no header that changes how httplib frames, decodes or
  /// encodes it) are parsed by the connection loop and answered through `handler`, skipping
  /// httplib's general parser; every other request goes through httplib as before. Set before
  /// listening.
  void set_direct_handler(DirectHandler handler) { direct_handler_ = std::move(handler); }
  /// The Keep-Alive header value httplib sends with these limits ("timeout=5, max=100").
  std::string keep_alive_value() const;

 private:
  bool process_and_close_socket(socket_t sock) override;
  /// Registers an open connection, which shutdown() wakes whenever `idle` is set; false when the
  /// server is stopping.
  bool track(int fd, const std::atomic<bool>& idle);
  void untrack(int fd);

  ConnectionLimits limits_;
  DirectHandler direct_handler_;
  int wake_fd_ = -1;  // an eventfd that becomes readable at shutdown()
  std::mutex open_mutex_;
  std::unordered_map<int, const std::atomic<bool>*> open_;  // connections being served -> idle
  std::atomic<bool> stopping_{false};
};

/// A fixed number of worker threads fed from a queue of bounded length: when the queue is full,
/// enqueue() waits, so the accept loop stops accepting and new clients wait in the kernel's backlog
/// instead of piling up unbounded work (and open sockets) in memory.
class BoundedThreadPool : public httplib::TaskQueue {
 public:
  BoundedThreadPool(std::size_t threads, std::size_t max_queued);
  ~BoundedThreadPool() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void work();

  std::vector<std::thread> threads_;
  std::deque<std::function<void()>> jobs_;
  std::size_t max_queued_;
  bool shutdown_ = false;
  std::mutex mutex_;
  std::condition_variable has_job_;
  std::condition_variable has_room_;
};

}  // namespace sipcontract::detail::refserver
