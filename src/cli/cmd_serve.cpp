// `sipcontract serve`: runs the reference server (an in-memory implementation of a contract: the
// built-in v1 unless --contract names another, or a contract folder) until SIGINT or SIGTERM.
//
// stdout: the first line is machine-readable, "listening on http://HOST:PORT/BASE_PATH"; then the
// parents, and (only when they were generated) the credentials, and a ready-to-paste curl example.
// Credentials come from the environment variables the contract names (v1: SIGNALWIRE_PROJECT_ID
// and SIGNALWIRE_API_TOKEN); those are never printed. Exit codes: 0 after a clean shutdown on
// SIGINT/SIGTERM; 2 for bad flags, a contract that cannot be loaded, a half-set credential pair,
// an access log that cannot be opened, or an address that cannot be bound.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sipcontract/server.hpp>
#include <string>
#include <vector>

#include "commands.hpp"

namespace sipcontract::cli {
namespace {

constexpr const char* kTool = "sipcontract serve";

/// Every option of `serve`, as parsed.
struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string contract;
  std::vector<std::string> parents;
  std::size_t max_body_bytes = ServerOptions{}.max_body_bytes;
  std::size_t max_endpoints = ServerOptions{}.max_endpoints;
  std::size_t threads = 0;
  int listen_backlog = ServerOptions{}.listen_backlog;
  std::size_t max_connections = ServerOptions{}.max_connections;
  int read_timeout_ms = ServerOptions{}.read_timeout_ms;
  int request_timeout_ms = ServerOptions{}.request_timeout_ms;
  std::string access_log;
  std::vector<std::string> faults;
  std::vector<std::string> variants;
  int fault_delay_ms = ServerOptions{}.fault_delay_ms;
  std::size_t fault_body_bytes = ServerOptions{}.fault_body_bytes;
  std::size_t fault_depth = ServerOptions{}.fault_depth;
};

std::string env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value ? value : "";
}

std::string variant_names() {
  std::string out;
  for (auto variant : all_variants()) {
    if (!out.empty()) out += ", ";
    out += variant_name(variant);
  }
  return out;
}

// One line per variant, for --help.
std::string variant_lines() {
  std::string out;
  for (auto variant : all_variants()) {
    std::string name(variant_name(variant));
    name.resize(std::max<std::size_t>(name.size() + 1, 19), ' ');
    out += "\n  " + name + std::string(variant_description(variant));
  }
  return out;
}

std::string fault_names() {
  std::string out;
  for (auto fault : all_faults()) {
    if (!out.empty()) out += ", ";
    out += fault_name(fault);
  }
  return out;
}

int run_serve(const ServeOptions& cli) {
  std::optional<Contract> loaded;
  try {
    if (!cli.contract.empty()) loaded = Contract::resolve(cli.contract);
  } catch (const std::exception& e) {
    std::cerr << kTool << ": " << e.what() << '\n';
    return kExitUsage;
  }
  const Contract& contract = loaded ? *loaded : Contract::builtin();
  // The names of the environment variables holding the credentials (AuthSpec's members, in order).
  [[maybe_unused]] const auto& [scheme, user_env, user_title, secret_env, secret_title] = contract.auth();
  const Resource& resource = contract.main_resource();

  ServerOptions options;
  options.host = cli.host;
  options.port = cli.port;
  options.parents = cli.parents;
  options.max_body_bytes = cli.max_body_bytes;
  options.max_endpoints = cli.max_endpoints;
  options.threads = cli.threads;
  options.listen_backlog = cli.listen_backlog;
  options.max_connections = cli.max_connections;
  options.read_timeout_ms = cli.read_timeout_ms;
  options.write_timeout_ms = cli.read_timeout_ms;
  options.request_timeout_ms = cli.request_timeout_ms;
  options.fault_delay_ms = cli.fault_delay_ms;
  options.fault_body_bytes = cli.fault_body_bytes;
  options.fault_depth = cli.fault_depth;
  for (const auto& name : cli.faults) options.faults.insert(*parse_fault(name));  // checked by CLI11
  for (const auto& name : cli.variants) options.variants.insert(*parse_variant(name));

  const std::string project_id = env(user_env);
  const std::string api_token = env(secret_env);
  if (project_id.empty() != api_token.empty()) {
    std::cerr << kTool << ": set both " << user_env << " and " << secret_env
              << ", or neither (then credentials are generated for this run)\n";
    return kExitUsage;
  }
  const bool generated = project_id.empty();
  options.project_id = project_id;
  options.api_token = api_token;

  // The access log: one line per request, written whole; the server serialises the calls.
  std::shared_ptr<std::ofstream> log_file;
  if (cli.access_log == "-") {
    options.access_log = [](const std::string& line) { std::cout << line << '\n' << std::flush; };
  } else if (!cli.access_log.empty()) {
    log_file = std::make_shared<std::ofstream>(cli.access_log, std::ios::app);
    if (!*log_file) {
      std::cerr << kTool << ": cannot open access log " << cli.access_log << " for appending\n";
      return kExitUsage;
    }
    options.access_log = [log_file](const std::string& line) { *log_file << line << '\n' << std::flush; };
  }

  // SIGINT and SIGTERM are blocked in every thread (the server's threads inherit this mask) and
  // taken synchronously by sigwait() below, so shutdown runs as ordinary code, not in a handler.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<ReferenceServer> server;
  try {
    server = std::make_unique<ReferenceServer>(options, contract);
    server->start();
  } catch (const std::exception& e) {
    std::cerr << kTool << ": " << e.what() << '\n';
    return kExitUsage;
  }

  const ServerOptions& effective = server->options();
  const std::string base = server->base_url();
  std::cout << "listening on " << base << '\n';
  for (const auto& parent : effective.parents) std::cout << resource.parent_title << " " << parent << '\n';
  if (generated) {
    // Printed once, for local use; credentials from the environment are never printed.
    std::cout << "credentials generated for this run (set " << user_env << " and " << secret_env
              << " to choose them):\n"
              << "  export " << user_env << "=" << effective.project_id << '\n'
              << "  export " << secret_env << "=" << effective.api_token << '\n';
  } else {
    std::cout << "credentials from " << user_env << " and " << secret_env << "\n";
  }
  // The list of the first parent's items: a request any contract's server answers.
  const Operation* list = resource.operation(Role::kList);
  const Operation* example = list ? list : &contract.operation_of_record();
  std::string path = example->path;
  const std::string placeholder = "{" + resource.parent_parameter + "}";
  if (const auto at = path.find(placeholder); at != std::string::npos)
    path.replace(at, placeholder.size(), effective.parents.front());
  std::cout << "try:\n"
            << "  curl -sS -u \"$" << user_env << ":$" << secret_env << "\" -X " << example->method << " \\\n"
            << "    '" << base << path << "'\n"
            << std::flush;
  if (!effective.faults.empty()) {
    std::string names;
    for (auto fault : effective.faults) names += (names.empty() ? "" : ", ") + std::string(fault_name(fault));
    std::cerr << kTool << ": warning: breaking the contract on purpose (" << names << ")\n";
  }
  if (!effective.variants.empty()) {
    std::string names;
    for (auto variant : effective.variants)
      names += (names.empty() ? "" : ", ") + std::string(variant_name(variant));
    std::cerr << kTool << ": conforming variants: " << names << "\n";
  }

  int received = 0;
  while (sigwait(&signals, &received) != 0) {
  }
  server->stop();
  std::cerr << kTool << ": stopped (" << (received == SIGINT ? "SIGINT" : "SIGTERM") << ")\n";
  return kExitOk;
}

}  // namespace

void add_serve_command(CLI::App& app, CommandResult& result) {
  auto cli = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", net_command_summary("serve"));
  cmd->set_version_flag("--version", std::string("sipcontract ") + SIPCONTRACT_VERSION);
  cmd->footer(
      "The first line of stdout is \"listening on http://HOST:PORT/BASE_PATH\" (the contract's base path).\n"
      "Exit codes: 0 after SIGINT/SIGTERM; 2 bad flags, half-set credentials, unusable access log, or\n"
      "an address that cannot be bound.");

  cmd->add_option("--host", cli->host, "Address to bind")->capture_default_str();
  cmd->add_option("--port", cli->port, "Port to bind; 0 picks a free one (printed on the first line)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--contract", cli->contract,
                  "The contract to serve: a built-in one (" + builtin_contract_names() +
                      ") or a contract folder (contract.json, schemas/, cases/); default: v1")
      ->type_name("NAME|DIR");
  cmd->add_option(parent_option_names(), cli->parents,
                  "A parent the server knows (the contract names it: " + parent_titles() +
                      "; a UUID where its path says so; repeatable); none: one is generated and printed")
      ->type_name("ID");
  auto* limits = "Limits";
  cmd->add_option("--max-body-bytes", cli->max_body_bytes, "Larger request bodies get 413")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))
      ->capture_default_str()
      ->group(limits);
  cmd->add_option("--max-endpoints", cli->max_endpoints, "Items held at most; further creates get 422")
      ->capture_default_str()
      ->group(limits);
  cmd->add_option("--threads", cli->threads,
                  "Worker threads (requests served at once); 0: max(16, 2 x cores)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1024}))
      ->capture_default_str()
      ->group(limits);
  cmd->add_option("--listen-backlog", cli->listen_backlog,
                  "Connections the kernel queues until they are accepted (capped by net.core.somaxconn)")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str()
      ->group(limits);
  cmd->add_option("--max-connections", cli->max_connections,
                  "Connections open at once; more wait in the listen backlog until one closes")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
      ->capture_default_str()
      ->group(limits);
  cmd->add_option("--read-timeout-ms", cli->read_timeout_ms,
                  "How long one read or write may wait for a client before it is dropped")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str()
      ->group(limits);
  cmd->add_option("--request-timeout-ms", cli->request_timeout_ms,
                  "How long a whole request (line, headers, body) may take to arrive")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str()
      ->group(limits);
  cmd->add_option(
         "--access-log", cli->access_log,
         "Append one line per request (time, client, method, path, status, bytes, duration) to FILE, "
         "or stdout with -")
      ->type_name("FILE|-");

  auto* variants = "Variants (each a conforming alternative where the contract is silent)";
  cmd->add_option(
         "--variant", cli->variants,
         "Answer as another conforming implementation would (repeatable, combinable):" + variant_lines())
      ->type_name("NAME")
      ->check([](const std::string& value) -> std::string {
        if (parse_variant(value)) return {};
        return "unknown variant \"" + value + "\"; one of: " + variant_names();
      })
      ->group(variants);

  auto* testing = "Testing (each breaks one contract rule on purpose)";
  cmd->add_option("--fault", cli->faults, "Break a rule (repeatable): " + fault_names())
      ->type_name("NAME")
      ->check([](const std::string& value) -> std::string {
        if (parse_fault(value) && value != "none") return {};
        return "unknown fault \"" + value + "\"; one of: " + fault_names();
      })
      ->group(testing);
  cmd->add_option("--fault-delay-ms", cli->fault_delay_ms, "slow: the delay before each answer")
      ->check(CLI::Range(0, 600000))
      ->capture_default_str()
      ->group(testing);
  cmd->add_option("--fault-body-bytes", cli->fault_body_bytes, "huge-body: the size of the padded 201 body")
      ->capture_default_str()
      ->group(testing);
  cmd->add_option("--fault-depth", cli->fault_depth, "deep-nesting: how deep the 201 body nests arrays")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}))
      ->capture_default_str()
      ->group(testing);

  cmd->callback([cli, &result] { result.exit_code = run_serve(*cli); });
}

}  // namespace sipcontract::cli
