// The server's own HTTP/1.1 transport over loopback: every shape of request on one connection,
// HTTP/1.0, the transport's refusals, request codings, and what idle or surplus clients cost the
// others (slow ones: test_server_robustness.cpp).
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "exchange.hpp"
#include "server_test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

constexpr auto kWait = std::chrono::seconds(30);

// A request on the server's collection with its credentials.
std::string request(const RunningServer& s, const std::string& method, const std::string& target,
                    const std::string& fields = {}, const std::string& body = {}) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                  authorization_header(s.options()) + "\r\n" + fields;
  if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

std::string chunked(const std::string& body) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size() / 2);
  char rest[16];
  std::snprintf(rest, sizeof rest, "%zX", body.size() - body.size() / 2);
  return std::string(size) + ";ext=1\r\n" + body.substr(0, body.size() / 2) + "\r\n" + rest + "\r\n" +
         body.substr(body.size() / 2) + "\r\n0\r\nX-Checksum: none\r\n\r\n";
}

}  // namespace

TEST_CASE("every shape of request is served pipelined on one keep-alive connection", "[server][http]") {
  RunningServer s;
  RawConnection c(s.port());
  const std::string json = "Content-Type: application/json\r\n";
  const std::string encoded_subscriber_path =  // the UUID's dashes percent-encoded
      "/api/fabric/resources/subscribers/" + std::regex_replace(s.subscriber(), std::regex("-"), "%2D") +
      "/sip_endpoints";
  std::string all;
  all += request(s, "POST", s.collection(), json, valid_body(unique_username("pipe")).dump());
  all += request(s, "POST", s.collection(), json + "Accept-Encoding: gzip, deflate\r\n",
                 valid_body(unique_username("pipe")).dump());
  all += request(s, "POST", s.collection(), json + "Transfer-Encoding: chunked\r\n") +
         chunked(valid_body(unique_username("pipe")).dump());
  all += request(s, "GET", s.collection() + "?page_size=2", "Accept-Encoding: gzip, deflate\r\n");
  all += request(s, "GET", encoded_subscriber_path + "?page_size=1000");
  all += request(s, "OPTIONS", s.collection());
  all += request(s, "DELETE", s.collection() + "/00000000-0000-4000-8000-000000000000");
  all += "\r\n" + request(s, "GET", "http://127.0.0.1" + s.collection());  // a leading empty line
  REQUIRE(c.send(all));
  const std::vector<int> expected = {201, 201, 201, 200, 200, 204, 404, 200};
  std::vector<std::string> answers;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    answers.push_back(c.read_response(kWait));
    INFO("answer " << i << ": " << answers.back());
    CHECK(status_of(answers.back()) == expected[i]);
  }
  CHECK(Json::parse(body_of(answers[3])).at("data").size() == 2);
  CHECK(Json::parse(body_of(answers[4])).at("data").size() == 3);
  CHECK(Json::parse(body_of(answers[7])).at("data").size() == 3);
  // Accept-Encoding changes nothing where no variant codes answers.
  CHECK(answers[1].find("Content-Encoding") == std::string::npos);
  CHECK(answers[0].substr(0, answers[0].find("\r\n\r\n")) ==
        answers[1].substr(0, answers[1].find("\r\n\r\n")));
  CHECK(s.server().endpoint_count() == 3);
}

TEST_CASE("HTTP/1.0 closes unless asked to keep the connection and HEAD gets no body", "[server][http]") {
  RunningServer s;
  const std::string auth = authorization_header(s.options()) + "\r\n";
  {
    RawConnection c(s.port());
    REQUIRE(c.send("GET " + s.collection() + " HTTP/1.0\r\n" + auth + "\r\n"));
    bool closed = false;
    const std::string answer = c.read_until_closed(kWait, closed);
    CHECK(closed);
    CHECK(status_of(answer) == 200);
    CHECK(answer.find("\r\nConnection: close\r\n") != std::string::npos);
  }
  {
    RawConnection c(s.port());
    const std::string keep =
        "GET " + s.collection() + " HTTP/1.0\r\n" + auth + "Connection: keep-alive\r\n\r\n";
    REQUIRE(c.send(keep));
    const std::string first = c.read_response(kWait);
    CHECK(status_of(first) == 200);
    CHECK(first.find("\r\nConnection: keep-alive\r\n") != std::string::npos);
    REQUIRE(c.send(keep));
    CHECK(status_of(c.read_response(kWait)) == 200);
  }
  {
    RawConnection c(s.port());
    REQUIRE(c.send(request(s, "HEAD", s.collection(), "Connection: close\r\n")));
    bool closed = false;
    const std::string answer = c.read_until_closed(kWait, closed);
    CHECK(status_of(answer) == 200);
    CHECK(answer.find("\r\nContent-Length: ") != std::string::npos);
    CHECK(body_of(answer).empty());
  }
}

TEST_CASE("the transport's refusals are JSON errors that say why and close the connection",
          "[server][http][hostile]") {
  RunningServer s;
  const std::string path = s.collection();
  const std::vector<std::pair<int, std::string>> cases = {
      {400, "GET " + path + " HTTP/1.1\r\n\r\n"},                                  // no Host
      {400, "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"},  // obsolete folding
      {400, "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n"},
      {400,
       "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {400, "GET " + path + "%zz HTTP/1.1\r\nHost: x\r\n\r\n"},
      {413, "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 123456789012345678901234\r\n\r\n"},
      {414, "GET " + path + "?" + std::string(9000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {417, "POST " + path + " HTTP/1.1\r\nHost: x\r\nExpect: tea\r\nContent-Length: 2\r\n\r\n{}"},
      {431, "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70000, 'b') + "\r\n\r\n"},
      {501, "BREW " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {501, "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"},
      {505, "GET " + path + " HTTP/2.0\r\nHost: x\r\n\r\n"},
  };
  std::string many_fields = "GET " + path + " HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 150; ++i) many_fields += "X-" + std::to_string(i) + ": y\r\n";
  std::vector<std::pair<int, std::string>> all = cases;
  all.emplace_back(431, many_fields + "\r\n");
  for (const auto& [status, text] : all) {
    INFO(text.substr(0, 120));
    RawConnection c(s.port());
    c.send(text);  // the server may answer and close before all of it is sent
    bool closed = false;
    const std::string answer = c.read_until_closed(kWait, closed);
    CHECK(closed);
    CHECK(status_of(answer) == status);
    CHECK(answer.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(answer.find("\r\nContent-Type: application/json\r\n") != std::string::npos);
    const Json body = Json::parse(body_of(answer), nullptr, false);
    CHECK(body.contains("error"));
    CHECK(body.contains("message"));
  }
  auto ok = s.client()->Get(path.c_str());
  REQUIRE(ok);
  CHECK(ok->status == 200);
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("request bodies in gzip are read and another coding gets 415", "[server][http][create]") {
  RunningServer s;
  const std::string body = valid_body(unique_username("gz")).dump();
  const std::string json = "Content-Type: application/json\r\n";
  RawConnection c(s.port());
  REQUIRE(c.send(request(s, "POST", s.collection(), json + "Content-Encoding: gzip\r\n",
                         detail::refserver::gzip(body))));
  const std::string created = c.read_response(kWait);
  INFO(created);
  CHECK(status_of(created) == 201);
  CHECK(Json::parse(body_of(created)).at("username") == Json::parse(body).at("username"));
  REQUIRE(c.send(request(s, "POST", s.collection(), json + "Content-Encoding: br\r\n", "xxxx")));
  bool closed = false;
  const std::string refused = c.read_until_closed(kWait, closed);
  CHECK(status_of(refused) == 415);
  CHECK(closed);
  // A gzip bomb is cut at the body limit.
  ServerOptions small;
  small.max_body_bytes = 4096;
  RunningServer limited(small);
  RawConnection b(limited.port());
  REQUIRE(b.send(request(limited, "POST", limited.collection(), json + "Content-Encoding: gzip\r\n",
                         detail::refserver::gzip(std::string(10u << 20, ' ')))));
  CHECK(status_of(b.read_until_closed(kWait, closed)) == 413);
}

TEST_CASE("Expect: 100-continue with the body already sent is answered at once", "[server][http][expect]") {
  RunningServer s;
  RawConnection c(s.port());
  REQUIRE(
      c.send(request(s, "POST", s.collection(), "Content-Type: application/json\r\nExpect: 100-continue\r\n",
                     valid_body(unique_username()).dump())));
  const std::string answer = c.read_response(kWait);
  CHECK(status_of(answer) == 201);
}

TEST_CASE("idle keep-alive connections hold no worker", "[server][http][sizing]") {
  ServerOptions o;
  o.threads = 2;
  o.keep_alive_timeout_ms = 600000;  // a connection would hold a worker for ten minutes if idle ones did
  RunningServer s(o);
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < 24; ++i) connections.push_back(std::make_unique<RawConnection>(s.port()));
  for (int round = 0; round < 2; ++round) {
    for (auto& c : connections) {
      INFO("round " << round);
      REQUIRE(c->send(request(s, "GET", s.collection())));
      CHECK(status_of(c->read_response(kWait)) == 200);
    }
  }
}

TEST_CASE("past max_connections new clients wait until a connection closes", "[server][http][sizing]") {
  ServerOptions o;
  o.max_connections = 2;
  RunningServer s(o);
  auto first = std::make_unique<RawConnection>(s.port());
  RawConnection second(s.port());
  for (RawConnection* c : {first.get(), &second}) {
    REQUIRE(c->send(request(s, "GET", s.collection())));
    REQUIRE(status_of(c->read_response(kWait)) == 200);
  }
  RawConnection third(s.port());  // connected in the kernel's backlog, not accepted
  REQUIRE(third.send(request(s, "GET", s.collection())));
  CHECK(third.read_response(std::chrono::milliseconds(300)).empty());
  first.reset();
  CHECK(status_of(third.read_response(kWait)) == 200);
}

TEST_CASE("stop() closes connections parked in the middle of a head", "[server][http][lifecycle]") {
  ServerOptions o;
  o.read_timeout_ms = 600000;
  o.request_timeout_ms = 600000;
  auto s = std::make_unique<RunningServer>(o);
  RawConnection partial(s->port());
  REQUIRE(partial.send("GET / HTTP/1.1\r\nHost: x\r\n"));
  RawConnection idle(s->port());
  s.reset();  // must return: neither connection is waited for
  bool closed = false;
  partial.read_until_closed(kWait, closed);
  CHECK(closed);
}
