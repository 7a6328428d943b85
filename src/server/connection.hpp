// The reference server's transport: a cpp-httplib Server whose connection loop is our own, so that
// every request has an overall deadline, a handler can close or reset its connection, stop()
// wakes idle keep-alive connections at once, and requests of the common shape skip httplib's
// parser (connection.cpp says which and why); plus a thread pool with a bounded queue.
//
// Every answer, whichever parser read its request, is written here from the server's own Response
// (exchange.hpp), with every transport directive it carries (chunked, gzip, close, reset, delay,
// streamed or truncated bodies): httplib parses requests (httplib_adapter.cpp hands them over) but
// writes nothing of its own.
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

#include "exchange.hpp"

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

class SocketStream;

/// The connection a request came on, as the transport tracks it while answering.
struct ConnectionState {
  int fd = -1;
  SocketStream* stream = nullptr;
  std::chrono::steady_clock::time_point request_start;  ///< when the current request began
  bool last = false;                  ///< the connection's last request (keep-alive maximum, or stopping)
  bool close_after_response = false;  ///< answer, then close (the rest of the request is not read)
  bool close_now = false;             ///< the answer broke off: close without waiting
  bool reset = false;                 ///< send nothing more and reset the connection (a fault mode)
  bool answered = false;              ///< the current request has its answer written
  bool swallow_writes = false;        ///< drop what httplib writes for the current request
};

/// The connection the calling worker thread is serving, or nullptr outside a request.
ConnectionState* current_connection();

/// Answers a request: fills the response (the handler and the layers around it).
using ExchangeHandler = std::function<void(Request& req, Response& res)>;
/// Receives one answered request: what was asked, what was answered, the body bytes sent and the
/// time since the request began.
using AnswerLogger = std::function<void(const Request& req, const Response& res, std::size_t body_bytes,
                                        std::chrono::steady_clock::duration elapsed)>;

/// Whether `bytes` begin with a complete request of the shape the connection loop answers itself
/// (see HttpServer::set_handler), bodies up to `max_body` bytes; false means httplib parses it.
bool is_direct_request(std::string_view bytes, std::size_t max_body);

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

  /// The handler of every request. Requests of the common simple shape (a complete HTTP/1.1 GET,
  /// POST or DELETE with a plain path, a Content-Length body and no header that changes how a
  /// request is framed or decoded) are parsed by the connection loop and reach it directly,
  /// skipping httplib's general parser; every other request is parsed by httplib and handed over
  /// by httplib_adapter.cpp through answer(). Set before listening.
  void set_handler(ExchangeHandler handler) { handler_ = std::move(handler); }
  void set_logger(AnswerLogger logger) { logger_ = std::move(logger); }

  /// Runs the handler on `req` (an exception becomes a 500), then drops a request body the
  /// handler left unread, or marks the answer to close the connection when that is not possible.
  Response handle(Request& req) const;
  /// Writes `res` on the connection being served, applying its transport directives; whatever
  /// httplib writes for this request afterwards is dropped. `close_connection`: the connection
  /// closes after this answer anyway (the client asked, or it is the last request).
  void write(ConnectionState& state, const Request& req, Response& res, bool close_connection) const;

 private:
  bool process_and_close_socket(socket_t sock) override;
  /// Registers an open connection, which shutdown() wakes whenever `idle` is set; false when the
  /// server is stopping.
  bool track(int fd, const std::atomic<bool>& idle);
  void untrack(int fd);

  ConnectionLimits limits_;
  ExchangeHandler handler_;
  AnswerLogger logger_;
  std::string keep_alive_;  // the Keep-Alive header value
  int wake_fd_ = -1;        // an eventfd that becomes readable at shutdown()
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
