// The reference server's transport: a cpp-httplib Server whose connection loop is our own, so that
// every request has an overall deadline, a handler can close or reset its connection, and stop()
// wakes idle keep-alive connections at once; plus a thread pool with a bounded queue.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
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

 private:
  bool process_and_close_socket(socket_t sock) override;

  ConnectionLimits limits_;
  int wake_fd_ = -1;  // an eventfd that becomes readable at shutdown()
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
