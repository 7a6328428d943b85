// `sipcontract cleanup`: deletes and verifies what a run left on a target, from the run's ledger
// (--ledger FILE) or by its run id (--run-id ID with --base-url and the parent). A thin shell
// over sipcontract::cleanup_run (sipcontract/runner.hpp).
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "sipcontract/contract.hpp"
#include "sipcontract/runner.hpp"

namespace sipcontract::cli {
namespace {

std::atomic<int> g_cleanup_abort{0};
extern "C" void on_cleanup_signal(int) { g_cleanup_abort.store(1); }

struct CleanupArgs {
  std::string ledger;
  std::string run_id;
  std::string base_url;
  std::vector<std::string> parents;
  std::string contract;
  std::size_t jobs = 4;
  double timeout_s = 30;
  std::string ca_file;
  bool insecure = false;
  bool allow_plain_http = false;
};

int cleanup(const CleanupArgs& a) {
  std::optional<Ledger> ledger;
  if (!a.ledger.empty()) ledger = read_ledger(a.ledger);
  // The contract: --contract, or the one the ledger's run used, or the default.
  std::optional<Contract> loaded;
  if (!a.contract.empty()) {
    loaded = Contract::resolve(a.contract);
  } else if (ledger && !ledger->contract.empty()) {
    try {
      loaded = Contract::resolve(ledger->contract);
    } catch (const SchemaError& e) {
      throw ConfigError("the ledger's contract cannot be loaded (" + std::string(e.what()) +
                        "); give --contract");
    }
  }
  const Contract& contract = loaded ? *loaded : Contract::builtin();
  const Resource& resource = contract.main_resource();

  CleanupOptions opts;
  if (ledger) {
    opts.run_id = ledger->run_id;
    opts.entries = ledger->entries;
    opts.parents = ledger->parents;
    opts.target.base_url = ledger->base_url;
    opts.ledger = a.ledger;
    if (!a.run_id.empty() && a.run_id != ledger->run_id)
      throw ConfigError("--run-id " + a.run_id + " is not the ledger's run (" + ledger->run_id + ")");
    std::cout << "ledger " << a.ledger << ": run " << ledger->run_id << ", " << ledger->entries.size()
              << (ledger->entries.size() == 1 ? " item" : " items") << " to look for under "
              << ledger->parents.size() << " " << resource.parent_title
              << (ledger->parents.size() == 1 ? "" : "s")
              << (ledger->complete ? " (the run's own cleanup verified that nothing was left)" : "") << '\n';
  } else {
    if (a.run_id.empty())
      throw ConfigError("give --ledger FILE, or --run-id ID with --base-url and --" + resource.parent_option);
    if (a.base_url.empty()) throw ConfigError("--run-id needs --base-url (the ledger would have said)");
    if (a.parents.empty())
      throw ConfigError("--run-id needs --" + resource.parent_option + " ID (repeatable): the " +
                        resource.parent_title + " whose list to sweep");
    if (a.run_id.size() < 6)
      throw ConfigError("--run-id " + a.run_id + ": too short to tell the run's items from others by name");
    opts.run_id = a.run_id;
  }
  for (const auto& sub : a.parents) opts.parents.push_back(sub);
  if (!a.base_url.empty()) opts.target.base_url = a.base_url;
  if (opts.target.base_url.empty()) throw ConfigError("no base URL: the ledger names none; give --base-url");
  const auto& auth = contract.auth();
  auto user = env_value(auth.user_env.c_str());
  auto token = env_value(auth.token_env.c_str());
  if (!user) throw ConfigError(auth.user_env + " is not set (credentials come from the environment)");
  if (!token) throw ConfigError(auth.token_env + " is not set (credentials come from the environment)");
  opts.target.user = *user;
  opts.target.token = *token;
  opts.jobs = a.jobs;
  if (!(a.timeout_s > 0) || a.timeout_s > 86400)
    throw ConfigError("--timeout: must be more than 0 and at most 86400 seconds");
  opts.transport.timeout = std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000.0 + 0.5));
  opts.transport.ca_file = a.ca_file;
  opts.transport.insecure = a.insecure;
  opts.transport.allow_plain_http = a.allow_plain_http;
  opts.abort = &g_cleanup_abort;

  g_cleanup_abort.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_cleanup_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second signal quits at once
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  CleanupReport report = cleanup_run(contract, opts);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  write_cleanup_summary(report, std::cout);
  return report.clean() ? kExitOk : kExitViolation;
}

}  // namespace

void add_cleanup_command(CLI::App& app, CommandResult& result) {
  auto args = std::make_shared<CleanupArgs>();
  auto* cmd = app.add_subcommand("cleanup", net_command_summary("cleanup"));
  cmd->set_version_flag("--version", std::string("sipcontract ") + SIPCONTRACT_VERSION);
  cmd->add_option("--ledger", args->ledger, "The ledger a run kept (its path is printed when the run starts)")
      ->type_name("FILE");
  cmd->add_option("--run-id", args->run_id, "Delete listed items whose name carries this run id")
      ->type_name("ID");
  cmd->add_option("--base-url", args->base_url, "Target (default: the ledger's)")->type_name("URL");
  cmd->add_option(parent_option_names(), args->parents,
                  "A parent (" + parent_titles() + ") whose list is swept (repeatable)")
      ->take_all()
      ->type_name("UUID");
  cmd->add_option("--contract", args->contract,
                  "The contract the run used: a built-in one (" + builtin_contract_names() +
                      ") or a contract folder; default: v1")
      ->type_name("NAME|DIR");
  cmd->add_option("-j,--jobs", args->jobs, "DELETEs in flight")
      ->capture_default_str()
      ->check(CLI::Range(1, 64))
      ->type_name("N");
  cmd->add_option("--timeout", args->timeout_s, "Connect, read and write timeout, seconds")
      ->capture_default_str()
      ->type_name("SEC");
  cmd->add_option("--ca-file", args->ca_file, "PEM CA bundle to verify the target's TLS certificate")
      ->type_name("FILE");
  cmd->add_flag("--insecure", args->insecure, "Do not verify TLS certificates");
  cmd->add_flag("--allow-plain-http", args->allow_plain_http,
                "Allow credentials over http:// to a host that is not loopback");
  cmd->footer(
      "Exit codes: 0 nothing of the run is left (verified); 1 something is left or could not be verified "
      "(each listed with why); 2 usage or configuration error (bad flag, unreadable ledger, missing "
      "environment variable). SIGINT/SIGTERM cuts the cleanup short and reports what may be left; a second "
      "quits at once.");
  cmd->callback([args, &result] {
    try {
      result.exit_code = cleanup(*args);
    } catch (const ConfigError& e) {
      std::cerr << "sipcontract cleanup: " << e.what() << '\n';
      result.exit_code = kExitUsage;
    } catch (const SchemaError& e) {
      std::cerr << "sipcontract cleanup: " << e.what() << '\n';
      result.exit_code = kExitUsage;
    }
  });
}

}  // namespace sipcontract::cli
