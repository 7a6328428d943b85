// The runner against targets that misbehave on the wire: slow answers, resets mid-body, endless and
// 300 MB bodies, 200,000-deep JSON, invalid UTF-8, wrong Content-Length, endless headers, and
// redirects to another host. Each runs the real `sipcontract run` binary as a child (under an
// RLIMIT_AS, except in sanitizer builds) against a raw socket server, and must end as a reported
// failure with the right check id, exit 1 or 3, within a generous guard, with a bounded peak
// resident size, readable reports, and no credential anywhere but the target.
#include <catch2/catch.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "hostile_support.hpp"

using namespace sipcontract::test;
using Json = nlohmann::json;

namespace {

constexpr std::size_t k300MB = std::size_t{300} << 20;

// The runner's options for a hostile run: short bounds so each scenario ends in seconds.
std::vector<std::string> run_args(const HostileServer& server, const std::string& cases = "valid-minimal",
                                  const std::string& timeout = "2", const std::string& max_time = "3") {
  return {"--base-url", server.base_url(), "--subscriber", kSubscriber, "--case", cases, "--timeout",
          timeout,      "--max-time",      max_time,       "--retries", "0",      "-j",  "4"};
}

// A 201 body that conforms to the contract for the create `request` sent.
std::string conforming_201(const RawRequest& request, const std::string& id) {
  Json body = Json::parse(request.body, nullptr, false);
  Json out = {{"id", id},
              {"username", body.is_object() ? body.value("username", "") : ""},
              {"caller_id", ""},
              {"send_as", ""},
              {"ciphers", Json::array()},
              {"codecs", Json::array()},
              {"encryption", "default"},
              {"call_handler", "default"},
              {"calling_handler_resource_id", "7c9e6679-7425-40de-944b-e07fc1f90ae7"}};
  return out.dump();
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// What every hostile run must satisfy, whatever the scenario.
void check_common(const RunResult& r, const HostileServer& target, const std::string& scenario) {
  INFO(scenario << ": " << r.describe());
  std::cout << "hostile: " << scenario << ": exit " << r.exit_code << ", " << r.seconds << " s, peak RSS "
            << r.max_rss_kb / 1024 << " MB, checks:";
  for (const auto& [id, check] : r.failures()) std::cout << " " << id << "/" << check;
  std::cout << std::endl;
  REQUIRE(r.exited);          // ended on its own, within the guard
  CHECK(r.term_signal == 0);  // never a crash
  CHECK((r.exit_code == 1 || r.exit_code == 3));
  CHECK(r.max_rss_kb < rss_bound_kb());
  REQUIRE(r.report_json.is_object());  // the JSON report was written and parses
  CHECK(valid_utf8(r.report));
  CHECK(valid_utf8(r.junit));
  CHECK(r.junit.find("<testsuite") != std::string::npos);
  // No credential in any output: the token, the Basic credentials, any password the target saw.
  std::vector<std::string> secrets = {kApiToken, base64_encode(std::string(kProjectId) + ":" + kApiToken)};
  for (const auto& req : target.requests()) {
    const Json body = Json::parse(req.body, nullptr, false);
    if (body.is_object())
      for (const char* field : {"password", "password_confirmation"})
        if (body.contains(field) && body[field].is_string()) secrets.push_back(body[field]);
  }
  const std::string everything = r.all_output();
  for (const auto& secret : secrets) {
    INFO("secret " << secret);
    CHECK(everything.find(secret) == std::string::npos);
  }
}

RunResult run_against(const HostileServer& server, const std::string& cases = "valid-minimal") {
  RunSpec spec;
  spec.args = run_args(server, cases);
  return run_sipcontract(spec);
}

}  // namespace

TEST_CASE("a target that accepts and never answers ends at the first bound that passes", "[hostile][slow]") {
  HostileServer server([](const RawRequest& req, Peer& peer) {
    if (answer_cleanup(req, peer)) return;
    peer.idle(std::chrono::seconds(60));  // holds the connection open, silent
    peer.close_after = true;
  });
  SECTION("--max-time first: max-time") {
    RunSpec spec;
    spec.args = run_args(server, "valid-minimal", "10", "2");
    const auto r = run_sipcontract(spec);
    check_common(r, server, "silent target, --max-time 2 --timeout 10");
    CHECK(r.failed_with("valid-minimal", "max-time"));
  }
  SECTION("--timeout first: transport (a read timeout)") {
    RunSpec spec;
    spec.args = run_args(server, "valid-minimal", "1", "5");
    const auto r = run_sipcontract(spec);
    check_common(r, server, "silent target, --timeout 1 --max-time 5");
    CHECK(r.failed_with("valid-minimal", "transport"));
  }
}

TEST_CASE("a body that trickles one byte at a time is cut at max-time", "[hostile][slow]") {
  HostileServer server([](const RawRequest& req, Peer& peer) {
    if (answer_cleanup(req, peer)) return;
    peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{");
    for (int i = 0; i < 600 && peer.idle(std::chrono::milliseconds(100)); ++i)
      if (!peer.send(" ")) break;
    peer.close_after = true;
  });
  const auto r = run_against(server);
  check_common(r, server, "trickling body");
  CHECK(r.failed_with("valid-minimal", "max-time"));
}

TEST_CASE("headers sent without end at full speed are cut by size in bounded memory",
          "[hostile][slow][headers]") {
  HostileServer server([](const RawRequest& req, Peer& peer) {
    if (answer_cleanup(req, peer)) return;
    if (!peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n")) return;
    std::string lines;
    for (int i = 0; i < 1024; ++i)
      lines += "X-Flood-" + std::to_string(i) + ": " + std::string(40, 'f') + "\r\n";
    while (peer.send(lines)) {
    }
    peer.close_after = true;
  });
  // Cut by the byte bound (--max-response-bytes plus 1 MiB of headers), whatever the time: the time
  // bounds are wide, so a loaded machine that reads the flood slowly still ends at the size bound
  // (at --max-time 3 a run under a load of 9 ended at max-time first).
  RunSpec spec;
  spec.args = run_args(server, "valid-minimal", "30", "50");  // within the 60-s guard
  const auto r = run_sipcontract(spec);
  check_common(r, server, "endless headers");
  CHECK(r.failed_with("valid-minimal", "size"));
}

TEST_CASE("a connection reset mid-body is reported under transport", "[hostile][reset]") {
  HostileServer server([](const RawRequest& req, Peer& peer) {
    if (answer_cleanup(req, peer)) return;
    peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n");
    peer.send(R"({"id":"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b","username":")" + std::string(200, 'a'));
    peer.idle(std::chrono::milliseconds(50));
    peer.reset();
  });
  const auto r = run_against(server);
  check_common(r, server, "reset mid-body");
  CHECK(r.failed_with("valid-minimal", "transport"));
}

TEST_CASE("endless bodies stop at --max-response-bytes and are reported under size", "[hostile][size]") {
  const std::string chunk(64 * 1024, 'x');
  SECTION("chunked, without end") {
    HostileServer server([&](const RawRequest& req, Peer& peer) {
      if (answer_cleanup(req, peer)) return;
      if (!peer.send(
              "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"))
        return;
      while (peer.send("10000\r\n") && peer.send(chunk) && peer.send("\r\n")) {
      }
      peer.close_after = true;
    });
    const auto r = run_against(server, "valid-*");
    check_common(r, server, "endless chunked body, every valid-* case, -j 4");
    CHECK(r.failed_with("valid-minimal", "size"));
  }
  SECTION("delimited by the close that never comes") {
    HostileServer server([&](const RawRequest& req, Peer& peer) {
      if (answer_cleanup(req, peer)) return;
      if (!peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"))
        return;
      while (peer.send(chunk)) {
      }
      peer.close_after = true;
    });
    const auto r = run_against(server, "valid-*");
    check_common(r, server, "endless close-delimited body, every valid-* case, -j 4");
    CHECK(r.failed_with("valid-minimal", "size"));
  }
}

TEST_CASE("a 300 MB body is not read whole and is reported under size", "[hostile][size]") {
  const std::string chunk(64 * 1024, 'x');
  SECTION("with its Content-Length declared") {
    HostileServer server([&](const RawRequest& req, Peer& peer) {
      if (answer_cleanup(req, peer)) return;
      const std::string head = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(k300MB) + "\r\n\r\n";
      if (peer.send(head)) peer.send_repeated(chunk, k300MB);
      peer.close_after = true;
    });
    const auto r = run_against(server, "valid-*");
    check_common(r, server, "300 MB declared body, every valid-* case, -j 4");
    CHECK(r.failed_with("valid-minimal", "size"));
  }
  SECTION("chunked, so the size is only known by reading") {
    HostileServer server([&](const RawRequest& req, Peer& peer) {
      if (answer_cleanup(req, peer)) return;
      if (!peer.send(
              "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"))
        return;
      bool ok = true;
      for (std::size_t sent = 0; ok && sent < k300MB; sent += chunk.size())
        ok = peer.send("10000\r\n") && peer.send(chunk) && peer.send("\r\n");
      if (ok) peer.send("0\r\n\r\n");
      peer.close_after = true;
    });
    const auto r = run_against(server, "valid-*");
    check_common(r, server, "300 MB chunked body, every valid-* case, -j 4");
    CHECK(r.failed_with("valid-minimal", "size"));
  }
}

TEST_CASE("JSON nested 200000 levels deep is refused by depth and reported under json",
          "[hostile][json][depth]") {
  for (const bool objects : {false, true}) {
    DYNAMIC_SECTION((objects ? "objects" : "arrays") << " 200,000 levels deep") {
      std::string body;
      if (objects) {
        for (int i = 0; i < 200000; ++i) body += "{\"a\":";
        body += "1" + std::string(200000, '}');
      } else {
        body = std::string(200000, '[') + std::string(200000, ']');
      }
      HostileServer server([&](const RawRequest& req, Peer& peer) {
        if (answer_cleanup(req, peer)) return;
        peer.send(http_response(201, body));
      });
      const auto r = run_against(server);
      check_common(r, server, std::string("200,000-deep ") + (objects ? "objects" : "arrays"));
      CHECK(r.failed_with("valid-minimal", "json"));
    }
  }
}

TEST_CASE("invalid UTF-8 is reported under json and every report stays valid UTF-8", "[hostile][utf8]") {
  SECTION("in a 201 body, with invalid bytes in a header and the reason phrase too") {
    HostileServer server([](const RawRequest& req, Peer& peer) {
      if (answer_cleanup(req, peer)) return;
      const std::string body =
          std::string(R"({"id":"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b","username":"bad-)") +
          "\xff\xfe\xc3\x28\xed\xa0\x80" + R"(","caller_id":""})";
      peer.send(
          "HTTP/1.1 201 Cr\xe9\xe9\r\nX-Odd: \xc3\x28\xff\r\nContent-Type: "
          "application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body);
    });
    const auto r = run_against(server);
    check_common(r, server, "invalid UTF-8 in a 201");
    CHECK(r.failed_with("valid-minimal", "json"));
  }
  SECTION("in a 422 error message") {
    HostileServer server([](const RawRequest& req, Peer& peer) {
      if (answer_cleanup(req, peer)) return;
      peer.send(http_response(
          422, std::string(R"({"errors":[{"type":"validation_error","code":"x","message":"bad )") +
                   "\xc0\xaf\xf5\x80" + R"(","attribute":"username","url":"u"}]})"));
    });
    const auto r = run_against(server, "missing-username");
    check_common(r, server, "invalid UTF-8 in a 422");
    CHECK(r.failed_with("missing-username", "json"));
  }
}

TEST_CASE("a wrong Content-Length ends as a reported failure", "[hostile][length]") {
  struct Variant {
    const char* name;
    std::function<void(const RawRequest&, Peer&)> answer;
    std::vector<std::string> checks;  // any of these is the right report
  };
  const std::vector<Variant> variants = {
      {"longer than the body, then close",
       [](const RawRequest& req, Peer& peer) {
         peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n" +
                   conforming_201(req, "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b"));
         peer.close_after = true;
       },
       {"transport"}},
      {"longer than the body, connection left open",
       [](const RawRequest& req, Peer& peer) {
         peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n" +
                   conforming_201(req, "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b"));
         peer.idle(std::chrono::seconds(60));
         peer.close_after = true;
       },
       {"max-time", "transport"}},
      {"shorter than the body",
       [](const RawRequest& req, Peer& peer) {
         const std::string body = conforming_201(req, "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b");
         peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size() - 20) + "\r\n\r\n" + body);
       },
       {"json"}},
      {"not a number",
       [](const RawRequest&, Peer& peer) {
         peer.send(
             "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 12abc\r\n\r\n{}");
         peer.close_after = true;
       },
       {"transport", "json", "schema"}},
      {"negative",
       [](const RawRequest&, Peer& peer) {
         peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}");
         peer.close_after = true;
       },
       {"transport", "json", "schema"}},
      {"two that disagree",
       [](const RawRequest& req, Peer& peer) {
         const std::string body = conforming_201(req, "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b");
         peer.send("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size() + 50) + "\r\nContent-Length: 2\r\n\r\n" + body);
         peer.close_after = true;
       },
       {"transport", "json", "schema"}},
  };
  for (const auto& v : variants) {
    DYNAMIC_SECTION("Content-Length " << v.name) {
      HostileServer server([&](const RawRequest& req, Peer& peer) {
        if (answer_cleanup(req, peer)) return;
        v.answer(req, peer);
      });
      const auto r = run_against(server);
      check_common(r, server, std::string("Content-Length ") + v.name);
      bool reported = false;
      for (const auto& check : v.checks) reported = reported || r.failed_with("valid-minimal", check);
      CHECK(reported);
    }
  }
}

TEST_CASE("a redirect to another host is reported and the other host never sees a request",
          "[hostile][redirect][secrets]") {
  HostileServer elsewhere([](const RawRequest&, Peer& peer) { peer.send(http_response(201, "{}")); },
                          "127.0.0.2");
  for (const int status : {301, 302, 303, 307, 308}) {
    DYNAMIC_SECTION("status " << status) {
      HostileServer server([&](const RawRequest& req, Peer& peer) {
        if (answer_cleanup(req, peer)) return;
        peer.send(http_response(
            status, "", "",
            "Location: http://127.0.0.2:" + std::to_string(elsewhere.port()) + req.target + "\r\n"));
      });
      const auto r = run_against(server, "valid-minimal");
      check_common(r, server, "redirect " + std::to_string(status) + " to 127.0.0.2");
      CHECK(r.failed_with("valid-minimal", "redirect"));
      for (const auto& req : server.requests())
        CHECK(req.has_header("Authorization"));  // the target gets them
    }
  }
  // Not one request, so not one credential, reached the other host.
  const auto seen = elsewhere.requests();
  for (const auto& req : seen)
    INFO(req.method << " " << req.target << " auth " << req.has_header("Authorization"));
  CHECK(seen.empty());
  CHECK(elsewhere.connections() == 0);
}

TEST_CASE("the cleanup sweep does not follow a list's next link to another host",
          "[hostile][redirect][secrets]") {
  HostileServer elsewhere(
      [](const RawRequest&, Peer& peer) { peer.send(http_response(200, R"({"data":[],"links":{}})")); },
      "127.0.0.2");
  const std::string id = "5d0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b";
  std::string created_body;
  std::mutex mutex;
  HostileServer server([&](const RawRequest& req, Peer& peer) {
    std::lock_guard lock(mutex);
    if (req.method == "POST") {
      created_body = conforming_201(req, id);
      peer.send(http_response(201, created_body));
    } else if (req.method == "GET" && req.target.find(id) != std::string::npos) {
      peer.send(http_response(200, created_body));
    } else if (req.method == "DELETE") {
      peer.send(http_response(204, "", ""));
    } else {
      // The list: claims a next page elsewhere (another host, and another port of this one).
      const std::string next = "http://127.0.0.2:" + std::to_string(elsewhere.port()) +
                               "/api/fabric/resources/subscribers/" + kSubscriber +
                               "/sip_endpoints?page_token=PA9";
      peer.send(http_response(200, R"({"data":[],"links":{"next":")" + next + R"("}})"));
    }
  });
  RunSpec spec;
  spec.args = run_args(server, "valid-minimal");
  const auto r = run_sipcontract(spec);
  INFO(r.describe());
  REQUIRE(r.exited);
  CHECK(r.term_signal == 0);
  CHECK(elsewhere.connections() == 0);
  CHECK(elsewhere.requests().empty());
  const std::string everything = r.all_output();
  CHECK(everything.find(kApiToken) == std::string::npos);
  std::cout << "hostile: list next link to 127.0.0.2: exit " << r.exit_code << ", other host connections "
            << elsewhere.connections() << std::endl;
}
