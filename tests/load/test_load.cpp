// The reference server under load and abuse: `sipcontract serve` as a child process, wrk (with
// tests/load/mix.lua) sending a mix of valid, invalid and malformed requests plus concurrent
// deletes from several clients, then a reconciliation of the store against what the clients were
// told: every 201 not deleted is retrievable (same username) and listed, no deleted or unknown
// endpoint is listed, no answer was 5xx (client side and the access log), no answer broke the
// contract, and the server is still up and exits 0 on SIGTERM.
//
// SIPCONTRACT_LOAD_SECONDS (default 5) and SIPCONTRACT_LOAD_CLIENTS (default 8) size the run;
// scripts/load.sh runs it longer and prints the figures.
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "hostile_support.hpp"

using namespace sipcontract::test;
namespace fs = std::filesystem;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

std::string find_wrk() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const fs::path p = fs::path(dir) / "wrk";
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// What the clients were told, read back from the state file mix.lua writes.
struct ClientState {
  std::map<std::string, std::string> live;  // id -> username
  std::set<std::string> deleted;
  std::set<std::string> pending_usernames;  // creates without an answer
  std::set<std::string> pending_ids;        // deletes without an answer
  std::map<std::string, long> counts;       // "kind status" -> n
  std::vector<std::string> mismatches;
  long requests = 0;
  int threads = 0;
};

ClientState read_state(const fs::path& path) {
  ClientState s;
  std::istringstream in(read_file_or_empty(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string tag;
    l >> tag;
    if (tag == "live") {
      std::string id, username;
      l >> id >> username;
      s.live[id] = username;
    } else if (tag == "deleted") {
      std::string id;
      l >> id;
      s.deleted.insert(id);
    } else if (tag == "pending") {
      std::string kind, arg;
      l >> kind >> arg;
      if (kind == "delete") {
        s.pending_ids.insert(arg);
      } else if (!arg.empty()) {
        s.pending_usernames.insert(arg);
      }
    } else if (tag == "count") {
      std::string kind, status;
      long n = 0;
      l >> kind >> status >> n;
      s.counts[kind + " " + status] += n;
    } else if (tag == "mismatch") {
      s.mismatches.push_back(line.substr(9));
    } else if (tag == "thread") {
      long tid = 0, n = 0;
      l >> tid >> n;
      s.requests += n;
      ++s.threads;
    }
  }
  return s;
}

// The status of an access-log line, read from the end (see the server's log format).
int logged_status(std::string line) {
  if (line.size() > 6 && line.compare(line.size() - 6, 6, " reset") == 0) line.resize(line.size() - 6);
  for (int i = 0; i < 2; ++i) line.resize(line.rfind(' ') == std::string::npos ? 0 : line.rfind(' '));
  const auto space = line.rfind(' ');
  return space == std::string::npos ? -1 : std::atoi(line.c_str() + space + 1);
}

}  // namespace

TEST_CASE("the server stays up and its store matches what clients were told under mixed load and abuse",
          "[load]") {
  const std::string wrk = find_wrk();
  {
    INFO("wrk is not installed: scripts/install-deps.sh --test installs it");
    REQUIRE(!wrk.empty());
  }
  const int seconds = env_int("SIPCONTRACT_LOAD_SECONDS", 5);
  const int clients = env_int("SIPCONTRACT_LOAD_CLIENTS", 8);

  const TempDir scratch;  // removed however the test ends
  const fs::path& dir = scratch.path();
  const fs::path access_log = dir / "access.log";
  const fs::path state_file = dir / "state.txt";
  const std::map<std::string, std::string> credentials = {{"SIGNALWIRE_PROJECT_ID", kProjectId},
                                                          {"SIGNALWIRE_API_TOKEN", kApiToken}};

  // One worker per client connection and room to spare; a small body limit so 413 is cheap.
  Process serve(
      {"serve", "--port", "0", "--subscriber", kSubscriber, "--max-body-bytes", "4096", "--max-endpoints",
       "10000000", "--threads", std::to_string(clients + 8), "--access-log", access_log.string()},
      credentials);
  std::smatch m;
  const std::string first = serve.first_line();
  INFO("serve said: " << first << serve.err());
  REQUIRE(std::regex_match(first, m, std::regex(R"(^listening on http://127\.0\.0\.1:(\d+)/api/fabric$)")));
  const int port = std::stoi(m[1]);

  const std::string c = std::to_string(clients);
  Process load(wrk,
               {"-t", c, "-c", c, "-d", std::to_string(seconds) + "s", "--timeout", "10s", "--latency", "-s",
                LOAD_SCRIPT, "http://127.0.0.1:" + std::to_string(port)},
               {{"SC_LOAD_AUTH", "Basic " + base64_encode(std::string(kProjectId) + ":" + kApiToken)},
                {"SC_LOAD_SUBSCRIBER", kSubscriber},
                {"SC_LOAD_STATE", state_file.string()}});
  const int wrk_exit = load.finish(0, std::chrono::seconds(seconds + 120));
  INFO("wrk stdout:\n" << load.out() << "\nwrk stderr:\n" << load.err());
  REQUIRE(wrk_exit == 0);
  const ClientState state = read_state(state_file);
  REQUIRE(state.threads == clients);

  // The server is still up: list everything (following links.next) and read every live endpoint.
  httplib::Client client("127.0.0.1", port);
  client.set_basic_auth(kProjectId, kApiToken);
  client.set_keep_alive(true);
  client.set_read_timeout(std::chrono::seconds(60));
  std::map<std::string, std::string> listed;  // id -> username
  std::string path =
      std::string("/api/fabric/resources/subscribers/") + kSubscriber + "/sip_endpoints?page_size=1000";
  for (int page = 0; !path.empty() && page < 100000; ++page) {
    auto res = client.Get(path);
    REQUIRE(res);
    REQUIRE(res->status == 200);
    const auto doc = nlohmann::json::parse(res->body);
    for (const auto& e : doc.at("data")) listed[e.at("id")] = e.at("username");
    path.clear();
    if (doc.at("links").contains("next")) {
      const std::string next = doc["links"]["next"];
      path = next.substr(next.find("/api/"));
    }
  }
  std::size_t unreadable = 0;
  std::vector<std::string> problems;
  for (const auto& [id, username] : state.live) {
    if (state.pending_ids.count(id)) continue;  // a delete without an answer: either way is right
    auto res =
        client.Get(std::string("/api/fabric/resources/subscribers/") + kSubscriber + "/sip_endpoints/" + id);
    if (!res || res->status != 200 || nlohmann::json::parse(res->body).value("username", "") != username) {
      ++unreadable;
      if (problems.size() < 10) problems.push_back("live " + id + " not retrievable");
    }
    if (!listed.count(id) && problems.size() < 10) problems.push_back("live " + id + " not listed");
  }
  std::size_t unknown_listed = 0;
  for (const auto& [id, username] : listed) {
    const bool told = state.live.count(id) != 0;
    const bool in_flight = state.pending_usernames.count(username) != 0;
    if (!told && !in_flight) {
      ++unknown_listed;
      if (problems.size() < 10)
        problems.push_back(
            "listed " + id + " (" + username + ")" +
            (state.deleted.count(id) ? " was deleted (204)" : " was never reported as created"));
    }
  }
  std::size_t missing = 0;
  for (const auto& [id, username] : state.live)
    if (!listed.count(id) && !state.pending_ids.count(id)) ++missing;

  const int serve_exit = serve.finish(SIGTERM);
  const std::string log = read_file_or_empty(access_log);
  std::size_t log_lines = 0, log_5xx = 0;
  {
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      ++log_lines;
      if (logged_status(line) >= 500) ++log_5xx;
    }
  }
  long answers_5xx = 0, unanswered = 0, total = 0;
  for (const auto& [key, n] : state.counts) {
    const std::string status = key.substr(key.rfind(' ') + 1);
    total += n;
    if (status == "none") unanswered += n;
    if (!status.empty() && status[0] == '5') answers_5xx += n;
  }
  std::smatch rate;
  const std::string wrk_out = load.out();
  std::regex_search(wrk_out, rate, std::regex(R"(Requests/sec:\s+([0-9.]+))"));
  std::smatch errors;
  const bool socket_errors = std::regex_search(wrk_out, errors, std::regex(R"(Socket errors:[^\n]*)"));

  std::ostringstream figures;
  figures << "load: " << clients << " clients for " << seconds << " s: " << total << " answers ("
          << (rate.size() > 1 ? rate[1].str() : "?") << " requests/s), " << state.live.size()
          << " endpoints live, " << state.deleted.size() << " deleted, " << listed.size() << " listed; 5xx "
          << answers_5xx << " (access log " << log_5xx << " of " << log_lines
          << " lines); contract mismatches " << state.mismatches.size() << "; unanswered " << unanswered
          << "; " << (socket_errors ? errors[0].str() : "no socket errors");
  std::cout << figures.str() << "\nload: answers by kind and status:";
  for (const auto& [key, n] : state.counts) std::cout << " [" << key << "] " << n;
  std::cout << std::endl;

  INFO(figures.str());
  for (const auto& p : problems) INFO(p);
  for (const auto& mm : state.mismatches) INFO("mismatch: " << mm);
  INFO("serve stderr: " << serve.err());
  CHECK(serve_exit == 0);
  CHECK(answers_5xx == 0);
  CHECK(log_5xx == 0);
  CHECK(state.mismatches.empty());
  CHECK(unreadable == 0);
  CHECK(missing == 0);
  CHECK(unknown_listed == 0);
  CHECK(state.counts.count("create 201") == 1);
  CHECK(state.counts.count("delete 204") == 1);
  CHECK(log_lines >= static_cast<std::size_t>(total - unanswered));  // every answer was logged
  // The credentials never reach the access log.
  CHECK(log.find(kApiToken) == std::string::npos);
  CHECK(log.find(base64_encode(std::string(kProjectId) + ":" + kApiToken)) == std::string::npos);
}
