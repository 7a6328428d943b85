// sipcontract/runner.hpp: the contract-test runner. Loads cases (fixture requests and
// what must come back), sends them to a target, checks every response against the
// contract, cleans up what it created, and reports (console, JUnit XML, JSON).
//
//   auto cases = sipcontract::builtin_cases();             // or load_cases("contract-tests")
//   sipcontract::RunOptions opts;
//   opts.target = {"https://SPACE.signalwire.com/api/fabric", subscriber, project_id, api_token};
//   sipcontract::ConsoleProgress progress(std::cout, /*tty=*/false);
//   auto report = sipcontract::run_contract_tests(sipcontract::Contract::builtin(), cases, opts, &progress);
//   sipcontract::write_summary(report, std::cout);
//   return report.exit_code();
//
// A target that breaks the contract, or misbehaves on the wire, is a result value (failures in
// the RunReport); a misuse (unreadable case file, missing environment variable, bad option) is
// a ConfigError thrown before any request is sent. Every text a report holds has passed through
// the run's Redactor: no password, API token or Authorization value reaches any output.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sipcontract/validate.hpp"

namespace sipcontract {

/// A misuse the run cannot start with: bad option, unreadable or invalid case file, template
/// error, missing environment variable. The message is one line naming what and where.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------------

/// How a request authenticates (the case field "auth").
enum class AuthVariant {
  kValid,            ///< "valid": Basic with the run's Project ID and API token
  kNone,             ///< "none": no Authorization header
  kWrongToken,       ///< "wrong-token": the right Project ID with a token that is not the run's
  kWrongProject,     ///< "wrong-project": the run's token under a Project ID that is not the run's
  kMalformedHeader,  ///< "malformed-header": "Authorization: Basic" followed by text that is not base64
};

/// The case-file spelling of an auth variant ("valid", "none", ...).
std::string_view to_string(AuthVariant auth);

/// One 422 error item a case expects: an item whose attribute is one of `attributes`
/// (and whose code is `code` when given) must be present.
struct ExpectedError {
  std::vector<std::string> attributes;  ///< any of these; empty = any attribute
  std::optional<std::string> code;      ///< the exact code, when the contract settles it
};

/// What must come back for one request.
struct Expectation {
  std::vector<int> statuses;          ///< any of these statuses (usually one)
  std::vector<ExpectedError> errors;  ///< checked when the response is a 422
};

/// One request of a case: a POST to the operation, then the expectation for its answer.
struct Step {
  AuthVariant auth = AuthVariant::kValid;
  /// Path parameter values by name; a missing fabric_subscriber_id defaults to "{{subscriber}}".
  std::map<std::string, std::string> path_params;
  std::optional<nlohmann::json> body;   ///< a JSON body ("body" or "body_file")
  std::optional<std::string> raw_body;  ///< a body sent verbatim ("raw_body"), e.g. text that is not JSON
  std::string content_type = "application/json";
  Expectation expect;
};

/// One contract test: an id, tags, an optional "unsettled" reason, and its ordered steps.
struct Case {
  std::string id;
  std::string description;
  std::vector<std::string> tags;  ///< includes "unsettled" when `unsettled` is set
  std::string unsettled;          ///< why the seed does not settle the expectation; empty = settled
  std::vector<Step> steps;        ///< run in order by one worker
  std::string source;             ///< "file.json" or "file.json[3]": where the case was read
};

/// Reads every *.json case file in `dir` (or in `dir`/cases when that folder exists), sorted by
/// name; a file holds one case object or an array of them. Throws ConfigError naming the file,
/// the case and the field for unreadable JSON, unknown keys, bad values and duplicate ids.
std::vector<Case> load_cases(const std::filesystem::path& dir);

/// Parses one case file's text (used by load_cases and for the built-in cases).
/// `base_dir` resolves "body_file"; empty disallows body files.
std::vector<Case> parse_cases(std::string_view text, const std::string& file_name,
                              const std::filesystem::path& base_dir);

/// The cases of the repository's contract-tests/cases, compiled into this binary.
std::vector<Case> builtin_cases();

/// Which cases a run takes.
struct Selection {
  std::vector<std::string> globs;  ///< fnmatch patterns on the case id; empty = all
  std::vector<std::string> tags;   ///< a case must carry one of these; empty = all
  std::size_t shard_index = 1;     ///< 1-based
  std::size_t shard_count = 1;
};

/// The cases `selection` takes, in their original order. Sharding splits the cases sorted by id
/// round-robin, so every case lands in exactly one shard.
std::vector<Case> select_cases(const std::vector<Case>& cases, const Selection& selection);

// ---------------------------------------------------------------------------------------------
// Templating
// ---------------------------------------------------------------------------------------------

/// The values placeholders expand to. {{run_id}}, {{case_id}}, {{uuid}} (a fresh v4 UUID per
/// occurrence), {{subscriber}}, {{password}} (the run's generated password) and {{env:NAME}}
/// or {{env:NAME|default}}.
struct TemplateContext {
  std::string run_id;
  std::string subscriber;
  std::string password;
  /// Looks up an environment variable; nullopt when unset. Default: ::getenv.
  std::function<std::optional<std::string>(const std::string&)> env;
};

/// Expands the placeholders of one string; `where` names the case and field for errors.
/// Throws ConfigError ("case X: field /f: ...") for an unknown placeholder, an unclosed "{{"
/// or an unset environment variable (naming it).
std::string expand_template(std::string_view text, const TemplateContext& context, const std::string& case_id,
                            const std::string& where);

/// A copy of `c` with every string of its bodies, raw bodies and path parameters expanded
/// (object keys, numbers and other non-strings are left as they are).
Case expand_case(const Case& c, const TemplateContext& context);

// ---------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------

/// Replaces every secret the run used with "<redacted>". Every output path (console, JUnit,
/// JSON report, messages, curl lines) goes through one Redactor fed with all of the run's secrets.
/// Scanning is one pass over the text whatever the number of secrets (an index by first byte).
class Redactor {
 public:
  static constexpr std::string_view kMask = "<redacted>";
  /// Adds a secret (and its JSON-escaped form when that differs); empty strings are ignored.
  void add(std::string_view secret);
  /// `text` with every occurrence of every secret replaced by kMask. Occurrences that overlap
  /// (one secret inside or across another) become one mask, so no part of either shows.
  std::string redact(std::string_view text) const;
  /// True when `text` contains any secret.
  bool contains_secret(std::string_view text) const;
  std::size_t size() const { return secrets_.size(); }

 private:
  /// The length of the longest secret that starts at text[at], 0 when none does.
  std::size_t match_at(std::string_view text, std::size_t at) const;

  std::vector<std::string> secrets_;        // unique; grouped by first byte, longest first in a group
  std::array<std::uint32_t, 257> first_{};  // secrets_[first_[b], first_[b + 1]) start with byte b
};

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Where the cases are sent and with which credentials.
struct Target {
  std::string base_url;     ///< e.g. "https://SPACE.signalwire.com/api/fabric"
  std::string subscriber;   ///< the fabric_subscriber_id {{subscriber}} expands to
  std::string project_id;   ///< Basic auth user (from SIGNALWIRE_PROJECT_ID)
  std::string api_token;    ///< Basic auth password (from SIGNALWIRE_API_TOKEN)
  bool in_process = false;  ///< the in-process reference server (reports say so)
};

/// The wire: timeouts, retries, TLS and size caps.
struct TransportOptions {
  std::chrono::milliseconds timeout{30000};     ///< connect, read and write timeout
  std::chrono::milliseconds max_time{10000};    ///< a response must be complete within this
  int retries = 2;                              ///< extra attempts for transport errors, 429, 503
  std::chrono::milliseconds backoff{250};       ///< first backoff; doubles per attempt
  std::chrono::milliseconds max_backoff{8000};  ///< cap of one backoff and of an honoured Retry-After
  std::size_t max_response_bytes = 8u << 20;    ///< reading stops past this (check "size")
  std::string ca_file;                          ///< PEM bundle to verify TLS with; empty = system CAs
  bool insecure = false;                        ///< TLS verification off (reported in every output)
  bool allow_plain_http = false;                ///< credentials over http:// to a non-loopback host
};

/// Everything a run needs besides the contract and the cases.
struct RunOptions {
  Target target;
  TransportOptions transport;
  std::size_t jobs = 4;         ///< cases run concurrently (a case's steps stay in order)
  bool skip_unsettled = false;  ///< report unsettled cases as skipped instead of running them
  bool keep = false;            ///< do not delete what the run created (the report lists it)
  std::size_t max_depth = 256;  ///< JSON nesting accepted in a response (deeper: check "json")
  std::string run_id;           ///< {{run_id}}; empty = 10 random hex digits
  std::string password;         ///< {{password}}; empty = a random 24-character password
  /// Environment lookup for {{env:NAME}}; null = ::getenv.
  std::function<std::optional<std::string>(const std::string&)> env;
  /// Set (to a signal number) by a signal handler: stop scheduling, clean up, report.
  const std::atomic<int>* cancel = nullptr;
};

/// One way a response broke a rule. `check` is a stable id:
/// transport, size, max-time, redirect, status, undocumented-status, content-type, json,
/// schema, enum, echo, secrets, attribute, state (and cleanup for run-level failures).
struct CheckFailure {
  std::string check;
  std::string pointer;  ///< JSON Pointer into the response body ("" = the root or not applicable)
  std::string expected;
  std::string actual;
  std::string message;  ///< one line a person can act on
};

/// The stable check ids, in the order they are reported.
const std::vector<std::string>& check_ids();

/// One request of a case as sent and what came back.
struct StepResult {
  std::size_t index = 0;
  std::string method;
  std::string url;
  std::string auth;  ///< the auth variant's name
  int status = -1;   ///< -1: no response
  double duration_ms = 0;
  std::vector<std::string> retries;  ///< one line per retry ("attempt 2 after 503, waited 250 ms")
  std::vector<CheckFailure> failures;
  std::string curl;        ///< a command that reproduces the request (secrets replaced)
  std::string created_id;  ///< the id a 2xx answer carried, if any
};

enum class Outcome { kPassed, kFailed, kSkipped };
std::string_view to_string(Outcome outcome);

/// The result of one case.
struct CaseResult {
  std::string id;
  std::string description;
  std::vector<std::string> tags;
  std::string unsettled;
  Outcome outcome = Outcome::kPassed;
  std::string skip_reason;
  std::vector<StepResult> steps;
  double duration_ms = 0;
  std::size_t retries() const;
  /// Every failure of every step (a copy).
  std::vector<CheckFailure> failures() const;
};

/// An endpoint the run created and did not (or could not) delete.
struct LeftoverEndpoint {
  std::string subscriber;
  std::string id;
  std::string reason;
};

/// What cleanup did.
struct CleanupReport {
  bool kept = false;                        ///< --keep: nothing deleted
  std::size_t created = 0;                  ///< endpoints the run saw created
  std::size_t deleted = 0;                  ///< deleted (204, or already gone: 404)
  std::vector<LeftoverEndpoint> leftovers;  ///< not deleted (or kept), each with why
  std::vector<std::string> notes;           ///< e.g. a list call that failed, so nothing was verified
};

/// Everything a run found. Strings are already redacted.
struct RunReport {
  std::string tool_version;
  std::string run_id;
  std::string operation_id;
  std::string base_url;
  std::string subscriber;
  bool in_process = false;
  bool insecure = false;
  std::string started_at;  ///< UTC, ISO 8601
  double duration_ms = 0;
  std::vector<CaseResult> cases;
  CleanupReport cleanup;
  int interrupted_by = 0;                    ///< the signal that stopped the run, 0 = none
  std::shared_ptr<const Redactor> redactor;  ///< the run's secrets; writers pass their text through it

  std::size_t passed() const;
  std::size_t failed() const;
  std::size_t skipped() const;
  std::size_t retries() const;
  /// True when cases ran and every one of them failed with a transport error.
  bool unreachable() const;
  /// 0 all passed; 1 any violation or endpoint left behind; 3 unreachable; 128+signal when interrupted.
  int exit_code() const;
};

/// Receives the run's progress (called from worker threads, one call at a time).
class Progress {
 public:
  virtual ~Progress() = default;
  /// Before the first case: how many cases will be reported.
  virtual void on_start(const RunReport& /*header*/, std::size_t /*total*/) {}
  /// After each case (also skipped ones); `done` counts finished cases.
  virtual void on_case(const CaseResult& /*result*/, std::size_t /*done*/, std::size_t /*total*/) {}
  /// When a cancel signal is first noticed.
  virtual void on_interrupt(int /*signal*/) {}
  /// Before cleanup deletes `count` endpoints.
  virtual void on_cleanup(std::size_t /*count*/) {}
};

/// Console progress: a line per finished case, or a "[n/N]" line rewritten in place on a TTY.
class ConsoleProgress : public Progress {
 public:
  ConsoleProgress(std::ostream& out, bool tty) : out_(out), tty_(tty) {}
  void on_start(const RunReport& header, std::size_t total) override;
  void on_case(const CaseResult& result, std::size_t done, std::size_t total) override;
  void on_interrupt(int signal) override;
  void on_cleanup(std::size_t count) override;

 private:
  std::ostream& out_;
  bool tty_;
  std::size_t passed_ = 0;
  std::size_t failed_ = 0;
  std::size_t skipped_ = 0;
};

/// Runs `cases` against `options.target`, checks every response, deletes what was created
/// (unless options.keep), and returns the report. Throws ConfigError before sending anything
/// when an option or a template is unusable; never throws for what the target does.
/// Sets SIGPIPE to ignored if its action is the default (TLS writes to a closed peer raise it).
RunReport run_contract_tests(const Contract& contract, const std::vector<Case>& cases,
                             const RunOptions& options, Progress* progress = nullptr);

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

/// The console summary: counts, retries, time, cleanup, and each failure with its curl line.
void write_summary(const RunReport& report, std::ostream& out);
/// JUnit XML: a testsuite of testcases (classname = operation id, name = case id).
void write_junit(const RunReport& report, std::ostream& out);
/// The JSON report (shape documented in contract-tests/README.md), keys in a stable order.
nlohmann::ordered_json report_to_json(const RunReport& report);
/// report_to_json, indented, through the run's Redactor once more.
void write_json_report(const RunReport& report, std::ostream& out);
/// The --list view: one line per case (id, tags, unsettled reason).
void write_case_list(const std::vector<Case>& cases, std::ostream& out);

}  // namespace sipcontract
