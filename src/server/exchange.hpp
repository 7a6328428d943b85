// The reference server's own request and response types. The business handler (api.hpp) and the
// layers around it (layers.hpp: fault modes and variants) work on these only; the transport
// (connection.hpp) makes a Request from what its parser (http_parser.hpp) read and writes a
// Response with every transport directive it carries. Nothing here knows the transport, so another
// one could serve the same handler and layers.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sipcontract::detail::refserver {

/// Case-insensitive comparison of ASCII names (header names, media types, codings).
bool iequals(std::string_view a, std::string_view b);

/// An ordered list of header fields; names compare case-insensitively (RFC 9110 section 5.1).
class Headers {
 public:
  struct Field {
    std::string name;
    std::string value;
  };

  /// The value of the first field named `name`, or nullptr.
  const std::string* find(std::string_view name) const;
  /// The value of the first field named `name`, or "" when there is none.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  std::size_t count(std::string_view name) const;
  /// Appends a field (fields of the same name may already exist).
  void add(std::string name, std::string value) { fields_.push_back({std::move(name), std::move(value)}); }
  /// Replaces every field named `name` with one (appended when there was none).
  void set(std::string_view name, std::string value);
  void erase(std::string_view name);
  void reserve(std::size_t n) { fields_.reserve(n); }
  void clear() { fields_.clear(); }

  std::size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

/// What reading a request body came to.
enum class BodyRead {
  kOk,                   ///< the whole body (possibly empty)
  kTooLarge,             ///< longer than the limit given; reading stopped there
  kFailed,               ///< cut short, too slow, or not readable at all
  kUnsupportedEncoding,  ///< a Content-Encoding the transport cannot decode
};

/// A request body the transport has not read yet. Read (or discarded) at most once, and only
/// while the request is being answered.
class BodySource {
 public:
  virtual ~BodySource() = default;
  /// Appends the body to `out`, reading at most `max_bytes` of it.
  virtual BodyRead read(std::string& out, std::size_t max_bytes) = 0;
  /// Reads and drops the body, at most `max_bytes` of it; false when the connection cannot be
  /// used for another request afterwards (the body was too long, cut short, or unreadable).
  virtual bool discard(std::size_t max_bytes) = 0;
};

/// One HTTP request as the handler and the layers see it.
struct Request {
  std::string method;
  std::string path;                                        ///< decoded, without the query
  std::vector<std::pair<std::string, std::string>> query;  ///< decoded query parameters, in order
  std::string version = "HTTP/1.1";
  Headers headers;
  /// The body once read. While `body_source` is set, the body has not been read yet: read_body()
  /// reads it (the checks that come first can answer without reading a body at all).
  std::string body;
  BodySource* body_source = nullptr;
  /// Expect: 100-continue: answer only what needs no body and changes nothing, or status 100 for
  /// "send the body" (the request then comes again, with its body).
  bool precheck = false;
  /// Nonzero when the transport could not parse or frame the request: the status to answer (in
  /// JSON, closing the connection). Method, path and headers hold whatever was parsed.
  int framing_error = 0;
  std::string framing_message;  ///< what the transport found wrong, when framing_error is set
  std::string remote_addr;      ///< for the access log

  /// The first value of query parameter `name`, or nullptr.
  const std::string* query_value(std::string_view name) const;
  /// Replaces every query parameter named `name` with one.
  void set_query_value(std::string_view name, std::string value);
  /// Reads the body into `body` when a source still holds it (at most `max_bytes`).
  BodyRead read_body(std::size_t max_bytes);
  /// A request for the same client and credentials: method, path and every header, no body.
  Request derived(std::string method, std::string path) const;
};

/// A response body produced while it is written, `size` bytes in all: `bytes(offset)` returns the
/// next bytes from `offset` (never empty before `size`). For bodies too large to hold.
struct StreamedBody {
  std::size_t size = 0;
  std::function<std::string_view(std::size_t offset)> bytes;
};

/// One HTTP response: status, headers and body, plus directives to the transport about how it
/// leaves. The transport adds the framing headers itself (Content-Length or Transfer-Encoding,
/// Connection or Keep-Alive, Content-Encoding), and omits the body after HEAD and for 1xx/204/304.
struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  // Transport directives (all off by default).
  bool chunked = false;                  ///< send the body with Transfer-Encoding: chunked, in parts
  bool gzip_when_accepted = false;       ///< gzip the body when the request's Accept-Encoding allows it
  bool close_after = false;              ///< say "Connection: close" and close after the answer
  bool reset = false;                    ///< send nothing and reset the connection
  std::chrono::milliseconds delay{0};    ///< wait this long before answering
  std::shared_ptr<StreamedBody> stream;  ///< when set, the body (instead of `body`)
  std::size_t missing_bytes = 0;         ///< declare this many bytes more than sent, then close

  /// Sets status, body and "Content-Type: application/json".
  void set_json(int status, std::string json);
  /// {"error": error[, "message": message]} with `status`.
  void set_error(int status, std::string_view error, std::string_view message = {});
  /// Whether the body is JSON by its Content-Type (application/json or +json, any case).
  bool is_json() const;
};

/// The reason phrase of `status` ("Not Found"), or "Client Error" / "Server Error" for one
/// without a phrase of its own here.
const char* reason_phrase(int status);

/// "application/json" (any case), optionally with a charset parameter naming UTF-8 (the only
/// encoding JSON allows between systems, RFC 8259 section 8.1); other parameters are ignored.
bool is_json_content_type(std::string_view value);

/// Whether an Accept-Encoding value allows gzip (named or "*", with a q-value above 0).
bool accepts_gzip(std::string_view accept_encoding);

/// `data` compressed as one gzip member (RFC 1952).
std::string gzip(std::string_view data);

}  // namespace sipcontract::detail::refserver
