// `sipcontract run` against an independent stand-in of the contract (tests/standin/standin.py,
// Python standard library only), in many conforming variants. The stand-in was written from the
// public contract alone, not from the reference server or the runner, so a case that fails here
// shows a runner that demands something the contract does not: a status it leaves open, an order of
// error items, the absence of undocumented fields, a framing of the body, a link style.
// Contract:
// https://developer.signalwire.com/rest/signalwire-rest/endpoints/fabric/subscribers-sip-endpoint-create
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

#ifndef STANDIN_SCRIPT
#error "STANDIN_SCRIPT (the path of standin.py) must be defined by the build"
#endif

namespace {

namespace st = sipcontract::test;
using json = nlohmann::json;
using namespace std::chrono_literals;

// The credentials the stand-in accepts and the runner sends: through the environment only.
const std::map<std::string, std::string>& credentials() {
  static const std::map<std::string, std::string> env = {
      {"SIGNALWIRE_PROJECT_ID", "4f1d2c3b-standin-project"},
      {"SIGNALWIRE_API_TOKEN", "PTstandin0token0for0the0matrix"},
  };
  return env;
}

// python3's absolute path from PATH, or nullopt.
std::optional<std::string> find_python3() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/python3";
    struct stat info {};
    if (::stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

// A running stand-in: its process, base URL, subscriber, and where it listens.
struct StandIn {
  std::unique_ptr<st::Process> process;
  std::string base_url;    // http://HOST:PORT/api/fabric
  std::string subscriber;  // the fabric_subscriber_id it serves
  std::string host;
  int port = 0;

  std::string endpoints_path() const {
    return "/api/fabric/resources/subscribers/" + subscriber + "/sip_endpoints";
  }
  httplib::Client client() const {
    httplib::Client cli(host, port);
    cli.set_basic_auth(credentials().at("SIGNALWIRE_PROJECT_ID"), credentials().at("SIGNALWIRE_API_TOKEN"));
    cli.set_connection_timeout(10);
    cli.set_read_timeout(10);
    cli.set_default_headers({{"Accept-Encoding", "identity"}});
    return cli;
  }
};

// Starts the stand-in with `variants`; FAILs with its stderr when it does not come up.
StandIn start_standin(const std::string& python, const std::vector<std::string>& variants) {
  std::vector<std::string> args = {STANDIN_SCRIPT, "--host", "127.0.0.1", "--port", "0"};
  for (const auto& v : variants) {
    args.push_back("--variant");
    args.push_back(v);
  }
  StandIn s;
  s.process = std::make_unique<st::Process>(python, args, credentials());
  const auto first = s.process->next_line(30s);
  const auto second = s.process->next_line(30s);
  const std::string prefix = "listening on ";
  const std::string sub_prefix = "subscriber ";
  if (!first || first->rfind(prefix, 0) != 0 || !second || second->rfind(sub_prefix, 0) != 0) {
    s.process->finish(SIGKILL, 5s);
    INFO("stand-in stdout: " << s.process->out(4096));
    INFO("stand-in stderr: " << s.process->err(4096));
    FAIL("the stand-in did not print its 'listening on' and 'subscriber' lines");
  }
  s.base_url = first->substr(prefix.size());
  s.subscriber = second->substr(sub_prefix.size());
  // http://HOST:PORT/api/fabric
  const auto authority_start = s.base_url.find("://") + 3;
  const auto authority_end = s.base_url.find('/', authority_start);
  const std::string authority = s.base_url.substr(authority_start, authority_end - authority_start);
  const auto colon = authority.rfind(':');
  s.host = authority.substr(0, colon);
  s.port = std::stoi(authority.substr(colon + 1));
  return s;
}

// The path and query of an absolute URL (what follows the authority).
std::string path_of(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const auto slash = url.find('/', scheme + 3);
  return slash == std::string::npos ? "/" : url.substr(slash);
}

// Every endpoint the stand-in still lists for its subscriber, following links.next.
std::vector<std::string> remaining_endpoints(const StandIn& s) {
  auto cli = s.client();
  std::vector<std::string> ids;
  std::string path = s.endpoints_path();
  for (int page = 0; page < 1000; ++page) {
    const auto res = cli.Get(path);
    INFO("GET " << path);
    REQUIRE(res);
    INFO("answer: " << res->status << " " << res->body.substr(0, 2000));
    REQUIRE(res->status == 200);
    const auto doc = json::parse(res->body, nullptr, false);
    REQUIRE(doc.is_object());
    REQUIRE(doc.contains("data"));
    REQUIRE(doc["data"].is_array());
    for (const auto& item : doc["data"]) ids.push_back(item.value("id", std::string("?")));
    if (!doc.contains("links") || !doc["links"].contains("next") || !doc["links"]["next"].is_string()) break;
    path = path_of(doc["links"]["next"].get<std::string>());
  }
  return ids;
}

// Every failed case's failures, one per line, for INFO.
std::string failures_of(const json& report) {
  std::ostringstream out;
  if (!report.contains("cases") || !report["cases"].is_array()) return "(the report has no cases array)";
  for (const auto& c : report["cases"]) {
    if (c.value("outcome", std::string()) == "passed" || c.value("outcome", std::string()) == "skipped")
      continue;
    out << "case " << c.value("id", std::string("?")) << " (" << c.value("outcome", std::string("?"))
        << ")\n";
    if (!c.contains("steps") || !c["steps"].is_array()) continue;
    for (const auto& step : c["steps"]) {
      if (!step.contains("failures") || !step["failures"].is_array()) continue;
      for (const auto& f : step["failures"]) {
        out << "  [" << f.value("check", std::string("?")) << "] " << f.value("pointer", std::string())
            << ": " << f.value("message", std::string()) << "\n";
      }
    }
  }
  return out.str();
}

// Runs the whole suite against the stand-in in `variants` and checks that it passed and left nothing.
void run_matrix(const std::vector<std::string>& variants) {
  const auto python = find_python3();
  if (!python) {
    WARN(
        "python3 is not installed: the stand-in matrix is skipped (scripts/install-deps.sh --test installs "
        "it)");
    return;
  }
  auto standin = start_standin(*python, variants);
  st::TempDir dir;
  const auto report_path = dir.path() / "report.json";
  const auto junit_path = dir.path() / "junit.xml";

  st::ProcessOptions options;
  options.args = {"run",      "--base-url",         standin.base_url, "--subscriber",     standin.subscriber,
                  "--report", report_path.string(), "--junit",        junit_path.string()};
  options.env = credentials();
  options.timeout = std::chrono::seconds(300);
  options.capture_limit = 1 << 20;
  const auto result = st::run_process(options);

  std::string variant_list;
  for (const auto& v : variants) variant_list += (variant_list.empty() ? "" : " ") + v;
  INFO("variants: " << variant_list);
  INFO("sipcontract run: " << result.describe());
  const std::string report_text = st::read_file_or_empty(report_path);
  const auto report = json::parse(report_text, nullptr, false);
  if (!report.is_object()) {
    INFO("stdout: " << result.out.substr(0, 8000));
    INFO("stderr: " << result.err.substr(0, 8000));
    INFO("stand-in stderr: " << standin.process->err(8000));
    FAIL("sipcontract run wrote no JSON report");
  }
  REQUIRE(report.contains("summary"));
  const auto failed = report["summary"].value("failed", -1);
  INFO("summary: " << report["summary"].dump());
  INFO("failures:\n" << failures_of(report));
  INFO("stand-in stderr: " << standin.process->err(4000));

  // Whatever the verdict, the run must have deleted every endpoint it created.
  const auto left = remaining_endpoints(standin);
  std::string left_list;
  for (const auto& id : left) left_list += id + " ";
  INFO("left behind: " << (left_list.empty() ? "nothing" : left_list));
  const int standin_exit = standin.process->finish(SIGTERM, 20s);
  REQUIRE(result.exit_code == 0);
  REQUIRE(failed == 0);
  REQUIRE(left.empty());
  CHECK(standin_exit == 0);
}

const std::vector<std::string> kAllVariants = {
    "plain",      "chunked",         "gzip",           "close",      "extra-fields", "paginated",
    "delete-200", "errors-shuffled", "errors-first",   "media-type", "status-400",   "status-415",
    "status-422", "strict-fields",   "server-defaults"};

}  // namespace

// The stand-in on its own, with the httplib client and no sipcontract: a broken stand-in fails
// here, a broken runner only in the matrix below.
TEST_CASE("standin alone: every variant serves create and a duplicate 422 and read and update and delete",
          "[standin]") {
  const auto python = find_python3();
  if (!python) {
    WARN(
        "python3 is not installed: the stand-in checks are skipped (scripts/install-deps.sh --test installs "
        "it)");
    return;
  }
  for (const auto& variant : kAllVariants) {
    INFO("variant " << variant);
    auto standin = start_standin(*python, {variant});
    auto cli = standin.client();
    const std::string path = standin.endpoints_path();
    const std::string body =
        R"({"username":"sanity-user","password":"s3cret-pw","password_confirmation":"s3cret-pw",)"
        R"("codecs":["OPUS","PCMU"],"encryption":"required"})";

    // Without credentials: 401 {"error":"Unauthorized"}.
    {
      httplib::Client anonymous(standin.host, standin.port);
      const auto res = anonymous.Post(path, body, "application/json");
      REQUIRE(res);
      CHECK(res->status == 401);
      CHECK(json::parse(res->body, nullptr, false).value("error", std::string()) == "Unauthorized");
    }
    // Unknown subscriber: 404.
    {
      const auto res =
          cli.Post("/api/fabric/resources/subscribers/00000000-0000-4000-8000-000000000000/sip_endpoints",
                   body, "application/json");
      REQUIRE(res);
      CHECK(res->status == 404);
    }

    const auto created = cli.Post(path, body, "application/json");
    REQUIRE(created);
    INFO("201 body: " << created->body);
    REQUIRE(created->status == 201);
    std::string content_type = created->get_header_value("Content-Type");
    for (auto& c : content_type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(content_type.rfind("application/json", 0) == 0);
    const auto endpoint = json::parse(created->body, nullptr, false);
    REQUIRE(endpoint.is_object());
    for (const char* field : {"id", "username", "caller_id", "send_as", "ciphers", "codecs", "encryption",
                              "call_handler", "calling_handler_resource_id"})
      CHECK(endpoint.contains(field));
    CHECK_FALSE(endpoint.contains("password"));
    CHECK_FALSE(endpoint.contains("password_confirmation"));
    CHECK(endpoint.value("username", std::string()) == "sanity-user");
    CHECK(endpoint.value("encryption", std::string()) == "required");
    CHECK(endpoint["codecs"] == json::array({"OPUS", "PCMU"}));
    CHECK(created->body.find("s3cret-pw") == std::string::npos);
    const std::string id = endpoint.value("id", std::string());
    REQUIRE(id.size() == 36);

    // The same username again: 422 naming username.
    const auto duplicate = cli.Post(path, body, "application/json");
    REQUIRE(duplicate);
    INFO("duplicate answer: " << duplicate->body);
    CHECK(duplicate->status == 422);
    const auto errors = json::parse(duplicate->body, nullptr, false);
    REQUIRE(errors.is_object());
    REQUIRE(errors.contains("errors"));
    bool names_username = false;
    for (const auto& item : errors["errors"])
      names_username |= item.value("attribute", std::string()) == "username" &&
                        item.value("code", std::string()) == "not_unique_within_project";
    CHECK(names_username);

    // Missing fields: 422 with the documented item shape.
    const auto missing = cli.Post(path, "{}", "application/json");
    REQUIRE(missing);
    CHECK(missing->status == 422);
    const auto missing_doc = json::parse(missing->body, nullptr, false);
    REQUIRE(missing_doc.contains("errors"));
    REQUIRE_FALSE(missing_doc["errors"].empty());
    CHECK(missing_doc["errors"][0].value("type", std::string()) == "validation_error");
    CHECK(missing_doc["errors"][0].value("url", std::string()) ==
          "https://developer.signalwire.com/rest/signalwire-rest/overview/error-codes");

    // Get, update, list.
    const auto got = cli.Get(path + "/" + id);
    REQUIRE(got);
    CHECK(got->status == 200);
    CHECK(json::parse(got->body, nullptr, false).value("id", std::string()) == id);
    const auto patched = cli.Patch(path + "/" + id, R"({"caller_id":"Front Desk"})", "application/json");
    REQUIRE(patched);
    CHECK(patched->status == 200);
    CHECK(json::parse(patched->body, nullptr, false).value("caller_id", std::string()) == "Front Desk");
    CHECK(remaining_endpoints(standin) == std::vector<std::string>{id});

    // Delete: 204, or 200 in delete-200; then it is gone.
    const auto deleted = cli.Delete(path + "/" + id);
    REQUIRE(deleted);
    CHECK(deleted->status == (variant == "delete-200" ? 200 : 204));
    const auto gone = cli.Get(path + "/" + id);
    REQUIRE(gone);
    CHECK(gone->status == 404);
    CHECK(remaining_endpoints(standin).empty());

    CHECK(standin.process->finish(SIGTERM, 20s) == 0);
  }
}

TEST_CASE("standin alone: the stand-in refuses to start without credentials", "[standin]") {
  const auto python = find_python3();
  if (!python) {
    WARN("python3 is not installed: the stand-in checks are skipped");
    return;
  }
  st::ProcessOptions options;
  options.program = *python;
  options.args = {STANDIN_SCRIPT, "--port", "0"};
  const auto result = st::run_process(options);
  INFO(result.describe() << " " << result.err);
  CHECK(result.exit_code == 2);
  CHECK(st::contains(result.err, "SIGNALWIRE_PROJECT_ID"));
}

TEST_CASE("standin matrix: sipcontract run against the stand-in in variant plain", "[standin][matrix]") {
  run_matrix({"plain"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant chunked", "[standin][matrix]") {
  run_matrix({"chunked"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant gzip", "[standin][matrix]") {
  run_matrix({"gzip"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant close", "[standin][matrix]") {
  run_matrix({"close"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant extra-fields",
          "[standin][matrix]") {
  run_matrix({"extra-fields"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant paginated", "[standin][matrix]") {
  run_matrix({"paginated"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant delete-200", "[standin][matrix]") {
  run_matrix({"delete-200"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant errors-shuffled",
          "[standin][matrix]") {
  run_matrix({"errors-shuffled"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant errors-first",
          "[standin][matrix]") {
  run_matrix({"errors-first"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant media-type", "[standin][matrix]") {
  run_matrix({"media-type"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant status-400", "[standin][matrix]") {
  run_matrix({"status-400"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant status-415", "[standin][matrix]") {
  run_matrix({"status-415"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant status-422", "[standin][matrix]") {
  run_matrix({"status-422"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant strict-fields",
          "[standin][matrix]") {
  run_matrix({"strict-fields"});
}
TEST_CASE("standin matrix: sipcontract run against the stand-in in variant server-defaults",
          "[standin][matrix]") {
  run_matrix({"server-defaults"});
}
// The wire-level variants at once: chunked and gzipped bodies on connections that close, with
// odd header case, reordered pretty JSON, undocumented fields and cursor pagination.
TEST_CASE("standin matrix: sipcontract run against the stand-in in the wire variants combined",
          "[standin][matrix]") {
  run_matrix({"chunked", "gzip", "close", "media-type", "extra-fields", "paginated"});
}
