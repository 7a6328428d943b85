// The server's own fast parts: the JSON it writes without nlohmann and the store's parts merged in
// creation order (its UUIDs are src/common's: tests/common).
#include <mutex>
#include <set>
#include <thread>

#include "server_test_support.hpp"
#include "sipcontract/json_text.hpp"
#include "util.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

TEST_CASE("JSON the server writes itself is escaped exactly as nlohmann escapes it", "[server][json]") {
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
          "[server][concurrency]") {
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

