// The reference server's transport: an HTTP/1.1 server of its own on POSIX sockets and epoll,
// with the one request parser of http_parser.hpp and the one response writer below. It knows
// nothing of the API: every request goes to one handler (the business logic in its layers) as the
// server's own Request, and every answer leaves from the server's own Response (exchange.hpp),
// with every transport directive it carries (chunked, gzip, close, reset, delay, streamed or
// truncated bodies).
//
// Threads: one poller and a fixed pool of workers (connection.cpp says why this shape). A
// connection is held by a worker while a request is arriving or being answered, and between
// requests as long as no other connection waits for a worker (up to a short hold); otherwise it is
// parked with the poller, which costs no thread, until its next bytes arrive or a timeout ends it.
//
// Limits: a request head within http::Limits (414, 431), a whole request within request_timeout
// and each read within read_timeout (408, or the handler's 400 for a body), each write within
// write_timeout, keep_alive_max_requests per connection, keep_alive_timeout idle, and at most
// max_connections open (past that the kernel's listen backlog holds new clients).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

#include "exchange.hpp"
#include "sipcontract/thread_pool.hpp"
#include "http_parser.hpp"

namespace sipcontract::detail::refserver {

/// Timeouts, keep-alive rules and sizes of every connection.
struct ConnectionLimits {
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds keep_alive_timeout{5000};
  std::size_t keep_alive_max_requests = 100;
  std::size_t max_connections = 1024;
  /// The most of a body the handler left unread that is read and dropped to keep the connection.
  std::size_t max_body_bytes = 1u << 20;
  http::Limits parser;
};

/// Answers a request: fills the response (the handler and the layers around it).
using ExchangeHandler = std::function<void(Request& req, Response& res)>;
/// Receives one answered request: what was asked, what was answered, the body bytes sent and the
/// time since the request began.
using AnswerLogger = std::function<void(const Request& req, const Response& res, std::size_t body_bytes,
                                        std::chrono::steady_clock::duration elapsed)>;

class Connection;

/// The HTTP/1.1 server: listen(), start(), shutdown() (also done by the destructor).
class HttpServer {
 public:
  HttpServer(ConnectionLimits limits, std::size_t threads, ExchangeHandler handler, AnswerLogger logger = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds `host`:`port` (0: a free port) with SO_REUSEADDR and listens with `backlog`; returns
  /// the bound port. Throws std::runtime_error ("cannot listen on HOST:PORT: reason").
  int listen(const std::string& host, int port, int backlog);
  /// Starts the poller and the workers; connections are accepted from then on.
  void start();
  /// Stops accepting, closes every idle connection at once, lets the requests being answered
  /// finish, and joins the threads. Idempotent.
  void shutdown();

  /// Waits up to `duration` unless shutdown() is called first; true when the full time passed.
  bool sleep_unless_stopping(std::chrono::milliseconds duration) const;

 private:
  enum class Wait { kData, kPark, kEnd };

  // The poller's side.
  void poll_loop();
  bool accept_all();  // true: out of descriptors, retry later
  void on_ready(Connection* c);
  void expire_parked();
  void close_parked();
  void set_accepting(bool on);
  // Hands `c` to the poller until it is readable or `deadline` passes (or closes it when the
  // poller is gone). The caller must not touch `c` afterwards.
  void park(Connection& c, std::chrono::steady_clock::time_point deadline);
  void drain(Connection& c);

  // The workers' side.
  void serve(Connection& c);
  Wait wait_for_bytes(Connection& c);
  bool serve_request(Connection& c);
  void answer_alone(Connection& c, Request& req);
  Response run_handler(Request& req) const;
  Response handle(Request& req) const;
  void write(Connection& c, const Request& req, Response& res, bool close_connection) const;
  void end(Connection& c);
  void destroy(Connection* c);
  void wake_poller() const;

  ConnectionLimits limits_;
  std::size_t threads_;
  ExchangeHandler handler_;
  AnswerLogger logger_;
  std::string keep_alive_;          // the Keep-Alive header value
  std::chrono::milliseconds hold_;  // how long a worker keeps an idle connection when none waits
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: wakes the poller (drained by it)
  int stop_fd_ = -1;  // eventfd: readable from shutdown() on (never drained)
  std::thread poller_;
  // The workers: the poller hands them the connections with a request ready (post); a worker keeps
  // an idle connection a while (hold_) only when the pool is not busy().
  std::unique_ptr<ThreadPool> pool_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> accept_paused_{false};
  std::atomic<std::size_t> open_count_{0};
  std::mutex lifecycle_mutex_;
  bool started_ = false;
  bool stopped_ = false;

  // Parked connections by deadline, and when the poller next wakes for one.
  std::mutex park_mutex_;
  std::multimap<std::chrono::steady_clock::time_point, Connection*> parked_;
  std::chrono::steady_clock::time_point poller_wakes_at_;
  bool poller_closed_ = false;

  // Every open connection, so that shutdown() can wake those a worker holds idle.
  std::mutex open_mutex_;
  std::unordered_set<Connection*> open_;
};

}  // namespace sipcontract::detail::refserver
