// The wire, against small real loopback servers that misbehave in ways the reference server does
// not: 503/429 then an answer (retries), redirects (credentials stay home), credentials echoed in
// a header, an unreachable port, TLS with a self-signed certificate.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "runner_test_support.hpp"
#include "sipcontract/runner.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

constexpr const char* kSubscriber = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";

/// An httplib server on a free loopback port, running on a thread; stopped on destruction.
template <typename ServerT>
class Stub {
 public:
  template <typename... Args>
  explicit Stub(const std::function<void(ServerT&)>& setup, Args&&... args)
      : server_(std::forward<Args>(args)...) {
    setup(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~Stub() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string base_url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + "/api/fabric";
  }

 private:
  ServerT server_;
  int port_ = 0;
  std::thread thread_;
};

RunOptions stub_options(const std::string& base_url) {
  RunOptions o;
  o.target = {base_url, kSubscriber, "proj-stub", "token-stub-secret", false};
  o.jobs = 1;
  o.transport.retries = 2;
  o.transport.backoff = std::chrono::milliseconds(1);
  o.transport.timeout = std::chrono::seconds(20);
  return o;
}

const char* kUnauthorized = R"({"error":"Unauthorized"})";

}  // namespace

TEST_CASE("503 and 429 are retried with backoff and reported as retries", "[runner][transport][retry]") {
  std::atomic<int> calls{0};
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request&, httplib::Response& res) {
      int n = calls++;
      if (n == 0) {
        res.status = 503;
        res.set_header("Retry-After", "0");
        res.set_content(R"({"error":"busy"})", "application/json");
      } else if (n == 1) {
        res.status = 429;
        res.set_content(R"({"error":"slow down"})", "application/json");
      } else {
        res.status = 401;
        res.set_content(kUnauthorized, "application/json");
      }
    });
  });
  auto report =
      run_contract_tests(Contract::builtin(), builtin_matching({"auth-none"}), stub_options(stub.base_url()));
  INFO(describe_failures(report));
  CHECK(report.failed() == 0);
  CHECK(report.retries() == 2);
  REQUIRE(report.cases.at(0).steps.at(0).retries.size() == 2);
  CHECK_THAT(report.cases[0].steps[0].retries[0],
             Catch::Contains("503") && Catch::Contains("Retry-After 0 s"));
  CHECK_THAT(report.cases[0].steps[0].retries[1], Catch::Contains("429"));
  std::ostringstream summary;
  write_summary(report, summary);
  CHECK_THAT(summary.str(), Catch::Contains("2 retries") && Catch::Contains("Retries:"));
}

TEST_CASE("retries are bounded: the last 503 is checked and reported", "[runner][transport][retry]") {
  std::atomic<int> calls{0};
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = 503;
      res.set_content(R"({"error":"busy"})", "application/json");
    });
  });
  auto opts = stub_options(stub.base_url());
  opts.transport.retries = 3;
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"auth-none"}), opts);
  CHECK(calls == 4);
  CHECK(report.retries() == 3);
  CHECK(find_failure(report, "status"));
  CHECK(find_failure(report, "undocumented-status"));
}

TEST_CASE("a redirect is reported and not followed, so credentials never reach the other host",
          "[runner][transport][redirect]") {
  std::atomic<int> elsewhere{0};
  Stub<httplib::Server> other([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request&, httplib::Response& res) {
      ++elsewhere;
      res.status = 201;
    });
  });
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
      res.status = 307;
      res.set_header("Location", other.base_url() + req.path);
    });
  });
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal"}),
                                   stub_options(stub.base_url()));
  const CheckFailure* f = find_failure(report, "redirect");
  REQUIRE(f);
  CHECK_THAT(f->message, Catch::Contains("not followed"));
  CHECK(find_failure(report, "status"));
  CHECK(elsewhere == 0);
}

TEST_CASE("credentials echoed in a response header are reported under secrets",
          "[runner][transport][secrets]") {
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
      res.status = 401;
      res.set_header("X-Debug-Auth", req.get_header_value("Authorization"));
      res.set_content(kUnauthorized, "application/json");
    });
  });
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"auth-wrong-project"}),
                                   stub_options(stub.base_url()));
  const CheckFailure* f = find_failure(report, "secrets");
  REQUIRE(f);
  CHECK_THAT(f->message, Catch::Contains("X-Debug-Auth"));
  std::ostringstream out;
  write_summary(report, out);
  write_json_report(report, out);
  write_junit(report, out);
  CHECK(out.str().find("token-stub-secret") == std::string::npos);
}

TEST_CASE("a secret in a body the schema accepts is reported with its pointer",
          "[runner][transport][secrets]") {
  // The 401 schema allows extra members, so this body passes the verdict from its bytes alone;
  // the leaked password must still be found, and pointed at.
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
      auto in = nlohmann::json::parse(req.body);
      res.status = 401;
      res.set_content(nlohmann::json{{"error", "Unauthorized"}, {"debug", {{"echo", in["password"]}}}}.dump(),
                      "application/json");
    });
  });
  auto report =
      run_contract_tests(Contract::builtin(), builtin_matching({"auth-none"}), stub_options(stub.base_url()));
  INFO(describe_failures(report));
  const CheckFailure* f = find_failure(report, "secrets", "/debug/echo");
  REQUIRE(f);
  CHECK_THAT(f->message, Catch::Contains("password"));
  CHECK(report.failed() == 1);
}

TEST_CASE("a leaked value is reported once, naming every secret it is and every place it sits",
          "[runner][transport][secrets]") {
  // The password (which is also the confirmation's value) comes back at /password, inside a list and
  // inside another string; the Authorization value in a header (the base64 credentials inside it
  // are a secret of their own, and must not make a second report for the same leak).
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
      auto in = nlohmann::json::parse(req.body);
      const std::string pw = in["password"];
      res.status = 401;
      res.set_header("X-Echo", req.get_header_value("Authorization"));
      res.set_content(nlohmann::json{{"error", "Unauthorized"},
                                     {"password", pw},
                                     {"codecs", {"OPUS", pw}},
                                     {"note", "was " + pw + "!"}}
                          .dump(),
                      "application/json");
    });
  });
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"auth-wrong-token"}),
                                   stub_options(stub.base_url()));
  INFO(describe_failures(report));
  std::vector<CheckFailure> leaks;
  for (const auto& f : report.cases.at(0).steps.at(0).failures)
    if (f.check == "secrets") leaks.push_back(f);
  REQUIRE(leaks.size() == 2);  // one for the header, one for the body
  const auto& header = leaks[0].pointer.empty() ? leaks[0] : leaks[1];
  const auto& body = leaks[0].pointer.empty() ? leaks[1] : leaks[0];
  CHECK_THAT(header.message, Catch::Contains("header X-Echo") && Catch::Contains("Authorization header"));
  CHECK(body.pointer == "/codecs/1");
  CHECK_THAT(
      body.message,
      Catch::Contains("password (the same value as password_confirmation and the run's generated secret)"));
  CHECK_THAT(body.message,
             Catch::Contains("/codecs/1") && Catch::Contains("/note") && Catch::Contains("/password"));
}

TEST_CASE("a target that cannot be reached is diagnosed once, exit code 3, and no case is sent",
          "[runner][transport][unreachable]") {
  // A port that was free a moment ago and has nothing listening now.
  const int port = LoopbackListener().port();
  auto opts = stub_options("http://127.0.0.1:" + std::to_string(port) + "/api/fabric");
  opts.transport.retries = 1;
  auto report =
      run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal", "auth-none"}), opts);
  CHECK(report.unreachable());
  CHECK(report.exit_code() == 3);
  REQUIRE(report.diagnosis);
  CHECK_THAT(report.diagnosis.problem, Catch::Contains("cannot be reached"));
  CHECK_THAT(report.diagnosis.detail, Catch::Contains("could not connect"));
  CHECK(report.failed() == 0);
  CHECK(report.skipped() == 2);
  for (const auto& c : report.cases) CHECK_THAT(c.skip_reason, Catch::Contains("cannot be reached"));
  CHECK(report.cleanup.clean());  // nothing was sent, so nothing can be left
  std::ostringstream console;
  write_summary(report, console);
  // One diagnosis, not a block per case.
  CHECK_THAT(console.str(), Catch::Contains("NOT RUN: the target cannot be reached"));
  CHECK(console.str().find("could not connect") == console.str().rfind("could not connect"));
}

TEST_CASE("without the preflight, an unreachable target fails every case under transport and exits 3",
          "[runner][transport][unreachable]") {
  const int port = LoopbackListener().port();
  auto opts = stub_options("http://127.0.0.1:" + std::to_string(port) + "/api/fabric");
  opts.transport.retries = 1;
  opts.preflight = false;
  auto report =
      run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal", "auth-none"}), opts);
  CHECK(report.unreachable());
  CHECK(report.exit_code() == 3);
  CHECK(report.failed() == 2);
  CHECK(report.retries() == 2);  // a refused connection sent nothing, so even a create is retried
  REQUIRE(find_failure(report, "transport"));
  CHECK_THAT(find_failure(report, "transport")->message, Catch::Contains("could not connect"));
  std::ostringstream console;
  write_summary(report, console);
  CHECK_THAT(console.str(), Catch::Contains("the same transport failure as"));
}

TEST_CASE("configuration errors are thrown before any request", "[runner][transport][config]") {
  auto cases = builtin_matching({"valid-minimal"});
  auto error_of = [&](RunOptions o) -> std::string {
    try {
      run_contract_tests(Contract::builtin(), cases, o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  };
  auto o = stub_options("http://sip.example.com/api/fabric");
  CHECK_THAT(error_of(o), Catch::Contains("plain HTTP") && Catch::Contains("--allow-plain-http"));
  o = stub_options("ftp://127.0.0.1/api/fabric");
  CHECK_THAT(error_of(o), Catch::Contains("--base-url") && Catch::Contains("scheme"));
  o = stub_options("https://user:pw@127.0.0.1/api/fabric");
  CHECK_THAT(error_of(o), Catch::Contains("credentials do not belong in the URL"));
  o = stub_options("http://127.0.0.1:9/api/fabric");
  o.target.token.clear();
  CHECK_THAT(error_of(o), Catch::Contains("SIGNALWIRE_API_TOKEN"));
  o = stub_options("http://127.0.0.1:9/api/fabric");
  o.target.parent = "not-a-uuid";
  CHECK_THAT(error_of(o), Catch::Contains("--subscriber not-a-uuid"));
  o = stub_options("http://127.0.0.1:9/api/fabric");
  o.transport.ca_file = "/nonexistent/ca.pem";
  CHECK_THAT(error_of(o), Catch::Contains("--ca-file"));
}

namespace {

/// A self-signed certificate for 127.0.0.1 (CN and SAN), written as PEM files.
struct SelfSigned {
  std::string cert_path;
  std::string key_path;
};

SelfSigned make_self_signed(const TempDir& dir) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  REQUIRE(key);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("127.0.0.1"),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, "critical,CA:TRUE");
  X509_add_ext(x, bc, -1);
  X509_EXTENSION_free(bc);
  X509_sign(x, key, EVP_sha256());
  SelfSigned out{(dir.path() / "cert.pem").string(), (dir.path() / "key.pem").string()};
  FILE* f = std::fopen(out.cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(out.key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

}  // namespace

TEST_CASE("TLS is verified by default, against --ca-file, and only skipped with --insecure",
          "[runner][transport][tls]") {
  TempDir dir;
  auto cert = make_self_signed(dir);
  Stub<httplib::SSLServer> stub(
      [](httplib::SSLServer& s) {
        s.Post(".*", [](const httplib::Request&, httplib::Response& res) {
          res.status = 401;
          res.set_content(kUnauthorized, "application/json");
        });
      },
      cert.cert_path.c_str(), cert.key_path.c_str());
  auto cases = builtin_matching({"auth-none"});
  auto opts = stub_options(stub.base_url("https"));

  SECTION("the system CAs do not know the certificate: diagnosed once, a configuration error") {
    auto report = run_contract_tests(Contract::builtin(), cases, opts);
    REQUIRE(report.diagnosis);
    CHECK_THAT(report.diagnosis.problem, Catch::Contains("TLS certificate does not verify"));
    CHECK_THAT(report.diagnosis.detail, Catch::Contains("did not verify: self-signed certificate"));
    CHECK_THAT(report.diagnosis.advice, Catch::Contains("--ca-file"));
    CHECK(report.exit_code() == 2);
    CHECK(report.retries() == 0);
    CHECK(report.skipped() == 1);
    CHECK_FALSE(report.insecure);
  }
  SECTION("the certificate is trusted but names another host: said so, not 'untrusted'") {
    opts.transport.ca_file = cert.cert_path;
    opts.target.base_url = "https://localhost:" + std::to_string(stub.port()) + "/api/fabric";
    auto report = run_contract_tests(Contract::builtin(), cases, opts);
    REQUIRE(report.diagnosis);
    CHECK_THAT(report.diagnosis.detail, Catch::Contains("not for host localhost (host name mismatch)"));
    CHECK_THAT(report.diagnosis.advice, Catch::Contains("host name"));
    CHECK(report.exit_code() == 2);
  }
  SECTION("a --ca-file that holds no PEM certificate is a configuration error before anything is sent") {
    opts.transport.ca_file = dir.write("not-a-bundle.pem", "hello, I am not a certificate\n").string();
    try {
      run_contract_tests(Contract::builtin(), cases, opts);
      FAIL("no ConfigError");
    } catch (const ConfigError& e) {
      CHECK_THAT(e.what(), Catch::StartsWith("--ca-file ") && Catch::Contains("holds no PEM certificate"));
    }
  }
  SECTION("--ca-file with the certificate verifies it") {
    opts.transport.ca_file = cert.cert_path;
    auto report = run_contract_tests(Contract::builtin(), cases, opts);
    INFO(describe_failures(report));
    CHECK(report.failed() == 0);
  }
  SECTION("--insecure connects and says so in every output") {
    opts.transport.insecure = true;
    auto report = run_contract_tests(Contract::builtin(), cases, opts);
    CHECK(report.failed() == 0);
    CHECK(report.insecure);
    std::ostringstream summary, junit;
    write_summary(report, summary);
    write_junit(report, junit);
    CHECK_THAT(summary.str(), Catch::Contains("--insecure"));
    CHECK_THAT(junit.str(), Catch::Contains("name=\"insecure\" value=\"true\""));
    CHECK(report_to_json(report)["target"]["insecure"] == true);
  }
}

TEST_CASE("a 201 whose endpoint cannot be read back is reported under state", "[runner][transport][state]") {
  const std::string id = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
      auto in = nlohmann::json::parse(req.body);
      nlohmann::json out = {{"id", id},
                            {"username", in["username"]},
                            {"caller_id", ""},
                            {"send_as", ""},
                            {"ciphers", nlohmann::json::array()},
                            {"codecs", nlohmann::json::array()},
                            {"encryption", "default"},
                            {"call_handler", "default"},
                            {"calling_handler_resource_id", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}};
      res.status = 201;
      res.set_content(out.dump(), "application/json");
    });
    // The create was not kept: reading it back, and deleting it, find nothing.
    s.Get(".*/sip_endpoints/.*", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"error":"Not Found"})", "application/json");
    });
    s.Delete(".*", [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(R"({"error":"Not Found"})", "application/json");
    });
    s.Get(".*/sip_endpoints", [](const httplib::Request&, httplib::Response& res) {
      res.status = 200;
      res.set_content(R"({"data":[],"links":{}})", "application/json");
    });
  });
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal"}),
                                   stub_options(stub.base_url()));
  INFO(describe_failures(report));
  const CheckFailure* f = find_failure(report, "state");
  REQUIRE(f);
  CHECK(f->actual == "404");
  CHECK_THAT(f->message, Catch::Contains("not kept"));
  CHECK(report.failed() == 1);
  CHECK(report.cleanup.leftovers.empty());
}

namespace {

/// A stub that creates one endpoint and answers the read-back with `read_back(created)`.
RunReport run_read_back(const std::function<std::string(const nlohmann::json&)>& read_back) {
  const std::string id = "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
  nlohmann::json created;
  std::mutex m;
  Stub<httplib::Server> stub([&](httplib::Server& s) {
    s.Post(".*", [&](const httplib::Request& req, httplib::Response& res) {
      auto in = nlohmann::json::parse(req.body);
      std::lock_guard lock(m);
      created = {{"id", id},
                 {"username", in["username"]},
                 {"caller_id", ""},
                 {"send_as", ""},
                 {"ciphers", nlohmann::json::array()},
                 {"codecs", nlohmann::json::array()},
                 {"encryption", "default"},
                 {"call_handler", "default"},
                 {"calling_handler_resource_id", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"}};
      res.status = 201;
      res.set_content(created.dump(), "application/json");
    });
    s.Get(".*/sip_endpoints/.*", [&](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(m);
      res.status = 200;
      res.set_content(read_back(created), "application/json");
    });
    s.Delete(".*", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    s.Get(".*/sip_endpoints", [](const httplib::Request&, httplib::Response& res) {
      res.status = 200;
      res.set_content(R"({"data":[],"links":{}})", "application/json");
    });
  });
  return run_contract_tests(Contract::builtin(), builtin_matching({"valid-minimal"}),
                            stub_options(stub.base_url()));
}

}  // namespace

TEST_CASE("reading back the same endpoint in other bytes passes, a changed field fails under state",
          "[runner][transport][state]") {
  SECTION("the 201's bytes exactly") {
    auto report = run_read_back([](const nlohmann::json& created) { return created.dump(); });
    INFO(describe_failures(report));
    CHECK(report.passed() == 1);
  }
  SECTION("the same document indented, keys in another order") {
    auto report = run_read_back([](const nlohmann::json& created) {
      nlohmann::ordered_json reordered;
      for (auto it = created.rbegin(); it != created.rend(); ++it) reordered[it.key()] = it.value();
      return reordered.dump(2);
    });
    INFO(describe_failures(report));
    CHECK(report.passed() == 1);
  }
  SECTION("a field that differs") {
    auto report = run_read_back([](const nlohmann::json& created) {
      auto changed = created;
      changed["caller_id"] = "someone-else";
      return changed.dump();
    });
    const CheckFailure* f = find_failure(report, "state", "/caller_id");
    REQUIRE(f);
    CHECK(f->actual == "\"someone-else\"");
    CHECK(report.failed() == 1);
  }
  SECTION("a body that breaks the get schema") {
    auto report = run_read_back([](const nlohmann::json& created) {
      auto changed = created;
      changed.erase("codecs");
      return changed.dump();
    });
    INFO(describe_failures(report));
    CHECK(find_failure(report, "state", "/codecs"));
    CHECK(report.failed() == 1);
  }
}

TEST_CASE("headers that trickle without end are cut at --max-time", "[runner][transport][slow]") {
  // A raw server: a status line, then one header byte every 20 ms, for as long as anyone reads.
  const LoopbackListener listener;  // closed however the test ends
  const int port = listener.port();
  std::atomic<bool> stop{false};
  std::thread server([&] {
    while (!stop) {
      pollfd p{listener.fd(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(listener.fd(), nullptr, nullptr);
      if (c < 0) continue;
      char buf[4096];
      (void)::recv(c, buf, sizeof buf, 0);
      const char* head = "HTTP/1.1 201 Created\r\nX-Slow: ";
      bool ok = ::send(c, head, std::strlen(head), MSG_NOSIGNAL) > 0;
      for (int i = 0; ok && !stop && i < 3000; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ok = ::send(c, "a", 1, MSG_NOSIGNAL) == 1;
      }
      ::close(c);
    }
  });
  auto opts = stub_options("http://127.0.0.1:" + std::to_string(port) + "/api/fabric");
  opts.transport.max_time = std::chrono::milliseconds(300);
  opts.transport.timeout = std::chrono::seconds(1);  // bounds the cleanup sweep's list call (2 x 1 s)
  opts.transport.retries = 0;
  auto report = run_contract_tests(Contract::builtin(), builtin_matching({"auth-none"}), opts);
  stop = true;
  server.join();
  INFO(describe_failures(report));
  const CheckFailure* f = find_failure(report, "max-time");
  REQUIRE(f);
  CHECK(report.cases.at(0).steps.at(0).status == -1);
}

TEST_CASE("with several workers every stalled answer is cut at --max-time and answers in time are kept",
          "[runner][transport][slow]") {
  // A raw keep-alive server: a request without an Authorization header gets a 401 at once; one with
  // it gets a status line and then a header byte every 20 ms, for as long as anyone reads.
  const LoopbackListener listener;  // closed however the test ends
  const int port = listener.port();
  std::atomic<bool> stop{false};
  std::atomic<int> stalled{0};
  std::vector<std::thread> connections;
  std::mutex connections_mutex;
  auto serve = [&](int c) {
    std::string in;
    char buf[4096];
    while (!stop) {
      auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) {
        pollfd p{c, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      std::string head = in.substr(0, end);
      std::size_t body = 0;
      if (auto at = head.find("Content-Length: "); at != std::string::npos)
        body = std::stoul(head.substr(at + 16));
      if (in.size() < end + 4 + body) {
        pollfd p{c, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      in.erase(0, end + 4 + body);
      if (head.find("Authorization:") == std::string::npos) {
        const std::string answer =
            std::string("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n") +
            "Content-Length: " + std::to_string(std::strlen(kUnauthorized)) + "\r\n\r\n" + kUnauthorized;
        if (::send(c, answer.data(), answer.size(), MSG_NOSIGNAL) <= 0) break;
        continue;
      }
      ++stalled;
      const char* status = "HTTP/1.1 401 Unauthorized\r\nX-Slow: ";
      bool ok = ::send(c, status, std::strlen(status), MSG_NOSIGNAL) > 0;
      for (int i = 0; ok && !stop && i < 3000; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ok = ::send(c, "a", 1, MSG_NOSIGNAL) == 1;
      }
      break;
    }
    ::close(c);
  };
  std::thread acceptor([&] {
    while (!stop) {
      pollfd p{listener.fd(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(listener.fd(), nullptr, nullptr);
      if (c < 0) continue;
      std::lock_guard lock(connections_mutex);
      connections.emplace_back(serve, c);
    }
  });
  auto opts = stub_options("http://127.0.0.1:" + std::to_string(port) + "/api/fabric");
  opts.jobs = 3;
  opts.transport.max_time = std::chrono::milliseconds(300);
  opts.transport.timeout = std::chrono::seconds(1);  // bounds the cleanup sweep's list call (2 x 1 s)
  opts.transport.retries = 0;
  auto report =
      run_contract_tests(Contract::builtin(),
                         builtin_matching({"auth-none", "auth-none-invalid-body", "auth-wrong-token",
                                           "auth-wrong-project", "auth-malformed-header"}),
                         opts);
  stop = true;
  acceptor.join();
  for (auto& t : connections) t.join();
  INFO(describe_failures(report));
  REQUIRE(report.cases.size() == 5);
  for (const auto& c : report.cases) {
    INFO(c.id);
    REQUIRE(c.steps.size() == 1);
    if (c.id.rfind("auth-none", 0) == 0) {
      CHECK(c.outcome == Outcome::kPassed);
      CHECK(c.steps[0].status == 401);
    } else {
      CHECK(c.outcome == Outcome::kFailed);
      CHECK(c.steps[0].status == -1);
      REQUIRE(!c.steps[0].failures.empty());
      CHECK(c.steps[0].failures[0].check == "max-time");
    }
  }
  CHECK(stalled >= 3);
}
