// Fuzz target: the server's HTTP/1.1 request parser (src/server/http_parser.hpp) on the bytes of
// one connection, as the transport drives it: heads delimited by HeadScanner and parsed by
// parse_head, then bodies by Content-Length or ChunkedDecoder (and Inflater for a gzip coding),
// request after request (pipelining), with the default limits and with tiny ones.
//
// Beyond "no crash, no leak, no undefined behaviour", each input is held to properties:
//   - the scanner's verdict on the bytes does not depend on how they arrive: fed in pieces, or
//     any prefix scanned afresh, it never completes where the whole does not, never refuses where
//     the whole does not, and at the end agrees on the size or the status;
//   - a parsed head, written again in canonical form (its path and query percent-encoded anew), parses
//     to the same request and the same framing;
//   - a chunked body decodes to the same data, status and length in any pieces, and never to more
//     data than it had bytes;
//   - a refusal always carries a status the server answers with.
//
// Input: the bytes of a connection; how they are cut into pieces is derived from the bytes.
// Seeds: tests/fuzz/seeds/http/ (raw requests, like the server target's).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "http_parser.hpp"

namespace {

namespace http = sipcontract::detail::refserver::http;
using sipcontract::detail::refserver::Request;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz_http: %s\n", what);
  __builtin_trap();
}

// A small deterministic generator for the piece sizes.
struct Pieces {
  std::uint64_t state;
  std::size_t next(std::size_t max) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return 1 + static_cast<std::size_t>((state >> 33) % max);
  }
};

bool known_status(int status) {
  for (int s : {400, 408, 413, 414, 417, 431, 501, 505}) {
    if (status == s) return true;
  }
  return false;
}

void append_encoded(std::string& out, std::string_view text, bool query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || (!query && c == '/');
    if (plain) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}

// The request in canonical form: origin-form target, percent-encoded anew; fields as parsed.
std::string canonical(const Request& r) {
  std::string out = r.method + " ";
  if (r.path == "*") {
    out += "*";
  } else {
    append_encoded(out, r.path, false);
  }
  for (std::size_t i = 0; i < r.query.size(); ++i) {
    out += i == 0 ? "?" : "&";
    append_encoded(out, r.query[i].first, true);
    out += "=";
    append_encoded(out, r.query[i].second, true);
  }
  out += " " + r.version + "\r\n";
  for (const auto& field : r.headers) out += field.name + ": " + field.value + "\r\n";
  return out + "\r\n";
}

void check_scanner(std::string_view bytes, const http::Limits& limits, http::HeadScanner::State whole,
                   const http::HeadScanner& scanned, Pieces& pieces) {
  using State = http::HeadScanner::State;
  http::HeadScanner fed;
  State state = State::kIncomplete;
  std::size_t end = 0;
  while (state == State::kIncomplete && end < bytes.size()) {
    end = std::min(bytes.size(), end + pieces.next(64));
    const std::string_view prefix = bytes.substr(0, end);
    state = fed.scan(prefix, limits);
    http::HeadScanner fresh;
    const State afresh = fresh.scan(prefix, limits);
    check(afresh == state, "a prefix scanned afresh and fed in pieces disagree");
    if (state == State::kComplete) {
      check(whole == State::kComplete && fed.size() == scanned.size() && fresh.size() == fed.size(),
            "a prefix completes a head the whole bytes do not (or at another size)");
    }
    if (state == State::kInvalid) {
      check(whole == State::kInvalid && fed.error().status == scanned.error().status &&
                fresh.error().status == fed.error().status,
            "a prefix is refused where the whole bytes are not (or with another status)");
    }
  }
  check(state == whole, "bytes fed in pieces end in another state than at once");
}

void check_chunked(std::string_view body, const http::Limits& limits, Pieces& pieces, std::size_t& consumed,
                   http::ChunkedDecoder::Status& status) {
  http::ChunkedDecoder whole(limits);
  std::string whole_data;
  status = whole.decode(body, consumed, &whole_data);
  check(whole_data.size() <= body.size(), "a chunked body decodes to more data than its bytes");
  check(whole.data_bytes() == whole_data.size(), "data_bytes() is not the data decoded");
  check(status == http::ChunkedDecoder::Status::kDone || consumed == body.size() ||
            status == http::ChunkedDecoder::Status::kInvalid,
        "the chunked decoder stopped early without a verdict");
  http::ChunkedDecoder fed(limits);
  std::string fed_data;
  std::size_t at = 0;
  auto fed_status = http::ChunkedDecoder::Status::kMore;
  while (at < body.size() && fed_status == http::ChunkedDecoder::Status::kMore) {
    std::size_t used = 0;
    fed_status = fed.decode(body.substr(at, pieces.next(16)), used, &fed_data);
    at += used;
  }
  check(fed_status == status, "a chunked body in pieces ends in another state");
  if (status != http::ChunkedDecoder::Status::kInvalid) {
    check(fed_data == whole_data && at == consumed, "a chunked body in pieces decodes to other data");
  } else {
    check(known_status(fed.error().status) && fed.error().status == whole.error().status,
          "a chunked body in pieces is refused with another status");
  }
}

void run(std::string_view input, const http::Limits& limits) {
  Pieces pieces{input.size() * 0x9E3779B97F4A7C15ULL + (input.empty() ? 0 : input[0])};
  std::size_t pos = 0;
  for (int requests = 0; requests < 64 && pos < input.size(); ++requests) {
    const std::string_view bytes = input.substr(pos);
    http::HeadScanner scanner;
    const auto state = scanner.scan(bytes, limits);
    check_scanner(bytes, limits, state, scanner, pieces);
    if (state == http::HeadScanner::State::kInvalid) {
      check(known_status(scanner.error().status), "the scanner refused with an unknown status");
      return;
    }
    if (state != http::HeadScanner::State::kComplete) return;
    check(scanner.size() <= limits.max_head_bytes, "a head larger than the limit was accepted");

    Request request;
    const http::Head head = http::parse_head(bytes.substr(0, scanner.size()), limits, request);
    pos += scanner.size();
    if (head.error) {
      check(known_status(head.error.status), "parse_head refused with an unknown status");
      return;
    }
    check(!request.method.empty() && !request.path.empty(), "a parsed request has no method or path");
    check(request.version == "HTTP/1.1" || request.version == "HTTP/1.0",
          "a parsed request has another version");
    // (an absolute-form target on HTTP/1.0 may add the one Host field the request did not send)
    check(request.headers.size() <= limits.max_fields + 1, "more fields than the limit were accepted");
    check(head.framing != http::Framing::kLength || head.content_length > 0, "a zero length is framed");
    check(!head.expect_continue || head.framing != http::Framing::kNone, "100-continue without a body");

    // The canonical form parses to the same request.
    const std::string again = canonical(request);
    http::HeadScanner rescanner;
    http::Limits roomy = limits;
    roomy.max_head_bytes = again.size() + 1;
    roomy.max_request_line = again.size() + 1;
    roomy.max_fields = limits.max_fields + 1;
    check(rescanner.scan(again, roomy) == http::HeadScanner::State::kComplete &&
              rescanner.size() == again.size(),
          "the canonical form of a parsed head is not one head");
    Request reparsed;
    const http::Head head2 = http::parse_head(again, roomy, reparsed);
    check(!head2.error, "the canonical form of a parsed head is refused");
    check(reparsed.method == request.method && reparsed.path == request.path &&
              reparsed.query == request.query && reparsed.version == request.version,
          "the canonical form parses to another request line");
    check(reparsed.headers.size() == request.headers.size(), "the canonical form has other fields");
    auto it = reparsed.headers.begin();
    for (const auto& field : request.headers) {
      check(it->name == field.name && it->value == field.value, "the canonical form has other fields");
      ++it;
    }
    check(head2.framing == head.framing && head2.content_length == head.content_length &&
              head2.keep_alive == head.keep_alive && head2.expect_continue == head.expect_continue,
          "the canonical form is framed otherwise");

    // The body.
    std::string_view body;
    if (head.framing == http::Framing::kLength) {
      if (input.size() - pos < head.content_length) return;
      body = input.substr(pos, static_cast<std::size_t>(head.content_length));
      pos += body.size();
    } else if (head.framing == http::Framing::kChunked) {
      std::size_t consumed = 0;
      auto status = http::ChunkedDecoder::Status::kMore;
      check_chunked(input.substr(pos), limits, pieces, consumed, status);
      if (status != http::ChunkedDecoder::Status::kDone) return;
      body = input.substr(pos, consumed);
      pos += consumed;
    }
    if (http::content_coding(request.headers.get("Content-Encoding")) == http::Coding::kGzip) {
      http::Inflater inflater;
      std::string out;
      const auto status = inflater.feed(body, out, 1u << 20);
      check(out.size() <= (1u << 20), "the inflater passed its bound");
      (void)status;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  run(input, http::Limits{});
  http::Limits tiny;
  tiny.max_request_line = 48;
  tiny.max_head_bytes = 160;
  tiny.max_fields = 4;
  run(input, tiny);
  return 0;
}
