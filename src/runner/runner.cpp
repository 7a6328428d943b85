// The run: expand the cases, run them on N workers (one HTTP client each), check every
// response, then delete everything the run created and verify that it is gone.
#include "sipcontract/runner.hpp"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "internal.hpp"

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

std::vector<CheckFailure> CaseResult::failures() const {
  std::vector<CheckFailure> out;
  for (const auto& s : steps) out.insert(out.end(), s.failures.begin(), s.failures.end());
  return out;
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

bool RunReport::unreachable() const {
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
  if (unreachable()) return 3;
  bool left = !cleanup.kept && !cleanup.leftovers.empty();
  return failed() > 0 || left ? 1 : 0;
}

namespace {

/// An endpoint a create answer reported.
struct Created {
  std::string subscriber;
  std::string id;
  std::string case_id;
};

/// What the manifest says about the operation and its siblings.
struct Operation {
  std::string id;
  std::string method = "POST";
  std::string path;
  std::string delete_path;  // "" when the manifest names no delete sibling
  std::string list_path;    // "" when the manifest names no list sibling
  std::string get_path;     // "" when the manifest names no get sibling
  std::string get_schema;   // the get sibling's body schema ("" = none named)
  int get_status = 200;
};

Operation read_operation(const Contract& contract) {
  const auto& m = contract.manifest();
  Operation op;
  auto str = [](const nlohmann::json& obj, const char* key) -> std::string {
    if (obj.is_object() && obj.contains(key) && obj[key].is_string()) return obj[key].get<std::string>();
    return "";
  };
  const nlohmann::json empty = nlohmann::json::object();
  const auto& operation = m.contains("operation") ? m["operation"] : empty;
  op.id = str(operation, "id");
  if (auto method = str(operation, "method"); !method.empty()) op.method = method;
  op.path = str(operation, "path");
  if (op.path.empty()) throw ConfigError("the manifest names no operation path (operation.path)");
  const auto& siblings = m.contains("siblings") ? m["siblings"] : empty;
  if (siblings.is_object()) {
    if (siblings.contains("delete")) op.delete_path = str(siblings["delete"], "path");
    if (siblings.contains("list")) op.list_path = str(siblings["list"], "path");
    if (siblings.contains("get")) {
      const auto& get = siblings["get"];
      op.get_path = str(get, "path");
      op.get_schema = str(get, "schema");
      if (get.is_object() && get.contains("status") && get["status"].is_number_integer())
        op.get_status = get["status"].get<int>();
    }
  }
  return op;
}

// Most strings hold no secret: a scan without a copy settles that.
void redact_in_place(std::string& s, const Redactor& r) {
  if (r.contains_secret(s)) s = r.redact(s);
}

void redact_case(CaseResult& c, const Redactor& r) {
  redact_in_place(c.description, r);
  redact_in_place(c.skip_reason, r);
  for (auto& s : c.steps) {
    redact_in_place(s.url, r);
    redact_in_place(s.curl, r);
    redact_in_place(s.created_id, r);
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

void validate_options(const RunOptions& o, const BaseUrl& url) {
  if (url.scheme == "http" && !url.loopback() && !o.transport.allow_plain_http)
    throw ConfigError("refusing to send credentials over plain HTTP to " + url.host +
                      " (use https, or --allow-plain-http if you mean it)");
  if (o.target.project_id.empty())
    throw ConfigError("no Project ID: set SIGNALWIRE_PROJECT_ID (credentials come from the environment)");
  if (o.target.api_token.empty())
    throw ConfigError("no API token: set SIGNALWIRE_API_TOKEN (credentials come from the environment)");
  if (o.target.subscriber.empty())
    throw ConfigError("no subscriber: --subscriber UUID is required with --base-url");
  if (!detail::is_uuid(o.target.subscriber))
    throw ConfigError("--subscriber " + o.target.subscriber + ": not a UUID");
  if (o.jobs == 0 || o.jobs > 256)
    throw ConfigError("-j " + std::to_string(o.jobs) + ": must be between 1 and 256");
  if (o.transport.timeout.count() <= 0) throw ConfigError("--timeout must be positive");
  if (o.transport.max_time.count() <= 0) throw ConfigError("--max-time must be positive");
  if (o.transport.retries < 0 || o.transport.retries > 20)
    throw ConfigError("--retries must be between 0 and 20");
  if (o.transport.max_response_bytes == 0) throw ConfigError("--max-response-bytes must be positive");
  if (!o.transport.ca_file.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(o.transport.ca_file, ec))
      throw ConfigError("--ca-file " + o.transport.ca_file + ": not a readable file");
  }
}

/// The run's worker threads, started once and used for every phase (the cases, then each round
/// of deletes): a phase hands its function to the first n workers and waits for them. Workers
/// sleep on a condition variable between phases only; within a phase they take work from an
/// atomic counter and never wait on each other.
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t size) {
    threads_.reserve(size);
    for (std::size_t w = 0; w < size; ++w) threads_.emplace_back([this, w] { loop(w); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs fn(w) on workers 0..n-1 (n is capped at size()) and returns when all have returned.
  void run(std::size_t n, const std::function<void(std::size_t)>& fn) {
    n = std::min(n, threads_.size());
    if (n == 0) return;
    std::unique_lock lock(mutex_);
    fn_ = &fn;
    active_ = n;
    running_ = n;
    ++generation_;
    start_.notify_all();
    done_.wait(lock, [this] { return running_ == 0; });
    fn_ = nullptr;
  }

 private:
  void loop(std::size_t w) {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    while (true) {
      start_.wait(lock, [&] { return quit_ || generation_ != seen; });
      if (quit_) return;
      seen = generation_;
      if (w >= active_) continue;
      const auto* fn = fn_;
      lock.unlock();
      (*fn)(w);
      lock.lock();
      if (--running_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable start_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* fn_ = nullptr;
  std::uint64_t generation_ = 0;
  std::size_t active_ = 0;
  std::size_t running_ = 0;
  bool quit_ = false;
};

/// The shared state of one run.
class Run {
 public:
  Run(const Contract& contract, const RunOptions& options, Progress* progress)
      : contract_(contract),
        options_(options),
        progress_(progress),
        url_(BaseUrl::parse(options.target.base_url)) {
    validate_options(options, url_);
    op_ = read_operation(contract);
    origin_ = url_.origin();
    limits_ = ParseLimits{options.transport.max_response_bytes, options.max_depth};
    content_types_ = detail::response_content_types(contract);
    for (auto a : {AuthVariant::kValid, AuthVariant::kNone, AuthVariant::kWrongToken,
                   AuthVariant::kWrongProject, AuthVariant::kMalformedHeader})
      authorization_[static_cast<std::size_t>(a)] = detail::authorization_for(a, options.target);
  }

  RunReport execute(const std::vector<Case>& input) {
    const auto started = Clock::now();
    RunReport report;
    report.tool_version = SIPCONTRACT_RUNNER_VERSION;
    report.run_id = options_.run_id.empty() ? detail::random_hex(10) : options_.run_id;
    report.operation_id = op_.id;
    report.base_url = options_.target.base_url;
    report.subscriber = options_.target.subscriber;
    report.in_process = options_.target.in_process;
    report.insecure = options_.transport.insecure;
    report.started_at = detail::utc_now_iso8601();
    run_id_ = report.run_id;

    // Everything that can go wrong with the configuration goes wrong here, before any request.
    TemplateContext ctx{report.run_id, options_.target.subscriber,
                        options_.password.empty() ? detail::random_password() : options_.password,
                        options_.env};
    std::vector<Case> cases;
    cases.reserve(input.size());
    for (const auto& c : input) cases.push_back(expand_case(c, ctx));

    auto redactor = std::make_shared<Redactor>();
    const auto& t = options_.target;
    run_secrets_.push_back({"API token", t.api_token});
    run_secrets_.push_back({"password", ctx.password});
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

    // One client per worker, made here so a TLS or URL problem is a ConfigError, not N failures.
    // The workers are started once and also carry out the cleanup's deletes.
    const std::size_t workers = std::max<std::size_t>(1, std::min(options_.jobs, cases.size()));
    auto watchdog = detail::make_watchdog();
    for (std::size_t i = 0; i < workers; ++i)
      sessions_.push_back(detail::make_session(url_, options_.transport, watchdog));
    pool_ = std::make_unique<WorkerPool>(workers);

    results_.assign(cases.size(), CaseResult{});
    if (progress_) progress_->on_start(report, cases.size());
    pool_->run(workers, [this, &cases](std::size_t w) { work(*sessions_[w], cases); });

    report.cases = std::move(results_);
    report.cleanup = cleanup();
    // Read after cleanup: a signal that arrived while cleaning up still decides the exit code.
    report.interrupted_by = options_.cancel ? options_.cancel->load() : 0;
    for (auto& l : report.cleanup.leftovers) redact_in_place(l.reason, *redactor);
    for (auto& n : report.cleanup.notes) redact_in_place(n, *redactor);
    report.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    return report;
  }

 private:
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

  void run_case(HttpSession& session, const Case& c, const std::vector<Secret>& secrets, CaseResult& r) {
    const auto started = Clock::now();
    bool failed = false;
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
      const Step& step = c.steps[i];
      OutgoingRequest req;
      req.method = op_.method;
      req.path = url_.prefix + detail::fill_path(op_.path, step.path_params);
      req.authorization = authorization(step.auth);
      if (step.body)
        req.body = step.body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      else if (step.raw_body)
        req.body = *step.raw_body;
      req.content_type = step.content_type;
      req.bounded = true;

      Exchange ex = detail::send(session, req, options_.cancel);

      StepResult sr;
      sr.index = i;
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
      if (ex.failure == Exchange::Failure::kNone && !ex.body.empty() &&
          !detail::needs_document(step, ex.status)) {
        const Schema* schema = contract_.response_schema(ex.status);
        known_valid = schema && schema->check(ex.body, limits_) == Verdict::kValid;
      }
      if (!known_valid)
        parsed = detail::parse_body(ex, options_.transport.max_response_bytes, options_.max_depth);
      sr.created_id = detail::created_id(ex, parsed);
      // A subscriber is swept at cleanup when a create there may have succeeded: a 2xx, or no
      // (complete) answer to a request that reached the server.
      bool maybe_created = (ex.status >= 200 && ex.status < 300) || (ex.status == -1 && !ex.nothing_sent);
      record_created(step, sr.created_id, c.id, maybe_created);

      detail::CheckInput in;
      in.contract = &contract_;
      in.step = &step;
      in.secrets = &run_secrets_;
      in.case_secrets = &secrets;
      in.redactor = redactor_.get();
      in.max_time = options_.transport.max_time;
      in.max_bytes = options_.transport.max_response_bytes;
      in.max_depth = options_.max_depth;
      in.content_types = &content_types_;
      sr.failures = detail::check_exchange(in, ex, parsed, known_valid);
      if (ex.status == 201 && !sr.created_id.empty() && !op_.get_path.empty()) {
        auto more = read_back(session, step, sr.created_id, **parsed, ex.body, in);
        sr.failures.insert(sr.failures.end(), more.begin(), more.end());
      }
      if (!sr.failures.empty()) {
        failed = true;
        sr.curl = detail::curl_line(url_, req, step.auth, step, contract_, options_.transport);
      }
      r.steps.push_back(std::move(sr));
    }
    if (failed) r.outcome = Outcome::kFailed;
    r.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  }

  /// The "state" check: GET the endpoint a 201 reported and compare it with the 201.
  std::vector<CheckFailure> read_back(HttpSession& session, const Step& step, const std::string& id,
                                      const nlohmann::json& created, const std::string& created_body,
                                      const detail::CheckInput& in) {
    OutgoingRequest req;
    req.method = "GET";
    req.path = url_.prefix +
               detail::fill_path(
                   op_.get_path,
                   {{"fabric_subscriber_id", step.path_params.at("fabric_subscriber_id")}, {"id", id}});
    req.authorization = authorization(AuthVariant::kValid);
    req.bounded = true;
    Exchange ex = detail::send(session, req, options_.cancel);
    // A server that reads back exactly what it answered (the usual case) sends the same bytes:
    // that body is the 201's document, already parsed, and agrees with it field by field.
    const bool same = ex.failure == Exchange::Failure::kNone && ex.body == created_body;
    std::optional<Parsed> parsed;
    if (!same) parsed = detail::parse_body(ex, options_.transport.max_response_bytes, options_.max_depth);
    return detail::check_state(in, ex, parsed, created, same, op_.get_schema, op_.get_status);
  }

  const std::optional<std::string>& authorization(AuthVariant a) const {
    return authorization_[static_cast<std::size_t>(a)];
  }

  void record_created(const Step& step, const std::string& id, const std::string& case_id,
                      bool maybe_created) {
    std::lock_guard lock(mutex_);
    const auto& subscriber = step.path_params.at("fabric_subscriber_id");
    if (maybe_created) subscribers_.insert(subscriber);
    if (!id.empty()) created_.push_back({subscriber, id, case_id});
  }

  /// GETs the subscriber's list (following same-origin "next" links) and returns the ids of
  /// endpoints this run made: an id it saw created, or a username carrying the run id.
  std::optional<std::set<std::string>> list_run_endpoints(HttpSession& session, const std::string& subscriber,
                                                          const std::set<std::string>& known,
                                                          std::string& error) {
    std::set<std::string> found;
    OutgoingRequest req;
    req.method = "GET";
    req.path = url_.prefix + detail::fill_path(op_.list_path, {{"fabric_subscriber_id", subscriber}});
    req.authorization = authorization(AuthVariant::kValid);
    req.bounded = false;
    std::set<std::string> seen_pages;
    for (int page = 0; page < 100; ++page) {
      if (!seen_pages.insert(req.path).second) break;
      auto ex = detail::send(session, req, nullptr);
      if (ex.failure != Exchange::Failure::kNone) {
        error = ex.failure_detail;
        return std::nullopt;
      }
      if (ex.status != 200) {
        error = "the list operation answered " + std::to_string(ex.status);
        return std::nullopt;
      }
      auto parsed =
          parse_json(ex.body, ParseLimits{options_.transport.max_response_bytes, options_.max_depth});
      if (!parsed || !parsed->is_object() || !parsed->contains("data") || !(*parsed)["data"].is_array()) {
        error = "the list operation's body has no \"data\" array";
        return std::nullopt;
      }
      for (const auto& item : (*parsed)["data"]) {
        if (!item.is_object() || !item.contains("id") || !item["id"].is_string()) continue;
        auto id = item["id"].get<std::string>();
        bool ours = known.count(id) > 0;
        if (!ours && item.contains("username") && item["username"].is_string())
          ours = item["username"].get<std::string>().find(run_id_) != std::string::npos;
        if (ours) found.insert(id);
      }
      // Follow "links.next" only on the same origin and prefix, so credentials stay with the target.
      std::string next;
      const auto& doc = *parsed;
      if (doc.contains("links") && doc["links"].is_object() && doc["links"].contains("next") &&
          doc["links"]["next"].is_string())
        next = doc["links"]["next"].get<std::string>();
      if (next.empty()) break;
      const std::string& origin = origin_;
      std::string plain_origin = url_.scheme + "://" + url_.host;
      if (next.rfind(origin, 0) == 0)
        next = next.substr(origin.size());
      else if (next.rfind(plain_origin + "/", 0) == 0)
        next = next.substr(plain_origin.size());
      if (next.empty() || next[0] != '/' || next.rfind(url_.prefix, 0) != 0) break;
      req.path = next;
    }
    return found;
  }

  CleanupReport cleanup() {
    CleanupReport out;
    // (subscriber, id) -> why it is not (yet) known to be gone; "" = deleted.
    std::map<std::pair<std::string, std::string>, std::string> state;
    for (const auto& c : created_) state.emplace(std::make_pair(c.subscriber, c.id), "not deleted yet");
    if (options_.keep) {
      out.kept = true;
      out.created = state.size();
      for (const auto& [key, why] : state) out.leftovers.push_back({key.first, key.second, "kept (--keep)"});
      return out;
    }
    if (op_.delete_path.empty()) {
      out.created = state.size();
      out.notes.push_back("the manifest names no delete operation (siblings.delete): nothing was deleted");
      for (const auto& [key, why] : state)
        out.leftovers.push_back({key.first, key.second, "no delete operation in the manifest"});
      return out;
    }
    if (progress_ && !state.empty()) progress_->on_cleanup(state.size());
    delete_all(state);

    // Verify through the list operation; it also finds endpoints whose create answer was lost
    // (reset, truncated, unreadable) by the run id in their username.
    if (!op_.list_path.empty()) {
      std::set<std::string> subscribers = subscribers_;
      for (const auto& [key, why] : state) subscribers.insert(key.first);
      for (const auto& sub : subscribers) {
        std::set<std::string> known;
        for (const auto& [key, why] : state)
          if (key.first == sub) known.insert(key.second);
        std::string error;
        auto listed = list_run_endpoints(*sessions_[0], sub, known, error);
        if (!listed) {
          // A subscriber the run only sent failing requests to (an unknown one) has no list.
          if (!known.empty())
            out.notes.push_back("could not verify cleanup for subscriber " + sub + ": " + error);
          continue;
        }
        if (listed->empty()) continue;
        // Still listed: never deleted (found by username), a DELETE that failed, or a DELETE
        // that answered success and kept the endpoint. Delete once more, then look again.
        std::map<std::pair<std::string, std::string>, std::string> again;
        std::set<std::pair<std::string, std::string>> claimed_gone;
        for (const auto& id : *listed) {
          auto key = std::make_pair(sub, id);
          auto it = state.find(key);
          if (it != state.end() && it->second.empty()) claimed_gone.insert(key);
          again.emplace(key, "not deleted yet");
        }
        delete_all(again);
        for (const auto& [key, why] : again) state[key] = why;
        for (const auto& id : *listed) known.insert(id);
        auto relisted = list_run_endpoints(*sessions_[0], sub, known, error);
        if (!relisted) {
          out.notes.push_back("could not verify cleanup for subscriber " + sub + ": " + error);
          continue;
        }
        for (const auto& id : *relisted) {
          auto key = std::make_pair(sub, id);
          auto& why = state[key];
          if (claimed_gone.count(key) || why.empty())
            why = "still listed after DELETE answered success";
          else if (why == "not deleted yet")
            why = "still listed";
        }
      }
    }
    out.created = state.size();
    for (const auto& [key, why] : state) {
      if (why.empty())
        ++out.deleted;
      else
        out.leftovers.push_back({key.first, key.second, why});
    }
    return out;
  }

  /// DELETEs every entry on the workers' clients; 204 and 404 both mean gone.
  void delete_all(std::map<std::pair<std::string, std::string>, std::string>& targets) {
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& [key, why] : targets) keys.push_back(key);
    std::atomic<std::size_t> next{0};
    std::mutex m;
    std::function<void(std::size_t)> worker = [&](std::size_t w) {
      HttpSession& session = *sessions_[w];
      while (true) {
        std::size_t i = next.fetch_add(1);
        if (i >= keys.size()) return;
        const auto& [sub, id] = keys[i];
        OutgoingRequest req;
        req.method = "DELETE";
        req.path =
            url_.prefix + detail::fill_path(op_.delete_path, {{"fabric_subscriber_id", sub}, {"id", id}});
        req.authorization = authorization(AuthVariant::kValid);
        req.bounded = false;
        auto ex = detail::send(session, req, nullptr);
        std::string why;
        if (ex.failure != Exchange::Failure::kNone)
          why = "DELETE failed: " + ex.failure_detail;
        else if (!(ex.status >= 200 && ex.status < 300) && ex.status != 404)
          why = "DELETE answered " + std::to_string(ex.status);
        std::lock_guard lock(m);
        targets[keys[i]] = why;
      }
    };
    pool_->run(std::min(sessions_.size(), keys.size()), worker);
  }

  const Contract& contract_;
  const RunOptions& options_;
  Progress* progress_;
  BaseUrl url_;
  std::string origin_;
  ParseLimits limits_;  // what a response body may be (parse_body's limits)
  Operation op_;
  std::map<int, std::string> content_types_;
  std::array<std::optional<std::string>, 5> authorization_;  // by AuthVariant
  std::string run_id_;
  std::vector<Secret> run_secrets_;
  std::vector<std::vector<Secret>> case_secrets_;  // by case index: its bodies' secrets
  std::shared_ptr<const Redactor> redactor_;
  std::vector<detail::SessionPtr> sessions_;
  std::unique_ptr<WorkerPool> pool_;  // after sessions_: its threads stop before the sessions go

  std::mutex mutex_;
  std::atomic<std::size_t> next_{0};
  std::size_t done_ = 0;
  bool interrupt_noted_ = false;
  std::vector<CaseResult> results_;
  std::vector<Created> created_;
  std::set<std::string> subscribers_;
};

}  // namespace

RunReport run_contract_tests(const Contract& contract, const std::vector<Case>& cases,
                             const RunOptions& options, Progress* progress) {
  Run run(contract, options, progress);
  return run.execute(cases);
}

}  // namespace sipcontract
