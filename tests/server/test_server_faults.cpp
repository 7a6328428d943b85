// Each fault mode of the reference server breaks the rule it names, and only when asked.
#include <chrono>

#include "server_test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

ServerOptions with_fault(ServerFault fault) {
  ServerOptions o;
  o.faults = {fault};
  return o;
}

// The findings of a 201 body against the 201 schema (empty when it conforms).
std::vector<Finding> findings_201(const std::string& text) {
  auto parsed = parse_json(text, ParseLimits{256u << 20, 256});
  REQUIRE(static_cast<bool>(parsed));
  return Contract::builtin().validate_response(201, *parsed).findings;
}

}  // namespace

TEST_CASE("every fault has a name that parses back to it", "[server][faults]") {
  CHECK(all_faults().size() == 32);
  for (auto fault : all_faults()) {
    INFO(fault_name(fault));
    CHECK(parse_fault(fault_name(fault)) == fault);
  }
  CHECK(parse_fault("none") == ServerFault::kNone);
  CHECK_FALSE(parse_fault("wrong_status"));
  CHECK_FALSE(parse_fault(""));
}

TEST_CASE("fault wrong-status answers a create with 200", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kWrongStatus));
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(findings_201(r->body).empty());  // only the status is wrong
}

TEST_CASE("fault wrong-content-type labels every answer text/plain", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kWrongContentType));
  auto c = s.client();
  auto created = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  auto invalid = post_json(*c, s.collection(), "{}");
  auto unauthorized = s.client(false)->Get(s.collection().c_str());
  for (const auto* r : {&created, &invalid, &unauthorized}) {
    REQUIRE(*r);
    CHECK((*r)->get_header_value("Content-Type") == "text/plain");
    CHECK((*r)->get_header_value_count("Content-Type") == 1);
  }
  CHECK(created->status == 201);
  CHECK(findings_201(created->body).empty());
}

TEST_CASE("fault non-json-body sends a 201 body that is not JSON", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kNonJsonBody));
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK_FALSE(static_cast<bool>(parse_json(r->body)));
  CHECK(r->get_header_value("Content-Type") == "application/json");
}

TEST_CASE("fault missing-field leaves id out of the 201", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kMissingField));
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const auto findings = findings_201(r->body);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].keyword == "required");
  CHECK(findings[0].property == "id");
}

TEST_CASE("fault bad-enum reports a cipher outside CipherType", "[server][faults]") {
  // The first field of the item schema that is a list of an enum: ciphers, before codecs.
  RunningServer s(with_fault(ServerFault::kBadEnum));
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  CHECK(parse_body(r).at("ciphers") == Json::array({"aead_aes_256_gcm_8"}));
  const auto findings = findings_201(r->body);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].pointer == "/ciphers/0");
}

TEST_CASE("fault bad-uuid sends an id that is not a UUID, and it still works for get and delete",
          "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kBadUuid));
  auto c = s.client();
  auto r = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  const auto findings = findings_201(r->body);
  REQUIRE(findings.size() == 1);
  CHECK(findings[0].pointer == "/id");
  const std::string id = parse_body(r).at("id").get<std::string>();
  auto fetched = c->Get((s.collection() + "/" + id).c_str());
  REQUIRE(fetched);
  CHECK(fetched->status == 200);
  auto deleted = c->Delete((s.collection() + "/" + id).c_str());
  REQUIRE(deleted);
  CHECK(deleted->status == 204);
}

TEST_CASE("fault no-echo reports another caller_id than the one sent", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kNoEcho));
  Json body = valid_body(unique_username());
  body["caller_id"] = "call-id-123";
  auto r = post_json(*s.client(), s.collection(), body.dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  CHECK(parse_body(r).at("caller_id") != "call-id-123");
  CHECK(findings_201(r->body).empty());
}

TEST_CASE("fault wrong-default reports an omitted encryption as optional", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kWrongDefault));
  auto c = s.client();
  auto omitted = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(omitted);
  REQUIRE(omitted->status == 201);
  CHECK(parse_body(omitted).at("encryption") == "optional");
  Json body = valid_body(unique_username());
  body["encryption"] = "required";
  auto sent = post_json(*c, s.collection(), body.dump());
  REQUIRE(sent);
  CHECK(parse_body(sent).at("encryption") == "required");
}

TEST_CASE("fault leak-secret puts the password (the first secret field) in the 201",
          "[server][faults][secrets]") {
  RunningServer s(with_fault(ServerFault::kLeakSecret));
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  CHECK(r->body.find("s3cret-Passw0rd!") != std::string::npos);
  CHECK_FALSE(findings_201(r->body).empty());  // the 201 schema forbids a password
}

TEST_CASE("fault leak-token puts the API token in the 201", "[server][faults][secrets]") {
  RunningServer s(with_fault(ServerFault::kLeakToken));
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  CHECK(r->body.find(s.options().api_token) != std::string::npos);
}

TEST_CASE("fault slow delays every answer by at least fault_delay_ms", "[server][faults]") {
  ServerOptions o = with_fault(ServerFault::kSlow);
  o.fault_delay_ms = 300;
  RunningServer s(o);
  auto c = s.client();
  // A lower bound only: a busy machine can make it slower, never faster.
  for (const bool authorized : {true, false}) {
    auto client = s.client(authorized);
    const auto start = std::chrono::steady_clock::now();
    auto r = client->Get(s.collection().c_str());
    const auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(r);
    CHECK(r->status == (authorized ? 200 : 401));
    CHECK(elapsed >= std::chrono::milliseconds(300));
  }
}

TEST_CASE("fault accept-duplicates answers 201 to a username used twice", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kAcceptDuplicates));
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  auto first = post_json(*c, s.collection(), body);
  auto second = post_json(*c, s.collection(), body);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->status == 201);
  CHECK(second->status == 201);
  CHECK(s.server().endpoint_count() == 2);
}

TEST_CASE("fault accept-invalid answers 201 to a body that breaks the schema", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kAcceptInvalid));
  auto c = s.client();
  const Json body = {{"password", "s3cret-Passw0rd!"}, {"codecs", {"G711"}}, {"encryption", 7}};
  auto r = post_json(*c, s.collection(), body.dump());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(findings_201(r->body).empty());  // the 201 still conforms: only the acceptance is wrong
  auto not_json = post_json(*c, s.collection(), "{oops");
  REQUIRE(not_json);
  CHECK(not_json->status == 422);  // a body that is not JSON is not a schema matter
}

TEST_CASE("fault no-auth accepts missing and wrong credentials", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kNoAuth));
  auto none = post_json(*s.client(false), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(none);
  CHECK(none->status == 201);
  auto wrong = s.client(false);
  wrong->set_basic_auth("nobody", "nothing");
  auto r = wrong->Get(s.collection().c_str());
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("fault unknown-parent-ok creates under an unknown subscriber", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kUnknownParentOk));
  auto c = s.client();
  const std::string unknown = "11111111-2222-4333-8444-555555555555";
  auto r = post_json(*c, s.collection(unknown), valid_body(unique_username()).dump());
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(findings_201(r->body).empty());
}

TEST_CASE("fault bad-error-shape sends a 422 without the errors list", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kBadErrorShape));
  auto r = post_json(*s.client(), s.collection(), "{}");
  REQUIRE(r);
  REQUIRE(r->status == 422);
  const Json body = parse_body(r);
  CHECK(body.contains("error"));
  CHECK_FALSE(body.contains("errors"));
  CHECK_FALSE(Contract::builtin().validate_response(422, body).valid());
}

TEST_CASE("fault wrong-attribute names attribute unknown in every 422 item", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kWrongAttribute));
  auto r = post_json(*s.client(), s.collection(), "{}");
  REQUIRE(r);
  REQUIRE(r->status == 422);
  require_conforms(r);  // the shape is right, only the attribute is wrong
  const Json answer = parse_body(r);
  for (const auto& item : answer.at("errors")) CHECK(item.at("attribute") == "unknown");
}

TEST_CASE("fault undocumented-status sends a 422 as 400", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kUndocumentedStatus));
  auto r = post_json(*s.client(), s.collection(), "{}");
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(Contract::builtin().response_schema(422)->validate(parse_body(r)).valid());
  auto ok = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(ok);
  CHECK(ok->status == 201);
}

TEST_CASE("fault ignore-delete answers 204 and keeps the endpoint", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kIgnoreDelete));
  auto c = s.client();
  auto r = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  const std::string id = parse_body(r).at("id").get<std::string>();
  auto d = c->Delete((s.collection() + "/" + id).c_str());
  REQUIRE(d);
  CHECK(d->status == 204);
  auto still = c->Get((s.collection() + "/" + id).c_str());
  REQUIRE(still);
  CHECK(still->status == 200);
}

TEST_CASE("fault reset-connection closes a create's connection without an answer", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kResetConnection));
  auto c = s.client();
  auto r = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  CHECK_FALSE(r);
  CHECK(s.server().endpoint_count() == 0);
  auto invalid = post_json(*s.client(), s.collection(), "{}");
  REQUIRE(invalid);
  CHECK(invalid->status == 422);  // only what would have been a 201 is cut off
}

TEST_CASE("fault truncated-body declares more bytes than the 201 carries", "[server][faults]") {
  RunningServer s(with_fault(ServerFault::kTruncatedBody));
  RawConnection raw(s.port());
  const std::string body = valid_body(unique_username()).dump();
  REQUIRE(raw.send("POST " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" + authorization_header(s.options()) +
                   "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\n\r\n" + body));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(closed);
  REQUIRE(answer.rfind("HTTP/1.1 201", 0) == 0);
  const auto header_end = answer.find("\r\n\r\n");
  REQUIRE(header_end != std::string::npos);
  const auto length_at = answer.find("Content-Length: ");
  REQUIRE(length_at != std::string::npos);
  const std::size_t declared = std::stoul(answer.substr(length_at + 16));
  const std::size_t received = answer.size() - header_end - 4;
  CHECK(declared > received);
  CHECK(received > 0);
}

TEST_CASE("fault huge-body pads the 201 to fault_body_bytes", "[server][faults]") {
  ServerOptions o = with_fault(ServerFault::kHugeBody);
  o.fault_body_bytes = 3u << 20;
  RunningServer s(o);
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 201);
  CHECK(r->body.size() == o.fault_body_bytes);
  CHECK(findings_201(r->body).empty());  // valid, just enormous
}

TEST_CASE("fault deep-nesting nests the 201 fault_depth levels deep", "[server][faults]") {
  ServerOptions o = with_fault(ServerFault::kDeepNesting);
  o.fault_depth = 100000;
  RunningServer s(o);
  auto r = post_json(*s.client(), s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  REQUIRE(r->status == 201);
  CHECK(r->body.find(std::string(100000, '[')) != std::string::npos);
  CHECK_FALSE(static_cast<bool>(parse_json(r->body)));  // past the default depth limit
}

TEST_CASE("without faults the server breaks none of these rules", "[server][faults]") {
  RunningServer s;
  auto c = s.client();
  Json body = valid_body(unique_username());
  body["caller_id"] = "call-id-123";
  auto r = post_json(*c, s.collection(), body.dump());
  REQUIRE(r);
  CHECK(r->status == 201);
  require_conforms(r);
  const Json created = parse_body(r);
  CHECK(created.at("caller_id") == "call-id-123");
  CHECK(created.at("encryption") == "default");
  CHECK(r->body.find(s.options().api_token) == std::string::npos);
  auto again = post_json(*c, s.collection(), body.dump());
  REQUIRE(again);
  CHECK(again->status == 422);
}

TEST_CASE("fault store-then-500 stores the endpoint and answers 500", "[server][faults][cleanup]") {
  RunningServer s(with_fault(ServerFault::kStoreThen500));
  auto c = s.client();
  const std::string username = unique_username();
  auto r = post_json(*c, s.collection(), valid_body(username).dump());
  REQUIRE(r);
  CHECK(r->status == 500);
  CHECK(parse_body(r) == Json{{"error", "Internal Server Error"}});
  require_conforms(r);  // a documented status and body: only the decision behind it is wrong
  CHECK(s.server().endpoint_count() == 1);
  const Json list = parse_body(c->Get(s.collection().c_str()));
  REQUIRE(list.at("data").size() == 1);
  CHECK(list.at("data").at(0).at("username") == username);
}

TEST_CASE("fault list-503 answers the list with 503 and Retry-After: 0", "[server][faults][cleanup]") {
  RunningServer s(with_fault(ServerFault::kList503));
  auto c = s.client();
  auto created = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(created);
  REQUIRE(created->status == 201);
  auto r = c->Get(s.collection().c_str());
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->get_header_value("Retry-After") == "0");
  CHECK(r->get_header_value("Content-Type") == "application/json");
  CHECK(parse_body(r).at("error") == "Service Unavailable");
  const std::string id = parse_body(created).at("id").get<std::string>();
  auto got = c->Get((s.collection() + "/" + id).c_str());
  REQUIRE(got);
  CHECK(got->status == 200);  // only the list is unavailable
}

TEST_CASE("fault gateway-delete-404 answers DELETE with a problem+json 404 and keeps the endpoint",
          "[server][faults][cleanup]") {
  RunningServer s(with_fault(ServerFault::kGatewayDelete404));
  auto c = s.client();
  auto created = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(created);
  const std::string id = parse_body(created).at("id").get<std::string>();
  auto d = c->Delete((s.collection() + "/" + id).c_str());
  REQUIRE(d);
  CHECK(d->status == 404);
  CHECK(d->get_header_value("Content-Type") == "application/problem+json");
  CHECK(parse_body(d) == Json{{"type", "about:blank"}, {"title", "Not Found"}, {"status", 404}});
  auto still = c->Get((s.collection() + "/" + id).c_str());
  REQUIRE(still);
  CHECK(still->status == 200);
  CHECK(s.server().endpoint_count() == 1);
}

TEST_CASE("fault get-404 answers GET of an endpoint 404 while the list shows it",
          "[server][faults][cleanup]") {
  RunningServer s(with_fault(ServerFault::kGet404));
  auto c = s.client();
  auto created = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(created);
  const std::string id = parse_body(created).at("id").get<std::string>();
  auto got = c->Get((s.collection() + "/" + id).c_str());
  REQUIRE(got);
  CHECK(got->status == 404);
  require_conforms(got);
  CHECK(parse_body(got) == Json{{"error", "Not Found"}});
  const Json list = parse_body(c->Get(s.collection().c_str()));
  REQUIRE(list.at("data").size() == 1);
  CHECK(list.at("data").at(0).at("id") == id);
  auto d = c->Delete((s.collection() + "/" + id).c_str());
  REQUIRE(d);
  CHECK(d->status == 204);  // delete still works
}

TEST_CASE("fault list-omits answers an empty page while endpoints exist", "[server][faults][cleanup]") {
  RunningServer s(with_fault(ServerFault::kListOmits));
  auto c = s.client();
  for (int i = 0; i < 3; ++i) {
    auto r = post_json(*c, s.collection(), valid_body(unique_username()).dump());
    REQUIRE(r);
    REQUIRE(r->status == 201);
  }
  auto r = c->Get((s.collection() + "?page_size=1").c_str());
  REQUIRE(r);
  CHECK(r->status == 200);
  const Json list = parse_body(r);
  CHECK(list.at("data").empty());
  CHECK_FALSE(list.at("links").contains("next"));
  CHECK(Contract::builtin().schema("sip-endpoint-list.json").validate(list).valid());
  CHECK(s.server().endpoint_count() == 3);
}

TEST_CASE("faults combine: each layer keeps its own rule", "[server][faults]") {
  ServerOptions o;
  o.faults = {ServerFault::kWrongStatus, ServerFault::kLeakToken, ServerFault::kBadUuid,
              ServerFault::kAcceptDuplicates};
  RunningServer s(o);
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  auto first = post_json(*c, s.collection(), body);
  auto second = post_json(*c, s.collection(), body);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->status == 200);
  CHECK(second->status == 200);
  const Json created = parse_body(second);
  CHECK(created.at("api_token") == s.options().api_token);
  CHECK(created.at("username") == Json::parse(body).at("username"));
  const std::string id = created.at("id").get<std::string>();
  CHECK(id.rfind("sip-endpoint-", 0) == 0);
  const Json list = parse_body(c->Get(s.collection().c_str()));
  REQUIRE(list.at("data").size() == 2);
  CHECK(list.at("data").at(1).at("id") == id);
  CHECK(list.at("data").at(1).at("username") == Json::parse(body).at("username"));
  auto d = c->Delete((s.collection() + "/" + id).c_str());
  REQUIRE(d);
  CHECK(d->status == 204);
  CHECK(s.server().endpoint_count() == 1);
}

TEST_CASE("every fault and every variant at once: the server answers each request or resets it",
          "[server][faults][variants]") {
  ServerOptions o;
  o.faults = {all_faults().begin(), all_faults().end()};
  o.variants = {all_variants().begin(), all_variants().end()};
  o.fault_delay_ms = 1;
  o.fault_body_bytes = 1u << 20;
  o.fault_depth = 1000;
  RunningServer s(o);
  auto c = s.client(false);
  c->set_default_headers({{"Accept-Encoding", "gzip"}});
  for (const std::string& body :
       std::vector<std::string>{valid_body(unique_username()).dump(), "{}", "{oops", "[]", ""}) {
    auto r = post_json(*c, s.collection(), body);
    REQUIRE(r);
    CHECK(r->status != 201);
  }
  for (const std::string& path :
       {s.collection(), s.collection() + "?page_size=1&page_token=PA1", s.collection() + "/sip-endpoint-0",
        s.collection() + "/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", std::string("/elsewhere")}) {
    INFO(path);
    auto got = c->Get(path.c_str());
    REQUIRE(got);
    auto deleted = c->Delete(path.c_str());
    REQUIRE(deleted);
  }
  // store-then-500 sits inside reset-connection: each create the repairs let through is stored
  // and answered 500 (the valid body, {} and []), and none is lost.
  CHECK(s.server().endpoint_count() == 3);
  auto still = c->Get(s.collection().c_str());
  REQUIRE(still);
}
