// The server's HTTP/1.1 request parser (src/server/http_parser.hpp) on bytes alone: where a head
// ends however its bytes arrive, what a head says (RFC 9112), chunked bodies, content codings.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "exchange.hpp"
#include "http_parser.hpp"

namespace refserver = sipcontract::detail::refserver;
namespace http = refserver::http;
using State = http::HeadScanner::State;

namespace {

const http::Limits kLimits;

struct Parsed {
  refserver::Request request;
  http::Head head;
};

// Scans `text` as one arrival, then parses the head it delimits.
Parsed parse(const std::string& text, const http::Limits& limits = kLimits) {
  http::HeadScanner scanner;
  Parsed out;
  const State state = scanner.scan(text, limits);
  if (state == State::kInvalid) {
    out.head.error = scanner.error();
    return out;
  }
  REQUIRE(state == State::kComplete);
  out.head = http::parse_head(std::string_view(text).substr(0, scanner.size()), limits, out.request);
  return out;
}

int status(const std::string& text) { return parse(text).head.error.status; }

std::string get(const std::string& fields) { return "GET /x HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n"; }

std::string decode_chunked(const std::string& body, http::ChunkedDecoder::Status& result, std::size_t piece,
                           std::size_t* used = nullptr) {
  http::ChunkedDecoder decoder(kLimits);
  std::string out;
  std::size_t at = 0;
  result = http::ChunkedDecoder::Status::kMore;
  while (at < body.size() && result == http::ChunkedDecoder::Status::kMore) {
    std::size_t consumed = 0;
    result = decoder.decode(std::string_view(body).substr(at, piece), consumed, &out);
    at += consumed;
  }
  if (used != nullptr) *used = at;
  return out;
}

}  // namespace

TEST_CASE("the scanner finds the end of a head however its bytes arrive", "[server][http][parser]") {
  const std::string head = "POST /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n";
  const std::string bytes = head + "{}GET /next HTTP/1.1\r\n";
  http::HeadScanner whole;
  REQUIRE(whole.scan(bytes, kLimits) == State::kComplete);
  CHECK(whole.size() == head.size());
  // Every shorter prefix is incomplete, whether it arrives at once or one byte at a time.
  http::HeadScanner trickled;
  for (std::size_t n = 0; n < head.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    http::HeadScanner fresh;
    CHECK(fresh.scan(std::string_view(bytes).substr(0, n), kLimits) == State::kIncomplete);
    CHECK(trickled.scan(std::string_view(bytes).substr(0, n), kLimits) == State::kIncomplete);
  }
  REQUIRE(trickled.scan(bytes, kLimits) == State::kComplete);
  CHECK(trickled.size() == head.size());
  trickled.reset();
  CHECK(trickled.scan("GET / HTTP/1.1\r\n", kLimits) == State::kIncomplete);

  // A single LF ends lines too; empty lines before a request line are skipped.
  http::HeadScanner lf;
  CHECK(lf.scan("GET / HTTP/1.1\nHost: x\n\n", kLimits) == State::kComplete);
  CHECK(lf.size() == 24);
  http::HeadScanner leading;
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(leading.scan("\r\n\r\n\n" + request, kLimits) == State::kComplete);
  CHECK(leading.size() == 5 + request.size());
}

TEST_CASE("the scanner refuses at once what cannot become a request", "[server][http][parser]") {
  const auto refusal = [](const std::string& bytes, const http::Limits& limits = kLimits) {
    http::HeadScanner scanner;
    return scanner.scan(bytes, limits) == State::kInvalid ? scanner.error().status : 0;
  };
  CHECK(refusal("\x16\x03\x01\x02") == 400);  // a TLS handshake
  CHECK(refusal(" GET / HTTP/1.1") == 400);
  CHECK(refusal("GE\x01") == 400);
  CHECK(refusal("\r\rGET") == 400);
  CHECK(refusal(std::string(33, 'A')) == 501);
  CHECK(refusal(std::string(32, 'A')) == 0);
  http::Limits small;
  small.max_request_line = 64;
  small.max_head_bytes = 256;
  CHECK(refusal("GET /" + std::string(80, 'a'), small) == 414);
  CHECK(refusal("GET /" + std::string(50, 'a'), small) == 0);
  CHECK(refusal("GET / HTTP/1.1\r\nX: " + std::string(300, 'a'), small) == 431);
  CHECK(refusal("GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n", small) == 431);
  CHECK(refusal(std::string(300, '\n'), small) == 431);
}

TEST_CASE("a head gives the method and the decoded path and query and version and fields",
          "[server][http][parser]") {
  const Parsed p = parse(
      "GET /api/a%20b%2Fc?page_size=2&q=a+b%26c&flag&&empty=&page_size=3 HTTP/1.1\r\n"
      "Host: example.com:8080\r\nX-Empty:\r\nX-Spaced: \t value with  spaces \t\r\nX-Utf8: "
      "caf\xc3\xa9\r\n\r\n");
  REQUIRE_FALSE(p.head.error);
  const refserver::Request& r = p.request;
  CHECK(r.method == "GET");
  CHECK(r.path == "/api/a b/c");
  const std::vector<std::pair<std::string, std::string>> query = {
      {"page_size", "2"}, {"q", "a b&c"}, {"flag", ""}, {"empty", ""}, {"page_size", "3"}};
  CHECK(r.query == query);
  CHECK(r.version == "HTTP/1.1");
  CHECK(r.headers.get("host") == "example.com:8080");
  CHECK(r.headers.has("X-Empty"));
  CHECK(r.headers.get("X-Empty").empty());
  CHECK(r.headers.get("x-spaced") == "value with  spaces");
  CHECK(r.headers.get("X-Utf8") == "caf\xc3\xa9");
  CHECK(p.head.keep_alive);
  CHECK(p.head.framing == http::Framing::kNone);
  CHECK_FALSE(p.head.expect_continue);

  CHECK(status("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET /a% HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET /a?b=%4 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
}

TEST_CASE("the request line with each form of target and version and method", "[server][http][parser]") {
  const Parsed absolute = parse("GET http://other.example:81/p?q=1 HTTP/1.1\r\nHost: a\r\n\r\n");
  REQUIRE_FALSE(absolute.head.error);
  CHECK(absolute.request.path == "/p");
  CHECK(absolute.request.query_value("q") != nullptr);
  CHECK(absolute.request.headers.get("Host") == "other.example:81");  // the target's authority wins
  CHECK(parse("GET HTTPS://h HTTP/1.1\r\nHost: a\r\n\r\n").request.path == "/");
  CHECK(status("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
  CHECK(parse("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").request.path == "*");
  CHECK(status("GET * HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET ftp://h/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET http:///p HTTP/1.1\r\nHost: a\r\n\r\n") == 400);

  CHECK(parse("GET / HTTP/1.2\r\nHost: a\r\n\r\n").request.version == "HTTP/1.1");
  CHECK(status("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == 505);
  CHECK(status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505);
  CHECK(status("GET / HTTP/1.10\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET / http/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET /\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\rX\r\nHost: a\r\n\r\n") == 400);

  for (const char* method : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"}) {
    INFO(method);
    CHECK(status(std::string(method) + " / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
  }
  CHECK(status("BREW / HTTP/1.1\r\nHost: a\r\n\r\n") == 501);
  CHECK(status("get / HTTP/1.1\r\nHost: a\r\n\r\n") == 501);
  CHECK(status("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n") == 501);
}

TEST_CASE("header fields are checked as RFC 9112 says", "[server][http][parser]") {
  CHECK(status(get("X-A: 1\r\n continued\r\n")) == 400);  // obsolete line folding
  CHECK(status(get("X-A : 1\r\n")) == 400);               // whitespace before the colon
  CHECK(status(get("X-A\r\n")) == 400);
  CHECK(status(get(": value\r\n")) == 400);
  CHECK(status(get("X(A): 1\r\n")) == 400);
  CHECK(status(get(std::string("X-A: a\0b\r\n", 10))) == 400);
  CHECK(status(get("X-A: a\x01z\r\n")) == 400);
  CHECK(status(get("X-A: a\x7fz\r\n")) == 400);
  CHECK(status(get("X-A: a\rb\r\n")) == 400);
  CHECK(status(get("X-A: a\tb\r\n")) == 0);

  // Host: exactly one on HTTP/1.1, at most one on HTTP/1.0, and a host.
  CHECK(status("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.0\r\n\r\n") == 0);
  CHECK(status("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") == 0);
  CHECK(status("GET / HTTP/1.1\r\nHost:\r\n\r\n") == 0);

  http::Limits few;
  few.max_fields = 3;
  CHECK(parse(get("A: 1\r\nB: 2\r\n"), few).head.error.status == 0);
  CHECK(parse(get("A: 1\r\nB: 2\r\nC: 3\r\n"), few).head.error.status == 431);
}

TEST_CASE("the head says how the body is framed", "[server][http][parser]") {
  const auto framing = [](const std::string& fields, std::uint64_t* length = nullptr) {
    const Parsed p = parse("POST / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n");
    if (length != nullptr) *length = p.head.content_length;
    return p.head.error ? http::Framing::kNone : p.head.framing;
  };
  std::uint64_t length = 0;
  CHECK(framing("Content-Length: 10\r\n", &length) == http::Framing::kLength);
  CHECK(length == 10);
  CHECK(framing("Content-Length: 0\r\n") == http::Framing::kNone);
  CHECK(framing("") == http::Framing::kNone);
  CHECK(framing("Content-Length: 5, 5\r\nContent-Length: 5\r\n", &length) == http::Framing::kLength);
  CHECK(length == 5);
  CHECK(framing("Transfer-Encoding: chunked\r\n") == http::Framing::kChunked);
  CHECK(framing("Transfer-Encoding: Chunked\r\n") == http::Framing::kChunked);

  const auto refused = [](const std::string& fields, const char* version = "HTTP/1.1") {
    return status(std::string("POST / ") + version + "\r\nHost: a\r\n" + fields + "\r\n");
  };
  CHECK(refused("Content-Length: +5\r\n") == 400);
  CHECK(refused("Content-Length: 5 5\r\n") == 400);
  CHECK(refused("Content-Length:\r\n") == 400);
  CHECK(refused("Content-Length: 5, 6\r\n") == 400);
  CHECK(refused("Content-Length: 5\r\nContent-Length: 6\r\n") == 400);
  CHECK(refused("Content-Length: 99999999999999999999999\r\n") == 413);
  CHECK(refused("Content-Length: 9223372036854775808\r\n") == 413);
  CHECK(refused("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n") == 400);
  CHECK(refused("Transfer-Encoding: chunked\r\n", "HTTP/1.0") == 400);
  CHECK(refused("Transfer-Encoding: chunked, gzip\r\n") == 400);
  CHECK(refused("Transfer-Encoding: chunked, chunked\r\n") == 400);
  CHECK(refused("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n") == 400);
  CHECK(refused("Transfer-Encoding: gzip\r\n") == 400);
  CHECK(refused("Transfer-Encoding: gzip, chunked\r\n") == 501);
  CHECK(refused("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") == 501);
}

TEST_CASE("Connection and Expect as the version and fields say", "[server][http][parser]") {
  CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").head.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").head.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n").head.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\n\r\n").head.keep_alive);
  CHECK(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keep_alive);
  CHECK_FALSE(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").head.keep_alive);

  const std::string post = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n";
  CHECK(parse(post + "Expect: 100-continue\r\n\r\n").head.expect_continue);
  CHECK(parse(post + "Expect: 100-Continue\r\n\r\n").head.expect_continue);
  CHECK_FALSE(parse("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n").head.expect_continue);
  CHECK_FALSE(
      parse("POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n").head.expect_continue);
  CHECK(parse(post + "Expect: tea\r\n\r\n").head.error.status == 417);
}

TEST_CASE("percent-decoding and query parameters", "[server][http][parser]") {
  std::string out;
  CHECK(http::percent_decode("a%2fb%2F%00+c", out, false));
  CHECK(out == std::string("a/b/\0+c", 7));
  CHECK(http::percent_decode("a+b", out, true));
  CHECK(out == "a b");
  CHECK_FALSE(http::percent_decode("%", out, false));
  CHECK_FALSE(http::percent_decode("%1", out, false));
  CHECK_FALSE(http::percent_decode("%g0", out, false));
  std::vector<std::pair<std::string, std::string>> query;
  CHECK(http::parse_query("=v&k=a=b&&x", query));
  const std::vector<std::pair<std::string, std::string>> expected = {{"", "v"}, {"k", "a=b"}, {"x", ""}};
  CHECK(query == expected);
}

TEST_CASE("chunked bodies decode the same in any pieces", "[server][http][parser][chunked]") {
  const std::string body =
      "5\r\nhello\r\n6;name=value;x\r\n world\r\n3 ; ext\r\n!!!\r\n0\r\nX-Trailer: yes\r\n\r\n";
  const std::string next = "GET / HTTP/1.1\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, body.size() + next.size()}) {
    INFO("pieces of " << piece);
    http::ChunkedDecoder::Status result;
    std::size_t used = 0;
    CHECK(decode_chunked(body + next, result, piece, &used) == "hello world!!!");
    CHECK(result == http::ChunkedDecoder::Status::kDone);
    CHECK(used == body.size());  // what follows the body is the next request's
  }
  http::ChunkedDecoder::Status result;
  CHECK(decode_chunked("2\nab\n0\n\n", result, 100) == "ab");  // single LFs
  CHECK(result == http::ChunkedDecoder::Status::kDone);
  CHECK(decode_chunked("A\r\n0123456789\r\n0\r\n\r\n", result, 3) == "0123456789");
  CHECK(result == http::ChunkedDecoder::Status::kDone);
  decode_chunked("5\r\nhel", result, 100);
  CHECK(result == http::ChunkedDecoder::Status::kMore);

  for (const char* broken :
       {"x\r\n", "\r\n", "5\r\nhello!\r\n", "5\r\nhelloXY", "5 x\r\n", "5\rX", "0\r\nbad trailer\r\n\r\n",
        "0\r\nX : y\r\n\r\n", "1;\x01\r\n", "11111111111111111\r\n"}) {
    INFO(broken);
    decode_chunked(broken, result, 100);
    CHECK(result == http::ChunkedDecoder::Status::kInvalid);
  }

  // A body made mostly of framing is refused: here 1-byte chunks with 100-byte extensions.
  std::string framing_heavy;
  for (int i = 0; i < 2000; ++i) framing_heavy += "1;" + std::string(100, 'e') + "\r\nx\r\n";
  decode_chunked(framing_heavy, result, 4096);
  CHECK(result == http::ChunkedDecoder::Status::kInvalid);

  // Dropping the data still counts it.
  http::ChunkedDecoder dropping(kLimits);
  std::size_t consumed = 0;
  CHECK(dropping.decode(body, consumed, nullptr) == http::ChunkedDecoder::Status::kDone);
  CHECK(dropping.data_bytes() == 14);
}

TEST_CASE("request bodies in gzip or deflate are decoded within a bound", "[server][http][parser][coding]") {
  CHECK(http::content_coding("") == http::Coding::kIdentity);
  CHECK(http::content_coding("identity") == http::Coding::kIdentity);
  CHECK(http::content_coding("gzip") == http::Coding::kGzip);
  CHECK(http::content_coding("X-GZIP") == http::Coding::kGzip);
  CHECK(http::content_coding("deflate, identity") == http::Coding::kGzip);
  CHECK(http::content_coding("br") == http::Coding::kUnsupported);
  CHECK(http::content_coding("gzip, gzip") == http::Coding::kUnsupported);

  const std::string text(100000, 'z');
  const std::string gzipped = refserver::gzip(text);
  {
    http::Inflater inflater;
    std::string out;
    http::Inflater::Status s = http::Inflater::Status::kMore;
    for (std::size_t at = 0; at < gzipped.size(); at += 7)
      s = inflater.feed(std::string_view(gzipped).substr(at, 7), out, text.size());
    CHECK(s == http::Inflater::Status::kDone);
    CHECK(out == text);
  }
  {
    http::Inflater inflater;
    std::string out;
    CHECK(inflater.feed(gzipped, out, text.size() - 1) == http::Inflater::Status::kTooLarge);
  }
  {
    // HTTP's "deflate" is the zlib format.
    uLongf size = compressBound(static_cast<uLong>(text.size()));
    std::string zlib(size, '\0');
    REQUIRE(compress2(reinterpret_cast<Bytef*>(zlib.data()), &size,
                      reinterpret_cast<const Bytef*>(text.data()), static_cast<uLong>(text.size()),
                      9) == Z_OK);
    zlib.resize(size);
    http::Inflater inflater;
    std::string out;
    CHECK(inflater.feed(zlib, out, text.size()) == http::Inflater::Status::kDone);
    CHECK(out == text);
  }
  {
    http::Inflater inflater;
    std::string out;
    CHECK(inflater.feed("not gzip at all", out, 1000) == http::Inflater::Status::kInvalid);
  }
  {
    http::Inflater inflater;
    std::string out;
    CHECK(inflater.feed(std::string_view(gzipped).substr(0, gzipped.size() / 2), out, text.size()) ==
          http::Inflater::Status::kMore);
  }
}
