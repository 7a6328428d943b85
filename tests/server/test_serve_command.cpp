// `sipcontract serve` as a process: its first line, credentials, flags, signals and exit codes.
#include <signal.h>

#include <regex>

#include "server_test_support.hpp"
#include "test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

/// A `sipcontract serve` child process (tests/support's Process): stdout and stderr on files, an
/// environment of PATH, the sanitizer variables and `extra_env` ("NAME=value" entries) only, so no
/// SIGNALWIRE_* variable of the test process reaches it (the test decides those); killed if still
/// alive when the test ends.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::vector<std::string>& extra_env)
      : process_(serve_args(args), environment(extra_env)) {}

  /// The next stdout line (without '\n'), or std::nullopt at the exit or after `timeout`.
  std::optional<std::string> line(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    return process_.next_line(timeout);
  }

  /// Sends `signal` (if given) and waits for the exit; returns the exit code (-1: none in time).
  int finish(int signal = 0, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    return process_.finish(signal, timeout);
  }

  /// Everything written to stdout and stderr so far.
  std::string out() const { return process_.out(); }
  std::string err() const { return process_.err(); }

 private:
  static std::vector<std::string> serve_args(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"serve"};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  static std::map<std::string, std::string> environment(const std::vector<std::string>& entries) {
    std::map<std::string, std::string> env;
    for (const auto& e : entries) {
      const auto eq = e.find('=');
      REQUIRE(eq != std::string::npos);
      env[e.substr(0, eq)] = e.substr(eq + 1);
    }
    return env;
  }

  Process process_;
};

/// The port of a "listening on http://127.0.0.1:PORT/api/fabric" line (0 when it is not one).
int port_of(const std::string& first_line) {
  static const std::regex re(R"(^listening on http://127\.0\.0\.1:(\d+)/api/fabric$)");
  std::smatch m;
  return std::regex_match(first_line, m, re) ? std::stoi(m[1]) : 0;
}

/// Reads stdout up to the curl example's URL line; returns the lines read.
std::vector<std::string> banner(ServeProcess& p) {
  std::vector<std::string> lines;
  while (auto l = p.line()) {
    lines.push_back(*l);
    if (l->find("/sip_endpoints") != std::string::npos && l->find("http://") != std::string::npos) break;
  }
  return lines;
}

std::string value_after(const std::vector<std::string>& lines, const std::string& prefix) {
  for (const auto& l : lines) {
    if (const auto at = l.find(prefix); at != std::string::npos) return l.substr(at + prefix.size());
  }
  return {};
}

}  // namespace

TEST_CASE("serve prints its address first, generated credentials once, and exits 0 on SIGTERM",
          "[server][cli]") {
  ServeProcess p({"--port", "0"}, {});
  const auto lines = banner(p);
  REQUIRE_FALSE(lines.empty());
  const int port = port_of(lines.front());
  INFO(lines.front());
  REQUIRE(port > 0);
  const std::string project = value_after(lines, "export SIGNALWIRE_PROJECT_ID=");
  const std::string token = value_after(lines, "export SIGNALWIRE_API_TOKEN=");
  const std::string subscriber = value_after(lines, "subscriber ");
  REQUIRE_FALSE(project.empty());
  REQUIRE_FALSE(token.empty());
  REQUIRE(subscriber.size() == 36);
  CHECK(value_after(lines, "curl ").find("-u \"$SIGNALWIRE_PROJECT_ID:$SIGNALWIRE_API_TOKEN\"") !=
        std::string::npos);

  httplib::Client c("127.0.0.1", port);
  c.set_basic_auth(project.c_str(), token.c_str());
  auto r = c.Post(("/api/fabric/resources/subscribers/" + subscriber + "/sip_endpoints").c_str(),
                  valid_body(unique_username()).dump(), "application/json");
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 201);

  CHECK(p.finish(SIGTERM) == 0);
  // Printed once: the token appears in the banner only.
  const std::string out = p.out();
  CHECK(out.find(token) == out.rfind(token));
}

TEST_CASE("serve uses credentials from the environment and never prints them", "[server][cli][secrets]") {
  const std::string project = "11111111-2222-4333-8444-555555555555";
  const std::string token = "PTenvironment-token-value-0123456789";
  ServeProcess p({"--port", "0", "--subscriber", "0B3F1A7E-8C4D-4F6E-9A2B-1C3D5E7F9A0B", "--access-log", "-"},
                 {"SIGNALWIRE_PROJECT_ID=" + project, "SIGNALWIRE_API_TOKEN=" + token});
  const auto lines = banner(p);
  REQUIRE_FALSE(lines.empty());
  const int port = port_of(lines.front());
  REQUIRE(port > 0);
  CHECK(value_after(lines, "subscriber ") == "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b");

  httplib::Client c("127.0.0.1", port);
  c.set_basic_auth(project.c_str(), token.c_str());
  auto r = c.Post("/api/fabric/resources/subscribers/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b/sip_endpoints",
                  valid_body(unique_username()).dump(), "application/json");
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 201);
  // The access log goes to stdout: wait for its line, then stop.
  std::optional<std::string> logged;
  while ((logged = p.line()) && logged->find(" 201 ") == std::string::npos) {
  }
  REQUIRE(logged);
  CHECK(p.finish(SIGINT) == 0);
  CHECK(p.out().find(token) == std::string::npos);
  CHECK(p.err().find(token) == std::string::npos);
  CHECK(p.out().find(project) == std::string::npos);
}

TEST_CASE("serve refuses a half-set credential pair with exit 2", "[server][cli]") {
  ServeProcess p({"--port", "0"}, {"SIGNALWIRE_PROJECT_ID=only-this"});
  CHECK(p.finish() == 2);
  CHECK(p.err().find("SIGNALWIRE_API_TOKEN") != std::string::npos);
}

TEST_CASE("serve refuses bad flags with exit 2", "[server][cli]") {
  for (const std::vector<std::string> args :
       {std::vector<std::string>{"--fault", "no-such-fault"},
        std::vector<std::string>{"--subscriber", "not-a-uuid"}, std::vector<std::string>{"--port", "70000"},
        std::vector<std::string>{"--max-body-bytes", "0"}}) {
    INFO(args[0] << " " << args[1]);
    ServeProcess p(args, {});
    CHECK(p.finish() == 2);
    CHECK_FALSE(p.err().empty());
  }
}

TEST_CASE("serve exits 2 when the port is taken", "[server][cli]") {
  RunningServer taken;
  ServeProcess p({"--port", std::to_string(taken.port())}, {});
  CHECK(p.finish() == 2);
  CHECK(p.err().find("cannot listen") != std::string::npos);
}

TEST_CASE("serve --fault breaks the named rule", "[server][cli][faults]") {
  ServeProcess p({"--port", "0", "--fault", "wrong-status", "--fault", "leak-token"}, {});
  const auto lines = banner(p);
  REQUIRE_FALSE(lines.empty());
  const int port = port_of(lines.front());
  REQUIRE(port > 0);
  httplib::Client c("127.0.0.1", port);
  const std::string token = value_after(lines, "export SIGNALWIRE_API_TOKEN=");
  c.set_basic_auth(value_after(lines, "export SIGNALWIRE_PROJECT_ID=").c_str(), token.c_str());
  auto r = c.Post(
      ("/api/fabric/resources/subscribers/" + value_after(lines, "subscriber ") + "/sip_endpoints").c_str(),
      valid_body(unique_username()).dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.find(token) != std::string::npos);
  CHECK(p.finish(SIGTERM) == 0);
  CHECK(p.err().find("wrong-status") != std::string::npos);
}

TEST_CASE("serve --help documents the flags and the testing group", "[server][cli]") {
  ServeProcess p({"--help"}, {});
  CHECK(p.finish() == 0);
  for (const char* flag : {"--host", "--port", "--subscriber", "--max-body-bytes", "--max-endpoints",
                           "--threads", "--access-log", "--fault", "Testing"}) {
    INFO(flag);
    CHECK(p.out().find(flag) != std::string::npos);
  }
}

TEST_CASE("serve --help lists every variant with its line", "[server][cli][variants]") {
  ServeProcess p({"--help"}, {});
  CHECK(p.finish() == 0);
  CHECK(p.out().find("--variant") != std::string::npos);
  CHECK(p.out().find("--listen-backlog") != std::string::npos);
  CHECK(p.out().find("--max-connections") != std::string::npos);
  for (auto variant : all_variants()) {
    INFO(variant_name(variant));
    CHECK(p.out().find(std::string(variant_name(variant)) + " ") != std::string::npos);
    CHECK(p.out().find(std::string(variant_description(variant))) != std::string::npos);
  }
}

TEST_CASE("serve --variant answers as the named variants, combined", "[server][cli][variants]") {
  ServeProcess p({"--port", "0", "--variant", "create-only-field", "--variant", "media-type",
                  "--listen-backlog", "64", "--max-connections", "8"},
                 {});
  const auto lines = banner(p);
  REQUIRE_FALSE(lines.empty());
  const int port = port_of(lines.front());
  REQUIRE(port > 0);
  httplib::Client c("127.0.0.1", port);
  c.set_basic_auth(value_after(lines, "export SIGNALWIRE_PROJECT_ID=").c_str(),
                   value_after(lines, "export SIGNALWIRE_API_TOKEN=").c_str());
  auto r = c.Post(
      ("/api/fabric/resources/subscribers/" + value_after(lines, "subscriber ") + "/sip_endpoints").c_str(),
      valid_body(unique_username()).dump(), "application/json");
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(r->get_header_value("Content-Type") == "Application/JSON; charset=UTF-8");
  CHECK(parse_body(r).at("region") == "us-east-1");
  CHECK(p.finish(SIGTERM) == 0);
  CHECK(p.err().find("create-only-field") != std::string::npos);
  CHECK(p.err().find("breaking the contract") == std::string::npos);  // variants conform
}

TEST_CASE("serve refuses an unknown variant with exit 2", "[server][cli][variants]") {
  ServeProcess p({"--variant", "no-such-variant"}, {});
  CHECK(p.finish() == 2);
  CHECK(p.err().find("unknown variant") != std::string::npos);
}

TEST_CASE("serve --version prints the version and exits 0", "[server][cli]") {
  ServeProcess p({"--version"}, {});
  CHECK(p.finish() == 0);
  CHECK(p.out().rfind("sipcontract ", 0) == 0);
}
