// The sibling operations of the reference server: list (with pagination), get, update and delete.
#include "server_test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

std::string create(RunningServer& s, httplib::Client& c, const std::string& username) {
  auto r = post_json(c, s.collection(), valid_body(username).dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 201);
  return parse_body(r).at("id").get<std::string>();
}

void require_list_conforms(const Json& body) {
  const Result result = Contract::builtin().schema("sip-endpoint-list.json").validate(body);
  std::string findings;
  for (const auto& f : result.findings) findings += to_string(f) + "\n";
  INFO(findings);
  REQUIRE(result.valid());
}

// Follows links.next from `first` to the end; returns every id in order.
std::vector<std::string> walk(httplib::Client& c, std::string url, std::size_t& pages) {
  std::vector<std::string> ids;
  pages = 0;
  while (!url.empty() && pages < 1000) {
    // links are absolute: keep the path and query
    const auto path_at = url.find("/api/fabric");
    REQUIRE(path_at != std::string::npos);
    auto r = c.Get(url.substr(path_at).c_str());
    INFO(describe(r));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const Json body = parse_body(r);
    require_list_conforms(body);
    for (const auto& item : body.at("data")) ids.push_back(item.at("id").get<std::string>());
    url = body.at("links").value("next", "");
    ++pages;
  }
  return ids;
}

}  // namespace

TEST_CASE("the list of a new subscriber is empty and conforms", "[server][siblings][list]") {
  RunningServer s;
  auto c = s.client();
  auto r = c->Get(s.collection().c_str());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const Json body = parse_body(r);
  require_list_conforms(body);
  CHECK(body.at("data").empty());
  CHECK(body.at("links").at("self").get<std::string>().find(s.collection()) != std::string::npos);
  CHECK_FALSE(body.at("links").contains("next"));
}

TEST_CASE("the list holds what was created, in creation order, without passwords",
          "[server][siblings][list]") {
  RunningServer s;
  auto c = s.client();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(create(s, *c, unique_username()));
  auto r = c->Get(s.collection().c_str());
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const Json body = parse_body(r);
  require_list_conforms(body);
  REQUIRE(body.at("data").size() == 3);
  for (std::size_t i = 0; i < ids.size(); ++i) CHECK(body["data"][i]["id"] == ids[i]);
  CHECK(r->body.find("s3cret-Passw0rd!") == std::string::npos);
}

TEST_CASE("the list pages with page_size and links.next", "[server][siblings][list]") {
  RunningServer s;
  auto c = s.client();
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(create(s, *c, unique_username()));
  std::size_t pages = 0;
  const auto seen = walk(*c, "http://x" + s.collection() + "?page_size=3", pages);
  CHECK(seen == ids);
  CHECK(pages == 3);
}

TEST_CASE("a page_size out of range or a foreign page_token answers 422", "[server][siblings][list]") {
  RunningServer s;
  auto c = s.client();
  for (const char* query : {"?page_size=0", "?page_size=1001", "?page_size=abc", "?page_size=-1",
                            "?page_token=zz", "?page_token=PA", "?page_token=PA12x"}) {
    INFO(query);
    auto r = c->Get((s.collection() + query).c_str());
    INFO(describe(r));
    REQUIRE(r);
    CHECK(r->status == 422);
    require_conforms(r);
  }
}

TEST_CASE("the lists of two subscribers are separate", "[server][siblings][list]") {
  ServerOptions o;
  o.parents = {"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "1c4e2b8f-9d5e-4a7f-8b3c-2d4e6f8a0b1c"};
  RunningServer s(o);
  auto c = s.client();
  auto r = post_json(*c, s.collection(o.parents[0]), valid_body(unique_username()).dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const std::string id = parse_body(r).at("id").get<std::string>();
  auto other = c->Get(s.collection(o.parents[1]).c_str());
  REQUIRE(other);
  CHECK(parse_body(other).at("data").empty());
  auto wrong_owner = c->Get((s.collection(o.parents[1]) + "/" + id).c_str());
  REQUIRE(wrong_owner);
  CHECK(wrong_owner->status == 404);
}

TEST_CASE("get returns the created endpoint and 404 for an unknown one", "[server][siblings][get]") {
  RunningServer s;
  auto c = s.client();
  Json body = valid_body(unique_username());
  body["codecs"] = {"G722"};
  auto created = post_json(*c, s.collection(), body.dump());
  REQUIRE(created);
  REQUIRE(created->status == 201);
  const Json record = parse_body(created);
  auto r = c->Get((s.collection() + "/" + record.at("id").get<std::string>()).c_str());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const Json fetched = parse_body(r);
  CHECK(fetched == record);
  CHECK(Contract::builtin().schema("sip-endpoint.json").validate(fetched).valid());

  for (const std::string id : {"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "not-a-uuid"}) {
    auto missing = c->Get((s.collection() + "/" + id).c_str());
    REQUIRE(missing);
    CHECK(missing->status == 404);
    require_conforms(missing);
  }
}

TEST_CASE("delete answers 204 without a body, then the endpoint is gone", "[server][siblings][delete]") {
  RunningServer s;
  auto c = s.client();
  const std::string keep = create(s, *c, unique_username());
  const std::string drop = create(s, *c, unique_username());
  auto r = c->Delete((s.collection() + "/" + drop).c_str());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 204);
  CHECK(r->body.empty());
  auto gone = c->Get((s.collection() + "/" + drop).c_str());
  REQUIRE(gone);
  CHECK(gone->status == 404);
  auto again = c->Delete((s.collection() + "/" + drop).c_str());
  REQUIRE(again);
  CHECK(again->status == 404);
  require_conforms(again);
  auto kept = c->Get((s.collection() + "/" + keep).c_str());
  REQUIRE(kept);
  CHECK(kept->status == 200);
  CHECK(s.server().endpoint_count() == 1);
}

TEST_CASE("delete on an unknown subscriber answers 404", "[server][siblings][delete]") {
  RunningServer s;
  auto c = s.client();
  auto r = c->Delete(
      (s.collection("11111111-2222-4333-8444-555555555555") + "/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b")
          .c_str());
  REQUIRE(r);
  CHECK(r->status == 404);
}

TEST_CASE("PATCH updates the fields it sends and keeps the others", "[server][siblings][update]") {
  RunningServer s;
  auto c = s.client();
  const std::string username = unique_username();
  const std::string id = create(s, *c, username);
  const std::string item = s.collection() + "/" + id;
  auto r =
      c->Patch(item.c_str(), R"({"caller_id":"after","codecs":["PCMU","OPUS"],"password":"n3w-Passw0rd!"})",
               "application/json");
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const Json updated = parse_body(r);
  CHECK(Contract::builtin().operation("update")->validate_response(200, updated).valid());
  CHECK(updated.at("id") == id);
  CHECK(updated.at("username") == username);
  CHECK(updated.at("caller_id") == "after");
  CHECK(updated.at("codecs") == Json::array({"PCMU", "OPUS"}));
  CHECK(updated.at("encryption") == "default");
  CHECK(r->body.find("n3w-Passw0rd!") == std::string::npos);  // a secret is never kept
  auto read = c->Get(item.c_str());
  REQUIRE(read);
  CHECK(parse_body(read) == updated);
}

TEST_CASE("PATCH answers 404, 422 and the uniqueness 422 as a create does", "[server][siblings][update]") {
  RunningServer s;
  auto c = s.client();
  const std::string taken = unique_username();
  create(s, *c, taken);
  const std::string id = create(s, *c, unique_username());
  const std::string item = s.collection() + "/" + id;

  auto unknown = c->Patch((s.collection() + "/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b").c_str(),
                          R"({"caller_id":"x"})", "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  require_conforms(unknown);

  auto invalid = c->Patch(item.c_str(), R"({"codecs":["G711"]})", "application/json");
  REQUIRE(invalid);
  REQUIRE(invalid->status == 422);
  require_conforms(invalid);
  CHECK(parse_body(invalid).at("errors").at(0).at("attribute") == "codecs");

  auto not_json = c->Patch(item.c_str(), "{oops", "application/json");
  REQUIRE(not_json);
  CHECK(not_json->status == 422);
  CHECK(error_codes(parse_body(not_json)) == std::vector<std::string>{"invalid_parameter"});

  auto duplicate = c->Patch(item.c_str(), Json{{"username", taken}}.dump(), "application/json");
  REQUIRE(duplicate);
  REQUIRE(duplicate->status == 422);
  CHECK(error_codes(parse_body(duplicate)) == std::vector<std::string>{"not_unique_within_project"});

  // Nothing of the refused updates stuck; renaming to a free name frees the old one.
  const Json before = parse_body(c->Get(item.c_str()));
  CHECK(before.at("codecs") == Json::array());
  const std::string old_name = before.at("username").get<std::string>();
  auto renamed = c->Patch(item.c_str(), Json{{"username", unique_username()}}.dump(), "application/json");
  REQUIRE(renamed);
  CHECK(renamed->status == 200);
  auto reuse = post_json(*c, s.collection(), valid_body(old_name).dump());
  REQUIRE(reuse);
  CHECK(reuse->status == 201);
}
