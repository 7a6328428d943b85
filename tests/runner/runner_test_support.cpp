#include "runner_test_support.hpp"

#include <httplib.h>

#include <csignal>
#include <stdexcept>

namespace sipcontract::test {

namespace {
// A server that stops reading mid-body must not kill the test process with SIGPIPE.
const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();
}  // namespace

RunOptions options_for(const ServerGuard& server) {
  (void)kSigpipeIgnored;
  RunOptions o;
  o.target = {server.base_url(), server.subscriber(), server.options().project_id, server.options().api_token,
              true};
  o.jobs = 4;
  o.transport.retries = 0;
  o.transport.timeout = std::chrono::seconds(30);
  o.transport.max_time = std::chrono::seconds(20);
  return o;
}

std::vector<Case> builtin_matching(const std::vector<std::string>& globs) {
  Selection s;
  s.globs = globs;
  return select_cases(builtin_cases(), s);
}

const CheckFailure* find_failure(const RunReport& report, std::string_view check,
                                 std::optional<std::string_view> pointer) {
  for (const auto& c : report.cases)
    for (const auto& st : c.steps)
      for (const auto& f : st.failures)
        if (f.check == check && (!pointer || f.pointer == *pointer)) return &f;
  return nullptr;
}

std::string describe_failures(const RunReport& report) {
  std::string out;
  for (const auto& c : report.cases)
    for (const auto& st : c.steps)
      for (const auto& f : st.failures)
        out += c.id + " step " + std::to_string(st.index + 1) + ": " +
               (f.severity == Severity::kFailure ? "" : std::string(to_string(f.severity)) + " ") + "[" +
               f.check + "] " + f.pointer + ": " + f.message + " (expected " + f.expected + ", actual " +
               f.actual + ")\n";
  for (const auto& l : report.cleanup.leftovers) out += "left: " + l.id + ": " + l.reason + "\n";
  for (const auto& l : report.cleanup.unverified)
    out += "unverified: " + l.id + " " + l.name + ": " + l.reason + "\n";
  for (const auto& n : report.cleanup.notes) out += "note: " + n + "\n";
  return out.empty() ? "(no failures)" : out;
}

std::vector<std::string> listed_endpoints(const ServerGuard& server, const std::string& subscriber,
                                          const std::string& marker) {
  httplib::Client client(server.base_url().substr(0, server.base_url().find("/api/fabric")));
  client.set_basic_auth(server.options().project_id, server.options().api_token);
  client.set_read_timeout(std::chrono::seconds(60));
  std::vector<std::string> ids;
  std::string path = "/api/fabric/resources/subscribers/" + subscriber + "/sip_endpoints";
  for (int page = 0; page < 1000 && !path.empty(); ++page) {
    auto res = client.Get(path);
    if (!res) throw std::runtime_error("list: " + httplib::to_string(res.error()));
    if (res->status != 200) throw std::runtime_error("list answered " + std::to_string(res->status));
    auto doc = nlohmann::json::parse(res->body);
    for (const auto& item : doc.at("data"))
      if (marker.empty() || item.at("username").get<std::string>().find(marker) != std::string::npos)
        ids.push_back(item.at("id").get<std::string>());
    path.clear();
    if (doc["links"].contains("next") && doc["links"]["next"].is_string()) {
      auto next = doc["links"]["next"].get<std::string>();
      auto at = next.find("/api/fabric");
      if (at != std::string::npos) path = next.substr(at);
    }
  }
  return ids;
}

CliResult run_cli(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  (void)kSigpipeIgnored;
  ProcessOptions options;
  options.args = args;
  options.env = env;
  options.timeout = std::chrono::seconds(120);
  return run_process(options);
}

}  // namespace sipcontract::test
