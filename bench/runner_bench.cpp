// sipcontract-bench-runner: what the contract runner costs over the requests it sends. Runs the
// built-in cases of the operation of record with run_contract_tests() against a fresh in-process reference
// server, and a raw loop that sends the same requests (same cases, same expansion, same concurrency, same
// keep-alive client per worker, the runner's preflight list, the same read-back GET after each 201, and the
// same cleanup with its verification: lists and a read-back of each deleted endpoint) with cpp-httplib and
// checks nothing. With --mode all, one untimed suite of each first runs against a server that counts what it
// gets, and a "requests" line says whether both sent the same.
//
//   sipcontract-bench-runner --suites 5              # JSON lines "runner", "raw-loop", "raw-loop-nagle"
//   sipcontract-bench-runner --mode raw --suites 1     # the raw loop alone, as a process to time
//
// Each suite gets a fresh server, started and stopped outside the timed part; with --mode all the
// variants take turns suite by suite so they share the machine's noise. Exit status: 0; 2 when the
// cases, the server or the run cannot be set up.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sipcontract/random.hpp"
#include "sipcontract/runner.hpp"
#include "sipcontract/server.hpp"
#include "sipcontract/validate.hpp"

namespace {

using Clock = std::chrono::steady_clock;

/// One request as the raw loop sends it.
struct RawRequest {
  std::string subscriber;  // the fabric_subscriber_id of the path
  std::string path;
  std::optional<std::string> authorization;
  std::string content_type;
  std::string body;
};

struct RawStats {
  std::uint64_t requests = 0;
  std::uint64_t created = 0;
  std::uint64_t deleted = 0;
  std::uint64_t transport_errors = 0;
  std::map<int, std::uint64_t> statuses;
};

/// Percent-encodes a path segment (RFC 3986 unreserved characters stay as they are).
std::string encode_segment(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// "/api/fabric" + the operation path with its parameters filled in.
std::string fill_path(const std::string& base_path, std::string path,
                      const std::map<std::string, std::string>& params, const std::string& subscriber) {
  std::map<std::string, std::string> values = params;
  values.emplace("fabric_subscriber_id", subscriber);
  for (const auto& [name, value] : values) {
    const std::string token = "{" + name + "}";
    for (auto at = path.find(token); at != std::string::npos; at = path.find(token, at)) {
      const std::string encoded = encode_segment(value);
      path.replace(at, token.size(), encoded);
      at += encoded.size();
    }
  }
  return base_path + path;
}

std::optional<std::string> authorization(sipcontract::AuthVariant auth,
                                         const sipcontract::ServerOptions& server) {
  using sipcontract::AuthVariant;
  const auto basic = [](const std::string& user, const std::string& password) {
    return httplib::make_basic_authentication_header(user, password).second;
  };
  switch (auth) {
    case AuthVariant::kValid:
      return basic(server.project_id, server.api_token);
    case AuthVariant::kNone:
      return std::nullopt;
    case AuthVariant::kWrongToken:
      return basic(server.project_id, server.api_token + "-wrong");
    case AuthVariant::kWrongProject:
      return basic(server.project_id + "-wrong", server.api_token);
    case AuthVariant::kMalformedHeader:
      return std::string("Basic %%%not-base64%%%");
  }
  return std::nullopt;
}

/// The suite as requests, one list per case (a case's steps stay in order, as in the runner).
std::vector<std::vector<RawRequest>> plan(const std::vector<sipcontract::Case>& cases,
                                          const sipcontract::ReferenceServer& server) {
  const auto& opts = server.options();
  const std::string subscriber = opts.parents.front();
  const std::string base_url = server.base_url();
  const std::string base_path = base_url.substr(base_url.find('/', base_url.find("//") + 2));
  const auto& contract = sipcontract::Contract::builtin();
  const std::string op_path = contract.operation_of_record().path;
  const std::string parent_parameter = contract.main_resource().parent_parameter;
  sipcontract::TemplateContext context;
  context.run_id = sipcontract::random_hex(5);
  context.parent = subscriber;
  context.parent_alias = contract.main_resource().parent_option;
  context.secret = sipcontract::random_hex(12);
  context.env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  std::vector<std::vector<RawRequest>> out;
  for (const auto& c : cases) {
    const auto expanded = sipcontract::expand_case(c, context, parent_parameter);
    auto& list = out.emplace_back();
    for (const auto& step : expanded.steps) {
      RawRequest r;
      const auto sub = step.path_params.find(parent_parameter);
      r.subscriber = sub == step.path_params.end() ? subscriber : sub->second;
      r.path = fill_path(base_path, op_path, step.path_params, subscriber);
      r.authorization = authorization(step.auth, opts);
      r.content_type = step.content_type;
      if (step.raw_body)
        r.body = *step.raw_body;
      else if (step.body)
        r.body = step.body->dump();
      list.push_back(std::move(r));
    }
  }
  return out;
}

httplib::Client make_client(int port, bool tcp_nodelay) {
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  // cpp-httplib writes a request's headers and body apart: without TCP_NODELAY the body waits for the
  // server's delayed ACK (about 40 ms on Linux) on every request that has one.
  client.set_tcp_nodelay(tcp_nodelay);
  client.set_connection_timeout(30);
  client.set_read_timeout(30);
  client.set_write_timeout(30);
  return client;
}

/// Sends every request with `jobs` workers (cases taken in order from a shared counter, one keep-alive
/// client per worker), then cleans up as the runner does: deletes what was created on the same
/// workers' clients, and lists each subscriber that got endpoints once to verify. Returns seconds.
double raw_suite(const std::vector<std::vector<RawRequest>>& suite,
                 const sipcontract::ReferenceServer& server, std::size_t jobs, bool tcp_nodelay,
                 RawStats& stats) {
  const int port = server.port();
  const auto auth = authorization(sipcontract::AuthVariant::kValid, server.options());
  const std::string base_url = server.base_url();
  const std::string base_path = base_url.substr(base_url.find('/', base_url.find("//") + 2));
  const auto endpoints_path = [&](const std::string& subscriber) {
    return base_path + "/resources/subscribers/" + encode_segment(subscriber) + "/sip_endpoints";
  };
  std::mutex mutex;
  std::vector<std::pair<std::string, std::string>> created;  // (subscriber, id)
  const auto count = [&](RawStats& local, const httplib::Result& res) {
    ++local.requests;
    if (!res) {
      ++local.transport_errors;
      return false;
    }
    ++local.statuses[res->status];
    return true;
  };
  const auto merge = [&](const RawStats& local) {
    std::lock_guard lock(mutex);
    stats.requests += local.requests;
    stats.transport_errors += local.transport_errors;
    stats.deleted += local.deleted;
    for (const auto& [s, n] : local.statuses) stats.statuses[s] += n;
  };
  const auto t0 = Clock::now();
  const std::size_t workers_count = std::max<std::size_t>(1, jobs);
  std::vector<httplib::Client> clients;
  for (std::size_t w = 0; w < workers_count; ++w) clients.push_back(make_client(port, tcp_nodelay));
  // The runner's preflight: one list of the run's subscriber before the cases.
  {
    RawStats local;
    count(local,
          clients[0].Get(endpoints_path(server.options().parents.front()), {{"Authorization", *auth}}));
    merge(local);
  }

  std::atomic<std::size_t> next{0};
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < workers_count; ++w) {
    workers.emplace_back([&, w] {
      RawStats local;
      std::vector<std::pair<std::string, std::string>> ids;
      for (std::size_t i = next++; i < suite.size(); i = next++) {
        for (const auto& r : suite[i]) {
          httplib::Headers headers;
          if (r.authorization) headers.emplace("Authorization", *r.authorization);
          auto res = clients[w].Post(r.path, headers, r.body, r.content_type);
          if (!count(local, res) || res->status / 100 != 2) continue;
          // The one thing read from an answer: the id, to read the endpoint back after a 201 and to
          // delete it at the end, as the runner does (its "state" check and its cleanup).
          auto body = nlohmann::json::parse(res->body, nullptr, false);
          if (!body.is_object() || !body.contains("id") || !body["id"].is_string()) continue;
          const std::string id = body["id"].get<std::string>();
          if (res->status == 201)
            count(local, clients[w].Get(endpoints_path(r.subscriber) + "/" + id, {{"Authorization", *auth}}));
          ids.emplace_back(r.subscriber, id);
        }
      }
      merge(local);
      std::lock_guard lock(mutex);
      created.insert(created.end(), ids.begin(), ids.end());
    });
  }
  for (auto& w : workers) w.join();
  workers.clear();

  // `send(w, key)` for each key, on the workers' clients, as the runner's cleanup spreads its requests.
  const auto on_workers = [&](const std::vector<std::pair<std::string, std::string>>& keys, auto send) {
    next = 0;
    workers.clear();
    for (std::size_t w = 0; w < std::min(workers_count, keys.size()); ++w) {
      workers.emplace_back([&, w] {
        RawStats local;
        for (std::size_t i = next++; i < keys.size(); i = next++) send(clients[w], keys[i], local);
        merge(local);
      });
    }
    for (auto& w : workers) w.join();
  };
  const httplib::Headers headers{{"Authorization", *auth}};
  on_workers(created, [&](httplib::Client& client, const auto& key, RawStats& local) {
    auto res = client.Delete(endpoints_path(key.first) + "/" + key.second, headers);
    if (count(local, res) && res->status == 204) ++local.deleted;
  });
  // Then, as the runner verifies: a list of every subscriber a case sent to, and each deleted
  // endpoint of it read back (404).
  std::set<std::string> subscribers;
  for (const auto& requests : suite)
    for (const auto& r : requests) subscribers.insert(r.subscriber);
  for (const auto& sub : subscribers) {
    RawStats local;
    count(local, clients[0].Get(endpoints_path(sub), headers));
    merge(local);
    std::vector<std::pair<std::string, std::string>> mine;
    for (const auto& key : created)
      if (key.first == sub) mine.push_back(key);
    on_workers(mine, [&](httplib::Client& client, const auto& key, RawStats& local) {
      count(local, client.Get(endpoints_path(key.first) + "/" + key.second, headers));
    });
  }
  stats.created += created.size();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

sipcontract::ServerOptions server_options() {
  sipcontract::ServerOptions opts;  // the defaults `sipcontract run` uses for its in-process server
  return opts;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Contract runner against a raw request loop, same requests, in-process reference server",
               "sipcontract-bench-runner"};
  std::string mode = "all";
  unsigned suites = 20;
  unsigned nagle_suites = 1;
  std::size_t jobs = sipcontract::RunOptions{}.jobs;
  app.add_option("--mode", mode, "all (runner, raw, raw-nagle) | runner | raw | raw-nagle")
      ->capture_default_str()
      ->check(CLI::IsMember({"all", "runner", "raw", "raw-nagle"}));
  app.add_option("--suites", suites, "full suites to run per variant (each on a fresh server)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--nagle-suites", nagle_suites,
                 "with --mode all: suites of the raw loop without TCP_NODELAY")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  app.add_option("--jobs", jobs, "concurrent cases (the runner's default)")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  bool list_cases = false;
  app.add_flag(
      "--list-cases", list_cases,
      "print the ids of the cases the suites run, one a line, and exit (for `sipcontract run --case`)");
  CLI11_PARSE(app, argc, argv);
  // A schema, case file or server that cannot be set up is a one-line error (exit 2), not an abort.
  try {
    std::signal(SIGPIPE, SIG_IGN);

    // The cases of the operation of record only: a raw loop sends requests, it does not carry the
    // values one step captures into the next (the lifecycle cases do).
    std::vector<sipcontract::Case> cases;
    for (auto& c : sipcontract::builtin_cases())
      if (std::all_of(c.steps.begin(), c.steps.end(),
                      [](const sipcontract::Step& s) { return s.operation.empty(); }))
        cases.push_back(std::move(c));
    if (list_cases) {
      for (const auto& c : cases) std::cout << c.id << '\n';
      return 0;
    }
    double runner_seconds = 0;
    std::size_t passed = 0, failed = 0, skipped = 0, steps = 0, runner_requests = 0;
    // "raw" is the anchor: a plain loop with TCP_NODELAY. "raw-nagle" is the same loop with cpp-httplib's
    // default (Nagle on), to show how much of a gap is the transport setting alone.
    std::map<std::string, RawStats> raw;
    std::map<std::string, double> raw_seconds;

    // record: false for the untimed census suites below.
    const auto run_runner = [&](const sipcontract::ServerOptions& server_opts, bool record) {
      sipcontract::ReferenceServer server(server_opts);
      server.start();
      sipcontract::RunOptions opts;
      opts.target = {server.base_url(), server.options().parents.front(), server.options().project_id,
                     server.options().api_token, true};
      opts.jobs = jobs;
      const auto t0 = Clock::now();
      const auto report = sipcontract::run_contract_tests(sipcontract::Contract::builtin(), cases, opts);
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      server.stop();
      if (!record) return;
      runner_seconds += seconds;
      passed += report.passed();
      failed += report.failed();
      skipped += report.skipped();
      runner_requests += report.requests;
      for (const auto& c : report.cases) steps += c.steps.size();
    };
    const auto run_raw = [&](const std::string& variant, const sipcontract::ServerOptions& server_opts,
                             bool record) {
      sipcontract::ReferenceServer server(server_opts);
      server.start();
      // Expansion is outside the timing here and inside the runner's: it is microseconds per suite.
      const auto suite = plan(cases, server);
      RawStats untimed;
      const double seconds =
          raw_suite(suite, server, jobs, variant == "raw", record ? raw[variant] : untimed);
      if (record) raw_seconds[variant] += seconds;
      server.stop();
    };
    // The anchor must send what the runner sends: one untimed suite of each, its requests counted by
    // the server (its access log) as "METHOD collection|item STATUS".
    const auto census = [&](const std::function<void(const sipcontract::ServerOptions&)>& run) {
      auto seen = std::make_shared<std::map<std::string, unsigned>>();
      sipcontract::ServerOptions so = server_options();
      so.access_log = [seen](const std::string& line) {  // TIME CLIENT "METHOD PATH" STATUS BYTES MS
        const auto open = line.find('"'), close = line.find('"', open + 1);
        const auto space = line.find(' ', open);
        if (open == std::string::npos || close == std::string::npos || space > close) return;
        const std::string method = line.substr(open + 1, space - open - 1);
        const std::string path = line.substr(space + 1, close - space - 1);
        const bool item = path.find("/sip_endpoints/") != std::string::npos;
        const std::string status = line.substr(close + 2, line.find(' ', close + 2) - close - 2);
        ++(*seen)[method + (item ? " item " : " collection ") + status];
      };
      run(so);
      return *seen;
    };
    // Only with --mode all: the single-variant modes are timed as processes.
    if (mode == "all") {
      const auto runner_census = census([&](const sipcontract::ServerOptions& so) { run_runner(so, false); });
      const auto raw_census =
          census([&](const sipcontract::ServerOptions& so) { run_raw("raw", so, false); });
      const auto total = [](const std::map<std::string, unsigned>& m) {
        unsigned n = 0;
        for (const auto& [k, v] : m) n += v;
        return n;
      };
      std::cout << nlohmann::json{{"bench", "requests"},
                                  {"runner", runner_census},
                                  {"raw_loop", raw_census},
                                  {"runner_total", total(runner_census)},
                                  {"raw_loop_total", total(raw_census)},
                                  {"same", runner_census == raw_census}}
                       .dump()
                << '\n';
    }
    std::vector<std::string> variants = mode == "all" ? std::vector<std::string>{"runner", "raw", "raw-nagle"}
                                                      : std::vector<std::string>{mode};
    std::map<std::string, unsigned> runs;  // suites each variant ran
    for (unsigned s = 0; s < suites; ++s) {
      // Rotate the order suite by suite so no variant always runs first (or right after another).
      // The Nagle variant takes 40 ms a request: it runs only its first --nagle-suites times.
      for (std::size_t i = 0; i < variants.size(); ++i) {
        const auto& v = variants[(i + s) % variants.size()];
        if (v == "raw-nagle" && mode == "all" && s >= nagle_suites) continue;
        ++runs[v];
        if (v == "runner")
          run_runner(server_options(), true);
        else
          run_raw(v, server_options(), true);
      }
    }
    for (const auto& v : variants) {
      if (runs[v] == 0) continue;
      const unsigned n_suites = runs[v];
      if (v == "runner") {
        std::cout << nlohmann::json{{"bench", "runner"},
                                    {"suites", n_suites},
                                    {"cases", cases.size()},
                                    {"jobs", jobs},
                                    {"steps_per_suite", steps / n_suites},
                                    {"case_requests", runner_requests / n_suites},  // cleanup aside
                                    {"passed", passed / n_suites},
                                    {"failed", failed / n_suites},
                                    {"skipped", skipped / n_suites},
                                    {"seconds", runner_seconds / n_suites}}
                         .dump()
                  << '\n';
        continue;
      }
      const RawStats& r = raw[v];
      nlohmann::json statuses = nlohmann::json::object();
      for (const auto& [status, n] : r.statuses) statuses[std::to_string(status)] = n / n_suites;
      std::cout << nlohmann::json{{"bench", v == "raw" ? "raw-loop" : "raw-loop-nagle"},
                                  {"suites", n_suites},
                                  {"cases", cases.size()},
                                  {"jobs", jobs},
                                  {"tcp_nodelay", v == "raw"},
                                  {"requests", r.requests / n_suites},
                                  {"created", r.created / n_suites},
                                  {"deleted", r.deleted / n_suites},
                                  {"transport_errors", r.transport_errors},
                                  {"statuses", statuses},
                                  {"seconds", raw_seconds[v] / n_suites}}
                       .dump()
                << '\n';
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "sipcontract-bench-runner: " << e.what() << '\n';
    return 2;
  }
}
