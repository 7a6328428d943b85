// Credentials, paths, methods and the order of the checks on the reference server.
#include "server_test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

void require_unauthorized(const httplib::Result& r) {
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 401);
  require_conforms(r);
  CHECK(r->get_header_value("WWW-Authenticate").rfind("Basic realm=", 0) == 0);
}

}  // namespace

TEST_CASE("a request without credentials answers 401 with a Basic challenge", "[server][auth]") {
  RunningServer s;
  auto c = s.client(false);
  require_unauthorized(post_json(*c, s.collection(), valid_body(unique_username()).dump()));
  require_unauthorized(c->Get(s.collection().c_str()));
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("wrong credentials answer 401", "[server][auth]") {
  RunningServer s;
  const auto& o = s.options();
  const std::vector<std::pair<std::string, std::string>> wrong = {
      {o.project_id, o.api_token + "x"}, {o.project_id, o.api_token.substr(0, o.api_token.size() - 1)},
      {o.project_id + "x", o.api_token}, {"", ""},
      {o.api_token, o.project_id},
  };
  for (const auto& [user, password] : wrong) {
    auto c = s.client(false);
    c->set_basic_auth(user.c_str(), password.c_str());
    require_unauthorized(post_json(*c, s.collection(), valid_body(unique_username()).dump()));
  }
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("an Authorization header that is not Basic credentials answers 401", "[server][auth]") {
  RunningServer s;
  auto c = s.client(false);
  for (const char* value :
       {"Bearer abc", "Basic", "Basic !!!notbase64", "Basic Zm9vYmFy" /* no colon */, "Digest x"}) {
    INFO(value);
    httplib::Headers headers = {{"Authorization", value}};
    require_unauthorized(c->Get(s.collection().c_str(), headers));
  }
}

TEST_CASE("the API token is never part of an answer", "[server][auth][secrets]") {
  RunningServer s;
  auto c = s.client();
  auto created = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  auto rejected = s.client(false)->Get(s.collection().c_str());
  for (const auto* r : {&created, &rejected}) {
    REQUIRE(*r);
    CHECK((*r)->body.find(s.options().api_token) == std::string::npos);
    for (const auto& [name, value] : (*r)->headers)
      CHECK(value.find(s.options().api_token) == std::string::npos);
  }
}

TEST_CASE("credentials are checked before the path, so an unknown path without them is 401",
          "[server][auth][order]") {
  RunningServer s;
  auto c = s.client(false);
  require_unauthorized(c->Get("/nowhere"));
  require_unauthorized(c->Get(s.collection("11111111-2222-4333-8444-555555555555").c_str()));
  require_unauthorized(c->Put(s.collection().c_str(), "{}", "application/json"));
}

TEST_CASE("an unknown subscriber answers 404", "[server][404]") {
  RunningServer s;
  auto c = s.client();
  auto r = post_json(*c, s.collection("11111111-2222-4333-8444-555555555555"),
                     valid_body(unique_username()).dump());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 404);
  require_conforms(r);
  CHECK(parse_body(r) == Json{{"error", "Not Found"}});
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("a malformed subscriber UUID answers 404", "[server][404]") {
  RunningServer s;
  auto c = s.client();
  for (const std::string sub :
       {"not-a-uuid", "0b3f1a7e8c4d4f6e9a2b1c3d5e7f9a0b", "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0", "%00"}) {
    INFO(sub);
    auto r = post_json(*c, s.collection(sub), valid_body(unique_username()).dump());
    INFO(describe(r));
    REQUIRE(r);
    CHECK(r->status == 404);
    require_conforms(r);
  }
}

TEST_CASE("a subscriber UUID in upper case names the same subscriber", "[server][404]") {
  RunningServer s;
  auto c = s.client();
  std::string upper = s.subscriber();
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto r = post_json(*c, s.collection(upper), valid_body(unique_username()).dump());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 201);
}

TEST_CASE("an unknown path answers 404", "[server][404]") {
  RunningServer s;
  auto c = s.client();
  const std::string sub = s.subscriber();
  for (const std::string path :
       {std::string("/"), std::string("/api/fabric"), std::string("/api/fabric/resources/subscribers"),
        "/api/fabric/resources/subscribers/" + sub,
        "/api/fabric/resources/subscribers/" + sub + "/sip_endpoint", s.collection() + "/",
        s.collection() + "/x/y", std::string("/api/fabric/resources/subscribers//sip_endpoints")}) {
    INFO(path);
    auto r = c->Get(path.c_str());
    INFO(describe(r));
    REQUIRE(r);
    CHECK(r->status == 404);
    require_conforms(r);
  }
}

TEST_CASE("a wrong method on a known path answers 405 with an Allow header", "[server][405]") {
  RunningServer s;
  auto c = s.client();
  auto put = c->Put(s.collection().c_str(), valid_body(unique_username()).dump(), "application/json");
  INFO(describe(put));
  REQUIRE(put);
  CHECK(put->status == 405);
  CHECK(put->get_header_value("Allow") == "GET, HEAD, POST, OPTIONS");
  CHECK(parse_body(put).at("error") == "Method Not Allowed");

  auto del = c->Delete(s.collection().c_str());
  REQUIRE(del);
  CHECK(del->status == 405);

  auto post_item = post_json(*c, s.collection() + "/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "{}");
  REQUIRE(post_item);
  CHECK(post_item->status == 405);
  CHECK(post_item->get_header_value("Allow") == "GET, HEAD, PATCH, DELETE, OPTIONS");

  // PATCH is the update: on the collection it is not allowed; on an unknown item it is a 404.
  auto patch_collection = c->Patch(s.collection().c_str(), "{}", "application/json");
  REQUIRE(patch_collection);
  CHECK(patch_collection->status == 405);
  auto patch =
      c->Patch((s.collection() + "/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b").c_str(), "{}", "application/json");
  REQUIRE(patch);
  CHECK(patch->status == 404);
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("OPTIONS lists the methods of a known path", "[server][405]") {
  RunningServer s;
  auto c = s.client();
  auto r = c->Options(s.collection().c_str());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK(r->get_header_value("Allow") == "GET, HEAD, POST, OPTIONS");
}

TEST_CASE("the checks run in order: 401, then 404, then 405, then 413", "[server][order]") {
  ServerOptions o;
  o.max_body_bytes = 1024;
  RunningServer s(o);
  const std::string big(4096, 'x');
  const std::string unknown = s.collection("11111111-2222-4333-8444-555555555555");

  // A too-large body of the wrong type, on an unknown subscriber, without credentials: 401.
  auto r1 = s.client(false)->Post(unknown.c_str(), big, "text/plain");
  REQUIRE(r1);
  CHECK(r1->status == 401);
  // With credentials: the unknown subscriber wins.
  auto r2 = s.client()->Post(unknown.c_str(), big, "text/plain");
  REQUIRE(r2);
  CHECK(r2->status == 404);
  // A known path with a wrong method: 405 before the size.
  auto r3 = s.client()->Put(s.collection().c_str(), big, "text/plain");
  REQUIRE(r3);
  CHECK(r3->status == 405);
  // The right method: the size before the content type.
  auto r4 = s.client()->Post(s.collection().c_str(), big, "text/plain");
  REQUIRE(r4);
  CHECK(r4->status == 413);
  // Within the size: the content type before the JSON.
  auto r5 = s.client()->Post(s.collection().c_str(), "{not json", "text/plain");
  REQUIRE(r5);
  CHECK(r5->status == 422);
  CHECK(parse_body(r5)["errors"][0]["message"].get<std::string>().find("Content-Type") != std::string::npos);
}

TEST_CASE("a keep-alive connection stays usable after a rejected body", "[server][keepalive]") {
  RunningServer s;
  // One client, so one connection: each rejection must leave the stream at a request boundary.
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  auto unauthorized = c->Post(s.collection().c_str(), httplib::Headers{{"Authorization", "Basic eDp5"}}, body,
                              "application/json");
  REQUIRE(unauthorized);
  CHECK(unauthorized->status == 401);
  auto missing = post_json(*c, s.collection("11111111-2222-4333-8444-555555555555"), body);
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto wrong_method = c->Put(s.collection().c_str(), body, "application/json");
  REQUIRE(wrong_method);
  CHECK(wrong_method->status == 405);
  auto created = post_json(*c, s.collection(), body);
  INFO(describe(created));
  REQUIRE(created);
  CHECK(created->status == 201);
}

TEST_CASE("Expect: 100-continue with wrong credentials is refused before the body is sent",
          "[server][auth][expect]") {
  RunningServer s;
  RawConnection raw(s.port());
  REQUIRE(raw.send("POST " + s.collection() +
                   " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
                   "Expect: 100-continue\r\n\r\n"));
  const std::string answer = raw.read_until("\r\n\r\n", std::chrono::seconds(30));
  CHECK(answer.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(answer.find("HTTP/1.1 100") == std::string::npos);
}

TEST_CASE("Expect: 100-continue with a valid request gets 100 and then 201", "[server][expect]") {
  RunningServer s;
  RawConnection raw(s.port());
  const std::string body = valid_body(unique_username()).dump();
  REQUIRE(raw.send("POST " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" + authorization_header(s.options()) +
                   "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"));
  const std::string interim = raw.read_until("\r\n\r\n", std::chrono::seconds(30));
  CHECK(interim.rfind("HTTP/1.1 100", 0) == 0);
  REQUIRE(raw.send(body));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(answer.find("HTTP/1.1 201") != std::string::npos);
}

TEST_CASE("HEAD answers like GET without a body", "[server][siblings]") {
  RunningServer s;
  auto c = s.client();
  auto r = c->Head(s.collection().c_str());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.empty());
}
