// `sipcontract run`: the contract-test suite against a target, or against an in-process
// reference server when no --base-url is given. A thin shell over sipcontract/runner.hpp.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "sipcontract/runner.hpp"
#include "sipcontract/server.hpp"
#include "sipcontract/validate.hpp"

namespace sipcontract::cli {
namespace {

// Written by the signal handler, read by the run's workers (lock-free, so async-signal-safe).
std::atomic<int> g_run_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_run_signal(int sig) { g_run_signal.store(sig); }

/// Installs one-shot SIGINT/SIGTERM handlers for the run; a second signal gets the default
/// action (quit at once). Restores the previous handlers when destroyed.
class SignalScope {
 public:
  SignalScope() {
    struct sigaction sa {};
    sa.sa_handler = on_run_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
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
  std::string subscriber;
  std::string cases_dir;
  std::string manifest;
  std::string schemas;
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
  std::string junit;
  std::string report;
};

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

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
    throw ConfigError(std::string(flag) + ": must be between 0 and 86400 seconds");
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0 + 0.5));
}

/// Opens an output file before the run, so a bad path fails fast and not after the work.
std::unique_ptr<std::ofstream> open_output(const std::string& path, const char* flag) {
  if (path.empty()) return nullptr;
  auto out = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*out) throw ConfigError(std::string(flag) + " " + path + ": cannot open for writing");
  return out;
}

int run(const RunArgs& a) {
  // The contract: built in, or a manifest and its schema folder.
  std::optional<Contract> loaded;
  if (!a.manifest.empty() || !a.schemas.empty()) {
    if (a.manifest.empty() || a.schemas.empty()) throw ConfigError("--manifest and --schemas go together");
    loaded = Contract::load(a.manifest, a.schemas);
  }
  const Contract& contract = loaded ? *loaded : Contract::builtin();

  auto all = a.cases_dir.empty() ? builtin_cases() : load_cases(a.cases_dir);
  auto selection = parse_selection(a);
  auto cases = select_cases(all, selection);
  if (cases.empty()) throw ConfigError("no case matches the selection (--case, --tag, --shard); see --list");
  if (a.list) {
    write_case_list(cases, std::cout);
    return kExitOk;
  }

  RunOptions opts;
  opts.jobs = a.jobs;
  opts.skip_unsettled = a.skip_unsettled;
  opts.keep = a.keep;
  opts.transport.timeout = to_ms(a.timeout_s, "--timeout");
  opts.transport.max_time = to_ms(a.max_time_s, "--max-time");
  opts.transport.retries = a.retries;
  opts.transport.max_response_bytes = a.max_response_bytes;
  opts.transport.ca_file = a.ca_file;
  opts.transport.insecure = a.insecure;
  opts.transport.allow_plain_http = a.allow_plain_http;
  opts.cancel = &g_run_signal;

  auto junit = open_output(a.junit, "--junit");
  auto json = open_output(a.report, "--report");

  std::unique_ptr<ReferenceServer> server;
  if (a.base_url.empty()) {
    if (!a.subscriber.empty())
      throw ConfigError("--subscriber needs --base-url (the in-process server makes its own)");
    // A worker per job's keep-alive connection plus spare, and a backlog for all connecting at once.
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
    opts.target = {server->base_url(), so.subscribers.at(0), so.project_id, so.api_token, true};
  } else {
    auto project = env("SIGNALWIRE_PROJECT_ID");
    auto token = env("SIGNALWIRE_API_TOKEN");
    if (!project)
      throw ConfigError("SIGNALWIRE_PROJECT_ID is not set (credentials come from the environment)");
    if (!token) throw ConfigError("SIGNALWIRE_API_TOKEN is not set (credentials come from the environment)");
    if (a.subscriber.empty()) throw ConfigError("--subscriber UUID is required with --base-url");
    opts.target = {a.base_url, a.subscriber, *project, *token, false};
  }

  g_run_signal.store(0);
  SignalScope signals;
  ConsoleProgress progress(std::cout, isatty(STDOUT_FILENO) == 1);
  RunReport report = run_contract_tests(contract, cases, opts, &progress);
  if (server) server->stop();

  write_summary(report, std::cout);
  if (junit) {
    write_junit(report, *junit);
    if (!*junit) std::cerr << "sipcontract run: --junit " << a.junit << ": write failed\n";
  }
  if (json) {
    write_json_report(report, *json);
    if (!*json) std::cerr << "sipcontract run: --report " << a.report << ": write failed\n";
  }
  return report.exit_code();
}

}  // namespace

void add_run_command(CLI::App& app, CommandResult& result) {
  auto args = std::make_shared<RunArgs>();
  auto* cmd = app.add_subcommand(
      "run",
      "Run the contract tests. With no --base-url they run against an in-process reference server "
      "(generated credentials and subscriber); with --base-url against that target, using the credentials "
      "in SIGNALWIRE_PROJECT_ID and SIGNALWIRE_API_TOKEN. Every endpoint the run creates is deleted "
      "before it exits (also after failures and on SIGINT/SIGTERM) unless --keep.");
  cmd->add_option(
         "--base-url", args->base_url,
         "Target, e.g. https://SPACE.signalwire.com/api/fabric (default: in-process reference server)")
      ->type_name("URL");
  cmd->add_option("--subscriber", args->subscriber, "fabric_subscriber_id (UUID) to create endpoints under")
      ->type_name("UUID");
  cmd->add_option("--cases", args->cases_dir,
                  "Folder of case files (default: the built-in contract-tests/cases)")
      ->type_name("DIR");
  cmd->add_option("--manifest", args->manifest, "Contract manifest (default: built in); needs --schemas")
      ->type_name("FILE");
  cmd->add_option("--schemas", args->schemas, "Schema folder for --manifest")->type_name("DIR");
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
  cmd->add_flag("--skip-unsettled", args->skip_unsettled,
                "Report cases the seed does not settle as skipped (they carry the tag 'unsettled')");
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
      ->check(CLI::ExistingFile)
      ->type_name("FILE");
  cmd->add_flag("--insecure", args->insecure, "Do not verify TLS certificates (reported in every output)");
  cmd->add_flag("--allow-plain-http", args->allow_plain_http,
                "Allow credentials over http:// to a host that is not loopback");
  cmd->add_flag("--keep", args->keep, "Do not delete created endpoints (they are listed)");
  cmd->add_option("--junit", args->junit, "Write a JUnit XML report to FILE")->type_name("FILE");
  cmd->add_option("--report", args->report, "Write the JSON report to FILE (shape: contract-tests/README.md)")
      ->type_name("FILE");
  cmd->footer(
      "Environment: SIGNALWIRE_PROJECT_ID, SIGNALWIRE_API_TOKEN (with --base-url; never taken from the "
      "command "
      "line); SIPCONTRACT_SEND_AS (optional: a number your project owns, for the cases that send send_as).\n"
      "Exit codes: 0 every case passed; 1 a contract violation, or an endpoint left behind; 2 usage or "
      "configuration error (bad flag, case file, missing environment variable); 3 the target could not be "
      "reached (every case failed with a transport error); 130/143 interrupted by SIGINT/SIGTERM (after "
      "cleanup).");
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
