// `sipcontract run`: the contract-test suite against a target, or against an in-process
// reference server when no --base-url is given. A thin shell over sipcontract/runner.hpp.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "sipcontract/contract.hpp"
#include "sipcontract/generate.hpp"
#include "sipcontract/runner.hpp"
#include "sipcontract/server.hpp"

namespace sipcontract::cli {
namespace {

// Written by the signal handler, read by the run's workers (lock-free, so async-signal-safe).
std::atomic<int> g_run_signal{0};  // the first signal: stop scheduling, clean up, report
std::atomic<int> g_run_abort{0};   // the second: cut requests and cleanup short, report
std::atomic<int> g_signal_count{0};
static_assert(std::atomic<int>::is_always_lock_free);

// The temporary report files being written (see OutputFile), removed by a third signal's exit
// so that it leaves nothing half-made behind; unlink() is async-signal-safe.
constexpr std::size_t kMaxTempPath = 4096;
char g_temp_paths[2][kMaxTempPath] = {};

extern "C" void on_run_signal(int sig) {
  const int n = g_signal_count.fetch_add(1) + 1;
  if (n == 1) {
    g_run_signal.store(sig);
  } else if (n == 2) {
    g_run_abort.store(1);
  } else {
    for (auto& path : g_temp_paths)
      if (path[0]) ::unlink(path);
    static const char kMessage[] = "\nsipcontract run: interrupted a third time: quitting at once\n";
    (void)!::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
    ::_exit(128 + sig);
  }
}

/// Installs SIGINT/SIGTERM handlers for the run: the first signal stops scheduling and cleans
/// up, the second cuts requests in flight and the cleanup short (the reports are still written
/// whole and list what may be left), a third quits at once. Restores the previous handlers.
class SignalScope {
 public:
  SignalScope() {
    struct sigaction sa {};
    sa.sa_handler = on_run_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

struct RunArgs {
  std::string base_url;
  std::string parent;
  std::string cases_dir;
  std::string contract;
  std::size_t jobs = 4;
  std::string shard;
  std::vector<std::string> case_globs;
  std::vector<std::string> tags;
  bool skip_unsettled = false;
  bool list = false;
  double timeout_s = 30;
  double max_time_s = 10;
  int retries = 2;
  std::size_t max_response_bytes = 8u << 20;
  std::string ca_file;
  bool insecure = false;
  bool allow_plain_http = false;
  bool keep = false;
  bool strict = false;
  std::string ledger;
  bool no_ledger = false;
  std::string junit;
  std::string report;
  std::size_t generate = 0;
  std::string seed;
  std::string save_failures;
  double rate = 0;
  std::size_t max_requests = 0;
  std::size_t max_shrinks = 5;
};

std::uint64_t parse_seed(const std::string& text) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    if (text.empty() || text[0] == '-' || text[0] == '+') throw std::invalid_argument("sign");
    v = std::stoull(text, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw ConfigError("--seed " + text + ": expected a number from 0 to 18446744073709551615");
  return v;
}

/// Shrinks the failed generated cases of `report` and writes each as a case file in `dir`.
void save_failures(const Contract& contract, const CaseGenerator& gen, const std::vector<Case>& cases,
                   const RunReport& report, const RunOptions& opts, const std::string& dir,
                   std::size_t max_shrinks) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::size_t shrunk = 0;
  for (const auto& result : report.cases) {
    if (result.outcome != Outcome::kFailed) continue;
    if (std::find(result.tags.begin(), result.tags.end(), "generated") == result.tags.end()) continue;
    if (shrunk == max_shrinks) {
      std::cout << "save-failures: " << max_shrinks
                << " cases shrunk; the other failed generated cases are not\n";
      break;
    }
    auto it = std::find_if(cases.begin(), cases.end(), [&](const Case& c) { return c.id == result.id; });
    if (it == cases.end()) continue;
    const auto failures = result.failures();
    if (failures.empty()) continue;
    const std::string check = failures.front().check;
    const std::string pointer = failures.front().pointer;
    RunOptions probe = opts;
    probe.jobs = 1;
    probe.preflight = false;
    probe.run_id = report.run_id;
    probe.seed.reset();
    auto still_fails = [&](const Case& c) {
      if (g_run_signal.load() != 0) return false;
      auto r = run_contract_tests(contract, {c}, probe, nullptr);
      for (const auto& cr : r.cases)
        for (const auto& f : cr.failures())
          if (f.check == check && f.pointer == pointer) return true;
      return false;
    };
    std::size_t attempts = 0;
    Case small = gen.shrink(*it, still_fails, 200, &attempts);
    const std::filesystem::path file = std::filesystem::path(dir) / (small.id + ".json");
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << case_to_json(small).dump(2) << '\n';
    out.close();
    if (!out) {
      std::cerr << "sipcontract run: --save-failures " << file.string() << ": write failed\n";
      continue;
    }
    std::size_t fields = 0;
    for (const auto& st : small.steps)
      if (st.body && st.body->is_object()) fields += st.body->size();
    std::cout << "shrunk " << result.id << " (check " << check << (pointer.empty() ? "" : " at " + pointer)
              << ") in " << attempts << " runs to " << small.steps.size()
              << (small.steps.size() == 1 ? " step" : " steps") << ", " << fields
              << " body fields: " << file.string() << " (sipcontract run --cases " << dir << ")\n";
    ++shrunk;
  }
}

std::optional<std::string> env(const char* name) { return env_value(name); }

Selection parse_selection(const RunArgs& a) {
  Selection s;
  s.globs = a.case_globs;
  s.tags = a.tags;
  if (!a.shard.empty()) {
    auto slash = a.shard.find('/');
    try {
      if (slash == std::string::npos) throw std::invalid_argument("no slash");
      std::size_t used = 0;
      s.shard_index = std::stoul(a.shard.substr(0, slash), &used);
      if (used != slash) throw std::invalid_argument("trailing");
      auto rest = a.shard.substr(slash + 1);
      s.shard_count = std::stoul(rest, &used);
      if (used != rest.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw ConfigError("--shard " + a.shard + ": expected I/N, e.g. 1/4");
    }
  }
  return s;
}

std::chrono::milliseconds to_ms(double seconds, const char* flag) {
  if (!(seconds > 0) || seconds > 86400)
    throw ConfigError(std::string(flag) + ": must be more than 0 and at most 86400 seconds");
  return std::chrono::milliseconds(std::max<long long>(1, static_cast<long long>(seconds * 1000.0 + 0.5)));
}

/// A report file written whole or not at all: a temporary file beside it is made before the run
/// (so a bad path fails fast, before any request), the report goes there, and a rename puts it
/// in place. A run killed at any moment leaves the previous file (or none), never a cut one.
class OutputFile {
 public:
  OutputFile(std::string path, const char* flag, int slot)
      : path_(std::move(path)), flag_(flag), slot_(slot) {
    temp_ = path_ + ".tmp-" + std::to_string(::getpid());
    if (temp_.size() >= kMaxTempPath) throw ConfigError(flag_ + " " + path_ + ": path too long");
    const int fd = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw ConfigError(flag_ + " " + path_ + ": cannot write there: " + std::strerror(errno));
    ::close(fd);
    std::memcpy(g_temp_paths[slot_], temp_.c_str(), temp_.size() + 1);
  }
  ~OutputFile() {
    g_temp_paths[slot_][0] = '\0';
    if (!committed_) ::unlink(temp_.c_str());
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  /// Writes `text` and renames it into place; an error goes to stderr (the run's verdict stands).
  void commit(const std::string& text) {
    std::ofstream out(temp_, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out || std::rename(temp_.c_str(), path_.c_str()) != 0) {
      std::cerr << "sipcontract run: " << flag_ << " " << path_ << ": write failed: " << std::strerror(errno)
                << '\n';
      return;
    }
    committed_ = true;
  }

 private:
  std::string path_;
  std::string flag_;
  int slot_;
  std::string temp_;
  bool committed_ = false;
};

std::unique_ptr<OutputFile> open_output(const std::string& path, const char* flag, int slot) {
  if (path.empty()) return nullptr;
  return std::make_unique<OutputFile>(path, flag, slot);
}

/// Where a run against a remote target keeps its ledger unless told: the XDG state folder.
std::filesystem::path default_ledger() {
  std::filesystem::path base;
  if (auto state = env("XDG_STATE_HOME"); state && state->front() == '/')
    base = *state;
  else if (auto home = env("HOME"); home && home->front() == '/')
    base = std::filesystem::path(*home) / ".local" / "state";
  else
    base = std::filesystem::temp_directory_path();
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return base / "sipcontract" / "ledgers" /
         ("run-" + std::string(stamp) + "-" + std::to_string(::getpid()) + ".jsonl");
}

/// Whether the console gets a progress line rewritten in place: a terminal that can do it.
bool console_is_terminal() {
  if (isatty(STDOUT_FILENO) != 1) return false;
  auto term = env("TERM");
  return term && *term != "dumb";
}

int run(const RunArgs& a) {
  // The contract: built in (v1 unless --contract names another), or a contract folder.
  std::optional<Contract> loaded;
  if (!a.contract.empty()) loaded = Contract::resolve(a.contract);
  const Contract& contract = loaded ? *loaded : Contract::builtin();
  const Resource& resource = contract.main_resource();

  auto all = a.cases_dir.empty() ? contract_cases(contract) : load_cases(a.cases_dir);
  if (a.generate == 0 && !a.seed.empty()) throw ConfigError("--seed needs --generate N");
  if (a.generate == 0 && !a.save_failures.empty()) throw ConfigError("--save-failures needs --generate N");
  if (a.rate < 0 || a.rate > 1e6)
    throw ConfigError("--rate: must be between 0 (no bound) and 1000000 requests a second");
  std::optional<CaseGenerator> generator;
  if (a.generate > 0) {
    generator.emplace(contract, a.seed.empty() ? random_seed() : parse_seed(a.seed));
    auto generated = generator->generate(1, a.generate);
    all.insert(all.end(), std::make_move_iterator(generated.begin()),
               std::make_move_iterator(generated.end()));
  }
  check_cases(all, contract);
  auto selection = parse_selection(a);
  auto cases = select_cases(all, selection);
  std::string shard_note;
  if (cases.empty()) {
    Selection unsharded = selection;
    unsharded.shard_index = unsharded.shard_count = 1;
    // A CI matrix may have more shards than the suite has cases: an empty shard passes.
    if (selection.shard_count <= 1 || select_cases(all, unsharded).empty())
      throw ConfigError("no case matches the selection (--case, --tag); see --list");
    shard_note = "shard " + a.shard + " holds no case (the selection has " +
                 std::to_string(select_cases(all, unsharded).size()) + "): nothing to run";
  }
  if (a.list) {
    write_case_list(cases, std::cout);
    return kExitOk;
  }

  RunOptions opts;
  opts.jobs = a.jobs;
  opts.skip_unsettled = a.skip_unsettled;
  opts.keep = a.keep;
  opts.strict = a.strict;
  opts.transport.timeout = to_ms(a.timeout_s, "--timeout");
  opts.transport.max_time = to_ms(a.max_time_s, "--max-time");
  opts.transport.retries = a.retries;
  opts.transport.max_response_bytes = a.max_response_bytes;
  opts.transport.ca_file = a.ca_file;
  opts.transport.insecure = a.insecure;
  opts.transport.allow_plain_http = a.allow_plain_http;
  opts.cancel = &g_run_signal;
  opts.abort = &g_run_abort;
  opts.rate = a.rate;
  opts.max_requests = a.max_requests;
  if (generator) opts.seed = generator->seed();

  auto junit = open_output(a.junit, "--junit", 0);
  auto json = open_output(a.report, "--report", 1);

  std::unique_ptr<ReferenceServer> server;
  if (a.base_url.empty()) {
    if (!a.parent.empty())
      throw ConfigError("--" + resource.parent_option +
                        " needs --base-url (the in-process server makes its own)");
    // A worker per job (each may have a request in flight) plus spare, and a backlog for all
    // connecting at once.
    ServerOptions sized;
    sized.threads = a.jobs + 16;
    sized.listen_backlog = static_cast<int>(512 + 4 * a.jobs);
    server = std::make_unique<ReferenceServer>(sized, contract);
    try {
      server->start();
    } catch (const std::exception& e) {
      throw ConfigError(std::string("could not start the in-process reference server: ") + e.what());
    }
    const auto& so = server->options();
    opts.target = {server->base_url(), so.parents.at(0), so.project_id, so.api_token, true};
  } else {
    const auto& auth = contract.auth();
    auto user = env(auth.user_env.c_str());
    auto token = env(auth.token_env.c_str());
    if (!user) throw ConfigError(auth.user_env + " is not set (credentials come from the environment)");
    if (!token) throw ConfigError(auth.token_env + " is not set (credentials come from the environment)");
    if (a.parent.empty())
      throw ConfigError("--" + resource.parent_option + " ID is required with --base-url (the " +
                        resource.parent_title + " to create under)");
    opts.target = {a.base_url, a.parent, *user, *token, false};
  }
  // The ledger: asked for, or by default for a remote target (an in-process server's endpoints
  // end with the process, so there is nothing a crash could leave).
  bool default_ledger_path = false;
  if (!a.ledger.empty()) {
    opts.ledger = a.ledger;
  } else if (!a.no_ledger && !server && !a.keep) {
    opts.ledger = default_ledger();
    default_ledger_path = true;
  }
  if (!opts.ledger.empty() && !cases.empty())
    std::cout << "ledger: " << opts.ledger.string()
              << " (if this run is killed: sipcontract cleanup --ledger " << opts.ledger.string() << ")\n";

  g_run_signal.store(0);
  g_run_abort.store(0);
  g_signal_count.store(0);
  SignalScope signals;
  ConsoleProgress progress(std::cout, console_is_terminal());
  if (cases.empty()) opts.ledger.clear();
  RunReport report = run_contract_tests(contract, cases, opts, &progress);
  report.shard_note = shard_note;
  if (generator && !a.save_failures.empty() && !report.interrupted_by)
    save_failures(contract, *generator, cases, report, opts, a.save_failures, a.max_shrinks);
  if (server) server->stop();
  // A ledger nobody asked for goes once it says that nothing is left.
  if (default_ledger_path && report.cleanup.clean() && !report.interrupted_by) {
    std::error_code ec;
    std::filesystem::remove(opts.ledger, ec);
    report.cleanup.ledger.clear();
  }

  write_summary(report, std::cout);
  if (junit) {
    std::ostringstream text;
    write_junit(report, text);
    junit->commit(text.str());
  }
  if (json) {
    std::ostringstream text;
    write_json_report(report, text);
    json->commit(text.str());
  }
  return report.exit_code();
}

}  // namespace

void add_run_command(CLI::App& app, CommandResult& result) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand("run", net_command_summary("run"));
  cmd->set_version_flag("--version", std::string("sipcontract ") + SIPCONTRACT_VERSION);
  cmd->add_option("--base-url", args->base_url,
                  "Target: the contract's base URL, e.g. https://HOST/BASE-PATH (default: in-process "
                  "reference server)")
      ->type_name("URL");
  cmd->add_option(
         parent_option_names(), args->parent,
         "The parent to create items under (the contract names it: " + parent_titles() + "); with --base-url")
      ->type_name("ID");
  cmd->add_option("--contract", args->contract,
                  "The contract: a built-in one (" + builtin_contract_names() +
                      ") or a contract folder (contract.json, schemas/, cases/); default: v1")
      ->type_name("NAME|DIR");
  cmd->add_option("--cases", args->cases_dir, "Folder of case files (default: the contract's own cases)")
      ->type_name("DIR");
  cmd->add_option("-j,--jobs", args->jobs, "Cases run concurrently; a case's steps stay in order")
      ->capture_default_str()
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  cmd->add_option("--shard", args->shard, "Run shard I of N (1-based), e.g. --shard 2/4")->type_name("I/N");
  cmd->add_option("--case", args->case_globs, "Only cases whose id matches GLOB (repeatable)")
      ->take_all()
      ->type_name("GLOB");
  cmd->add_option("--tag", args->tags, "Only cases carrying TAG (repeatable; any of them)")
      ->take_all()
      ->type_name("TAG");
  cmd->add_flag(
      "--skip-unsettled", args->skip_unsettled,
      "Report cases the reference page does not settle as skipped (they carry the tag 'unsettled')");
  cmd->add_flag("--list", args->list, "List the selected cases and exit");
  cmd->add_option("--timeout", args->timeout_s, "Connect, read and write timeout, seconds")
      ->capture_default_str()
      ->type_name("SEC");
  cmd->add_option("--max-time", args->max_time_s,
                  "A response must be complete within this, seconds (check max-time)")
      ->capture_default_str()
      ->type_name("SEC");
  cmd->add_option(
         "--retries", args->retries,
         "Retries for transport errors, 429 and 503 (exponential backoff, Retry-After honoured up to "
         "8 s); a create that reached the server is not re-sent")
      ->capture_default_str()
      ->check(CLI::Range(0, 20))
      ->type_name("N");
  cmd->add_option("--max-response-bytes", args->max_response_bytes,
                  "Stop reading a response past this (check size)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->type_name("BYTES");
  cmd->add_option("--ca-file", args->ca_file, "PEM CA bundle to verify the target's TLS certificate")
      ->type_name("FILE");
  cmd->add_flag("--insecure", args->insecure, "Do not verify TLS certificates (reported in every output)");
  cmd->add_flag("--allow-plain-http", args->allow_plain_http,
                "Allow credentials over http:// to a host that is not loopback");
  cmd->add_flag("--keep", args->keep, "Do not delete created items (they are listed)");
  cmd->add_flag("--strict", args->strict,
                "A broken assumption (what the suite expects where the contract is silent) fails its case; "
                "without it, a warning");
  cmd->add_option(
         "--ledger", args->ledger,
         "Append what the run is about to create and has created to FILE, for `sipcontract cleanup "
         "--ledger FILE` after a crash (default with --base-url: a file under $XDG_STATE_HOME/sipcontract, "
         "removed when cleanup verifies that nothing is left)")
      ->type_name("FILE");
  cmd->add_flag("--no-ledger", args->no_ledger, "Keep no ledger");
  cmd->add_option(
         "--generate", args->generate,
         "Add N cases generated from the contract's request schemas (ids gen-SEED-K, tag 'generated'): "
         "positive and negative creates and walks over create/get/list/update/delete checked against a model")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}))
      ->type_name("N");
  cmd->add_option(
         "--seed", args->seed,
         "Seed of --generate (default: random, printed and in every report); the same seed and contract "
         "give the same requests")
      ->type_name("S");
  cmd->add_option(
         "--save-failures", args->save_failures,
         "Shrink each failed generated case (up to --max-shrinks) to a small case that fails the same "
         "check and write it to DIR as a case file (run it with --cases DIR)")
      ->type_name("DIR");
  cmd->add_option("--max-shrinks", args->max_shrinks, "Failed generated cases --save-failures shrinks")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000}))
      ->type_name("N");
  cmd->add_option("--rate", args->rate,
                  "At most R requests a second over the whole run, cleanup included (0: no bound)")
      ->type_name("R");
  cmd->add_option(
         "--max-requests", args->max_requests,
         "At most N requests for the cases (steps, read-backs, list pages); cases past it are skipped, "
         "cleanup still runs (0: no bound)")
      ->type_name("N");
  cmd->add_option("--junit", args->junit, "Write a JUnit XML report to FILE")->type_name("FILE");
  cmd->add_option("--report", args->report, "Write the JSON report to FILE (shape: contracts/README.md)")
      ->type_name("FILE");
  cmd->footer(
      "Environment: the contract's credential variables (default contract: " + credential_variables() +
      "; with --base-url; never taken from the command line); the variables the cases' {{env:NAME}} "
      "placeholders read (default contract: " +
      case_variables() +
      "; see contracts/README.md).\n"
      "Exit codes: 0 every case passed (warnings allowed unless --strict) and cleanup verified that nothing "
      "is left; 1 a contract violation, an endpoint left behind, or a cleanup that could not be verified; 2 "
      "usage or configuration error (bad flag, case file, missing environment variable, a TLS certificate "
      "that does not verify, credentials the target refuses); 3 the target could not be reached; 130/143 "
      "interrupted by SIGINT/SIGTERM (after cleanup; a second signal cuts it short, a third quits at once).");
  cmd->callback([args, &result] {
    try {
      result.exit_code = run(*args);
    } catch (const ConfigError& e) {
      std::cerr << "sipcontract run: " << e.what() << '\n';
      result.exit_code = kExitUsage;
    } catch (const SchemaError& e) {
      std::cerr << "sipcontract run: " << e.what() << '\n';
      result.exit_code = kExitUsage;
    }
  });
}

}  // namespace sipcontract::cli
