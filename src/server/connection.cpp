// The transport (connection.hpp): sockets, the poller, the workers, request bodies and the writer.
//
// Why a poller and workers, and not a thread per connection: the handler and the layers are
// blocking code (a body is read when the handler asks for it, a delay is a sleep), so requests are
// answered on worker threads; but a connection that is only waiting (for its next keep-alive
// request, or for the rest of a head that trickles in) should not cost a thread, or a few idle or
// slow clients would hold every worker and starve the others. So the poller (one thread, epoll)
// owns every connection that waits, with its deadline, and hands it to the pool when bytes arrive.
// Handing over costs system calls and a thread switch, more than a small request costs; a worker
// therefore keeps its connection between requests for a short hold while no other connection waits
// for a worker, so a busy client's requests cost two system calls each (a blocking recv() and one
// send()), as with a thread per connection.
//
// Ownership: a connection belongs to exactly one of the accept step, the pool's queue, a worker or
// the poller (parked, with EPOLLONESHOT and a deadline), and only its owner touches it. Parking
// registers the deadline and arms epoll under park_mutex_, which the poller takes before it acts on
// a parked connection, so a connection is never acted on by two threads.
#include "connection.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipcontract::detail::refserver {

using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kInitialBuffer = 16 * 1024;
constexpr std::size_t kFlushBytes = 64 * 1024;
// A worker keeps a connection that waits for at most kMaxHold, in blocking recv()s of kHoldSlice,
// and gives it to the poller as soon as another connection waits for a worker (so that one waits at
// most a slice). A slice ends early only when the client takes that long to send again, which
// costs a wakeup: short slices would cost many on a loaded machine, long ones delay waiting clients.
constexpr std::chrono::milliseconds kMaxHold{50};
constexpr std::chrono::milliseconds kHoldSlice{10};
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kMaxLingerBytes = 64u << 20;
constexpr std::chrono::milliseconds kAcceptRetry{100};

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

std::string address_text(const sockaddr_storage& addr) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (addr.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, text.data(), text.size());
  } else if (addr.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, text.data(), text.size());
  }
  return text.data();
}

void set_timeout_option(int fd, int option, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

// Tags of the poller's own descriptors in epoll_event::data.ptr (connections carry themselves).
char listen_tag;
char wake_tag;

}  // namespace

// --- Connection -----------------------------------------------------------------------------------

// One open connection: its socket, the bytes received and not yet consumed, the answer being
// written, and where it stands between requests.
class Connection {
 public:
  enum class Received { kData, kNone, kEnd };

  Connection(int fd, std::string remote, const ConnectionLimits& limits)
      : fd(fd),
        remote(std::move(remote)),
        limits_(limits),
        max_buffer_(limits.parser.max_head_bytes + limits.parser.max_request_line + kInitialBuffer) {}
  ~Connection() { ::close(fd); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const int fd;
  const std::string remote;  // the peer's address, for the access log

  // --- input
  std::string_view unread() const { return {in_.get() + begin_, end_ - begin_}; }
  void consume(std::size_t n) {
    begin_ += std::min(n, end_ - begin_);
    if (begin_ == end_) begin_ = end_ = 0;
  }
  /// Receives what has arrived into the buffer: waiting (up to the socket's receive timeout, the
  /// hold) or not. kNone: nothing within the wait; kEnd: the peer closed, or an error.
  Received receive(bool wait) {
    if (!make_room()) return Received::kEnd;
    for (;;) {
      const ssize_t n = ::recv(fd, in_.get() + end_, capacity_ - end_, wait ? 0 : MSG_DONTWAIT);
      if (n > 0) {
        end_ += static_cast<std::size_t>(n);
        return Received::kData;
      }
      if (n == 0) return Received::kEnd;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? Received::kNone : Received::kEnd;
    }
  }
  /// Receives more of a request within the read timeout and the request's deadline; false when
  /// none came, the peer closed, or an error.
  bool receive_within(Clock::time_point deadline) {
    for (;;) {
      const Received r = receive(false);
      if (r != Received::kNone) return r == Received::kData;
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !wait_for(fd, POLLIN, std::min(left, limits_.read_timeout))) return false;
    }
  }
  /// Frees the input buffer while nothing is in it (an idle connection costs no buffer).
  void release_buffer() {
    if (begin_ != end_) return;
    in_.reset();
    capacity_ = begin_ = end_ = 0;
  }

  // --- output: collected, so that an answer leaves in one send() unless it is large
  bool write(std::string_view data) {
    if (reset) return false;
    out_.append(data);
    return out_.size() < kFlushBytes || flush();
  }
  std::string& output() { return out_; }
  /// Sends everything written so far; false when the connection cannot take it within the write
  /// timeout (or the answer is a reset, in which case nothing more is sent).
  bool flush() {
    if (reset) {
      out_.clear();
      return false;
    }
    std::size_t sent = 0;
    bool ok = true;
    while (sent < out_.size()) {
      const ssize_t n = ::send(fd, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        sent += static_cast<std::size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!wait_for(fd, POLLOUT, limits_.write_timeout)) {
          ok = false;
          break;
        }
      } else if (errno != EINTR) {
        ok = false;
        break;
      }
    }
    out_.clear();
    if (out_.capacity() > 4 * kFlushBytes) out_.shrink_to_fit();  // after a huge answer
    return ok;
  }

  // --- where the connection stands
  http::HeadScanner scanner;
  std::size_t served = 0;   // requests answered
  bool in_request = false;  // bytes of a request have arrived and it is not answered yet
  Clock::time_point request_start;
  Clock::time_point idle_since = Clock::now();
  bool timed_out = false;  // the poller's deadline passed in the middle of a request
  // How the connection ends after the answer being written (set by HttpServer::write).
  bool reset = false;      // send nothing more and reset it (a fault mode)
  bool linger = false;     // the request may not have been read to its end: half-close, then drain
  bool close_now = false;  // close after this answer
  // Held by the poller (guarded by HttpServer::park_mutex_ while parked).
  bool in_epoll = false;
  bool draining = false;  // lingering close: what the peer still sends is read and dropped
  Clock::time_point drain_deadline;
  std::size_t drained = 0;
  std::multimap<Clock::time_point, Connection*>::iterator timer;
  std::atomic<bool> holding{false};  // a worker waits for this idle connection's next request

 private:
  // Room after the unread bytes: the buffer is allocated, compacted or grown (up to what a head
  // within the parser's limits needs). False when no room can be made.
  bool make_room() {
    if (!in_) {
      capacity_ = kInitialBuffer;
      in_ = std::make_unique_for_overwrite<char[]>(capacity_);
    }
    if (end_ < capacity_) return true;
    if (begin_ > 0) {
      std::memmove(in_.get(), in_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      return true;
    }
    if (capacity_ >= max_buffer_) return false;
    const std::size_t grown = std::min(capacity_ * 2, max_buffer_);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    std::memcpy(bigger.get(), in_.get(), end_);
    in_ = std::move(bigger);
    capacity_ = grown;
    return true;
  }

  const ConnectionLimits& limits_;
  const std::size_t max_buffer_;
  std::unique_ptr<char[]> in_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::string out_;
};

namespace {

// --- Request bodies -------------------------------------------------------------------------------

// The body of the request being served, read from the connection only when the handler asks for
// it: Content-Length or chunked framing, then a gzip or deflate Content-Encoding if there is one.
// Every read waits at most the read timeout and ends at the request's deadline.
class RequestBody final : public BodySource {
 public:
  RequestBody(Connection& c, const http::Head& head, const Request& req, const ConnectionLimits& limits)
      : c_(c),
        framing_(head.framing),
        left_(head.content_length),
        chunked_(limits.parser),
        coding_(http::content_coding(req.headers.get("Content-Encoding"))),
        deadline_(c.request_start + limits.request_timeout) {}

  BodyRead read(std::string& out, std::size_t max_bytes) override {
    if (std::exchange(used_, true)) return BodyRead::kFailed;
    if (coding_ == http::Coding::kUnsupported) return BodyRead::kUnsupportedEncoding;
    const std::size_t limit = out.size() + max_bytes;
    if (coding_ == http::Coding::kIdentity) {
      if (framing_ == http::Framing::kLength && left_ > max_bytes) return BodyRead::kTooLarge;
      for (;;) {
        const Pull p = pull(&out);
        if (out.size() > limit) return BodyRead::kTooLarge;
        if (p != Pull::kMore) return p == Pull::kDone ? BodyRead::kOk : BodyRead::kFailed;
      }
    }
    // Coded: the coded bytes are bounded too, so that a stream that yields nothing cannot go on.
    http::Inflater inflater;
    std::string coded;
    std::uint64_t coded_total = 0;
    const std::uint64_t max_coded = max_bytes + max_bytes / 8 + 65536;
    for (;;) {
      coded.clear();
      const Pull p = pull(&coded);
      if (p == Pull::kFailed) return BodyRead::kFailed;
      coded_total += coded.size();
      if (coded_total > max_coded) return BodyRead::kTooLarge;
      const auto status = inflater.feed(coded, out, limit);
      if (status == http::Inflater::Status::kTooLarge) return BodyRead::kTooLarge;
      if (status == http::Inflater::Status::kInvalid) return BodyRead::kFailed;
      if (p == Pull::kDone)
        return status == http::Inflater::Status::kDone ? BodyRead::kOk : BodyRead::kFailed;
    }
  }

  bool discard(std::size_t max_bytes) override {
    if (std::exchange(used_, true)) return done_;
    if (framing_ == http::Framing::kLength && left_ > max_bytes) return false;
    for (;;) {
      const Pull p = pull(nullptr);
      if (p != Pull::kMore) return p == Pull::kDone;
      if (chunked_.data_bytes() > max_bytes) return false;
    }
  }

  /// Whether the body was read to its end (the connection is at the next request).
  bool finished() const { return done_; }

 private:
  enum class Pull { kMore, kDone, kFailed };

  // Appends the next data of the body to `sink` (or drops it), receiving from the connection when
  // nothing is buffered.
  Pull pull(std::string* sink) {
    if (done_) return Pull::kDone;
    if (c_.unread().empty() && !c_.receive_within(deadline_)) return Pull::kFailed;
    const std::string_view available = c_.unread();
    if (framing_ == http::Framing::kLength) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, available.size()));
      if (sink != nullptr) sink->append(available.data(), n);
      c_.consume(n);
      left_ -= n;
      done_ = left_ == 0;
      return done_ ? Pull::kDone : Pull::kMore;
    }
    std::size_t consumed = 0;
    const auto status = chunked_.decode(available, consumed, sink);
    c_.consume(consumed);
    if (status == http::ChunkedDecoder::Status::kInvalid) return Pull::kFailed;
    done_ = status == http::ChunkedDecoder::Status::kDone;
    return done_ ? Pull::kDone : Pull::kMore;
  }

  Connection& c_;
  http::Framing framing_;
  std::uint64_t left_;
  http::ChunkedDecoder chunked_;
  http::Coding coding_;
  Clock::time_point deadline_;
  bool used_ = false;
  bool done_ = false;
};

// The body of a request whose client waits to be told to send it (Expect: 100-continue): reading
// it now would wait for bytes the client holds back.
class WithheldBody final : public BodySource {
 public:
  BodyRead read(std::string&, std::size_t) override { return BodyRead::kFailed; }
  bool discard(std::size_t) override { return true; }
};

// --- The writer -----------------------------------------------------------------------------------


// The body of an answer, whole or streamed, in the parts it is sent in.
template <class Fn>
bool for_each_part(const Response& res, std::size_t size, Fn send) {
  if (!res.stream) {
    // Sent whole unless chunked: then in two chunks at least, so a client must put them together.
    const std::size_t part = res.chunked
                                 ? std::max<std::size_t>(1, std::min<std::size_t>(16384, (size + 1) / 2))
                                 : std::max<std::size_t>(1, size);
    for (std::size_t at = 0; at < size; at += part) {
      if (!send(std::string_view(res.body).substr(at, part))) return false;
    }
    return true;
  }
  for (std::size_t at = 0; at < size;) {
    std::string_view piece = res.stream->bytes(at);
    if (piece.empty()) return false;
    piece = piece.substr(0, size - at);
    if (!send(piece)) return false;
    at += piece.size();
  }
  return true;
}

}  // namespace

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return status < 500 ? "Client Error" : "Server Error";
  }
}

void HttpServer::write(Connection& c, const Request& req, Response& res, bool close_connection) const {
  if (res.delay.count() > 0) sleep_unless_stopping(res.delay);
  const auto log = [&](std::size_t bytes) {
    if (logger_) logger_(req, res, bytes, Clock::now() - c.request_start);
  };
  if (res.reset) {
    c.reset = true;
    log(0);
    return;
  }
  // 1xx, 204 and 304 answers have no body and no framing (RFC 9110 6.4.1); HEAD has the framing
  // of the body GET would send, and no body.
  const bool bodiless = res.status < 200 || res.status == 204 || res.status == 304;
  const bool head = req.method == "HEAD";
  bool gzipped = false;
  if (res.gzip_when_accepted && !bodiless) {
    if (!res.stream && !res.body.empty() && accepts_gzip(req.headers.get("Accept-Encoding"))) {
      res.body = gzip(res.body);
      gzipped = true;
    }
    res.headers.set("Vary", "Accept-Encoding");
  }
  const std::size_t size = bodiless ? 0 : res.stream ? res.stream->size : res.body.size();
  const bool http10 = req.version == "HTTP/1.0";
  // HTTP/1.0 knows no chunked coding; a truncated body is a Content-Length that lies.
  const bool chunked = res.chunked && !bodiless && !http10 && res.missing_bytes == 0;
  const bool close = close_connection || res.close_after || res.missing_bytes > 0;

  std::string& out = c.output();
  out.reserve(out.size() + 160 + res.headers.size() * 48 + (head ? 0 : std::min(size, kFlushBytes)));
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += reason_phrase(res.status);
  out += "\r\n";
  const auto header = [&out](std::string_view name, std::string_view value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  };
  for (const auto& field : res.headers) header(field.name, field.value);
  if (!bodiless) {
    if (size > 0 && !res.headers.has("Content-Type")) header("Content-Type", "text/plain");
    if (gzipped) header("Content-Encoding", "gzip");
    if (chunked) {
      header("Transfer-Encoding", "chunked");
    } else {
      header("Content-Length", std::to_string(size + res.missing_bytes));
    }
  }
  if (close) {
    header("Connection", "close");
  } else {
    if (http10) header("Connection", "keep-alive");  // an HTTP/1.0 client asked for it, and gets it
    header("Keep-Alive", keep_alive_);
  }
  out += "\r\n";
  bool ok = out.size() < kFlushBytes || c.flush();

  std::size_t sent = 0;
  if (ok && !head && size > 0) {
    ok = for_each_part(res, size, [&](std::string_view part) {
      if (chunked) {
        char line[24];
        const int n = std::snprintf(line, sizeof line, "%zx\r\n", part.size());
        if (!c.write(std::string_view(line, static_cast<std::size_t>(n)))) return false;
      }
      if (!c.write(part)) return false;
      if (chunked && !c.write("\r\n")) return false;
      sent += part.size();
      return true;
    });
    if (ok && chunked) ok = c.write("0\r\n\r\n");
  }
  if (!ok || res.missing_bytes > 0) {
    c.close_now = true;  // the client has the answer up to where it broke off
  } else if (res.close_after) {
    c.linger = true;  // the request may not have been read to its end
  } else if (close) {
    c.close_now = true;
  }
  log(sent);
}

// --- Requests -------------------------------------------------------------------------------------

Response HttpServer::run_handler(Request& req) const {
  Response res;
  try {
    handler_(req, res);
  } catch (...) {
    res = Response{};
    res.set_error(500, "Internal Server Error");
  }
  return res;
}

Response HttpServer::handle(Request& req) const {
  Response res = run_handler(req);
  // A body the handler did not read is read and dropped, so the connection stays at a request
  // boundary; when that cannot be done, the connection closes after the answer.
  if (BodySource* unread = std::exchange(req.body_source, nullptr)) {
    if (!unread->discard(limits_.max_body_bytes)) res.close_after = true;
  }
  return res;
}

// Serves the connection's requests while they come; parks it when it waits, ends it when done.
void HttpServer::serve(Connection& c) {
  if (stopping_) return destroy(&c);
  if (c.timed_out) {
    Request req;
    req.framing_error = 408;
    req.framing_message = "the request did not arrive in time";
    answer_alone(c, req);
    return end(c);
  }
  for (;;) {
    if (stopping_) return end(c);
    const std::string_view unread = c.unread();
    if (!c.in_request && !unread.empty()) {
      c.in_request = true;
      c.request_start = Clock::now();
    }
    switch (c.scanner.scan(unread, limits_.parser)) {
      case http::HeadScanner::State::kComplete:
        if (!serve_request(c)) return end(c);
        continue;
      case http::HeadScanner::State::kInvalid: {
        Request req;
        req.framing_error = c.scanner.error().status;
        req.framing_message = c.scanner.error().message;
        answer_alone(c, req);
        return end(c);
      }
      case http::HeadScanner::State::kIncomplete:
        break;
    }
    if (c.in_request && Clock::now() - c.request_start >= limits_.request_timeout) {
      Request req;
      req.framing_error = 408;
      req.framing_message = "the request did not arrive in time";
      answer_alone(c, req);
      return end(c);
    }
    switch (wait_for_bytes(c)) {
      case Wait::kData:
        continue;
      case Wait::kEnd:
        return end(c);
      case Wait::kPark: {
        // Idle: the first request may take a read timeout to start, later ones are keep-alive
        // waits. In the middle of a head: the read timeout, within the request's deadline.
        const auto deadline =
            c.in_request
                ? std::min(c.request_start + limits_.request_timeout, Clock::now() + limits_.read_timeout)
                : c.idle_since + (c.served == 0 ? limits_.read_timeout : limits_.keep_alive_timeout);
        return park(c, deadline);
      }
    }
  }
}

// Waits for more bytes while holding the connection: up to the hold when no other connection waits
// for a worker, not at all when one does.
HttpServer::Wait HttpServer::wait_for_bytes(Connection& c) {
  Connection::Received r = Connection::Received::kNone;
  if (pool_->busy()) {
    r = c.receive(false);
  } else {
    // Idle first, then the check: either shutdown() sees this connection idle and shuts its read
    // side (which ends the wait at once), or this sees shutdown() under way. A connection in the
    // middle of a request is left to finish it.
    const bool idle = !c.in_request;
    c.holding = idle;
    const auto until = Clock::now() + hold_;
    while (!(idle && stopping_)) {
      r = c.receive(true);  // one slice at most
      if (r != Connection::Received::kNone || pool_->busy() || Clock::now() >= until) break;
    }
    c.holding = false;
    if (idle && stopping_ && r == Connection::Received::kNone) r = Connection::Received::kEnd;
  }
  switch (r) {
    case Connection::Received::kData:
      return Wait::kData;
    case Connection::Received::kNone:
      return Wait::kPark;
    case Connection::Received::kEnd:
      break;
  }
  return Wait::kEnd;
}

// Answers the complete head at the start of the connection's input (and reads its body when the
// handler asks); false when the connection ends after the answer.
bool HttpServer::serve_request(Connection& c) {
  Request req;
  const http::Head head = http::parse_head(c.unread().substr(0, c.scanner.size()), limits_.parser, req);
  c.consume(c.scanner.size());
  c.scanner.reset();
  req.remote_addr = c.remote;
  ++c.served;
  if (head.error) {
    req.framing_error = head.error.status;
    req.framing_message = head.error.message;
    answer_alone(c, req);
    return false;
  }
  const bool close = !head.keep_alive || c.served >= limits_.keep_alive_max_requests || stopping_;
  RequestBody body(c, head, req, limits_);
  if (head.framing != http::Framing::kNone) req.body_source = &body;

  // Expect: 100-continue, with none of the body sent yet: the request without its body first
  // (Request::precheck), so that a refusal leaves before the client sends the body.
  if (head.expect_continue && c.unread().empty()) {
    Request precheck = req;
    WithheldBody withheld;
    precheck.body_source = &withheld;
    precheck.precheck = true;
    Response res = run_handler(precheck);
    if (res.status != 100) {
      res.close_after = true;  // the body, if the client sends it anyway, is not read
      write(c, precheck, res, true);
      c.flush();
      return false;
    }
    if (!c.write("HTTP/1.1 100 Continue\r\n\r\n") || !c.flush()) return false;
  }

  Response res = handle(req);
  if (head.framing != http::Framing::kNone && !body.finished()) res.close_after = true;
  write(c, req, res, close);
  const bool sent = c.flush();
  c.in_request = false;
  c.idle_since = Clock::now();
  return sent && !c.reset && !c.linger && !c.close_now;
}

// Answers a request the transport refuses (or that never arrived whole); the connection ends after.
void HttpServer::answer_alone(Connection& c, Request& req) {
  if (!c.in_request) c.request_start = Clock::now();
  if (req.remote_addr.empty()) req.remote_addr = c.remote;
  Response res = handle(req);
  res.close_after = true;  // what follows on the connection cannot be trusted to start a request
  write(c, req, res, true);
  c.flush();
}

// Ends a connection as its last answer asked: reset, lingering close, or a plain close.
void HttpServer::end(Connection& c) {
  if (c.reset) {
    // SO_LINGER with a zero timeout turns close() into a TCP reset: the client sees the
    // connection torn down without any answer.
    linger l{1, 0};
    ::setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    return destroy(&c);
  }
  if (c.linger && !stopping_) return drain(c);
  ::shutdown(c.fd, SHUT_RDWR);
  destroy(&c);
}

// After answering a request whose body was left unread, closing at once would make the kernel
// send a reset, and a client still sending its body could lose the answer. Half-close instead,
// then let the poller read and drop what the client still sends, for a bounded time and amount.
void HttpServer::drain(Connection& c) {
  ::shutdown(c.fd, SHUT_WR);
  c.consume(c.unread().size());
  c.release_buffer();
  c.draining = true;
  c.drain_deadline = Clock::now() + kLingerTime;
  park(c, c.drain_deadline);
}

void HttpServer::destroy(Connection* c) {
  {
    std::lock_guard lock(open_mutex_);
    open_.erase(c);
  }
  delete c;
  open_count_.fetch_sub(1);
  if (accept_paused_.load()) wake_poller();
}

// --- The poller -----------------------------------------------------------------------------------

void HttpServer::park(Connection& c, Clock::time_point deadline) {
  c.release_buffer();
  bool parked = false;
  bool wake = false;
  {
    std::lock_guard lock(park_mutex_);
    if (!poller_closed_) {
      c.timer = parked_.emplace(deadline, &c);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLONESHOT;
      ev.data.ptr = &c;
      if (::epoll_ctl(epoll_fd_, c.in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev) == 0) {
        c.in_epoll = true;
        parked = true;
        wake = deadline < poller_wakes_at_;
      } else {
        parked_.erase(c.timer);
      }
    }
  }
  if (!parked) return destroy(&c);
  if (wake) wake_poller();
}

void HttpServer::wake_poller() const {
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof(one));
}

void HttpServer::poll_loop() {
  std::array<epoll_event, 64> events{};
  Clock::time_point accept_retry{};
  while (!stopping_) {
    int timeout_ms = -1;
    {
      std::lock_guard lock(park_mutex_);
      poller_wakes_at_ = parked_.empty() ? Clock::time_point::max() : parked_.begin()->first;
      if (accept_paused_ && accept_retry != Clock::time_point{})
        poller_wakes_at_ = std::min(poller_wakes_at_, accept_retry);
      if (poller_wakes_at_ != Clock::time_point::max()) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(poller_wakes_at_ - Clock::now());
        timeout_ms = static_cast<int>(std::clamp<long long>(left.count(), 0, 1 << 30));
      }
    }
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      void* tag = events[i].data.ptr;
      if (tag == &listen_tag) {
        if (accept_all()) accept_retry = Clock::now() + kAcceptRetry;
      } else if (tag == &wake_tag) {
        std::uint64_t value = 0;
        [[maybe_unused]] const auto r = ::read(wake_fd_, &value, sizeof(value));
      } else {
        on_ready(static_cast<Connection*>(tag));
      }
    }
    expire_parked();
    if (accept_paused_ && open_count_ < limits_.max_connections &&
        (accept_retry == Clock::time_point{} || Clock::now() >= accept_retry)) {
      accept_retry = {};
      set_accepting(true);
    }
  }
  close_parked();
}

void HttpServer::on_ready(Connection* c) {
  {
    std::lock_guard lock(park_mutex_);
    parked_.erase(c->timer);
  }
  if (!c->draining) return pool_->post([this, c] { serve(*c); });
  // A lingering close: what has arrived is read and dropped.
  std::array<char, 16384> sink;
  for (int reads = 0; reads < 16; ++reads) {
    const ssize_t n = ::recv(c->fd, sink.data(), sink.size(), MSG_DONTWAIT);
    if (n > 0) {
      c->drained += static_cast<std::size_t>(n);
      if (c->drained > kMaxLingerBytes) return destroy(c);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return destroy(c);  // the peer closed too, or an error
    }
  }
  park(*c, c->drain_deadline);
}

void HttpServer::expire_parked() {
  std::vector<Connection*> due;
  {
    std::lock_guard lock(park_mutex_);
    const auto now = Clock::now();
    while (!parked_.empty() && parked_.begin()->first <= now) {
      Connection* c = parked_.begin()->second;
      parked_.erase(parked_.begin());
      ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
      c->in_epoll = false;
      due.push_back(c);
    }
  }
  for (Connection* c : due) {
    if (c->in_request && !c->draining) {
      c->timed_out = true;  // in the middle of a request: a worker answers 408
      pool_->post([this, c] { serve(*c); });
    } else {
      destroy(c);  // idle past its keep-alive time, or done lingering
    }
  }
}

void HttpServer::close_parked() {
  std::multimap<Clock::time_point, Connection*> parked;
  {
    std::lock_guard lock(park_mutex_);
    poller_closed_ = true;
    parked.swap(parked_);
  }
  for (const auto& [deadline, c] : parked) destroy(c);
}

void HttpServer::set_accepting(bool on) {
  epoll_event ev{};
  ev.events = on ? static_cast<std::uint32_t>(EPOLLIN) : 0u;
  ev.data.ptr = &listen_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &ev);
  accept_paused_ = !on;
}

bool HttpServer::accept_all() {
  for (;;) {
    if (open_count_ >= limits_.max_connections) {
      set_accepting(false);  // new clients wait in the listen backlog until a connection closes
      return false;
    }
    sockaddr_storage addr{};
    socklen_t length = sizeof(addr);
    const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        set_accepting(false);  // out of descriptors or memory: retried a little later
        return true;
      }
      return false;  // none left to accept
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    // A worker's wait for a connection's next bytes is a blocking recv(), bounded here.
    set_timeout_option(fd, SO_RCVTIMEO, std::min(hold_, kHoldSlice));
    auto* c = new Connection(fd, address_text(addr), limits_);
    {
      std::lock_guard lock(open_mutex_);
      open_.insert(c);
    }
    open_count_.fetch_add(1);
    pool_->post([this, c] { serve(*c); });
  }
}

// --- Lifecycle ------------------------------------------------------------------------------------

HttpServer::HttpServer(ConnectionLimits limits, std::size_t threads, ExchangeHandler handler,
                       AnswerLogger logger)
    : limits_(limits), threads_(threads), handler_(std::move(handler)), logger_(std::move(logger)) {
  limits_.keep_alive_max_requests = std::max<std::size_t>(1, limits_.keep_alive_max_requests);
  limits_.max_connections = std::max<std::size_t>(1, limits_.max_connections);
  hold_ = std::max(std::chrono::milliseconds(1),
                   std::min({kMaxHold, limits_.read_timeout, limits_.keep_alive_timeout}));
  keep_alive_ =
      "timeout=" + std::to_string(std::max<long long>(1, limits_.keep_alive_timeout.count() / 1000)) +
      ", max=" + std::to_string(limits_.keep_alive_max_requests);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || stop_fd_ < 0 || epoll_fd_ < 0) {
    const int error = errno;
    for (int fd : {wake_fd_, stop_fd_, epoll_fd_}) {
      if (fd >= 0) ::close(fd);
    }
    throw std::runtime_error(std::string("cannot set up the server: ") + std::strerror(error));
  }
}

HttpServer::~HttpServer() {
  shutdown();
  for (int fd : {listen_fd_, epoll_fd_, wake_fd_, stop_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

int HttpServer::listen(const std::string& host, int port, int backlog) {
  const std::string where = host + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (port < 0 || port > 65535) throw std::runtime_error("cannot listen on " + where + ": no such port");
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    throw std::runtime_error("cannot listen on " + where + ": " + ::gai_strerror(rc));
  int error = 0;
  for (const addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    // SO_REUSEADDR only: SO_REUSEPORT would let a second server bind the same port and silently
    // share its connections.
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, backlog) == 0) {
      listen_fd_ = fd;
    } else {
      error = errno;
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (listen_fd_ < 0) throw std::runtime_error("cannot listen on " + where + ": " + std::strerror(error));
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  return ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(bound).sin6_port
                                           : reinterpret_cast<const sockaddr_in&>(bound).sin_port);
}

void HttpServer::start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_ || listen_fd_ < 0) throw std::logic_error("HttpServer::start() without listen(), or twice");
  started_ = true;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = &listen_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  ev.data.ptr = &wake_tag;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  pool_ = std::make_unique<ThreadPool>(threads_);
  poller_ = std::thread([this] { poll_loop(); });
}

void HttpServer::shutdown() {
  {
    std::lock_guard lock(lifecycle_mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(stop_fd_, &one, sizeof(one));
  wake_poller();
  {
    // Workers waiting for an idle connection's next request sit in a blocking recv(): shutting the
    // read side ends it at once (recv() returns 0). A request under way is left to finish.
    std::lock_guard lock(open_mutex_);
    for (Connection* c : open_) {
      if (c->holding) ::shutdown(c->fd, SHUT_RD);
    }
  }
  if (poller_.joinable()) poller_.join();  // closes every parked connection
  if (pool_) pool_->shutdown();            // the connections being served, and those queued, end
}

bool HttpServer::sleep_unless_stopping(std::chrono::milliseconds duration) const {
  return !wait_for(stop_fd_, POLLIN, duration);
}

}  // namespace sipcontract::detail::refserver
