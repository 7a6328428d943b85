// Internals of the runner module shared by its source files (not installed).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sipcontract/runner.hpp"
#include "sipcontract/validate.hpp"

namespace sipcontract::detail {

/// `n` random lowercase hex digits from the system's CSPRNG.
std::string random_hex(std::size_t n);
/// A fresh random (v4) UUID, lowercase.
std::string fresh_uuid();
/// A random password with upper, lower, digit and symbol characters (never logged).
std::string random_password();
/// True for the textual form of a UUID (8-4-4-4-12 hex digits, any case).
bool is_uuid(std::string_view text);
/// Bytes the kernel has received on TCP socket `fd` (TCP_INFO tcpi_bytes_received), or
/// std::nullopt when it cannot tell. Counts everything: status line, headers, body, TLS records.
std::optional<std::uint64_t> tcp_bytes_received(int fd);
/// `text` as it appears inside a JSON string (escaped as nlohmann::json writes it, invalid UTF-8
/// replaced), without the quotes.
std::string json_escaped(std::string_view text);

/// A base URL split into what httplib needs and the path prefix requests go under.
struct BaseUrl {
  std::string scheme;  ///< "http" or "https"
  std::string host;    ///< without brackets for IPv6
  int port = 0;
  std::string prefix;  ///< "/api/fabric" (no trailing slash; "" for the root)
  /// "scheme://host:port" (IPv6 in brackets).
  std::string origin() const;
  bool loopback() const;
  /// Throws ConfigError naming the URL and what is wrong with it.
  static BaseUrl parse(const std::string& url);
};

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters).
std::string encode_path_segment(std::string_view segment);

/// Replaces "{name}" segments of a manifest path with encoded values; throws ConfigError for a
/// parameter without a value.
std::string fill_path(const std::string& path_template, const std::map<std::string, std::string>& values);

/// Quotes `text` for a POSIX shell (single quotes; embedded quotes as '\'').
std::string shell_quote(std::string_view text);

/// What the transport got for one logical request (after any retries).
struct Exchange {
  enum class Failure {
    kNone,       ///< a complete response (status, headers, body)
    kTransport,  ///< no usable response: connection, TLS, read or write failure
    kTooLarge,   ///< the body passed max_response_bytes; reading stopped
    kTooSlow,    ///< no complete response within max_time; reading stopped
    kCanceled,   ///< the run was interrupted while waiting to retry
  };
  Failure failure = Failure::kNone;
  std::string failure_detail;  ///< one line naming what failed (no secret)
  bool nothing_sent = false;   ///< the failure happened before the request reached the server
  int status = -1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  double elapsed_ms = 0;             ///< the last attempt
  std::vector<std::string> retries;  ///< one line per retry

  std::string header(std::string_view name) const;  ///< first value, case-insensitive; "" if absent
};

/// One request to send.
struct OutgoingRequest {
  std::string method;                        ///< "POST", "GET", "DELETE"
  std::string path;                          ///< already encoded, with the base URL's prefix
  std::optional<std::string> authorization;  ///< the Authorization header value, if any
  std::optional<std::string> body;
  std::string content_type;
  /// Bounded by TransportOptions::max_time (case requests) or only by the timeout (cleanup).
  bool bounded = true;
};

class HttpSession;
void destroy_session(HttpSession* session);
struct SessionDeleter {
  void operator()(HttpSession* s) const { destroy_session(s); }
};
using SessionPtr = std::unique_ptr<HttpSession, SessionDeleter>;

/// Enforces the hard deadline of every request of the sessions that share it (one thread).
class Watchdog;
/// A watchdog for make_session; its thread starts with the first session.
std::shared_ptr<Watchdog> make_watchdog();

/// One keep-alive HTTP client (one per worker thread; a client serialises its requests).
/// Sessions of one run share `watchdog` (null: the session gets its own).
/// Throws ConfigError when the client cannot be made (e.g. TLS set-up).
SessionPtr make_session(const BaseUrl& url, const TransportOptions& options,
                        std::shared_ptr<Watchdog> watchdog = nullptr);
/// Sends with retries (transport errors that left the request unsent or an idempotent method,
/// 429, 503) and exponential backoff that honours Retry-After up to max_backoff.
Exchange send(HttpSession& session, const OutgoingRequest& request, const std::atomic<int>* cancel);

/// A secret the run used, with what it is (for messages; never the value).
struct Secret {
  Secret(std::string label_, std::string value_);
  std::string label;  ///< "password", "password_confirmation", "API token", "Authorization header"
  std::string value;
  std::string escaped;  ///< the value as it appears inside a JSON string (made once, not per response)
};

/// What the checks need to know about the step that was sent.
struct CheckInput {
  const Contract* contract = nullptr;
  const Step* step = nullptr;                         ///< expanded
  const std::vector<Secret>* secrets = nullptr;       ///< the run's (credentials, password)
  const std::vector<Secret>* case_secrets = nullptr;  ///< the case's bodies' (may be null)
  const Redactor* redactor = nullptr;  ///< applied to response values before they are cut short
  std::chrono::milliseconds max_time{0};
  std::size_t max_bytes = 0;
  std::size_t max_depth = 256;
  /// The media type each documented status declares (response_content_types()); absent statuses
  /// and a null map mean application/json.
  const std::map<int, std::string>* content_types = nullptr;
};

/// The manifest's operation.responses.<status>.content_type values, read once per run.
std::map<int, std::string> response_content_types(const Contract& contract);

/// The response body parsed within the limits; nullopt when there is no complete, non-empty body.
std::optional<Parsed> parse_body(const Exchange& exchange, std::size_t max_bytes, std::size_t max_depth);

/// Every check on one exchange, in check_ids() order. `parsed` is parse_body()'s result, or
/// nullopt with `body_known_valid` when the body was not parsed because the status's schema
/// accepted its bytes (Schema::check) and no check of this answer reads its document.
std::vector<CheckFailure> check_exchange(const CheckInput& input, const Exchange& exchange,
                                         const std::optional<Parsed>& parsed, bool body_known_valid = false);

/// True when the checks of an answer with `status` to `step` read its document beyond the schema
/// verdict: a 2xx (its id, the echo, the read-back) and a 422 whose error items are expected.
bool needs_document(const Step& step, int status);

/// The "state" check: reading back an endpoint a 201 reported (`get`, answered by the manifest's
/// get sibling) must give `want_status`, a body valid against `schema_name` (skipped when empty)
/// and, field by field, what the 201 said (`created`). Leaks in the answer are "secrets" failures.
/// `same_bytes`: the answer's body is byte for byte the 201's, so `created` is its document (and
/// `parsed` is not read) and the fields agree without comparing them.
std::vector<CheckFailure> check_state(const CheckInput& input, const Exchange& get,
                                      const std::optional<Parsed>& parsed, const nlohmann::json& created,
                                      bool same_bytes, const std::string& schema_name, int want_status);

/// The id a 2xx create answer carries ("" when none can be read).
std::string created_id(const Exchange& exchange, const std::optional<Parsed>& parsed);

/// The secrets a step carries in its body: the values of the contract's secret fields.
std::vector<Secret> body_secrets(const Step& step, const Contract& contract);

/// A curl command that reproduces `request`; credentials become environment variables and
/// secret body fields "<redacted>".
std::string curl_line(const BaseUrl& url, const OutgoingRequest& request, AuthVariant auth, const Step& step,
                      const Contract& contract, const TransportOptions& transport);

/// The Authorization header value an auth variant sends (nullopt for kNone).
std::optional<std::string> authorization_for(AuthVariant auth, const Target& target);

/// Fixed, non-secret parts of the bad-credential variants (documented in contract-tests/README.md).
inline constexpr std::string_view kWrongToken = "sipcontract-wrong-token";
inline constexpr std::string_view kWrongProject = "00000000-0000-4000-8000-000000000000";
inline constexpr std::string_view kMalformedAuthorization = "Basic not*base64";

/// Base64 (RFC 4648, with padding).
std::string base64(std::string_view data);

/// UTC now as ISO 8601 ("2026-01-02T03:04:05Z").
std::string utc_now_iso8601();

/// The case-file text of every built-in case file (generated from contract-tests/cases).
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_cases();

}  // namespace sipcontract::detail
