// The server's fast paths: requests the connection loop parses itself (and the ones it must leave
// to httplib), byte-for-byte parity of the two paths, the JSON it writes without nlohmann, the
// store's parts merged in creation order, and the UUIDs of its per-thread random pool.
#include <sys/wait.h>

#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "connection.hpp"
#include "server_test_support.hpp"
#include "sipcontract/json_text.hpp"
#include "util.hpp"

using namespace sipcontract;
using namespace sipcontract::test;
namespace refserver = sipcontract::detail::refserver;

namespace {

constexpr std::size_t kMaxBody = 1u << 20;

// A create as wrk and most clients send it: request line, a few headers, a Content-Length body.
std::string create_request(const std::string& path, const std::string& extra_headers = {},
                           const std::string& body = R"({"username":"u"})") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// `text` with every UUID replaced, so answers that differ only in generated ids compare equal.
std::string without_uuids(const std::string& text) {
  static const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  return std::regex_replace(text, uuid, "<uuid>");
}

// "HTTP/1.1 201 Created\r\n..." -> 201
int status_of(const std::string& response) {
  return response.size() > 12 ? std::stoi(response.substr(9, 3)) : 0;
}

std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

}  // namespace

TEST_CASE("requests of the common shape are taken by the direct path and the rest left to httplib",
          "[server][direct]") {
  const std::string path =
      "/api/fabric/resources/subscribers/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b/sip_endpoints";
  CHECK(refserver::is_direct_request(create_request(path), kMaxBody));
  CHECK(
      refserver::is_direct_request(create_request(path, "Authorization: Basic dXNlcjpwdw==\r\n"), kMaxBody));
  CHECK(refserver::is_direct_request("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n", kMaxBody));
  CHECK(refserver::is_direct_request("DELETE " + path + "/abc HTTP/1.1\r\nHost: x\r\n\r\n", kMaxBody));
  CHECK(refserver::is_direct_request("GET " + path + " HTTP/1.1\r\nContent-Length: 0\r\n\r\n", kMaxBody));
  // Only the first request counts: what follows it (pipelined) is not looked at.
  CHECK(refserver::is_direct_request(create_request(path) + "GARBAGE", kMaxBody));

  const std::vector<std::pair<const char*, std::string>> others = {
      {"a query string", "GET " + path + "?page_size=1 HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"a percent-escape", "GET " + path + "%2F HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"HTTP/1.0", "GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n"},
      {"HEAD", "HEAD " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"PUT", "PUT " + path + " HTTP/1.1\r\nContent-Length: 0\r\n\r\n"},
      {"OPTIONS", "OPTIONS " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"an absolute target", "GET http://x" + path + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"two spaces", "GET  " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"Transfer-Encoding", create_request(path, "Transfer-Encoding: chunked\r\n")},
      {"Expect", create_request(path, "Expect: 100-continue\r\n")},
      {"Content-Encoding", create_request(path, "Content-Encoding: gzip\r\n")},
      {"Accept-Encoding", create_request(path, "Accept-Encoding: gzip\r\n")},
      {"Range", "GET " + path + " HTTP/1.1\r\nRange: bytes=0-1\r\n\r\n"},
      {"a repeated Content-Length", create_request(path, "Content-Length: 16\r\n")},
      {"a repeated Authorization", create_request(path, "Authorization: a\r\nAuthorization: b\r\n")},
      {"a repeated Connection", create_request(path, "Connection: close\r\nConnection: close\r\n")},
      {"a multipart body", "POST " + path +
                               " HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                               "Content-Length: 2\r\n\r\n{}"},
      {"a folded header", create_request(path, "X-A: 1\r\n continued\r\n")},
      {"a bare LF", "GET " + path + " HTTP/1.1\nHost: x\r\n\r\n"},
      {"an empty header value", create_request(path, "X-Empty:\r\n")},
      {"a space before the colon", create_request(path, "X-A : 1\r\n")},
      {"a percent sign in a value", create_request(path, "X-A: 100%\r\n")},
      {"a control byte in a value", create_request(path, "X-A: a\x01z\r\n")},
      {"a non-ASCII byte in a value", create_request(path, "X-A: caf\xc3\xa9\r\n")},
      {"a POST without Content-Length", "POST " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"a GET with a body", "GET " + path + " HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"},
      {"a Content-Length that is not digits",
       "POST " + path + " HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: +2\r\n\r\n{}"},
      {"a body not yet arrived", create_request(path).substr(0, create_request(path).size() - 3)},
      {"headers not yet complete", "GET " + path + " HTTP/1.1\r\nHost: x\r\n"},
  };
  for (const auto& [what, request] : others) {
    INFO(what);
    CHECK_FALSE(refserver::is_direct_request(request, kMaxBody));
  }
  INFO("a body over the limit");
  CHECK_FALSE(refserver::is_direct_request(create_request(path), 4));
}

TEST_CASE("the direct path answers byte for byte what httplib's path answers", "[server][direct]") {
  RunningServer s;
  RawConnection direct(s.port());
  RawConnection general(s.port());
  const std::string auth = authorization_header(s.options()) + "\r\n";
  // "Accept-Encoding: identity" changes nothing in httplib's answer (no encoding applies) but
  // makes the connection loop leave the request to httplib.
  const std::string via_httplib = "Accept-Encoding: identity\r\n";
  const std::string subscriber_path = s.collection();

  // Sends the same request down both paths and checks that the answers are identical, bar the
  // generated ids and the letter that tells the two paths' usernames apart; returns both answers.
  auto both = [&](const std::string& method, const std::string& path, const std::string& headers,
                  const std::string& body_a, const std::string& body_b, bool own_usernames = true) {
    const auto build = [&](const std::string& extra, const std::string& body) {
      std::string r = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + extra;
      if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
      return r + "\r\n" + body;
    };
    const std::string a = build("", body_a);
    const std::string b = build(via_httplib, body_b);
    REQUIRE(refserver::is_direct_request(a, kMaxBody));
    REQUIRE_FALSE(refserver::is_direct_request(b, kMaxBody));
    REQUIRE(direct.send(a));
    REQUIRE(general.send(b));
    const std::string answer_a = direct.read_response(std::chrono::seconds(30));
    const std::string answer_b = general.read_response(std::chrono::seconds(30));
    INFO(method << " " << path << "\ndirect:  " << answer_a << "\nhttplib: " << answer_b);
    REQUIRE_FALSE(answer_a.empty());
    std::string normalised_b = without_uuids(answer_b);
    for (auto at = normalised_b.find("parity-b-"); own_usernames && at != std::string::npos;
         at = normalised_b.find("parity-b-"))
      normalised_b[at + 7] = 'a';
    CHECK(without_uuids(answer_a) == normalised_b);
    return std::make_pair(answer_a, answer_b);
  };
  const std::string json = "Content-Type: application/json\r\n";
  const std::string name = unique_username("parity");  // "parity-<pid>-<n>"
  const auto user = [&](char path) { return "parity-" + std::string(1, path) + "-" + name.substr(7); };
  const auto body = [&](char path) { return valid_body(user(path)).dump(); };

  const auto [created_a, created_b] = both("POST", subscriber_path, auth + json, body('a'), body('b'));
  CHECK(status_of(created_a) == 201);
  both("POST", subscriber_path, auth + json, body('a'), body('b'));  // each a duplicate now: 422
  both("POST", subscriber_path, auth + json, R"({"username":1})", R"({"username":1})");
  both("POST", subscriber_path, auth + json, R"({"username":)", R"({"username":)");
  both("POST", subscriber_path, auth + "Content-Type: text/plain\r\n", "{}", "{}");
  both("POST", subscriber_path, auth, "{}", "{}");
  both("POST", subscriber_path, json, body('a'), body('b'));  // no credentials: 401
  both("GET", subscriber_path, "Authorization: Basic d3Jvbmc6d3Jvbmc=\r\n", "", "");
  both("GET", "/api/fabric/resources/subscribers/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b/sip_endpoints", auth,
       "", "");
  both("GET", "/api/fabric/elsewhere", auth, "", "");
  both("DELETE", subscriber_path, auth, "", "");      // 405 with Allow
  both("GET", subscriber_path, auth, "", "", false);  // the list, the same for both
  const std::string id_a = Json::parse(body_of(created_a)).at("id").get<std::string>();
  const std::string id_b = Json::parse(body_of(created_b)).at("id").get<std::string>();
  const auto item = [&](const std::string& id) { return subscriber_path + "/" + id; };
  // Each path reads back and deletes its own endpoint (same length ids, compared without them).
  const auto get_one = [&](const std::string& a, const std::string& b) {
    const std::string ra = "GET " + item(a) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n";
    const std::string rb =
        "GET " + item(b) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + via_httplib + "\r\n";
    REQUIRE(direct.send(ra));
    REQUIRE(general.send(rb));
    return std::make_pair(direct.read_response(std::chrono::seconds(30)),
                          general.read_response(std::chrono::seconds(30)));
  };
  auto [got_a, got_b] = get_one(id_a, id_b);
  CHECK(status_of(got_a) == 200);
  CHECK(without_uuids(got_a) ==
        std::regex_replace(without_uuids(got_b), std::regex("parity-b-"), "parity-a-"));
  const std::string delete_a = "DELETE " + item(id_a) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n";
  const std::string delete_b =
      "DELETE " + item(id_b) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + via_httplib + "\r\n";
  REQUIRE(direct.send(delete_a));
  REQUIRE(general.send(delete_b));
  const std::string deleted_a = direct.read_response(std::chrono::seconds(30));
  CHECK(status_of(deleted_a) == 204);
  CHECK(deleted_a == general.read_response(std::chrono::seconds(30)));
  std::tie(got_a, got_b) = get_one(id_a, id_b);
  CHECK(status_of(got_a) == 404);
  CHECK(got_a == got_b);

  // The last answer on a connection says so, on both paths.
  const auto [closing_a, closing_b] = both("GET", subscriber_path, auth + "Connection: close\r\n", "", "");
  CHECK(closing_a.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(closing_a.find("Keep-Alive") == std::string::npos);
  bool closed = false;
  direct.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(closed);
}

TEST_CASE("pipelined requests are answered in order when they switch between the two paths",
          "[server][direct]") {
  RunningServer s;
  RawConnection c(s.port());
  const std::string auth = authorization_header(s.options()) + "\r\n";
  const std::string list = "GET " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n";
  const std::string list_via_httplib =
      "GET " + s.collection() + "?page_size=2 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n";
  const std::string create = create_request(s.collection(), auth, valid_body(unique_username("pipe")).dump());
  REQUIRE(c.send(create + list_via_httplib + list + create + list));
  const std::vector<int> expected = {201, 200, 200, 422, 200};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("answer " << i);
    const std::string answer = c.read_response(std::chrono::seconds(30));
    CHECK(status_of(answer) == expected[i]);
    if (i == 1 || i == 2 || i == 4) CHECK(Json::parse(body_of(answer)).at("data").size() == 1);
  }
}

TEST_CASE("JSON the server writes itself is escaped exactly as nlohmann escapes it", "[server][direct]") {
  RunningServer s;
  auto c = s.client();
  // Quotes, backslash, every short escape, other control characters, DEL, 2- to 4-byte UTF-8,
  // and U+2028, which JSON allows raw.
  const std::string tricky =
      "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8";
  Json body = valid_body(unique_username("esc") + tricky);
  body["caller_id"] = tricky;
  body["send_as"] = "+14632322867";
  body["codecs"] = {"OPUS", "G722"};
  auto created = post_json(*c, s.collection(), body.dump());
  INFO(describe(created));
  REQUIRE(created);
  REQUIRE(created->status == 201);
  const auto canonical = [](const std::string& text) { return nlohmann::ordered_json::parse(text).dump(); };
  CHECK(created->body == canonical(created->body));
  const Json echoed = Json::parse(created->body);
  CHECK(echoed.at("username") == body.at("username"));
  CHECK(echoed.at("caller_id") == tricky);
  auto got = c->Get((s.collection() + "/" + echoed.at("id").get<std::string>()).c_str());
  REQUIRE(got);
  CHECK(got->body == created->body);
  auto listed = c->Get(s.collection().c_str());
  REQUIRE(listed);
  CHECK(listed->body == canonical(listed->body));

  std::string out;
  sipcontract::append_json_string(out, std::string("a\xff"
                                                   "b\xc3",
                                                   4));  // not UTF-8: U+FFFD each
  CHECK(out ==
        "\"a\xef\xbf\xbd"
        "b\xef\xbf\xbd\"");
}

TEST_CASE("lists return endpoints in creation order while several threads create at once",
          "[server][direct][concurrency]") {
  ServerOptions o;
  o.threads = 8;
  RunningServer s(o);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 25;
  std::vector<std::vector<std::string>> created(kThreads);
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      auto c = s.client();
      for (int i = 0; i < kPerThread; ++i) {
        auto r = post_json(*c, s.collection(), valid_body(unique_username("order")).dump());
        if (r && r->status == 201) created[t].push_back(Json::parse(r->body).at("id").get<std::string>());
      }
    });
  }
  for (auto& w : workers) w.join();

  std::vector<std::string> listed;
  auto c = s.client();
  std::string next = s.collection() + "?page_size=7";
  for (int page = 0; !next.empty() && page < 100; ++page) {
    auto r = c->Get(next.c_str());
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const Json body = Json::parse(r->body);
    for (const auto& e : body.at("data")) listed.push_back(e.at("id").get<std::string>());
    next = body.at("links").contains("next") ? body.at("links").at("next").get<std::string>() : "";
    if (!next.empty()) next = next.substr(next.find("/api/"));
  }
  REQUIRE(listed.size() == kThreads * kPerThread);
  CHECK(std::set<std::string>(listed.begin(), listed.end()).size() == listed.size());
  // Each client created one endpoint after another, so its endpoints are listed in that order.
  for (const auto& mine : created) {
    REQUIRE(mine.size() == kPerThread);
    std::size_t at = 0;
    for (const auto& id : listed) {
      if (at < mine.size() && id == mine[at]) ++at;
    }
    CHECK(at == mine.size());
  }
}

TEST_CASE("generated UUIDs are version 4, distinct, and differ between a process and its fork",
          "[server][uuid]") {
  static const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {
    const std::string id = refserver::new_uuid();
    REQUIRE(std::regex_match(id, v4));
    seen.insert(id);
  }
  CHECK(seen.size() == 5000);
  CHECK(refserver::random_hex(24).size() == 48);

  // The per-thread pool holds bytes not yet handed out; a child of fork() must not hand out the
  // same ones as its parent.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    const std::string id = refserver::new_uuid();
    const ssize_t written = ::write(fds[1], id.data(), id.size());
    ::_exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  const std::string parent_id = refserver::new_uuid();
  char buffer[64] = {};
  const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(n == 36);
  CHECK(std::string(buffer, 36) != parent_id);
  CHECK(std::regex_match(std::string(buffer, 36), v4));
}
