// sipcontract/runner.hpp: the contract-test runner. Loads cases (fixture requests and
// what must come back), sends them to a target, checks every response against the
// contract, cleans up what it created, and reports (console, JUnit XML, JSON).
//
//   auto cases = sipcontract::builtin_cases();             // or load_cases("contracts/v1/cases")
//   sipcontract::RunOptions opts;
//   opts.target = {"https://SPACE.signalwire.com/api/fabric", parent, user, token};
//   sipcontract::ConsoleProgress progress(std::cout, /*tty=*/false);
//   auto report = sipcontract::run_contract_tests(sipcontract::Contract::builtin(), cases, opts, &progress);
//   sipcontract::write_summary(report, std::cout);
//   return report.exit_code();
//
// A target that breaks the contract, or misbehaves on the wire, is a result value (failures in
// the RunReport); a misuse (unreadable case file, missing environment variable, bad option) is
// a ConfigError thrown before any request is sent. Every text a report holds has passed through
// the run's Redactor: no secret field's value, token or Authorization value reaches any output.
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

#include "sipcontract/contract.hpp"
#include "sipcontract/redactor.hpp"

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
  std::vector<int> statuses;          ///< any of these statuses (usually one) ...
  std::vector<int> status_classes;    ///< ... or any status of these classes (4 for "4xx")
  std::vector<ExpectedError> errors;  ///< checked when the response is the contract's 422
  /// Members of the answer's body that must hold these values (field -> JSON value), checked on
  /// a 2xx: what an update sent, as the update's answer or a later read reports it.
  std::map<std::string, nlohmann::json> fields;
  /// On a list's 2xx: ids (usually {{var:NAME}}) that every page of the list, followed through its
  /// next links, must show ("listed") or must not show ("unlisted"). Check "state".
  std::vector<std::string> listed;
  std::vector<std::string> unlisted;
  /// True when `status` is one of `statuses` or of `status_classes`.
  bool accepts(int status) const;
  /// True when the expectation names a status at all.
  bool has_status() const { return !statuses.empty() || !status_classes.empty(); }
  /// "201", "201 or 422", "4xx or 404".
  std::string status_text() const;
};

/// What a case expects where the contract is silent: checked like an Expectation, but a miss is
/// a warning (an assumption the target need not share), and a failure only with --strict.
struct Assumption {
  std::string because;  ///< the id of the assumption (the manifest's "assumptions" table)
  Expectation expect;   ///< its status (optional) and error items
};

/// One request of a case: an operation of the contract, then the expectation for its answer.
struct Step {
  /// The operation (its manifest key, such as "update", or its id); "" = the operation of record.
  std::string operation;
  AuthVariant auth = AuthVariant::kValid;
  /// Path parameter values by name; the resource's parent parameter defaults to the run's parent.
  std::map<std::string, std::string> path_params;
  std::optional<nlohmann::json> body;   ///< a JSON body ("body" or "body_file")
  std::optional<std::string> raw_body;  ///< a body sent verbatim ("raw_body"), e.g. text that is not JSON
  std::string content_type = "application/json";
  Expectation expect;              ///< what the contract states (a miss fails the case)
  std::vector<Assumption> assume;  ///< what this suite assumes where the contract is silent
  /// Values later steps use as {{var:NAME}}: NAME -> a JSON Pointer into this step's answer body
  /// (a string or number there; a step whose answer lacks it fails, and the case stops).
  std::map<std::string, std::string> capture;
};

/// One contract test: an id, tags, an optional "unsettled" reason, and its ordered steps.
struct Case {
  std::string id;
  std::string description;
  std::vector<std::string> tags;  ///< includes "unsettled" when `unsettled` is set
  std::string unsettled;          ///< why the reference page does not settle the expectation; empty = settled
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

/// The cases that come with `contract` (its cases/ folder).
std::vector<Case> contract_cases(const Contract& contract);
/// The cases of the built-in contract of record (contracts/v1/cases).
std::vector<Case> builtin_cases();

/// Throws ConfigError naming the case and the step when a case does not fit `contract`: an
/// operation it lacks, a path parameter without a value, an assumption it does not list, a
/// {{var:NAME}} no earlier step captures.
void check_cases(const std::vector<Case>& cases, const Contract& contract);

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
/// occurrence), {{parent}} (also under the contract's name for it, e.g. {{subscriber}}),
/// {{secret}} (a secret generated for the run), {{env:NAME}} or {{env:NAME|default}}. A
/// {{var:NAME}} (a value captured by an earlier step) is left for the step that runs.
struct TemplateContext {
  std::string run_id;
  std::string parent;
  std::string parent_alias;  ///< the contract's name for {{parent}} ("subscriber"), or ""
  std::string secret;
  /// Looks up an environment variable; nullopt when unset. Default: ::getenv.
  std::function<std::optional<std::string>(const std::string&)> env;
};

/// Expands the placeholders of one string; `where` names the case and field for errors.
/// Throws ConfigError ("case X: field /f: ...") for an unknown placeholder, an unclosed "{{"
/// or an unset environment variable (naming it).
std::string expand_template(std::string_view text, const TemplateContext& context, const std::string& case_id,
                            const std::string& where);

/// A copy of `c` with every string of its bodies, raw bodies and path parameters expanded
/// (object keys, numbers and other non-strings are left as they are). `parent_parameter` (the
/// contract's) gets {{parent}} where a step names no value for it.
Case expand_case(const Case& c, const TemplateContext& context, const std::string& parent_parameter = {});

/// `text` with each {{var:NAME}} replaced by vars[NAME]; throws ConfigError for a name not in it.
std::string expand_vars(std::string_view text, const std::map<std::string, std::string>& vars);

// ---------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------

// Redactor: sipcontract/redactor.hpp, the one redactor of every module.

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// Where the cases are sent and with which credentials.
struct Target {
  std::string base_url;     ///< e.g. "https://SPACE.signalwire.com/api/fabric"
  std::string parent;       ///< the parent the items are created under ({{parent}})
  std::string user;         ///< Basic auth user (from the contract's auth.user.env)
  std::string token;        ///< Basic auth secret (from the contract's auth.token.env)
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
  bool strict = false;          ///< a broken assumption is a failure, not a warning
  bool preflight = true;        ///< one list request first, to diagnose an unusable target once
  /// Where to append what the run is about to create and has created, so that
  /// `sipcontract cleanup --ledger FILE` can undo a run that was killed; "" = no ledger.
  std::filesystem::path ledger;
  std::size_t max_depth = 256;  ///< JSON nesting accepted in a response (deeper: check "json")
  std::string run_id;           ///< {{run_id}}; empty = 10 random hex digits
  std::string secret;           ///< {{secret}}; empty = a random 24-character secret
  /// Environment lookup for {{env:NAME}}; null = ::getenv.
  std::function<std::optional<std::string>(const std::string&)> env;
  /// At most this many requests a second over the whole run, cleanup included (--rate); 0 = no bound.
  double rate = 0;
  /// At most this many requests for the cases (steps, read-backs, list pages; --max-requests): a
  /// step past it is not sent and its case is skipped; cleanup's own requests are never held back.
  /// 0 = no bound.
  std::size_t max_requests = 0;
  /// Set when generated cases are in the run (--generate): the seed, printed and in every report.
  std::optional<std::uint64_t> seed;
  /// Set (to a signal number) by a signal handler: stop scheduling, clean up, report.
  const std::atomic<int>* cancel = nullptr;
  /// Set (non-zero) by a second signal: cut requests in flight and the cleanup short, and report
  /// what may be left.
  const std::atomic<int>* abort = nullptr;
  /// Drift attribution: the other versions a failure may be explained by (RunReport::drift).
  /// nullopt = every built-in contract but the selected one; empty = none.
  std::optional<std::vector<const Contract*>> versions;
};

/// Which other version of the contract a run's failures point to: the target appears to follow it.
struct DriftAttribution {
  std::string version;        ///< the other version's name ("v2")
  std::size_t explained = 0;  ///< failures it explains
  std::size_t failures = 0;   ///< failures of the run
  std::string command;        ///< the command that runs against that version (the same target)
  explicit operator bool() const { return !version.empty(); }
};

/// How much a finding weighs. A failure breaks what the contract states; a warning breaks an
/// assumption (what this suite expects where the contract is silent: a conforming target may
/// differ); a note says something worth knowing that breaks nothing.
enum class Severity { kFailure, kWarning, kNote };
/// "failure", "warning", "note".
std::string_view to_string(Severity severity);

/// One way a response broke a rule. `check` is a stable id:
/// transport, size, max-time, redirect, status, undocumented-status, content-type, json,
/// schema, enum, echo, secrets, attribute, state (and cleanup for run-level failures).
struct CheckFailure {
  CheckFailure() = default;
  CheckFailure(std::string check_, std::string pointer_, std::string expected_, std::string actual_,
               std::string message_, Severity severity_ = Severity::kFailure, std::string assumption_ = {})
      : check(std::move(check_)),
        pointer(std::move(pointer_)),
        expected(std::move(expected_)),
        actual(std::move(actual_)),
        message(std::move(message_)),
        severity(severity_),
        assumption(std::move(assumption_)) {}
  std::string check;
  std::string pointer;  ///< JSON Pointer into the response body ("" = the root or not applicable)
  std::string expected;
  std::string actual;
  std::string message;  ///< one line a person can act on
  Severity severity = Severity::kFailure;
  std::string assumption;  ///< for a warning (or a failure under --strict): the assumption's id
  /// Another known version of the contract ("v2") that explains this failure: the answer conforms
  /// to that version where it breaks the selected one. The failure stands; reports say so once.
  std::string explained_by;
};

/// The stable check ids, in the order they are reported.
const std::vector<std::string>& check_ids();

/// What a response was, kept for a step with a finding so that a person can see it: the status,
/// the Content-Type, the headers and the start of the body (cut to a bound, secrets redacted).
struct ResponseExcerpt {
  int status = -1;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;            ///< at most kMaxBody bytes of it, valid UTF-8
  std::size_t body_bytes = 0;  ///< the whole body's size
  static constexpr std::size_t kMaxBody = 2048;
  bool present() const { return status >= 0; }
};

/// One request of a case as sent and what came back.
struct StepResult {
  std::size_t index = 0;
  std::string operation;  ///< the contract operation's name ("create", "update", ...)
  std::string method;
  std::string url;
  std::string auth;  ///< the auth variant's name
  int status = -1;   ///< -1: no response
  double duration_ms = 0;
  std::vector<std::string> retries;    ///< one line per retry ("attempt 2 after 503, waited 250 ms")
  std::vector<CheckFailure> failures;  ///< every finding of the step: failures, warnings and notes
  std::string curl;                    ///< a command that reproduces the request (secrets replaced)
  std::string created_id;              ///< the id a 2xx answer carried, if any
  ResponseExcerpt response;            ///< for a step with a failure or warning
  /// How many of `failures` have `severity`.
  std::size_t count(Severity severity) const;
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
  std::string reproduce;  ///< for a failed case: shell lines that replay its steps and undo its creates
  std::size_t retries() const;
  /// Every failure of every step (a copy; only findings of `severity`).
  std::vector<CheckFailure> failures(Severity severity = Severity::kFailure) const;
  /// How many findings of `severity` its steps have.
  std::size_t count(Severity severity) const;
};

/// An item the run created and did not (or could not) delete, or whose fate is unknown.
struct LeftoverItem {
  std::string parent;
  std::string id;    ///< "" when only the name is known (a create whose answer was lost)
  std::string name;  ///< the name the create sent (the resource's name field), when known
  std::string reason;
};

/// What cleanup did, and what it could verify. "Gone" is claimed only for an item that a
/// complete list no longer shows and that reads back as the contract's 404.
struct CleanupReport {
  bool kept = false;        ///< --keep: nothing deleted
  bool verified = true;     ///< every item at risk was seen gone (or listed as left)
  std::string verified_by;  ///< "list", "reading back", "list and reading back", or "" (nothing to verify)
  std::size_t created = 0;  ///< items the run knows it created
  std::size_t deleted = 0;  ///< deleted and verified gone
  std::vector<LeftoverItem> leftovers;   ///< still there after cleanup (or kept), each with why
  std::vector<LeftoverItem> unverified;  ///< may still be there: could not be verified, each with why
  std::vector<std::string> notes;        ///< what else a person should know
  std::string ledger;                    ///< the ledger file the run kept ("" = none)
  std::string parent_title = "parent";   ///< what the contract calls a parent, for messages
  std::string item_title = "item";       ///< and an item
  /// True when nothing may be left: verified, no leftovers, not kept.
  bool clean() const { return !kept && verified && leftovers.empty() && unverified.empty(); }
};

/// A problem found before the cases ran that would make every case fail the same way (the
/// target cannot be reached, TLS does not verify, the credentials are refused). The cases are
/// then not run; the report says why once.
struct Diagnosis {
  std::string problem;  ///< one line; "" when the target looked usable
  std::string detail;   ///< what was seen (the transport error, or the status and body)
  std::string advice;   ///< what to do about it
  int exit_code = 0;    ///< 3 unreachable, 2 configuration (TLS, credentials)
  explicit operator bool() const { return !problem.empty(); }
};

/// How many findings one check id had in a run, by severity.
struct CheckTally {
  std::string check;
  std::size_t failures = 0;
  std::size_t warnings = 0;
  std::size_t notes = 0;
};

/// Everything a run found. Strings are already redacted.
struct RunReport {
  std::string tool_version;
  std::string run_id;
  std::string operation_id;  ///< the operation of record's id
  std::string contract;      ///< the contract's name ("v1")
  std::string parent_title;  ///< what the contract calls the parent ("subscriber")
  std::string item_title;    ///< what the contract calls an item ("Subscriber SIP endpoint")
  std::string base_url;
  std::string parent;
  bool in_process = false;
  bool insecure = false;
  std::string started_at;  ///< UTC, ISO 8601
  double duration_ms = 0;
  std::vector<CaseResult> cases;
  CleanupReport cleanup;
  Diagnosis diagnosis;                             ///< set when the cases were not run (see Diagnosis)
  bool strict = false;                             ///< --strict: assumptions count as failures
  std::map<std::string, std::string> assumptions;  ///< id -> what is assumed (the manifest's table)
  /// Shell lines that set the environment variables the reproduction lines use (no secret value).
  std::vector<std::string> reproduce_exports;
  std::string shard_note;                    ///< set when the selected shard holds no case
  std::optional<std::uint64_t> seed;         ///< the generator's seed, when generated cases ran
  std::size_t generated = 0;                 ///< how many of the cases were generated (tag "generated")
  std::size_t requests = 0;                  ///< requests the cases sent (cleanup aside)
  std::size_t max_requests = 0;              ///< the --max-requests bound (0 = none)
  double rate = 0;                           ///< the --rate bound (0 = none)
  int interrupted_by = 0;                    ///< the signal that stopped the run, 0 = none
  bool aborted = false;                      ///< a second signal cut requests and cleanup short
  std::shared_ptr<const Redactor> redactor;  ///< the run's secrets; writers pass their text through it
  /// Set when another known version explains at least half of the failures (and one at least).
  DriftAttribution drift;

  std::size_t passed() const;
  std::size_t failed() const;
  std::size_t skipped() const;
  std::size_t retries() const;
  std::size_t warnings() const;  ///< findings of severity warning, over every case
  /// Per check id (in check_ids() order), how many failures, warnings and notes; only ids seen.
  std::vector<CheckTally> tally() const;
  /// True when cases ran and every one of them failed with a transport error, or the diagnosis
  /// found the target unreachable.
  bool unreachable() const;
  /// 0 all passed and cleanup verified; 1 any violation, an item left behind or cleanup not
  /// verified; 2 a configuration problem the diagnosis found; 3 unreachable; 128+signal when
  /// interrupted.
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
  /// Before cleanup deletes `count` items.
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
  std::size_t warnings_ = 0;
};

/// Runs `cases` against `options.target`, checks every response, deletes what was created
/// (unless options.keep), and returns the report. Throws ConfigError before sending anything
/// when an option or a template is unusable; never throws for what the target does.
/// Sets SIGPIPE to ignored if its action is the default (TLS writes to a closed peer raise it).
RunReport run_contract_tests(const Contract& contract, const std::vector<Case>& cases,
                             const RunOptions& options, Progress* progress = nullptr);

// ---------------------------------------------------------------------------------------------
// Cleaning up after a run that did not finish
// ---------------------------------------------------------------------------------------------

/// What a ledger file (RunOptions::ledger) says about one run: what it was about to create and
/// what it created, by parent, and whether its own cleanup verified that nothing was left.
struct Ledger {
  std::string run_id;
  std::string base_url;
  std::string operation_id;
  std::string contract;  ///< Contract::reference() of the run's contract ("" in a ledger older than it)
  std::vector<LeftoverItem> entries;  ///< a create sent (name) or made (id and name)
  std::vector<std::string> parents;   ///< every parent a create was sent to
  std::size_t gone = 0;               ///< ids the run verified gone (not in `entries`)
  bool complete = false;              ///< the run's cleanup verified that nothing was left
};

/// Reads a ledger; throws ConfigError naming the file and line when it is not one.
Ledger read_ledger(const std::filesystem::path& path);

/// What `sipcontract cleanup` works on: a target, and what may be left there.
struct CleanupOptions {
  Target target;  ///< base URL and credentials (parent unused)
  TransportOptions transport;
  std::size_t jobs = 4;               ///< DELETEs in flight
  std::string run_id;                 ///< the sweep deletes listed items whose name carries it
  std::vector<LeftoverItem> entries;  ///< known ids and names sent (from a ledger)
  std::vector<std::string> parents;   ///< whose lists are swept
  std::filesystem::path ledger;       ///< records what is verified gone ("" = none)
  const std::atomic<int>* abort = nullptr;
};

/// Deletes and verifies what a run left: every known id, then every listed item whose name
/// carries the run id, with the same verification as a run's own cleanup. Throws ConfigError
/// for an unusable option; never for what the target does.
CleanupReport cleanup_run(const Contract& contract, const CleanupOptions& options,
                          Progress* progress = nullptr);

// ---------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------

/// The console summary: counts, retries, time, cleanup, and each failure with its curl line.
void write_summary(const RunReport& report, std::ostream& out);
/// JUnit XML: a testsuite of testcases (classname = operation id, name = case id).
void write_junit(const RunReport& report, std::ostream& out);
/// The JSON report (shape documented in contracts/README.md), keys in a stable order.
nlohmann::ordered_json report_to_json(const RunReport& report);
/// report_to_json, indented, through the run's Redactor once more.
void write_json_report(const RunReport& report, std::ostream& out);
/// The --list view: one line per case (id, tags, unsettled reason).
void write_case_list(const std::vector<Case>& cases, std::ostream& out);
/// The cleanup part of the summary (what `sipcontract cleanup` prints), ending with its result.
void write_cleanup_summary(const CleanupReport& cleanup, std::ostream& out);

}  // namespace sipcontract
