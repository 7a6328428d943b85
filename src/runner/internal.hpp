// Internals of the runner module shared by its source files (not installed).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sipcontract/contract.hpp"
#include "sipcontract/runner.hpp"
#include "sipcontract/thread_pool.hpp"

namespace sipcontract::detail {

/// A random password with upper, lower, digit and symbol characters (never logged).
std::string random_secret();
/// Bytes the kernel has received on TCP socket `fd` (TCP_INFO tcpi_bytes_received), or
/// std::nullopt when it cannot tell. Counts everything: status line, headers, body, TLS records.
std::optional<std::uint64_t> tcp_bytes_received(int fd);

/// A base URL split into what httplib needs and the path prefix requests go under.
struct BaseUrl {
  std::string scheme;  ///< "http" or "https"
  std::string host;    ///< without brackets for IPv6
  int port = 0;
  std::string prefix;  ///< the URL's path ("/api/fabric"; no trailing slash; "" for the root)
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
  std::string failure_detail;      ///< one line naming what failed (no secret)
  bool nothing_sent = false;       ///< the failure happened before the request reached the server
  bool tls_problem = false;        ///< the TLS handshake or the certificate check failed
  std::string tls_problem_advice;  ///< what to do about it (--ca-file, the host name in --base-url)
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
/// A watchdog for make_session; its thread starts with the first session. When `abort` becomes
/// non-zero (a second signal), it cuts every request in flight, which then ends as kCanceled.
std::shared_ptr<Watchdog> make_watchdog(const std::atomic<int>* abort = nullptr);

/// One keep-alive HTTP client (one per worker thread; a client serialises its requests).
/// Sessions of one run share `watchdog` (null: the session gets its own).
/// Throws ConfigError when the client cannot be made (e.g. TLS set-up).
SessionPtr make_session(const BaseUrl& url, const TransportOptions& options,
                        std::shared_ptr<Watchdog> watchdog = nullptr);
/// Spaces the requests of every session it is given at most `rate` a second over all of them
/// (--rate): each send() (and each retry) takes the next free slot first. Thread-safe.
class Pacer {
 public:
  explicit Pacer(double rate);
  /// Waits for this request's slot; returns early (false) when `cancel` is set meanwhile.
  bool wait(const std::atomic<int>* cancel);

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point next_{};
};
/// Every later send() on `session` waits for `pacer` first (null: no pacing).
void set_pacer(HttpSession& session, std::shared_ptr<Pacer> pacer);

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
  const Operation* operation = nullptr;               ///< the step's operation
  const Resource* resource = nullptr;                 ///< the resource it acts on
  const Step* step = nullptr;                         ///< expanded
  const nlohmann::json* sent = nullptr;               ///< the JSON body sent (vars filled in), or null
  const std::vector<Secret>* secrets = nullptr;       ///< the run's (credentials, password)
  const std::vector<Secret>* case_secrets = nullptr;  ///< the case's bodies' (may be null)
  const Redactor* redactor = nullptr;  ///< applied to response values before they are cut short
  std::chrono::milliseconds max_time{0};
  std::size_t max_bytes = 0;
  std::size_t max_depth = 256;
};

/// Marks each failure of one step that another version explains (CheckFailure::explained_by):
/// schema and enum failures when the answer conforms to that version's schema for its status; a
/// status when that version's request schema judges what was sent otherwise and predicts the
/// status got; echo, fields and read-back failures about a field only the selected version has.
void explain_failures(const Contract& selected, const Operation& op, const Step& step, const Exchange& exchange,
                      const std::optional<Parsed>& parsed, const std::vector<const Contract*>& others,
                      std::size_t max_bytes, std::size_t max_depth, std::vector<CheckFailure>& failures);

/// The response body parsed within the limits; nullopt when there is no complete, non-empty body.
std::optional<Parsed> parse_body(const Exchange& exchange, std::size_t max_bytes, std::size_t max_depth);

/// Every check on one exchange, in check_ids() order. `parsed` is parse_body()'s result, or
/// nullopt with `body_known_valid` when the body was not parsed because the status's schema
/// accepted its bytes (Schema::check) and no check of this answer reads its document.
std::vector<CheckFailure> check_exchange(const CheckInput& input, const Exchange& exchange,
                                         const std::optional<Parsed>& parsed, bool body_known_valid = false);

/// True when the checks of an answer with `status` to `step` read its document beyond the schema
/// verdict: a 2xx (its id, the echo, the read-back, captures, fields) and a 422 whose error items
/// are expected.
bool needs_document(const Step& step, int status);

/// The "state" check: reading back an item a create or an update reported (`get`, answered by the
/// resource's get operation `get_op`) must give its 200, a body valid against that schema and, in
/// every documented field, what the earlier answer said (`reported`). Leaks in the answer are
/// "secrets" failures. `same_bytes`: the answer's body is byte for byte the earlier one's, so
/// `reported` is its document (and `parsed` is not read) and the fields agree without comparing.
std::vector<CheckFailure> check_state(const CheckInput& input, const Exchange& get,
                                      const std::optional<Parsed>& parsed, const nlohmann::json& reported,
                                      bool same_bytes, const Operation& get_op);

/// The value at `pointer` of a 2xx answer's object body as text (a string as is, a number as
/// written), "" when there is none.
std::string member_text(const Exchange& exchange, const std::optional<Parsed>& parsed,
                        const std::string& pointer);

/// The secrets a step carries in its body: the values of the contract's secret fields.
std::vector<Secret> body_secrets(const Step& step, const Contract& contract);

/// The Authorization header value an auth variant sends (nullopt for kNone).

/// The shell text (inside double quotes) that stands for a secret body value in a curl line:
/// (field, value) -> e.g. "${SC_PASSWORD}". Never the value itself.
using SecretExpression = std::function<std::string(const std::string& field, const std::string& value)>;

/// A curl command that reproduces `request`: credentials are the SIGNALWIRE_* environment
/// variables, and the value of each secret body field is `secret(field, value)`, so the line
/// runs as is once those variables are set, and shows no secret.
std::string curl_line(const BaseUrl& url, const OutgoingRequest& request, AuthVariant auth, const Step& step,
                      const Contract& contract, const TransportOptions& transport,
                      const SecretExpression& secret);

/// Why `path` is not a usable PEM CA bundle (unreadable, or no certificate in it); nullopt if it is.
std::optional<std::string> ca_file_problem(const std::string& path);

std::optional<std::string> authorization_for(AuthVariant auth, const Target& target);

/// Fixed, non-secret parts of the bad-credential variants (documented in contracts/README.md).
inline constexpr std::string_view kWrongToken = "sipcontract-wrong-token";
inline constexpr std::string_view kWrongProject = "00000000-0000-4000-8000-000000000000";
inline constexpr std::string_view kMalformedAuthorization = "Basic not*base64";

/// UTC now as ISO 8601 ("2026-01-02T03:04:05Z").
std::string utc_now_iso8601();

/// The media type of a Content-Type value, lowercase, without parameters or spaces.
std::string media_type(std::string_view content_type);

/// True for the contract's answer `status` to `operation`: that status, the media type the
/// contract declares for it, and a body valid against its schema. A gateway's or proxy's own
/// answer with the same status (another media type or shape) is not the contract's.
bool is_contract_answer(const Operation& operation, const Exchange& exchange, int status);

/// Appends what a run is about to create and has created to a file of JSON lines, so that
/// `sipcontract cleanup --ledger FILE` can find what a killed run left. Each record is written
/// with one write(2) before the request it announces is sent, so a kill -9 loses nothing already
/// announced. Thread-safe. Holds no secret: names, ids and parents only.
class LedgerWriter {
 public:
  /// Creates (or appends to) `path` and writes the run's header (`resume`: a cleanup's mark
  /// instead, after the records of the run it cleans up); throws ConfigError when it cannot.
  LedgerWriter(const std::filesystem::path& path, const std::string& run_id, const std::string& base_url,
               const Contract& contract, bool resume = false);
  ~LedgerWriter();
  LedgerWriter(const LedgerWriter&) = delete;
  LedgerWriter& operator=(const LedgerWriter&) = delete;
  void sending(const std::string& parent, const std::string& name, const std::string& case_id);
  void created(const std::string& parent, const std::string& id, const std::string& name);
  void gone(const std::string& parent, const std::string& id);
  /// The run's cleanup verified that nothing is left.
  void complete();
  const std::filesystem::path& path() const { return path_; }

 private:
  void append(const nlohmann::json& record);
  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mutex_;
};

/// What cleanup must undo: what a run created (id known), what it sent without knowing the
/// outcome (name only), and the parents creates went to, each with whether a create there
/// may have succeeded (any answer but a complete 4xx).
struct CleanupPlan {
  std::vector<LeftoverItem> entries;    ///< parent, id (may be ""), name (may be "")
  std::map<std::string, bool> parents;  ///< parent -> at risk
  std::string run_id;                   ///< the sweep deletes listed endpoints whose name carries it
};

/// What cleanup works with: the run's clients and workers, and how to reach the siblings.
struct CleanupContext {
  const Contract* contract = nullptr;
  const Resource* resource = nullptr;  ///< its list, get and delete operations
  const BaseUrl* url = nullptr;
  std::vector<SessionPtr>* sessions = nullptr;  ///< one per worker of `pool`
  ThreadPool* pool = nullptr;  ///< the run's workers (ThreadPool::run, a phase at a time)
  const std::optional<std::string>* authorization = nullptr;  ///< the valid credentials' header
  ParseLimits limits;
  const std::atomic<int>* abort = nullptr;  ///< set: stop sending, report what may be left
  LedgerWriter* ledger = nullptr;           ///< records what is verified gone (may be null)
  Progress* progress = nullptr;
};

/// Deletes everything in `plan` (unless `keep`), sweeps each parent's list for the run's
/// endpoints, and verifies: an endpoint counts as deleted only when a complete list no longer
/// shows it or it reads back as the contract's 404; whatever cannot be verified is reported as
/// unverified, never as gone.
CleanupReport clean_up(const CleanupContext& context, const CleanupPlan& plan, bool keep);

}  // namespace sipcontract::detail
