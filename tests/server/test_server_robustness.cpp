// The reference server under load and abuse: concurrency, huge and slow requests, logs, lifecycle.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "server_test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

TEST_CASE("concurrent creates and deletes leave the store consistent", "[server][concurrency]") {
  ServerOptions o;
  o.threads = 8;
  RunningServer s(o);
  constexpr int kThreads = 6;
  constexpr int kPerThread = 40;
  std::mutex mutex;
  std::set<std::string> kept;
  std::set<std::string> deleted;
  std::atomic<int> failures{0};
  const std::string shared_name = unique_username("contended");
  std::atomic<int> shared_created{0};

  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      auto c = s.client();
      // Every thread also races for one shared username: exactly one may win.
      auto contended = post_json(*c, s.collection(), valid_body(shared_name).dump());
      if (contended && contended->status == 201) {
        ++shared_created;
        std::lock_guard lock(mutex);
        kept.insert(nlohmann::json::parse(contended->body).at("id").get<std::string>());
      } else if (!contended || contended->status != 422) {
        ++failures;
      }
      for (int i = 0; i < kPerThread; ++i) {
        auto r = post_json(*c, s.collection(), valid_body(unique_username("t" + std::to_string(t))).dump());
        if (!r || r->status != 201) {
          ++failures;
          continue;
        }
        const std::string id = nlohmann::json::parse(r->body).at("id").get<std::string>();
        if (i % 2 == 0) {
          auto d = c->Delete((s.collection() + "/" + id).c_str());
          if (!d || d->status != 204) ++failures;
          std::lock_guard lock(mutex);
          deleted.insert(id);
        } else {
          std::lock_guard lock(mutex);
          kept.insert(id);
        }
      }
    });
  }
  for (auto& w : workers) w.join();

  CHECK(failures == 0);
  CHECK(shared_created == 1);
  CHECK(s.server().endpoint_count() == kept.size());
  auto c = s.client();
  for (const auto& id : kept) {
    auto r = c->Get((s.collection() + "/" + id).c_str());
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  for (const auto& id : deleted) {
    auto r = c->Get((s.collection() + "/" + id).c_str());
    REQUIRE(r);
    CHECK(r->status == 404);
  }
  auto list = c->Get((s.collection() + "?page_size=1000").c_str());
  REQUIRE(list);
  REQUIRE(list->status == 200);
  std::set<std::string> listed;
  const Json page = parse_body(list);
  for (const auto& item : page.at("data")) listed.insert(item.at("id").get<std::string>());
  CHECK(listed == kept);
}

TEST_CASE("concurrent updates and creates racing for the same usernames never let two items share one",
          "[server][concurrency][update]") {
  ServerOptions o;
  o.threads = 8;
  RunningServer s(o);
  constexpr int kThreads = 6;
  constexpr int kRounds = 30;
  // Five names, three items; every thread renames items among the names, and now and then creates
  // an item with one. The first request any thread sends is an update, so the first request the
  // server takes renames an item (every name is free then).
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) names.push_back(unique_username("name"));
  std::vector<std::string> items;
  {
    auto c = s.client();
    for (int i = 0; i < 3; ++i) {
      auto r = post_json(*c, s.collection(), valid_body(unique_username("item")).dump());
      REQUIRE(r);
      REQUIRE(r->status == 201);
      items.push_back(parse_body(r).at("id").get<std::string>());
    }
  }
  std::atomic<int> unexpected{0};
  std::atomic<int> renamed{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      auto c = s.client();
      for (int i = 0; i < kRounds; ++i) {
        const std::string& name = names[static_cast<std::size_t>(t + i) % names.size()];
        const std::string& item = items[static_cast<std::size_t>(t * 7 + i) % items.size()];
        auto r = (i % 5 == 4) ? post_json(*c, s.collection(), valid_body(name).dump())
                              : c->Patch((s.collection() + "/" + item).c_str(),
                                         Json{{"username", name}, {"caller_id", std::to_string(i)}}.dump(),
                                         "application/json");
        if (!r || (r->status != 200 && r->status != 201 && r->status != 422)) ++unexpected;
        if (r && r->status == 200) ++renamed;
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(unexpected == 0);
  CHECK(renamed > 0);
  auto c = s.client();
  auto list = c->Get((s.collection() + "?page_size=1000").c_str());
  REQUIRE(list);
  const Json listed = parse_body(list);
  std::map<std::string, int> holders;
  for (const auto& item : listed.at("data")) ++holders[item.at("username").get<std::string>()];
  for (const auto& [name, count] : holders) CHECK(count == 1);
  CHECK(s.server().endpoint_count() == listed.at("data").size());
  // A name no item holds any more can be taken again: none was left claimed.
  for (const auto& name : names) {
    if (holders.count(name)) continue;
    auto r = post_json(*c, s.collection(), valid_body(name).dump());
    REQUIRE(r);
    CHECK(r->status == 201);
  }
}

TEST_CASE("a 50 MB body gets 413 and the server goes on serving", "[server][hostile][413]") {
  RunningServer s;
  auto c = s.client();
  const std::string huge = "{\"username\":\"" + std::string(50u << 20, 'a') + "\"}";
  auto r = post_json(*c, s.collection(), huge);
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(parse_body(r).at("error") == "Payload Too Large");
  auto other = s.client();
  auto ok = post_json(*other, s.collection(), valid_body(unique_username()).dump());
  INFO(describe(ok));
  REQUIRE(ok);
  CHECK(ok->status == 201);
  CHECK(s.server().endpoint_count() == 1);
}

TEST_CASE("a slow client that never finishes does not block others and is dropped",
          "[server][hostile][slow]") {
  ServerOptions o;
  o.read_timeout_ms = 500;
  RunningServer s(o);
  RawConnection slow(s.port());
  // Half a request: the headers promise a body that never comes.
  REQUIRE(slow.send("POST " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" +
                    authorization_header(s.options()) +
                    "\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"username\":"));
  auto c = s.client();
  auto ok = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  INFO(describe(ok));
  REQUIRE(ok);
  CHECK(ok->status == 201);
  // The slow connection is closed by the server (bounded wait: far above the read timeout).
  bool closed = false;
  const std::string answer = slow.read_until_closed(std::chrono::seconds(60), closed);
  CHECK(closed);
  CHECK(s.server().endpoint_count() == 1);
  (void)answer;
}

TEST_CASE(
    "a client trickling its headers gets 408 at the request deadline while the one worker serves others",
    "[server][hostile][slow]") {
  ServerOptions o;
  o.threads = 1;
  o.read_timeout_ms = 2000;
  o.request_timeout_ms = 300;
  RunningServer s(o);
  RawConnection slow(s.port());
  REQUIRE(slow.send("GET " + s.collection() + " HTTP/1.1\r\nHost: x\r\nX-Trickle: "));
  // The one worker does not wait for the slow head: another client is answered meanwhile.
  RawConnection other(s.port());
  REQUIRE(other.send("GET " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" +
                     authorization_header(s.options()) + "\r\n\r\n"));
  CHECK(status_of(other.read_response(std::chrono::seconds(30))) == 200);
  // One byte every few hundred milliseconds: each read is well within the read timeout, so only
  // the request deadline can end this. Bounded: at most about a minute.
  bool closed = false;
  std::string answer;
  for (int i = 0; i < 200 && !closed; ++i) {
    if (!slow.send("x")) {
      closed = true;  // the server already reset the connection
      break;
    }
    answer += slow.read_until_closed(std::chrono::milliseconds(300), closed);
  }
  CHECK(closed);
  CHECK(status_of(answer) == 408);
  CHECK(body_of(answer).find("\"error\":\"Request Timeout\"") != std::string::npos);
}

TEST_CASE("idle keep-alive connections do not keep stop() waiting", "[server][lifecycle]") {
  ServerOptions o;
  o.keep_alive_timeout_ms = 600000;  // would hold stop() for ten minutes if it were waited out
  auto s = std::make_unique<RunningServer>(o);
  auto c = s->client();
  auto r = c->Get(s->collection().c_str());
  REQUIRE(r);
  REQUIRE(r->status == 200);
  s.reset();  // stop() must return: the idle connection is woken, not waited for
  SUCCEED("stopped");
}

TEST_CASE("the access log has one line per request and no secret", "[server][log][secrets]") {
  std::mutex mutex;
  std::vector<std::string> lines;
  ServerOptions o;
  o.access_log = [&](const std::string& line) {
    std::lock_guard lock(mutex);
    lines.push_back(line);
  };
  RunningServer s(o);
  auto c = s.client();
  const Json body = valid_body(unique_username());
  auto created = post_json(*c, s.collection(), body.dump());
  auto listed = c->Get((s.collection() + "?page_size=5&password=query-secret").c_str());
  auto unauthorized = s.client(false)->Get(s.collection().c_str());
  auto invalid = post_json(*c, s.collection(), "{\"password\":\"s3cret-Passw0rd!\"}");
  REQUIRE(created);
  REQUIRE(listed);
  REQUIRE(unauthorized);
  REQUIRE(invalid);
  s.server().stop();
  std::lock_guard lock(mutex);
  REQUIRE(lines.size() == 4);
  // Lines of different connections may land in either order (each is written after its answer).
  auto logged = [&](const std::string& text) {
    return std::count_if(lines.begin(), lines.end(),
                         [&](const std::string& l) { return l.find(text) != std::string::npos; });
  };
  CHECK(logged("\"POST " + s.collection() + "\" 201 ") == 1);
  CHECK(logged("\"GET " + s.collection() + "\" 200 ") == 1);
  CHECK(logged("\"GET " + s.collection() + "\" 401 ") == 1);
  CHECK(logged("\"POST " + s.collection() + "\" 422 ") == 1);
  const auto basic =
      httplib::make_basic_authentication_header(s.options().project_id, s.options().api_token).second;
  for (const auto& line : lines) {
    INFO(line);
    CHECK(line.find("ms") != std::string::npos);
    CHECK(line.find(s.options().api_token) == std::string::npos);
    CHECK(line.find(basic.substr(6)) == std::string::npos);
    CHECK(line.find("s3cret-Passw0rd!") == std::string::npos);
    CHECK(line.find("query-secret") == std::string::npos);
  }
}

TEST_CASE("generated credentials and subscribers are filled in and distinct per server",
          "[server][lifecycle]") {
  RunningServer a;
  RunningServer b;
  CHECK_FALSE(a.options().project_id.empty());
  CHECK(a.options().api_token.size() >= 32);
  CHECK(a.options().parents.size() == 1);
  CHECK(a.options().api_token != b.options().api_token);
  CHECK(a.subscriber() != b.subscriber());
  CHECK(a.port() != b.port());
  CHECK(a.server().base_url() == "http://127.0.0.1:" + std::to_string(a.port()) + "/api/fabric");
}

TEST_CASE("a subscriber that is not a UUID is refused at construction", "[server][lifecycle]") {
  ServerOptions o;
  o.parents = {"not-a-uuid"};
  CHECK_THROWS_AS(ReferenceServer(o), std::invalid_argument);
}

TEST_CASE("a port already in use cannot be bound twice", "[server][lifecycle]") {
  RunningServer a;
  ServerOptions o;
  o.port = a.port();
  ReferenceServer b(o);
  CHECK_THROWS_AS(b.start(), std::runtime_error);
}

TEST_CASE("stop() is idempotent and start() runs once", "[server][lifecycle]") {
  ReferenceServer s(ServerOptions{});
  s.start();
  CHECK_THROWS_AS(s.start(), std::logic_error);
  s.stop();
  s.stop();
  SUCCEED();
}

TEST_CASE("a request line the server cannot parse gets a JSON 400", "[server][hostile]") {
  RunningServer s;
  RawConnection raw(s.port());
  REQUIRE(raw.send("BREW /coffee HTCPCP/1.0\r\n\r\n"));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(closed);
  CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(answer.find("{\"error\":\"Bad Request\",\"message\":\"the request line does not end in an HTTP "
                    "version\"}") != std::string::npos);
}

TEST_CASE("endless headers are cut off with a 400 instead of filling memory", "[server][hostile]") {
  RunningServer s;
  RawConnection raw(s.port());
  std::string request = "GET " + s.collection() + " HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 20000; ++i) request += "X-Filler-" + std::to_string(i) + ": yes\r\n";
  request += "\r\n";
  raw.send(request);  // the server may stop reading (and reset) before all of it is sent
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(closed);
  CHECK(answer.find("HTTP/1.1 200") == std::string::npos);
  auto c = s.client();
  auto ok = c->Get(s.collection().c_str());
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("a server sized for 64 clients answers 64 keep-alive connections opened at once",
          "[server][sizing]") {
  constexpr int kClients = 64;
  ServerOptions o;
  o.threads = kClients + 8;
  o.listen_backlog = 4 * kClients;
  RunningServer s(o);
  // Every connection is opened before any is read from, and each stays open (keep-alive), so each
  // holds a worker: with fewer workers than connections, the surplus would wait for an idle
  // connection to time out.
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < kClients; ++i) connections.push_back(std::make_unique<RawConnection>(s.port()));
  const std::string request =
      "GET " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" + authorization_header(s.options()) + "\r\n\r\n";
  for (auto& c : connections) REQUIRE(c->send(request));
  int answered = 0;
  for (auto& c : connections) {
    const std::string answer = c->read_response(std::chrono::seconds(60));
    if (answer.rfind("HTTP/1.1 200", 0) == 0) ++answered;
  }
  CHECK(answered == kClients);
  // Still open and usable: a second request on each.
  answered = 0;
  for (auto& c : connections) REQUIRE(c->send(request));
  for (auto& c : connections) {
    if (c->read_response(std::chrono::seconds(60)).rfind("HTTP/1.1 200", 0) == 0) ++answered;
  }
  CHECK(answered == kClients);
}

TEST_CASE("listen_backlog must be positive", "[server][sizing]") {
  ServerOptions o;
  o.listen_backlog = 0;
  CHECK_THROWS_AS(ReferenceServer(o), std::invalid_argument);
}
