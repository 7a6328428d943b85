// The run: expand the cases, run them on N workers (one HTTP client each), check every
// response, then delete everything the run created and verify that it is gone.
#include "sipcontract/runner.hpp"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "internal.hpp"
#include "sipcontract/json_text.hpp"
#include "sipcontract/random.hpp"

namespace sipcontract {

using detail::BaseUrl;
using detail::Exchange;
using detail::HttpSession;
using detail::OutgoingRequest;
using detail::Secret;
using Clock = std::chrono::steady_clock;

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPassed:
      return "passed";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kSkipped:
      return "skipped";
  }
  return "passed";
}

std::size_t CaseResult::retries() const {
  std::size_t n = 0;
  for (const auto& s : steps) n += s.retries.size();
  return n;
}

std::vector<CheckFailure> CaseResult::failures(Severity severity) const {
  std::vector<CheckFailure> out;
  for (const auto& s : steps)
    for (const auto& f : s.failures)
      if (f.severity == severity) out.push_back(f);
  return out;
}

std::size_t CaseResult::count(Severity severity) const {
  std::size_t n = 0;
  for (const auto& s : steps) n += s.count(severity);
  return n;
}

std::size_t StepResult::count(Severity severity) const {
  return static_cast<std::size_t>(
      std::count_if(failures.begin(), failures.end(),
                    [severity](const CheckFailure& f) { return f.severity == severity; }));
}

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::kFailure:
      return "failure";
    case Severity::kWarning:
      return "warning";
    case Severity::kNote:
      return "note";
  }
  return "failure";
}

namespace {
std::size_t count_outcome(const std::vector<CaseResult>& cases, Outcome o) {
  return static_cast<std::size_t>(
      std::count_if(cases.begin(), cases.end(), [o](const CaseResult& c) { return c.outcome == o; }));
}
}  // namespace

std::size_t RunReport::passed() const { return count_outcome(cases, Outcome::kPassed); }
std::size_t RunReport::failed() const { return count_outcome(cases, Outcome::kFailed); }
std::size_t RunReport::skipped() const { return count_outcome(cases, Outcome::kSkipped); }
std::size_t RunReport::retries() const {
  std::size_t n = 0;
  for (const auto& c : cases) n += c.retries();
  return n;
}

std::size_t RunReport::warnings() const {
  std::size_t n = 0;
  for (const auto& c : cases) n += c.count(Severity::kWarning);
  return n;
}

std::vector<CheckTally> RunReport::tally() const {
  std::map<std::string, CheckTally> by_id;
  for (const auto& c : cases)
    for (const auto& s : c.steps)
      for (const auto& f : s.failures) {
        auto& t = by_id[f.check];
        t.check = f.check;
        (f.severity == Severity::kFailure   ? t.failures
         : f.severity == Severity::kWarning ? t.warnings
                                            : t.notes)++;
      }
  if (!cleanup.kept && (!cleanup.leftovers.empty() || !cleanup.unverified.empty())) {
    auto& t = by_id["cleanup"];
    t.check = "cleanup";
    t.failures += cleanup.leftovers.size() + cleanup.unverified.size();
  }
  std::vector<CheckTally> out;
  for (const auto& id : check_ids())
    if (auto it = by_id.find(id); it != by_id.end()) out.push_back(it->second), by_id.erase(it);
  for (auto& [id, t] : by_id) out.push_back(t);
  return out;
}

bool RunReport::unreachable() const {
  if (diagnosis) return diagnosis.exit_code == 3;
  std::size_t ran = 0;
  for (const auto& c : cases) {
    if (c.outcome == Outcome::kSkipped) continue;
    ++ran;
    for (const auto& s : c.steps) {
      bool transport = std::any_of(s.failures.begin(), s.failures.end(),
                                   [](const CheckFailure& f) { return f.check == "transport"; });
      if (s.status != -1 || !transport) return false;
    }
  }
  return ran > 0;
}

int RunReport::exit_code() const {
  if (interrupted_by != 0) return 128 + interrupted_by;
  if (diagnosis) return diagnosis.exit_code;
  if (unreachable()) return 3;
  const bool left = !cleanup.kept && (!cleanup.leftovers.empty() || !cleanup.unverified.empty());
  return failed() > 0 || left ? 1 : 0;
}

namespace {

// Most strings hold no secret: a scan without a copy settles that.
void redact_in_place(std::string& s, const Redactor& r) {
  if (r.contains_secret(s)) s = r.redact(s);
}

void redact_case(CaseResult& c, const Redactor& r) {
  redact_in_place(c.description, r);
  redact_in_place(c.skip_reason, r);
  redact_in_place(c.reproduce, r);
  for (auto& s : c.steps) {
    redact_in_place(s.url, r);
    redact_in_place(s.curl, r);
    redact_in_place(s.created_id, r);
    redact_in_place(s.response.body, r);
    redact_in_place(s.response.content_type, r);
    for (auto& [name, value] : s.response.headers) redact_in_place(value, r);
    for (auto& n : s.retries) redact_in_place(n, r);
    for (auto& f : s.failures) {
      redact_in_place(f.pointer, r);
      redact_in_place(f.expected, r);
      redact_in_place(f.actual, r);
      redact_in_place(f.message, r);
    }
  }
}

bool cancelled(const RunOptions& o) { return o.cancel && o.cancel->load() != 0; }
bool aborted(const RunOptions& o) { return o.abort && o.abort->load() != 0; }

void validate_options(const RunOptions& o, const BaseUrl& url, const Contract& contract) {
  if (url.scheme == "http" && !url.loopback() && !o.transport.allow_plain_http)
    throw ConfigError("refusing to send credentials over plain HTTP to " + url.host +
                      " (use https, or --allow-plain-http if you mean it)");
  const auto& auth = contract.auth();
  if (o.target.user.empty())
    throw ConfigError("no " + auth.user_title + ": set " + auth.user_env +
                      " (credentials come from the environment)");
  if (o.target.token.empty())
    throw ConfigError("no " + auth.token_title + ": set " + auth.token_env +
                      " (credentials come from the environment)");
  const Resource& resource = contract.main_resource();
  if (o.target.parent.empty())
    throw ConfigError("no " + resource.parent_title + ": --" + resource.parent_option + " ID is required");
  const Operation& create = contract.operation_of_record();
  for (const auto& p : create.path_parameters)
    if (p.name == resource.parent_parameter && p.format == "uuid" && !is_uuid(o.target.parent))
      throw ConfigError("--" + resource.parent_option + " " + o.target.parent + ": not a UUID");
  if (o.jobs == 0 || o.jobs > 256)
    throw ConfigError("-j " + std::to_string(o.jobs) + ": must be between 1 and 256");
  if (o.transport.timeout.count() <= 0) throw ConfigError("--timeout must be positive");
  if (o.transport.max_time.count() <= 0) throw ConfigError("--max-time must be positive");
  if (o.transport.retries < 0 || o.transport.retries > 20)
    throw ConfigError("--retries must be between 0 and 20");
  if (o.transport.max_response_bytes == 0) throw ConfigError("--max-response-bytes must be positive");
  if (!o.transport.ca_file.empty()) {
    if (auto problem = detail::ca_file_problem(o.transport.ca_file))
      throw ConfigError("--ca-file " + o.transport.ca_file + ": " + *problem);
  }
}

/// The start of a response for a report: its status, type, headers and up to kMaxBody bytes of
/// body as valid UTF-8 (the redactor runs on it with the rest of the case).
ResponseExcerpt excerpt_of(const Exchange& ex) {
  ResponseExcerpt out;
  if (ex.failure != Exchange::Failure::kNone && ex.status < 0) return out;
  out.status = ex.status;
  out.content_type = ex.header("Content-Type");
  out.headers = ex.headers;
  out.body_bytes = ex.body.size();
  std::string cut = ex.body.substr(0, ResponseExcerpt::kMaxBody);
  // Valid UTF-8 for every report (an invalid or cut sequence becomes U+FFFD), as JSON text writes it.
  std::string quoted;
  append_json_string(quoted, cut);
  out.body = nlohmann::json::parse(quoted, nullptr, false).get<std::string>();
  return out;
}

/// Shell variables that stand for the secret values of the run's request bodies in reproduction
/// lines: the run's password is SC_PASSWORD; a value built around it is an expression of it
/// ("${SC_SECRET}-mismatch"); any other secret value gets a variable of its own named after its
/// field, which the printed exports set to a fresh random value. No secret value is ever shown.
class ReproVariables {
 public:
  explicit ReproVariables(std::string secret) : secret_(std::move(secret)) {}

  /// The shell text (inside double quotes) that stands for `value` of `field`.
  std::string expression(const std::string& field, const std::string& value) {
    std::lock_guard lock(mutex_);
    if (!secret_.empty() && value.find(secret_) != std::string::npos) {
      std::string out;
      std::size_t at = 0;
      for (std::size_t hit; (hit = value.find(secret_, at)) != std::string::npos; at = hit + secret_.size())
        out += literal(value.substr(at, hit - at)) + "${SC_SECRET}";
      out += literal(value.substr(at));
      used_secret_ = true;
      // The literal parts came from the case file's text around {{password}}: not secret.
      return out;
    }
    auto it = others_.find(value);
    if (it == others_.end()) {
      std::string base = "SC_";
      for (char c : field)
        base +=
            std::isalnum(static_cast<unsigned char>(c)) ? std::toupper(static_cast<unsigned char>(c)) : '_';
      std::string name = base;
      for (int n = 2; taken_.count(name); ++n) name = base + "_" + std::to_string(n);
      taken_.insert(name);
      it = others_.emplace(value, name).first;
    }
    return "${" + it->second + "}";
  }

  /// The export lines for the variables handed out (fresh random values, never the run's).
  std::vector<std::string> exports() const {
    std::lock_guard lock(mutex_);
    const std::string random = "\"$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \\n')\"";
    std::vector<std::string> out;
    if (used_secret_) out.push_back("export SC_SECRET=" + random + "  # any value will do");
    for (const auto& name : taken_) out.push_back("export " + name + "=" + random);
    return out;
  }

 private:
  static std::string literal(std::string_view text) {
    std::string out;
    for (char c : text) {
      if (c == '"' || c == '\\' || c == '$' || c == '`') out += '\\';
      out += c;
    }
    return out;
  }

  std::string secret_;
  mutable std::mutex mutex_;
  bool used_secret_ = false;
  std::map<std::string, std::string> others_;  // value -> variable name
  std::set<std::string> taken_;
};

/// The shared state of one run.
class Run {
 public:
  Run(const Contract& contract, const RunOptions& options, Progress* progress)
      : contract_(contract),
        options_(options),
        progress_(progress),
        url_(BaseUrl::parse(options.target.base_url)),
        resource_(contract.main_resource()) {
    validate_options(options, url_, contract);
    origin_ = url_.origin();
    limits_ = ParseLimits{options.transport.max_response_bytes, options.max_depth};
    if (options.versions) {
      versions_ = *options.versions;
    } else {
      for (const auto& name : Contract::builtin_names())
        if (name != contract.name()) versions_.push_back(&Contract::builtin(name));
    }
    for (auto a : {AuthVariant::kValid, AuthVariant::kNone, AuthVariant::kWrongToken,
                   AuthVariant::kWrongProject, AuthVariant::kMalformedHeader})
      authorization_[static_cast<std::size_t>(a)] = detail::authorization_for(a, options.target);
  }

  RunReport execute(const std::vector<Case>& input) {
    const auto started = Clock::now();
    RunReport report;
    report.tool_version = SIPCONTRACT_RUNNER_VERSION;
    report.run_id = options_.run_id.empty() ? random_hex(5) : options_.run_id;
    report.operation_id = contract_.operation_of_record().id;
    report.contract = contract_.name();
    report.parent_title = resource_.parent_title;
    report.item_title = resource_.title;
    report.base_url = options_.target.base_url;
    report.parent = options_.target.parent;
    report.in_process = options_.target.in_process;
    report.insecure = options_.transport.insecure;
    report.strict = options_.strict;
    report.started_at = detail::utc_now_iso8601();
    report.assumptions = contract_.assumptions();
    report.seed = options_.seed;
    report.max_requests = options_.max_requests;
    report.rate = options_.rate;
    for (const auto& c : input)
      if (std::find(c.tags.begin(), c.tags.end(), "generated") != c.tags.end()) ++report.generated;
    run_id_ = report.run_id;

    // Everything that can go wrong with the configuration goes wrong here, before any request.
    check_cases(input, contract_);
    TemplateContext ctx{report.run_id, options_.target.parent, resource_.parent_option,
                        options_.secret.empty() ? detail::random_secret() : options_.secret, options_.env};
    std::vector<Case> cases;
    cases.reserve(input.size());
    for (const auto& c : input) cases.push_back(expand_case(c, ctx, resource_.parent_parameter));
    repro_ = std::make_unique<ReproVariables>(ctx.secret);

    auto redactor = std::make_shared<Redactor>();
    const auto& t = options_.target;
    run_secrets_.push_back({contract_.auth().token_title, t.token});
    run_secrets_.push_back({"the run's generated secret", ctx.secret});
    for (auto a : {AuthVariant::kValid, AuthVariant::kWrongToken, AuthVariant::kWrongProject}) {
      auto value = detail::authorization_for(a, t);
      run_secrets_.push_back({"Authorization header", *value});
      run_secrets_.push_back({"Authorization header", value->substr(6)});  // the base64 credentials alone
    }
    for (const auto& s : run_secrets_) redactor->add(s.value);
    // Each case's body secrets, made once: the checks of every response of the case read them.
    case_secrets_.reserve(cases.size());
    for (const auto& c : cases) {
      auto& secrets = case_secrets_.emplace_back();
      for (const auto& step : c.steps)
        for (auto& s : detail::body_secrets(step, contract_)) {
          redactor->add(s.value);
          secrets.push_back(std::move(s));
        }
    }
    redactor_ = redactor;
    report.redactor = redactor;

    if (!options_.ledger.empty())
      ledger_ = std::make_unique<detail::LedgerWriter>(options_.ledger, report.run_id, report.base_url, contract_);

    // One client per worker, made here so a TLS or URL problem is a ConfigError, not N failures.
    // The workers are started once and also carry out the cleanup's deletes.
    const std::size_t workers = std::max<std::size_t>(1, std::min(options_.jobs, cases.size()));
    watchdog_ = detail::make_watchdog(options_.abort);
    std::shared_ptr<detail::Pacer> pacer;
    if (options_.rate > 0) pacer = std::make_shared<detail::Pacer>(options_.rate);
    for (std::size_t i = 0; i < workers; ++i) {
      sessions_.push_back(detail::make_session(url_, options_.transport, watchdog_));
      if (pacer) detail::set_pacer(*sessions_.back(), pacer);
    }
    pool_ = std::make_unique<ThreadPool>(workers);

    results_.assign(cases.size(), CaseResult{});
    if (options_.preflight && !cases.empty()) report.diagnosis = preflight();
    if (progress_) progress_->on_start(report, cases.size());
    if (report.diagnosis) {
      for (std::size_t i = 0; i < cases.size(); ++i) {
        auto& r = results_[i];
        r.id = cases[i].id;
        r.description = cases[i].description;
        r.tags = cases[i].tags;
        r.unsettled = cases[i].unsettled;
        r.outcome = Outcome::kSkipped;
        r.skip_reason = "not run: " + report.diagnosis.problem;
        redact_case(r, *redactor_);
      }
    } else {
      pool_->run(workers, [this, &cases](std::size_t w) { work(*sessions_[w], cases); });
    }

    report.cases = std::move(results_);
    report.drift = attribute_drift(report);
    report.requests = requests_.load();
    report.cleanup = cleanup();
    if (ledger_) {
      report.cleanup.ledger = ledger_->path().string();
      if (report.cleanup.clean()) ledger_->complete();
    }
    // Read after cleanup: a signal that arrived while cleaning up still decides the exit code.
    report.interrupted_by = options_.cancel ? options_.cancel->load() : 0;
    report.aborted = aborted(options_);
    for (auto* list : {&report.cleanup.leftovers, &report.cleanup.unverified})
      for (auto& l : *list) redact_in_place(l.reason, *redactor);
    for (auto& n : report.cleanup.notes) redact_in_place(n, *redactor);
    report.reproduce_exports = repro_->exports();
    report.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    return report;
  }

 private:
  /// The other version that explains the most failures, when it explains at least half of them.
  DriftAttribution attribute_drift(const RunReport& report) const {
    DriftAttribution d;
    std::map<std::string, std::size_t> by_version;
    for (const auto& c : report.cases)
      for (const auto& s : c.steps)
        for (const auto& f : s.failures) {
          if (f.severity != Severity::kFailure) continue;
          ++d.failures;
          if (!f.explained_by.empty()) ++by_version[f.explained_by];
        }
    for (const auto& [version, count] : by_version)
      if (count > d.explained) {
        d.version = version;
        d.explained = count;
      }
    if (d.explained == 0 || d.explained * 2 < d.failures) return {};
    d.command = "sipcontract run --contract " + d.version;
    if (!report.in_process)
      d.command += " --base-url " + detail::shell_quote(report.base_url) + " --" + resource_.parent_option + " " +
                   detail::shell_quote(report.parent);
    redact_in_place(d.command, *redactor_);
    return d;
  }

  /// One list request before the cases: a target that cannot be reached, whose TLS does not
  /// verify, or that refuses the run's credentials would fail every case the same way; the run
  /// then says why once and sends nothing else.
  Diagnosis preflight() {
    Diagnosis d;
    const Operation* list = resource_.operation(Role::kList);
    if (!list) return d;
    OutgoingRequest req;
    req.method = list->method;
    req.path =
        url_.prefix + detail::fill_path(list->path, {{resource_.parent_parameter, options_.target.parent}});
    req.authorization = authorization(AuthVariant::kValid);
    req.bounded = true;
    Exchange ex = detail::send(*sessions_[0], req, options_.cancel);
    if (ex.failure == Exchange::Failure::kTransport && ex.nothing_sent) {
      d.detail = ex.failure_detail;
      if (ex.tls_problem) {
        d.problem = "the target's TLS certificate does not verify";
        d.advice = ex.tls_problem_advice;
        d.exit_code = 2;
      } else {
        d.problem = "the target cannot be reached at " + origin_;
        d.advice = "check --base-url and that the server is running and reachable from here";
        d.exit_code = 3;
      }
    } else if (ex.failure == Exchange::Failure::kNone && ex.status == 401) {
      const auto& auth = contract_.auth();
      d.problem = "the target refuses the run's credentials (401 to an authenticated list request)";
      d.detail = list->method + " " + origin_ + req.path + " answered 401";
      d.advice = "check " + auth.user_env + " and " + auth.token_env + " (and the token's scopes)";
      d.exit_code = 2;
    }
    return d;
  }

  void work(HttpSession& session, const std::vector<Case>& cases) {
    while (true) {
      const std::size_t i = next_.fetch_add(1);
      if (i >= cases.size()) return;
      const Case& c = cases[i];
      CaseResult r;
      r.id = c.id;
      r.description = c.description;
      r.tags = c.tags;
      r.unsettled = c.unsettled;
      if (cancelled(options_)) {
        note_interrupt();
        r.outcome = Outcome::kSkipped;
        r.skip_reason = "not run: the run was interrupted";
      } else if (options_.skip_unsettled && !c.unsettled.empty()) {
        r.outcome = Outcome::kSkipped;
        r.skip_reason = "unsettled (--skip-unsettled): " + c.unsettled;
      } else {
        run_case(session, c, case_secrets_[i], r);
      }
      redact_case(r, *redactor_);
      std::lock_guard lock(mutex_);
      results_[i] = std::move(r);
      ++done_;
      if (progress_) progress_->on_case(results_[i], done_, cases.size());
    }
  }

  void note_interrupt() {
    std::lock_guard lock(mutex_);
    if (interrupt_noted_) return;
    interrupt_noted_ = true;
    if (progress_) progress_->on_interrupt(options_.cancel->load());
  }

  const Operation& operation_of(const Step& step) const {
    return step.operation.empty() ? contract_.operation_of_record() : *contract_.operation(step.operation);
  }

  /// The name a create step sends (its body's name field), "" when none.
  std::string name_sent(const nlohmann::json* body) const {
    if (!body || !body->is_object() || resource_.name_field.empty()) return "";
    auto it = body->find(resource_.name_field);
    return it != body->end() && it->is_string() ? it->get<std::string>() : "";
  }

  /// A step with the values earlier steps captured filled in ({{var:NAME}}).
  static Step with_vars(const Step& step, const std::map<std::string, std::string>& vars) {
    if (vars.empty()) return step;
    Step out = step;
    for (auto& [name, value] : out.path_params) value = expand_vars(value, vars);
    for (auto& id : out.expect.listed) id = expand_vars(id, vars);
    for (auto& id : out.expect.unlisted) id = expand_vars(id, vars);
    if (out.raw_body) out.raw_body = expand_vars(*out.raw_body, vars);
    if (out.body) {
      std::function<void(nlohmann::json&)> fill = [&](nlohmann::json& v) {
        if (v.is_string()) {
          auto& text = v.get_ref<std::string&>();
          if (text.find("{{var:") != std::string::npos) text = expand_vars(text, vars);
        } else if (v.is_structured()) {
          for (auto& child : v) fill(child);
        }
      };
      fill(*out.body);
    }
    return out;
  }

  void run_case(HttpSession& session, const Case& c, const std::vector<Secret>& secrets, CaseResult& r) {
    const auto started = Clock::now();
    bool failed = false;
    std::size_t steps_sent = 0;  // for the reproduction lines
    std::vector<Step> filled;    // each step as sent, with the captured values in it
    filled.reserve(c.steps.size());
    std::map<std::string, std::string> vars;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      if (i > 0 && cancelled(options_)) {
        note_interrupt();
        if (!failed) {
          r.outcome = Outcome::kSkipped;
          r.skip_reason =
              "interrupted after step " + std::to_string(i) + " of " + std::to_string(c.steps.size());
        }
        break;
      }
      if (!spend()) {
        if (!failed) {
          r.outcome = Outcome::kSkipped;
          r.skip_reason = "not run: --max-requests " + std::to_string(options_.max_requests) +
                          " spent (after step " + std::to_string(i) + " of " + std::to_string(c.steps.size()) + ")";
        }
        break;
      }
      const Operation& op = operation_of(c.steps[i]);
      const Step& step = filled.emplace_back(with_vars(c.steps[i], vars));
      OutgoingRequest req = request_for(step, op);
      req.bounded = true;

      const auto parent_it = step.path_params.find(resource_.parent_parameter);
      const std::string parent = parent_it == step.path_params.end() ? std::string() : parent_it->second;
      const bool creates = op.role == Role::kCreate;
      const std::string name = creates ? name_sent(step.body ? &*step.body : nullptr) : "";
      if (creates && ledger_) ledger_->sending(parent, name, c.id);
      Exchange ex = detail::send(session, req, options_.cancel);
      ++steps_sent;

      StepResult sr;
      sr.index = i;
      sr.operation = op.name;
      sr.method = req.method;
      sr.url = origin_ + req.path;
      sr.auth = std::string(to_string(step.auth));
      sr.status = ex.status;
      sr.duration_ms = ex.elapsed_ms;
      sr.retries = ex.retries;
      // Parsed once, for the id and for every check that reads the body; an answer whose checks
      // need only the schema's verdict gets it from the bytes (Schema::check), with no document.
      std::optional<Parsed> parsed;
      bool known_valid = false;
      const bool document = detail::needs_document(step, ex.status) || !step.capture.empty();
      if (ex.failure == Exchange::Failure::kNone && !ex.body.empty() && !document) {
        const ResponseSpec* response = op.response(ex.status);
        known_valid =
            response && response->schema && response->schema->check(ex.body, limits_) == Verdict::kValid;
      }
      if (!known_valid)
        parsed = detail::parse_body(ex, options_.transport.max_response_bytes, options_.max_depth);
      if (creates) {
        sr.created_id = detail::member_text(ex, parsed, "/" + pointer_escape(resource_.id_field));
        record_sent(parent, name, sr.created_id, c.id, ex);
      }

      detail::CheckInput in;
      in.contract = &contract_;
      in.operation = &op;
      in.resource = &contract_.resources().at(op.resource);
      in.step = &step;
      in.sent = step.body ? &*step.body : nullptr;
      in.secrets = &run_secrets_;
      in.case_secrets = &secrets;
      in.redactor = redactor_.get();
      in.max_time = options_.transport.max_time;
      in.max_bytes = options_.transport.max_response_bytes;
      in.max_depth = options_.max_depth;
      sr.failures = detail::check_exchange(in, ex, parsed, known_valid);
      if (op.role == Role::kList && (!step.expect.listed.empty() || !step.expect.unlisted.empty()) &&
          ex.failure == Exchange::Failure::kNone && ex.status >= 200 && ex.status < 300 && parsed && *parsed) {
        auto more = check_listing(session, **parsed, step, *in.resource);
        sr.failures.insert(sr.failures.end(), more.begin(), more.end());
      }
      // What a create or an update reports must read back the same.
      const Operation* get = in.resource->operation(Role::kGet);
      const bool writes = op.role == Role::kCreate || op.role == Role::kUpdate;
      if (writes && get && ex.failure == Exchange::Failure::kNone && ex.status >= 200 && ex.status < 300 &&
          parsed && *parsed && (*parsed)->is_object()) {
        std::string id = op.role == Role::kCreate
                             ? sr.created_id
                             : detail::member_text(ex, parsed, "/" + pointer_escape(in.resource->id_field));
        auto id_param = step.path_params.find(in.resource->id_parameter);
        if (id.empty() && id_param != step.path_params.end()) id = id_param->second;
        if (!id.empty() && spend()) {
          auto more = read_back(session, *get, *in.resource, parent, id, **parsed, ex.body, in);
          sr.failures.insert(sr.failures.end(), more.begin(), more.end());
        }
      }
      // Captures for later steps: a value that is not there stops the case.
      bool capture_missing = false;
      for (const auto& [var, pointer] : step.capture) {
        std::string value = detail::member_text(ex, parsed, pointer);
        if (value.empty()) {
          capture_missing = true;
          sr.failures.push_back({"capture", pointer, "a value at " + pointer, "(absent)",
                                 "the answer has no value at " + pointer + " to capture as " + var +
                                     ", which a later step needs"});
        } else {
          vars[var] = value;
        }
      }
      if (options_.strict)
        for (auto& f : sr.failures)
          if (f.severity == Severity::kWarning) f.severity = Severity::kFailure;
      if (!versions_.empty())
        detail::explain_failures(contract_, op, step, ex, parsed, versions_, options_.transport.max_response_bytes,
                                 options_.max_depth, sr.failures);
      const bool step_failed = sr.count(Severity::kFailure) > 0;
      if (step_failed || sr.count(Severity::kWarning) > 0) sr.response = excerpt_of(ex);
      if (step_failed) {
        failed = true;
        sr.curl = curl_for(req, step);
      }
      r.steps.push_back(std::move(sr));
      if (capture_missing) break;
    }
    if (failed) {
      r.outcome = Outcome::kFailed;
      r.reproduce = reproduce(c, steps_sent);
    }
    r.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  }

  /// The curl line of one request: credentials and secret body values as shell variables.
  std::string curl_for(const OutgoingRequest& req, const Step& step) {
    return detail::curl_line(url_, req, step.auth, step, contract_, options_.transport,
                             [this](const std::string& field, const std::string& value) {
                               return repro_->expression(field, value);
                             });
  }

  /// The request a step sends, built for the reproduction lines: a value an earlier step captured
  /// is a marker ("@@NAME@@") that reproduce() turns into a shell variable.
  OutgoingRequest repro_request(const Step& step, const Operation& op) const {
    std::map<std::string, std::string> markers;
    auto mark = [&markers](std::string_view text) {
      for (auto at = text.find("{{var:"); at != std::string_view::npos; at = text.find("{{var:", at + 1)) {
        auto close = text.find("}}", at);
        if (close == std::string_view::npos) break;
        std::string name(text.substr(at + 6, close - at - 6));
        markers[name] = "@@" + name + "@@";
      }
    };
    for (const auto& [name, value] : step.path_params) mark(value);
    if (step.body) mark(step.body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (step.raw_body) mark(*step.raw_body);
    return request_for(with_vars(step, markers), op);
  }

  /// The request `step` (its values filled in) sends to `op`.
  OutgoingRequest request_for(const Step& step, const Operation& op) const {
    OutgoingRequest req;
    req.method = op.method;
    req.path = url_.prefix + detail::fill_path(op.path, step.path_params);
    req.authorization = authorization(step.auth);
    if (step.body)
      req.body = step.body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    else if (step.raw_body)
      req.body = *step.raw_body;
    req.content_type = step.content_type;
    return req;
  }

  /// Shell lines that replay a case's steps in order (a value an earlier step captured is taken
  /// from that step's answer) and then delete what its creates made.
  std::string reproduce(const Case& c, std::size_t steps_sent) {
    std::string out =
        "# " + c.id + ": " + std::to_string(steps_sent) + (steps_sent == 1 ? " request" : " requests");
    if (options_.target.in_process)
      out += " (the in-process server is gone: point them at `sipcontract serve` to replay)";
    out += "\n";
    const Operation* del = resource_.operation(Role::kDelete);
    const auto& auth = contract_.auth();
    const std::string credentials = " -u \"$" + auth.user_env + ":$" + auth.token_env + "\"";
    // The value of a top-level member of an answer ("id"), as sed finds it in the printed answer.
    auto member = [](const std::string& answer, const std::string& key) {
      return "$(printf '%s' \"$" + answer + "\" | sed -n 's/.*\"" + key +
             "\" *: *\"\\{0,1\\}\\([^\",}]*\\)\"\\{0,1\\}.*/\\1/p' | head -n 1)";
    };
    std::string undo;
    for (std::size_t i = 0; i < steps_sent; ++i) {
      const Step& step = c.steps[i];
      const Operation& op = operation_of(step);
      std::string line = curl_for(repro_request(step, op), step);
      for (auto at = line.find("@@"); at != std::string::npos; at = line.find("@@", at)) {
        auto close = line.find("@@", at + 2);
        if (close == std::string::npos) break;
        const std::string name = line.substr(at + 2, close - at - 2);
        const std::string shell = "'\"${v_" + name + "}\"'";
        line.replace(at, close + 2 - at, shell);
        at += shell.size();
      }
      for (auto at = line.find("%40%40"); at != std::string::npos; at = line.find("%40%40", at)) {
        auto close = line.find("%40%40", at + 6);
        if (close == std::string::npos) break;
        const std::string name = line.substr(at + 6, close - at - 6);
        const std::string shell = "'\"${v_" + name + "}\"'";
        line.replace(at, close + 6 - at, shell);
        at += shell.size();
      }
      const std::string var = "r" + std::to_string(i + 1);
      out += var + "=$(" + line + "); printf '%s\\n' \"$" + var + "\"\n";
      for (const auto& [name, pointer] : step.capture)
        out += "v_" + name + "=" + member(var, pointer.substr(pointer.rfind('/') + 1)) + "\n";
      if (!del || op.role != Role::kCreate) continue;
      const std::string id = "id" + std::to_string(i + 1);
      // The id is only known when the lines run: a marker in the path, quoted, then swapped for it.
      std::string del_url = detail::shell_quote(
          origin_ + url_.prefix +
          detail::fill_path(del->path,
                            {{resource_.parent_parameter, step.path_params.at(resource_.parent_parameter)},
                             {resource_.id_parameter, "@ID@"}}));
      del_url.replace(del_url.find("%40ID%40"), 8, "'\"$" + id + "\"'");
      undo += id + "=" + member(var, resource_.id_field) + "; [ -z \"$" + id + "\" ] || curl -sS -X " +
              del->method + " " + del_url + credentials + (options_.transport.insecure ? " --insecure" : "") +
              (options_.transport.ca_file.empty()
                   ? ""
                   : " --cacert " + detail::shell_quote(options_.transport.ca_file)) +
              "  # undo what the create made\n";
    }
    return out + undo;
  }

  /// Takes one request from the --max-requests budget; false when it is spent.
  bool spend() {
    const std::size_t n = requests_.fetch_add(1) + 1;
    if (options_.max_requests == 0 || n <= options_.max_requests) return true;
    requests_.fetch_sub(1);
    return false;
  }

  /// The "state" check of a list step's "listed" and "unlisted" ids: the ids of every page, the
  /// first one already answered, the others through links.next on the target's origin.
  std::vector<CheckFailure> check_listing(HttpSession& session, const nlohmann::json& first, const Step& step,
                                          const Resource& resource) {
    std::vector<CheckFailure> out;
    const PageSpec& pages = resource.pages;
    std::set<std::string> ids;
    const nlohmann::json* page = &first;
    std::optional<Parsed> next_page;
    std::set<std::string> seen;
    std::string problem;
    for (int n = 0;; ++n) {
      if (!page->is_object() || !page->contains(pages.items) || !(*page)[pages.items].is_array()) {
        problem = "a page of the list has no \"" + pages.items + "\" array";
        break;
      }
      for (const auto& item : (*page)[pages.items])
        if (item.is_object() && item.contains(resource.id_field) && item[resource.id_field].is_string())
          ids.insert(item[resource.id_field].get<std::string>());
      std::string next;
      if (auto links = page->find(pages.links); links != page->end() && links->is_object())
        if (auto it = links->find("next"); it != links->end() && it->is_string()) next = it->get<std::string>();
      if (next.empty()) break;
      if (next.rfind(origin_ + "/", 0) == 0) next = next.substr(origin_.size());
      if (next.empty() || next[0] != '/' || next.rfind(url_.prefix, 0) != 0 || n >= 1000 ||
          !seen.insert(next).second) {
        problem = "the list's next link cannot be followed (" + next.substr(0, 200) + ")";
        break;
      }
      if (!spend()) {
        problem = "--max-requests spent before the list's last page";
        break;
      }
      OutgoingRequest req;
      req.method = "GET";
      req.path = next;
      req.authorization = authorization(AuthVariant::kValid);
      req.bounded = true;
      Exchange ex = detail::send(session, req, options_.cancel);
      if (ex.failure != Exchange::Failure::kNone || ex.status != 200) {
        problem = "a later page of the list answered " +
                  (ex.failure != Exchange::Failure::kNone ? ex.failure_detail : std::to_string(ex.status));
        break;
      }
      next_page.emplace(parse_json(ex.body, limits_));
      if (!*next_page) {
        problem = "a later page of the list is not JSON";
        break;
      }
      page = &**next_page;
    }
    if (!problem.empty()) {
      out.push_back({"state", "", "every page of the list", "(incomplete)",
                     "the listed/unlisted check could not read the whole list: " + problem, Severity::kWarning});
      return out;
    }
    for (const auto& id : step.expect.listed)
      if (!ids.count(id))
        out.push_back({"state", "/" + pages.items, "an item with " + resource.id_field + " " + id, "(not listed)",
                       "the list does not show " + id + ", which this case created and did not delete"});
    for (const auto& id : step.expect.unlisted)
      if (ids.count(id))
        out.push_back({"state", "/" + pages.items, "no item with " + resource.id_field + " " + id, "(listed)",
                       "the list still shows " + id + ", which this case deleted (it answered the delete with a 2xx)"});
    return out;
  }

  /// The "state" check: GET the item an answer reported and compare it with that answer.
  std::vector<CheckFailure> read_back(HttpSession& session, const Operation& get, const Resource& resource,
                                      const std::string& parent, const std::string& id,
                                      const nlohmann::json& reported, const std::string& reported_body,
                                      const detail::CheckInput& in) {
    OutgoingRequest req;
    req.method = get.method;
    req.path = url_.prefix + detail::fill_path(get.path, {{resource.parent_parameter, parent},
                                                          {resource.id_parameter, id}});
    req.authorization = authorization(AuthVariant::kValid);
    req.bounded = true;
    Exchange ex = detail::send(session, req, options_.cancel);
    // A server that reads back exactly what it answered (the usual case) sends the same bytes:
    // that body is the earlier answer's document, already parsed, and agrees with it field by field.
    const bool same = ex.failure == Exchange::Failure::kNone && ex.body == reported_body;
    std::optional<Parsed> parsed;
    if (!same) parsed = detail::parse_body(ex, options_.transport.max_response_bytes, options_.max_depth);
    return detail::check_state(in, ex, parsed, reported, same, get);
  }

  const std::optional<std::string>& authorization(AuthVariant a) const {
    return authorization_[static_cast<std::size_t>(a)];
  }

  /// Records what a create may have made. Every parent a create went to is swept at cleanup; it
  /// is "at risk" unless the create was refused with a complete 4xx (or never reached the server).
  /// A create at risk whose answer carried no id is kept by the name it sent.
  void record_sent(const std::string& parent, const std::string& name, const std::string& id,
                   const std::string& case_id, const Exchange& ex) {
    const bool refused = ex.failure == Exchange::Failure::kNone && ex.status >= 400 && ex.status < 500;
    const bool at_risk = !refused && !ex.nothing_sent;
    std::lock_guard lock(mutex_);
    auto& risk = plan_.parents[parent];
    risk = risk || at_risk;
    if (!id.empty()) {
      plan_.entries.push_back({parent, id, name, "created by case " + case_id});
      if (ledger_) ledger_->created(parent, id, name);
    } else if (at_risk && !name.empty()) {
      plan_.entries.push_back({parent, "", name, "sent by case " + case_id});
    }
  }

  CleanupReport cleanup() {
    plan_.run_id = run_id_;
    detail::CleanupContext context;
    context.contract = &contract_;
    context.resource = &resource_;
    context.url = &url_;
    context.sessions = &sessions_;
    context.pool = pool_.get();
    context.authorization = &authorization(AuthVariant::kValid);
    context.limits = limits_;
    context.abort = options_.abort;
    context.ledger = ledger_.get();
    context.progress = progress_;
    return detail::clean_up(context, plan_, options_.keep);
  }

  const Contract& contract_;
  const RunOptions& options_;
  Progress* progress_;
  BaseUrl url_;
  const Resource& resource_;  // the resource of the operation of record: its parent, name and cleanup
  std::string origin_;
  ParseLimits limits_;  // what a response body may be (parse_body's limits)
  std::vector<const Contract*> versions_;  // the other versions failures are compared with
  std::array<std::optional<std::string>, 5> authorization_;  // by AuthVariant
  std::string run_id_;
  std::vector<Secret> run_secrets_;
  std::vector<std::vector<Secret>> case_secrets_;  // by case index: its bodies' secrets
  std::shared_ptr<const Redactor> redactor_;
  std::unique_ptr<ReproVariables> repro_;
  std::unique_ptr<detail::LedgerWriter> ledger_;
  std::shared_ptr<detail::Watchdog> watchdog_;
  std::vector<detail::SessionPtr> sessions_;
  std::unique_ptr<ThreadPool> pool_;  // after sessions_: its threads stop before the sessions go

  std::mutex mutex_;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> requests_{0};  // sent for the cases (--max-requests)
  std::size_t done_ = 0;
  bool interrupt_noted_ = false;
  std::vector<CaseResult> results_;
  detail::CleanupPlan plan_;
};

}  // namespace

RunReport run_contract_tests(const Contract& contract, const std::vector<Case>& cases,
                             const RunOptions& options, Progress* progress) {
  Run run(contract, options, progress);
  return run.execute(cases);
}

}  // namespace sipcontract
