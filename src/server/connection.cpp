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
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

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

}  // namespace

// httplib's own SocketStream lives in its compiled library (not in the header), so the loop below
// brings its own: buffered reads, a per-read timeout capped by the request's overall deadline (a
// client that trickles one byte at a time cannot hold a worker forever), and writes that a
// handler can turn off to reset the connection without answering.
//
// It also spends fewer system calls per request than httplib's stream, which is most of what a
// small request costs: a read is tried before waiting (the data has usually arrived, so a poll()
// first would only add a call); the peer and local addresses, which httplib asks
// for on every request, are looked up once per connection; and writes are collected and sent
// together, so the status line, headers and body of an answer leave in one send() (and one TCP
// segment) instead of two.
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

  /// The bytes received and not yet consumed.
  std::string_view buffered() const { return {buffer_.data() + offset_, size_ - offset_}; }
  /// Marks `n` buffered bytes as consumed.
  void consume(std::size_t n) { offset_ += std::min(n, size_ - offset_); }
  /// Waits for the next request's first bytes with one blocking recv(), bounded by the socket's
  /// receive timeout, and buffers them; false on timeout, end of stream, error, or when shutdown()
  /// shut the read side. Call with nothing buffered.
  bool receive_waiting() {
    offset_ = 0;
    size_ = 0;
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      if (n > 0) {
        size_ = static_cast<std::size_t>(n);
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }

  /// Receives what has already arrived, without waiting, after the bytes already buffered; false
  /// when nothing more could be had (none arrived yet, the buffer is full, or the connection ended).
  bool receive_more() {
    if (offset_ > 0) {  // move the unconsumed tail to the front to make room
      std::memmove(buffer_.data(), buffer_.data() + offset_, size_ - offset_);
      size_ -= offset_;
      offset_ = 0;
    }
    if (size_ == buffer_.size()) return false;
    for (;;) {
      const ssize_t n = ::recv(fd_, buffer_.data() + size_, buffer_.size() - size_, MSG_DONTWAIT);
      if (n > 0) {
        size_ += static_cast<std::size_t>(n);
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;
    }
  }

  bool is_readable() const override {
    if (has_buffered_data()) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) return false;
    return wait_for(fd_, POLLIN, std::min(left, limits_.read_timeout));
  }

  // Writes are buffered, so the socket's own writability is checked when they are flushed.
  bool is_writable() const override { return !state_.reset; }

  ssize_t read(char* ptr, std::size_t size) override {
    const ssize_t n = read_some(ptr, size);
    if (n > 0 && in_headers_ && !count_header_bytes(ptr, static_cast<std::size_t>(n))) return -1;
    return n;
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (state_.reset) return -1;
    if (state_.swallow_writes) return static_cast<ssize_t>(size);  // httplib's copy of an answer sent
    out_.append(ptr, size);
    if (out_.size() >= kFlushBytes && !flush()) return -1;
    return static_cast<ssize_t>(size);
  }

  // Sends everything written so far; false when the connection cannot take it within the write
  // timeout (or the handler chose to reset it, in which case nothing more is sent).
  bool flush() {
    if (state_.reset) {
      out_.clear();
      return false;
    }
    std::size_t sent = 0;
    bool ok = true;
    while (sent < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        sent += static_cast<std::size_t>(n);
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!wait_for(fd_, POLLOUT, limits_.write_timeout)) {
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

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    if (!remote_known_) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        ip_and_port(addr, remote_ip_, remote_port_);
      remote_known_ = true;
    }
    ip = remote_ip_;
    port = remote_port_;
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (!local_known_) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        ip_and_port(addr, local_ip_, local_port_);
      local_known_ = true;
    }
    ip = local_ip_;
    port = local_port_;
  }

  socket_t socket() const override { return fd_; }

 private:
  static constexpr std::size_t kFlushBytes = 64 * 1024;

  ssize_t read_some(char* ptr, std::size_t size) {
    if (has_buffered_data()) {
      const std::size_t n = std::min(size, size_ - offset_);
      std::memcpy(ptr, buffer_.data() + offset_, n);
      offset_ += n;
      return static_cast<ssize_t>(n);
    }
    // Whatever was written so far must reach the client before waiting for it: an answer such as
    // "100 Continue" is what the client waits for before it sends more.
    if (!out_.empty() && !flush()) return -1;
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

  // One read: at once when data is waiting, otherwise after waiting for it (within the read
  // timeout and the request's deadline).
  ssize_t receive(char* ptr, std::size_t size) {
    for (;;) {
      const ssize_t n = ::recv(fd_, ptr, size, MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return n;
      if (!is_readable()) return -1;
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
  std::string out_;
  mutable bool remote_known_ = false;
  mutable bool local_known_ = false;
  mutable std::string remote_ip_;
  mutable std::string local_ip_;
  mutable int remote_port_ = 0;
  mutable int local_port_ = 0;
};

namespace {

// --- Requests of the common shape, parsed here --------------------------------------------------
//
// httplib's request parser costs more than everything else a small create needs together (a line
// reader that copies byte by byte, a case-insensitive header map that calls tolower() per
// character compared, a std::regex match per route, a stringstream per answer), and its loop adds
// system calls. A request of the shape every client of this API sends is therefore parsed here, in
// place in the receive buffer: a complete HTTP/1.1 GET, POST or DELETE whose target is a plain
// path (no query, no percent-escapes) and whose body, if any, has a Content-Length and is already
// received. Anything else (another version or method, a query, a header that changes framing,
// decoding or content negotiation: Transfer-Encoding, Expect, Content-Encoding, Accept-Encoding,
// Range; a repeated header the server reads; a line that is not plain printable ASCII ending in
// CRLF; a request not yet fully arrived) is left untouched in the buffer for httplib, which reads
// it from there exactly as it would have. Either way the handler gets the same Request
// (exchange.hpp) and the answer is written by HttpServer::write(), so the two paths answer alike
// byte for byte; tests/server/test_server_direct.cpp holds them to it.

constexpr std::size_t kMaxDirectHeaders = 64;
constexpr std::size_t kMaxDirectTarget = 2048;

struct DirectRequest {
  std::string_view method;
  std::string_view target;
  std::array<std::pair<std::string_view, std::string_view>, kMaxDirectHeaders> headers;
  std::size_t header_count = 0;
  std::string_view body;
  std::size_t size = 0;           // request line, headers and body
  bool connection_close = false;  // "Connection: close", compared as httplib does
};

enum class Scan { kDirect, kIncomplete, kOther };

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (x != b[i]) return false;  // b is lower case
  }
  return true;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals_ascii(text.substr(0, prefix.size()), prefix);
}

bool is_token_char(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_plain_path_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '/' || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// The next line of `data` from `pos` without its CRLF; kIncomplete when no LF has arrived yet,
// kOther when the line does not end in CRLF or is long.
Scan next_line(std::string_view data, std::size_t& pos, std::string_view& line) {
  const std::size_t lf = data.find('\n', pos);
  if (lf == std::string_view::npos) return data.size() - pos > 8192 ? Scan::kOther : Scan::kIncomplete;
  if (lf == pos || data[lf - 1] != '\r' || lf - pos > 8192) return Scan::kOther;
  line = data.substr(pos, lf - 1 - pos);
  pos = lf + 1;
  return Scan::kDirect;
}

Scan scan_direct_request(std::string_view data, std::size_t max_body, DirectRequest& out) {
  std::size_t pos = 0;
  std::string_view line;
  if (Scan r = next_line(data, pos, line); r != Scan::kDirect) return r;

  // Request line: METHOD SP TARGET SP HTTP/1.1, single spaces.
  constexpr std::string_view kVersion = " HTTP/1.1";
  if (line.size() <= kVersion.size() || line.substr(line.size() - kVersion.size()) != kVersion)
    return Scan::kOther;
  line.remove_suffix(kVersion.size());
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return Scan::kOther;
  out.method = line.substr(0, space);
  out.target = line.substr(space + 1);
  if (out.method != "GET" && out.method != "POST" && out.method != "DELETE") return Scan::kOther;
  if (out.target.empty() || out.target.front() != '/' || out.target.size() > kMaxDirectTarget)
    return Scan::kOther;
  for (char c : out.target) {
    if (!is_plain_path_char(static_cast<unsigned char>(c))) return Scan::kOther;
  }

  // Headers: "Name: value" with a token name, printable ASCII values (spaces and tabs around the
  // value are not part of it, as in httplib), until the empty line.
  bool seen_length = false, seen_type = false, seen_authorization = false, seen_host = false,
       seen_connection = false;
  std::string_view content_length;
  out.header_count = 0;
  out.connection_close = false;
  for (;;) {
    if (Scan r = next_line(data, pos, line); r != Scan::kDirect) return r;
    if (line.empty()) break;  // the empty line that ends the headers
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return Scan::kOther;
    const std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!is_token_char(static_cast<unsigned char>(c))) return Scan::kOther;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return Scan::kOther;  // httplib refuses an empty header value
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      // '%': some httplib versions percent-decode header values.
      if ((u < 0x20 && u != '\t') || u >= 0x7f || u == '%') return Scan::kOther;
    }
    const auto once = [](bool& seen) {
      if (seen) return false;
      seen = true;
      return true;
    };
    if (iequals_ascii(name, "transfer-encoding") || iequals_ascii(name, "expect") ||
        iequals_ascii(name, "content-encoding") || iequals_ascii(name, "accept-encoding") ||
        iequals_ascii(name, "range")) {
      return Scan::kOther;
    }
    if (iequals_ascii(name, "content-length")) {
      if (!once(seen_length)) return Scan::kOther;
      content_length = value;
    } else if (iequals_ascii(name, "content-type")) {
      if (!once(seen_type) || starts_with_ci(value, "multipart/")) return Scan::kOther;
    } else if (iequals_ascii(name, "authorization")) {
      if (!once(seen_authorization)) return Scan::kOther;
    } else if (iequals_ascii(name, "host")) {
      if (!once(seen_host)) return Scan::kOther;
    } else if (iequals_ascii(name, "connection")) {
      if (!once(seen_connection)) return Scan::kOther;
      out.connection_close = value == "close";  // httplib compares exactly
    }
    if (out.header_count == kMaxDirectHeaders) return Scan::kOther;
    out.headers[out.header_count++] = {name, value};
  }

  // Body: POST needs a Content-Length; GET and DELETE may only say 0.
  std::size_t length = 0;
  if (seen_length) {
    if (content_length.size() > 10) return Scan::kOther;
    for (char c : content_length) {
      if (c < '0' || c > '9') return Scan::kOther;
      length = length * 10 + static_cast<std::size_t>(c - '0');
    }
  } else if (out.method == "POST") {
    return Scan::kOther;
  }
  if (length > 0 && out.method != "POST") return Scan::kOther;
  if (length > max_body) return Scan::kOther;
  if (data.size() - pos < length) return Scan::kIncomplete;
  out.body = data.substr(pos, length);
  out.size = pos + length;
  return Scan::kDirect;
}

enum class DirectOutcome { kAnswered, kNotDirect };

// Parses and answers one request of the common shape from the buffer (receiving what has already
// arrived when the buffer holds only part of it); kNotDirect leaves the buffer for httplib.
DirectOutcome serve_direct(const HttpServer& server, SocketStream& stream, ConnectionState& state,
                           std::size_t max_body, bool& close_connection) {
  DirectRequest parsed;
  Scan scan = scan_direct_request(stream.buffered(), max_body, parsed);
  while (scan == Scan::kIncomplete && stream.receive_more())
    scan = scan_direct_request(stream.buffered(), max_body, parsed);
  if (scan != Scan::kDirect) return DirectOutcome::kNotDirect;

  Request req;
  req.method.assign(parsed.method);
  req.path.assign(parsed.target);  // a plain path: nothing to decode
  req.headers.reserve(parsed.header_count);
  for (std::size_t i = 0; i < parsed.header_count; ++i)
    req.headers.add(std::string(parsed.headers[i].first), std::string(parsed.headers[i].second));
  req.body.assign(parsed.body);
  int port = 0;
  stream.get_remote_ip_and_port(req.remote_addr, port);
  close_connection = state.last || parsed.connection_close;
  stream.consume(parsed.size);

  Response res = server.handle(req);
  server.write(state, req, res, close_connection);
  return DirectOutcome::kAnswered;
}

// The reason phrases cpp-httplib writes for the statuses this server answers with.
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
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Entity";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

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

bool is_direct_request(std::string_view bytes, std::size_t max_body) {
  DirectRequest parsed;
  return scan_direct_request(bytes, max_body, parsed) == Scan::kDirect;
}

Response HttpServer::handle(Request& req) const {
  Response res;
  try {
    handler_(req, res);
  } catch (...) {
    res = Response{};
    res.set_error(500, "Internal Server Error");
  }
  // A body the handler did not read is read and dropped, so the connection stays at a request
  // boundary; when that cannot be done, the connection closes after the answer.
  if (BodySource* unread = std::exchange(req.body_source, nullptr)) {
    if (!unread->discard(payload_max_length_)) res.close_after = true;
  }
  return res;
}

namespace {

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

void HttpServer::write(ConnectionState& state, const Request& req, Response& res,
                       bool close_connection) const {
  state.answered = true;
  if (res.delay.count() > 0) sleep_unless_stopping(res.delay);
  const auto log = [&](std::size_t bytes) {
    if (logger_) logger_(req, res, bytes, Clock::now() - state.request_start);
  };
  if (res.reset) {
    state.reset = true;
    log(0);
    return;
  }
  SocketStream& out = *state.stream;
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
  // HTTP/1.0 knows no chunked coding; a truncated body is a Content-Length that lies.
  const bool chunked = res.chunked && !bodiless && req.version == "HTTP/1.1" && res.missing_bytes == 0;
  const bool close = close_connection || res.close_after || res.missing_bytes > 0;

  std::string head_text;
  head_text.reserve(160 + res.headers.size() * 48);
  head_text += "HTTP/1.1 ";
  head_text += std::to_string(res.status);
  head_text += ' ';
  head_text += reason_phrase(res.status);
  head_text += "\r\n";
  const auto header = [&head_text](std::string_view name, std::string_view value) {
    head_text += name;
    head_text += ": ";
    head_text += value;
    head_text += "\r\n";
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
    header("Keep-Alive", keep_alive_);
  }
  head_text += "\r\n";
  bool ok = out.write(head_text.data(), head_text.size()) >= 0;

  std::size_t sent = 0;
  if (ok && !head && size > 0) {
    ok = for_each_part(res, size, [&](std::string_view part) {
      if (chunked) {
        char line[24];
        const int n = std::snprintf(line, sizeof line, "%zx\r\n", part.size());
        if (out.write(line, static_cast<std::size_t>(n)) < 0) return false;
      }
      if (out.write(part.data(), part.size()) < 0) return false;
      if (chunked && out.write("\r\n", 2) < 0) return false;
      sent += part.size();
      return true;
    });
    if (ok && chunked) ok = out.write("0\r\n\r\n", 5) >= 0;
  }
  if (!ok || res.missing_bytes > 0) {
    state.close_now = true;  // the client has the answer up to where it broke off
  } else if (res.close_after) {
    state.close_after_response = true;  // the request may not have been read to its end
  } else if (close) {
    state.close_now = true;
  }
  // httplib, when it parsed the request, writes an answer of its own after this; it is dropped.
  state.swallow_writes = true;
  log(sent);
}

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
  keep_alive_ =
      "timeout=" + std::to_string(keep_alive_timeout_sec_) + ", max=" + std::to_string(keep_alive_max_count_);
}

HttpServer::~HttpServer() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void HttpServer::shutdown() {
  stopping_ = true;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto written = ::write(wake_fd_, &one, sizeof(one));
  {
    // Connections waiting for their next request sit in a blocking recv(): shutting the read side
    // ends it at once (recv() returns 0).
    // A connection in the middle of a request is left to finish it.
    std::lock_guard lock(open_mutex_);
    for (const auto& [fd, idle] : open_) {
      if (idle->load()) ::shutdown(fd, SHUT_RD);
    }
  }
  stop();
}

bool HttpServer::track(int fd, const std::atomic<bool>& idle) {
  std::lock_guard lock(open_mutex_);
  if (stopping_) return false;  // shutdown() has swept already, or is about to find none
  open_.emplace(fd, &idle);
  return true;
}

void HttpServer::untrack(int fd) {
  std::lock_guard lock(open_mutex_);
  open_.erase(fd);
}

namespace {

void set_receive_timeout(int fd, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

}  // namespace

bool HttpServer::sleep_unless_stopping(std::chrono::milliseconds duration) const {
  return !wait_for(wake_fd_, POLLIN, duration);
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  ConnectionState state;
  state.fd = sock;
  SocketStream stream(sock, limits_, state);
  state.stream = &stream;
  tls_connection = &state;

  bool ok = true;
  std::atomic<bool> idle{false};
  const bool tracked = track(sock, idle);
  const std::size_t max_requests = std::max<std::size_t>(1, limits_.keep_alive_max_requests);
  // The wait for each request is one blocking recv() with the socket's receive timeout: the first
  // request may take a read timeout to start, later ones are keep-alive waits, and shutdown() cuts
  // either short. (A poll() first would cost a system call per request.)
  set_receive_timeout(sock, limits_.read_timeout);
  for (std::size_t served = 0; tracked && served < max_requests && !stopping_; ++served) {
    if (served == 1 && limits_.keep_alive_timeout != limits_.read_timeout)
      set_receive_timeout(sock, limits_.keep_alive_timeout);
    if (!stream.has_buffered_data()) {
      // Idle first, then the check: either shutdown() sees this connection idle and shuts its
      // read side, or this sees shutdown() under way (both sequentially consistent).
      idle = true;
      if (stopping_) break;
      const bool received = stream.receive_waiting();
      idle = false;
      if (!received) break;
    }
    state.request_start = Clock::now();
    state.close_after_response = false;
    state.answered = false;
    state.swallow_writes = false;
    state.last = served + 1 == max_requests || stopping_;
    stream.begin_request(state.request_start + limits_.request_timeout);
    bool connection_closed = false;
    if (serve_direct(*this, stream, state, payload_max_length_, connection_closed) !=
        DirectOutcome::kAnswered) {
      // httplib parses the request; httplib_adapter.cpp answers it through handle() and write().
      ok = process_request(stream, state.last, connection_closed, nullptr);
      state.swallow_writes = false;
    }
    // The answer leaves here, in one send(), unless it was large enough to go out in parts.
    if (!stream.flush()) ok = false;
    if (!ok || connection_closed || state.close_after_response || state.close_now || state.reset) break;
  }
  tls_connection = nullptr;
  if (tracked) untrack(sock);

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
