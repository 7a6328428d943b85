// The reference server's one HTTP/1.1 request parser (RFC 9112), on bytes only: no socket, no
// thread, so that a fuzzer can drive every part of it (tests/fuzz/fuzz_http.cpp).
//
//   HeadScanner   finds where a request head ends in the bytes received so far, without rescanning
//                 them as more arrive, and refuses early what can never become a request (a
//                 request line or head past its limit, a method that is not a token)
//   parse_head    the request line and header fields of one complete head, into the server's
//                 Request (exchange.hpp): method, percent-decoded path and query parameters,
//                 version, fields; and what the head says about the body and the connection
//   ChunkedDecoder  the chunked transfer coding of a request body, trailers included
//   Inflater      a gzip or deflate Content-Encoding of a request body, bounded in what it yields
//
// Every refusal carries the status to answer: 400 for what is malformed, 413 for a declared length
// beyond any this server accepts, 414 for a request line past its limit, 417 for an expectation other
// than 100-continue, 431 for header fields past their limits, 501 for a method or transfer coding
// this server does not implement, 505 for an HTTP major version other than 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exchange.hpp"

namespace sipcontract::detail::refserver::http {

struct Limits {
  std::size_t max_request_line = 8 * 1024;  ///< method, target and version; 414 (or 400) beyond
  std::size_t max_head_bytes = 64 * 1024;   ///< the whole head (and a body's trailer section); 431 beyond
  std::size_t max_fields = 100;             ///< header fields (and trailer fields); 431 beyond
};

/// Why a request cannot be served: the status to answer and what was wrong.
struct Error {
  int status = 0;  ///< 0: none
  const char* message = "";
  explicit operator bool() const { return status != 0; }
};

/// How the request body is delimited (RFC 9112 section 6.3).
enum class Framing { kNone, kLength, kChunked };

/// What a parsed head says beyond the Request itself.
struct Head {
  Error error;  ///< set: the request is refused (the Request holds what was parsed)
  Framing framing = Framing::kNone;
  std::uint64_t content_length = 0;  ///< Framing::kLength only
  bool keep_alive = true;            ///< the connection may carry another request (version, Connection)
  bool expect_continue = false;      ///< Expect: 100-continue on an HTTP/1.1 request
};

/// Finds the end of the request head at the start of a connection's unread bytes, across calls as
/// more bytes arrive: each call looks only at what the previous ones have not. reset() before
/// the next request.
class HeadScanner {
 public:
  enum class State { kIncomplete, kComplete, kInvalid };

  /// kComplete: size() bytes are the head (leading empty lines, request line, fields, empty line).
  /// kInvalid: error() says why; no more bytes can make a request of these.
  State scan(std::string_view bytes, const Limits& limits);
  std::size_t size() const { return size_; }
  const Error& error() const { return error_; }
  void reset() { *this = HeadScanner(); }

 private:
  bool started_ = false;     // the request line has begun (leading empty lines are behind)
  std::size_t start_ = 0;    // where the request line starts, or where the empty lines go on
  std::size_t scanned_ = 0;  // up to here, no line end ends the head
  bool line_ended_ = false;  // the request line's LF has been seen
  std::size_t size_ = 0;
  Error error_;
};

/// Parses one complete head (as HeadScanner delimited it) into `out`, which should be a fresh
/// Request: method, path and query (percent-decoded), version ("HTTP/1.0" or "HTTP/1.1") and header
/// fields. On an error the Head says why, and `out` holds whatever was parsed before it.
Head parse_head(std::string_view head, const Limits& limits, Request& out);

/// `in` with every %XX replaced by its byte, and '+' by a space when `plus_is_space` (query
/// parameters, as HTML forms encode them); false when a '%' is not followed by two hex digits.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

/// The query parameters of `query` (the part of the target after '?'): "a=1&b&c=%20" gives
/// (a, 1), (b, ""), (c, " "); empty parameters are skipped. False on a malformed percent-escape.
bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>& out);

/// Decodes a chunked request body (RFC 9112 section 7.1) as its bytes arrive, in any pieces.
/// Trailer fields are checked like header fields and then dropped; chunk extensions are skipped.
/// What the framing costs beyond the data (sizes, extensions, line ends, trailers) may not pass
/// the data decoded plus max_head_bytes: a body cannot be made mostly of framing.
class ChunkedDecoder {
 public:
  enum class Status { kMore, kDone, kInvalid };

  explicit ChunkedDecoder(const Limits& limits) : limits_(limits) {}
  /// Consumes a prefix of `in` (`consumed` bytes: all of it unless the body ends first) and
  /// appends the data it carries to `out` (or drops it when `out` is null).
  Status decode(std::string_view in, std::size_t& consumed, std::string* out);
  const Error& error() const { return error_; }
  /// Data bytes decoded so far.
  std::uint64_t data_bytes() const { return data_; }

 private:
  enum class State { kSize, kSizeSpace, kExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kDone };
  Status fail(const char* message);

  Limits limits_;
  State state_ = State::kSize;
  std::uint64_t chunk_left_ = 0;
  int digits_ = 0;
  std::uint64_t data_ = 0;
  std::uint64_t overhead_ = 0;
  std::string trailer_line_;
  std::size_t trailer_fields_ = 0;
  Error error_;
};

/// The request body's Content-Encoding, as far as this server can undo it.
enum class Coding { kIdentity, kGzip, kUnsupported };
/// The coding a Content-Encoding value names: identity (or none), gzip, x-gzip or deflate (one of
/// them, possibly with identity), or anything else (unsupported: the body cannot be read).
Coding content_coding(std::string_view content_encoding);

/// Undoes a gzip or deflate (zlib) Content-Encoding as the coded bytes arrive, never yielding more
/// than the caller allows.
class Inflater {
 public:
  enum class Status { kMore, kDone, kTooLarge, kInvalid };

  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  /// Decodes all of `in`, appending to `out`; kTooLarge as soon as `out` would pass `max_out`
  /// bytes, kDone at the end of the coded data (bytes after it are ignored).
  Status feed(std::string_view in, std::string& out, std::size_t max_out);

 private:
  struct State;
  std::unique_ptr<State> state_;
  bool done_ = false;
};

}  // namespace sipcontract::detail::refserver::http
