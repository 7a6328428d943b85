#include "http_parser.hpp"

#include <zlib.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace sipcontract::detail::refserver::http {
namespace {

constexpr std::size_t kMaxMethod = 32;  // longer than any method registered with IANA

// tchar (RFC 9110 section 5.6.2): the characters of a token.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

bool is_token_char(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// field-value characters (RFC 9110 section 5.5): VCHAR, obs-text, SP and HTAB. Other controls,
// CR, LF, NUL and DEL are refused.
bool is_field_value_char(char ch) {
  const auto c = static_cast<unsigned char>(ch);
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls `fn` with each non-empty element of a comma-separated list (RFC 9110 section 5.6.1), trimmed.
template <class Fn>
void for_each_element(std::string_view list, Fn fn) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view element = trim(list.substr(0, comma));
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// The next line of `text` from `pos`, without its line end: LF, or CRLF (a single LF is accepted as
// a line terminator, RFC 9112 section 2.2). A CR anywhere else stays in the line, where the
// character checks refuse it.
std::string_view next_line(std::string_view text, std::size_t& pos) {
  const std::size_t lf = text.find('\n', pos);
  const std::size_t end = lf == std::string_view::npos ? text.size() : lf;
  std::string_view line = text.substr(pos, end - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  pos = lf == std::string_view::npos ? text.size() : lf + 1;
  return line;
}

// Leading empty lines before a request line (RFC 9112 section 2.2: a server SHOULD ignore at least
// one), from `pos`. kStart: the request line starts at `pos`; kBareCr: a CR not followed by LF is
// at `pos`; kMore: the bytes end first, and `pos` is where to go on once more have arrived.
enum class Leading { kStart, kBareCr, kMore };
Leading skip_empty_lines(std::string_view bytes, std::size_t& pos) {
  while (pos < bytes.size()) {
    if (bytes[pos] == '\n') {
      ++pos;
    } else if (bytes[pos] == '\r') {
      if (pos + 1 >= bytes.size()) return Leading::kMore;
      if (bytes[pos + 1] != '\n') return Leading::kBareCr;
      pos += 2;
    } else {
      return Leading::kStart;
    }
  }
  return Leading::kMore;
}

// One header or trailer field line: "name: value", the name a token directly followed by the colon
// (RFC 9112 section 5.1), the value without the whitespace around it. Null on success.
const char* split_field(std::string_view line, std::string_view& name, std::string_view& value) {
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
    return "a header field line starts with whitespace (obsolete line folding is not accepted)";
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return "a header field line has no colon";
  name = line.substr(0, colon);
  if (!is_token(name)) return "a header field name is not a token (or has whitespace before its colon)";
  value = trim(line.substr(colon + 1));
  for (char c : value) {
    if (!is_field_value_char(c)) return "a header field value has a control character";
  }
  return nullptr;
}

// Host = uri-host [ ":" port ] (RFC 9110 section 7.2): the characters of a reg-name, an IP
// literal in brackets, or an IPv4 address, and a port.
bool is_host_value(std::string_view value) {
  for (char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool known_method(std::string_view m) {
  // RFC 9110 section 9 and PATCH (RFC 5789). CONNECT is known but not implemented (this is no proxy).
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"}) {
    if (m == known) return true;
  }
  return false;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

Head refuse(Head& head, int status, const char* message) {
  head.error = Error{status, message};
  head.keep_alive = false;
  return head;
}

}  // namespace

// Each refusal is decided at the first byte that makes it certain, so that the bytes of a request
// arriving in any pieces get the verdict they get arriving at once (fuzz_http holds it to that).
HeadScanner::State HeadScanner::scan(std::string_view b, const Limits& limits) {
  if (error_) return State::kInvalid;
  if (size_ != 0) return State::kComplete;
  const auto invalid = [this](int status, const char* message) {
    error_ = Error{status, message};
    return State::kInvalid;
  };
  if (!started_) {
    const Leading leading = skip_empty_lines(b, start_);
    if (start_ >= limits.max_head_bytes) return invalid(431, "the request head is too large");
    if (leading == Leading::kMore) return State::kIncomplete;
    if (leading == Leading::kBareCr) return invalid(400, "a bare CR before the request line");
    started_ = true;
    scanned_ = start_;
  }
  // The method, as far as it has arrived: a token of at most kMaxMethod characters before a SP.
  if (!line_ended_) {
    const std::size_t checked = std::min(b.size(), start_ + kMaxMethod + 1);
    for (std::size_t i = start_; i < checked; ++i) {
      if (b[i] == ' ') {
        if (i == start_) return invalid(400, "the request line does not start with a method");
        break;
      }
      if (!is_token_char(b[i])) return invalid(400, "the request line does not start with a method");
      if (i == start_ + kMaxMethod) return invalid(501, "the method is not implemented");
    }
  }
  for (std::size_t i = scanned_; i < b.size(); ++i) {
    const void* found = std::memchr(b.data() + i, '\n', b.size() - i);
    if (found == nullptr) {
      scanned_ = b.size();
      break;
    }
    i = static_cast<std::size_t>(static_cast<const char*>(found) - b.data());
    if (!line_ended_) {
      line_ended_ = true;
      if (i - start_ > limits.max_request_line + 1) return invalid(414, "the request line is too long");
    }
    // The head ends at an empty line: LF followed by LF or CRLF.
    if (i + 1 >= b.size() || (b[i + 1] == '\r' && i + 2 >= b.size())) {
      scanned_ = i;  // look at this LF again once more bytes have arrived
      break;
    }
    std::size_t end = 0;
    if (b[i + 1] == '\n') end = i + 2;
    if (b[i + 1] == '\r' && b[i + 2] == '\n') end = i + 3;
    if (end != 0) {
      if (end > limits.max_head_bytes) return invalid(431, "the request head is too large");
      size_ = end;
      return State::kComplete;
    }
    scanned_ = i + 1;
  }
  // Until the request line has ended, only its own limit applies: which limit a head breaks must
  // not depend on how its bytes arrived.
  if (!line_ended_) {
    if (b.size() - start_ > limits.max_request_line + 1) return invalid(414, "the request line is too long");
    return State::kIncomplete;
  }
  if (b.size() > limits.max_head_bytes) return invalid(431, "the request head is too large");
  return State::kIncomplete;
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
  std::size_t plain = in.find_first_of(plus_is_space ? "%+" : "%");
  if (plain == std::string_view::npos) plain = in.size();
  out.assign(in.substr(0, plain));  // the common case: nothing to decode
  for (std::size_t i = plain; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>& out) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (!param.empty()) {
      const std::size_t eq = param.find('=');
      std::string name, value;
      if (!percent_decode(param.substr(0, eq), name, true)) return false;
      if (eq != std::string_view::npos && !percent_decode(param.substr(eq + 1), value, true)) return false;
      out.emplace_back(std::move(name), std::move(value));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return true;
}

Head parse_head(std::string_view text, const Limits& limits, Request& out) {
  Head head;
  std::size_t pos = 0;
  if (skip_empty_lines(text, pos) != Leading::kStart) return refuse(head, 400, "no request line");

  // request-line = method SP request-target SP HTTP-version (RFC 9112 section 3)
  const std::string_view line = next_line(text, pos);
  const std::size_t sp1 = line.find(' ');
  const std::string_view method = line.substr(0, sp1);
  if (sp1 == std::string_view::npos || !is_token(method))
    return refuse(head, 400, "the request line does not start with a method");
  out.method.assign(method);
  const std::string_view rest = line.substr(sp1 + 1);
  const std::size_t sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos) return refuse(head, 400, "the request line has no HTTP version");
  const std::string_view target = rest.substr(0, sp2);
  const std::string_view version = rest.substr(sp2 + 1);
  if (target.empty()) return refuse(head, 400, "the request line has no target");
  for (char c : target) {
    if (c <= 0x20 || c >= 0x7f)
      return refuse(head, 400, "the request target has a byte that is not visible ASCII");
  }
  if (target.size() > limits.max_request_line) return refuse(head, 414, "the request target is too long");
  const bool version_ok = version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[5] >= '0' &&
                          version[5] <= '9' && version[6] == '.' && version[7] >= '0' && version[7] <= '9';
  if (!version_ok) return refuse(head, 400, "the request line does not end in an HTTP version");
  if (version[5] != '1') return refuse(head, 505, "only HTTP/1.x is supported");
  const bool http10 = version[7] == '0';
  out.version = http10 ? "HTTP/1.0" : "HTTP/1.1";  // 1.2 and later are answered as 1.1 (RFC 9110 2.5)
  if (!known_method(method)) return refuse(head, 501, "the method is not implemented");

  // request-target: origin-form, absolute-form, or asterisk-form for OPTIONS (RFC 9112 section 3.2).
  std::string_view path_and_query = target;
  std::string_view authority;
  bool absolute = false;
  if (target.find('#') != std::string_view::npos)
    return refuse(head, 400, "the request target has a fragment");
  if (target == "*") {
    if (method != "OPTIONS") return refuse(head, 400, "only OPTIONS may have the target *");
  } else if (target.front() != '/') {
    std::size_t scheme = 0;
    if (starts_with_ci(target, "http://")) scheme = 7;
    if (starts_with_ci(target, "https://")) scheme = 8;
    if (scheme == 0) return refuse(head, 400, "the request target is neither a path nor an absolute URI");
    const std::string_view after = target.substr(scheme);
    const std::size_t path_at = after.find_first_of("/?");
    authority = after.substr(0, path_at);
    if (authority.empty() || !is_host_value(authority))
      return refuse(head, 400, "the request target's authority is not a host");
    path_and_query = path_at == std::string_view::npos ? std::string_view("/") : after.substr(path_at);
    absolute = true;
  }
  const std::size_t question = path_and_query.find('?');
  std::string_view path = path_and_query.substr(0, question);
  if (path.empty()) path = "/";
  if (!percent_decode(path, out.path, false))
    return refuse(head, 400, "the path has a malformed percent-escape");
  if (question != std::string_view::npos && !parse_query(path_and_query.substr(question + 1), out.query))
    return refuse(head, 400, "the query has a malformed percent-escape");

  // Header fields, and what they say about the body and the connection (RFC 9112 sections 5-9).
  std::size_t hosts = 0;
  bool has_length = false, has_transfer_encoding = false, close = false, keep_alive = false;
  bool chunked_last = false, chunked_earlier = false, other_coding = false, bad_expectation = false;
  std::uint64_t length = 0;
  bool length_conflict = false, length_invalid = false, length_huge = false;
  for (;;) {
    if (pos >= text.size()) break;
    const std::string_view field = next_line(text, pos);
    if (field.empty()) break;
    std::string_view name, value;
    if (const char* problem = split_field(field, name, value)) return refuse(head, 400, problem);
    if (out.headers.size() >= limits.max_fields)
      return refuse(head, 431, "the request has too many header fields");
    if (iequals(name, "host")) {
      ++hosts;
      if (!is_host_value(value)) return refuse(head, 400, "the Host field is not a host");
    } else if (iequals(name, "content-length")) {
      // 1*DIGIT, possibly repeated as a list of the same value (RFC 9110 section 8.6).
      if (value.empty()) length_invalid = true;
      for_each_element(value, [&](std::string_view element) {
        std::uint64_t n = 0;
        for (char c : element) {
          if (c < '0' || c > '9') {
            length_invalid = true;
            return;
          }
          if (n > (UINT64_MAX - 9) / 10) {
            length_huge = true;  // counted as the largest value; two such values conflict
            continue;
          }
          n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (has_length && n != length) length_conflict = true;
        length = n;
        has_length = true;
      });
      has_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      has_transfer_encoding = true;
      for_each_element(value, [&](std::string_view element) {
        const std::string_view coding = trim(element.substr(0, element.find(';')));
        if (chunked_last) chunked_earlier = true;  // something after chunked: it was not the last
        chunked_last = iequals(coding, "chunked");
        if (!chunked_last) other_coding = true;
      });
    } else if (iequals(name, "connection")) {
      for_each_element(value, [&](std::string_view option) {
        if (iequals(option, "close")) close = true;
        if (iequals(option, "keep-alive")) keep_alive = true;
      });
    } else if (iequals(name, "expect")) {
      for_each_element(value, [&](std::string_view expectation) {
        if (iequals(expectation, "100-continue")) {
          head.expect_continue = !http10;  // an HTTP/1.0 client cannot expect it (RFC 9110 10.1.1)
        } else {
          bad_expectation = true;
        }
      });
    }
    out.headers.add(std::string(name), std::string(value));
  }

  head.keep_alive = http10 ? keep_alive && !close : !close;
  if (hosts > 1 || (hosts == 0 && !http10))
    return refuse(head, 400, "an HTTP/1.1 request needs exactly one Host field");
  if (absolute)
    out.headers.set("Host", std::string(authority));  // the target's authority wins (RFC 9112 3.2.2)
  if (has_transfer_encoding) {
    // A request with both, or an HTTP/1.0 request with Transfer-Encoding, could be read two ways by
    // two parsers (request smuggling): refused, as RFC 9112 section 6.1 allows.
    if (http10) return refuse(head, 400, "an HTTP/1.0 request cannot have Transfer-Encoding");
    if (has_length)
      return refuse(head, 400, "a request cannot have both Content-Length and Transfer-Encoding");
    if (!chunked_last || chunked_earlier)
      return refuse(head, 400, "the request's last transfer coding must be chunked, applied once");
    if (other_coding) return refuse(head, 501, "only the chunked transfer coding is implemented");
    head.framing = Framing::kChunked;
  } else if (has_length) {
    if (length_invalid) return refuse(head, 400, "Content-Length is not a number");
    if (length_conflict) return refuse(head, 400, "Content-Length has different values");
    if (length_huge || length > static_cast<std::uint64_t>(INT64_MAX))
      return refuse(head, 413, "Content-Length is larger than any body this server accepts");
    head.content_length = length;
    if (length > 0) head.framing = Framing::kLength;
  }
  if (bad_expectation) return refuse(head, 417, "the only expectation supported is 100-continue");
  if (head.framing == Framing::kNone) head.expect_continue = false;
  return head;
}

ChunkedDecoder::Status ChunkedDecoder::fail(const char* message) {
  error_ = Error{400, message};
  return Status::kInvalid;
}

ChunkedDecoder::Status ChunkedDecoder::decode(std::string_view in, std::size_t& consumed, std::string* out) {
  consumed = 0;
  if (error_) return Status::kInvalid;
  std::size_t i = 0;
  const auto end_of_size_line = [this] {
    state_ = chunk_left_ == 0 ? State::kTrailer : State::kData;
    digits_ = 0;
  };
  while (i < in.size() && state_ != State::kDone) {
    if (state_ == State::kData) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, in.size() - i));
      if (out != nullptr) out->append(in.data() + i, n);
      i += n;
      chunk_left_ -= n;
      data_ += n;
      if (chunk_left_ == 0) state_ = State::kDataCr;
      continue;
    }
    const char c = in[i++];
    if (++overhead_ > data_ + limits_.max_head_bytes) {
      consumed = i;
      return fail("the chunked framing is larger than the data it carries allows");
    }
    switch (state_) {
      case State::kSize: {
        const int v = hex_value(c);
        if (v >= 0) {
          if (digits_ == 16) return fail("a chunk size is too large");
          chunk_left_ = chunk_left_ * 16 + static_cast<std::uint64_t>(v);
          ++digits_;
        } else if (digits_ == 0) {
          return fail("a chunk does not start with its size");
        } else if (c == ';') {
          state_ = State::kExtension;
        } else if (c == ' ' || c == '\t') {
          state_ = State::kSizeSpace;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          end_of_size_line();
        } else {
          return fail("a chunk size is not hexadecimal");
        }
        break;
      }
      case State::kSizeSpace:
        if (c == ';') {
          state_ = State::kExtension;
        } else if (c != ' ' && c != '\t') {
          return fail("a chunk size is followed by something other than an extension");
        }
        break;
      case State::kExtension:
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          end_of_size_line();
        } else if (!is_field_value_char(c)) {
          return fail("a chunk extension has a control character");
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return fail("a chunk size line does not end in CRLF");
        end_of_size_line();
        break;
      case State::kDataCr:
        if (c == '\n') {
          state_ = State::kSize;
        } else if (c == '\r') {
          state_ = State::kDataLf;
        } else {
          return fail("chunk data is longer than its size");
        }
        break;
      case State::kDataLf:
        if (c != '\n') return fail("chunk data is longer than its size");
        state_ = State::kSize;
        break;
      case State::kTrailer: {
        if (c != '\n') {
          if (trailer_line_.size() >= limits_.max_head_bytes) {
            error_ = Error{431, "the trailer section is too large"};
            return Status::kInvalid;
          }
          trailer_line_.push_back(c);
          break;
        }
        std::string_view line = trailer_line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) {
          state_ = State::kDone;
          break;
        }
        std::string_view name, value;
        if (const char* problem = split_field(line, name, value)) return fail(problem);
        if (++trailer_fields_ > limits_.max_fields) {
          error_ = Error{431, "the request has too many trailer fields"};
          return Status::kInvalid;
        }
        trailer_line_.clear();
        break;
      }
      case State::kData:
      case State::kDone:
        break;
    }
  }
  consumed = i;
  return state_ == State::kDone ? Status::kDone : Status::kMore;
}

Coding content_coding(std::string_view content_encoding) {
  std::size_t codings = 0;
  bool gzip = false;
  for_each_element(content_encoding, [&](std::string_view coding) {
    if (iequals(coding, "identity")) return;
    ++codings;
    gzip = iequals(coding, "gzip") || iequals(coding, "x-gzip") || iequals(coding, "deflate");
  });
  if (codings == 0) return Coding::kIdentity;
  return codings == 1 && gzip ? Coding::kGzip : Coding::kUnsupported;
}

struct Inflater::State {
  z_stream z{};
};

Inflater::Inflater() : state_(std::make_unique<State>()) {
  // windowBits 15 + 32: a gzip (RFC 1952) or zlib (RFC 1950, HTTP's "deflate") header, whichever comes.
  if (inflateInit2(&state_->z, 15 + 32) != Z_OK) throw std::runtime_error("inflateInit2 failed");
}

Inflater::~Inflater() { inflateEnd(&state_->z); }

Inflater::Status Inflater::feed(std::string_view in, std::string& out, std::size_t max_out) {
  if (done_) return Status::kDone;
  z_stream& z = state_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::array<char, 16384> buffer;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t produced = buffer.size() - z.avail_out;
    if (produced > max_out - std::min(max_out, out.size())) return Status::kTooLarge;
    out.append(buffer.data(), produced);
    if (rc == Z_STREAM_END) {
      done_ = true;
      return Status::kDone;
    }
    if (rc == Z_BUF_ERROR) return Status::kMore;  // no progress possible: needs more input
    if (rc != Z_OK) return Status::kInvalid;
    if (z.avail_in == 0 && z.avail_out != 0) return Status::kMore;
  }
}

}  // namespace sipcontract::detail::refserver::http
