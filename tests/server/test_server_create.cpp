// Create Subscriber SIP Endpoint on the reference server: 201s, defaults, echoes, and every 422.
#include "server_test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

TEST_CASE("a valid create answers 201 with a body that conforms to the 201 schema", "[server][create]") {
  RunningServer s;
  auto c = s.client();
  Json body = valid_body(unique_username());
  body["caller_id"] = "call-id-123";
  body["send_as"] = "+14632322867";
  body["ciphers"] = {"AEAD_AES_256_GCM_8", "AES_CM_128_HMAC_SHA1_80"};
  body["codecs"] = {"OPUS", "PCMU"};
  body["encryption"] = "optional";
  body["call_handler"] = "passthrough";
  auto r = post_json(*c, s.collection(), body.dump());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 201);
  require_conforms(r);
  const Json created = parse_body(r);
  for (const char* field :
       {"username", "caller_id", "send_as", "ciphers", "codecs", "encryption", "call_handler"}) {
    INFO(field);
    CHECK(created.at(field) == body.at(field));
  }
  CHECK(created.at("id").get<std::string>().size() == 36);
  CHECK(created.at("id") != created.at("calling_handler_resource_id"));
  CHECK(r->body.find("s3cret-Passw0rd!") == std::string::npos);
  CHECK_FALSE(created.contains("password"));
  CHECK_FALSE(created.contains("password_confirmation"));
  CHECK(s.server().endpoint_count() == 1);
}

TEST_CASE("omitted optional fields get the documented defaults", "[server][create]") {
  RunningServer s;
  auto c = s.client();
  auto r = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 201);
  require_conforms(r);
  const Json created = parse_body(r);
  CHECK(created.at("caller_id") == "");
  CHECK(created.at("send_as") == "");
  CHECK(created.at("ciphers") == Json::array());
  CHECK(created.at("codecs") == Json::array());
  CHECK(created.at("encryption") == "default");
  CHECK(created.at("call_handler") == "default");
  CHECK(created.at("calling_handler_resource_id").get<std::string>().size() == 36);
}

TEST_CASE("a calling_handler_resource_id that is sent is echoed", "[server][create]") {
  RunningServer s;
  auto c = s.client();
  Json body = valid_body(unique_username());
  body["calling_handler_resource_id"] = "0B3F1A7E-8C4D-4F6E-9A2B-1C3D5E7F9A0B";
  auto r = post_json(*c, s.collection(), body.dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 201);
  require_conforms(r);
  CHECK(parse_body(r).at("calling_handler_resource_id") == "0B3F1A7E-8C4D-4F6E-9A2B-1C3D5E7F9A0B");
}

TEST_CASE("unknown request fields are accepted but neither stored nor echoed", "[server][create]") {
  RunningServer s;
  auto c = s.client();
  Json body = valid_body(unique_username());
  body["secret_note"] = "keep-me-private";
  auto r = post_json(*c, s.collection(), body.dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 201);
  require_conforms(r);
  CHECK(r->body.find("keep-me-private") == std::string::npos);
}

TEST_CASE("a body that breaks the schema answers 422 with one item per finding", "[server][create][422]") {
  RunningServer s;
  auto c = s.client();
  // username missing, a codec outside CodecType, a confirmation that differs from the password
  const Json body = {{"password", "s3cret-Passw0rd!"},
                     {"password_confirmation", "other-s3cret!"},
                     {"codecs", {"OPUS", "G711"}}};
  auto r = post_json(*c, s.collection(), body.dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 422);
  require_conforms(r);
  const Json answer = parse_body(r);
  const auto expected = Contract::builtin().validate_request(body);
  REQUIRE(answer.at("errors").size() == expected.findings.size());
  bool missing_username = false;
  bool bad_codec = false;
  bool bad_confirmation = false;
  for (const auto& item : answer.at("errors")) {
    CHECK(item.at("type") == "validation_error");
    CHECK(item.at("url") == Contract::builtin().validation_errors().item_template.at("url"));
    if (item.at("code") == "missing_required_parameter" && item.at("attribute") == "username")
      missing_username = true;
    if (item.at("code") == "invalid_parameter" && item.at("attribute") == "codecs") bad_codec = true;
    if (item.at("code") == "invalid_parameter" && item.at("attribute") == "password_confirmation") {
      bad_confirmation = true;
    }
  }
  CHECK(missing_username);
  CHECK(bad_codec);
  CHECK(bad_confirmation);
  CHECK(r->body.find("s3cret-Passw0rd!") == std::string::npos);
  CHECK(r->body.find("other-s3cret!") == std::string::npos);
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("every missing required field is named in its own 422 item", "[server][create][422]") {
  RunningServer s;
  auto c = s.client();
  auto r = post_json(*c, s.collection(), "{}");
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 422);
  require_conforms(r);
  std::set<std::string> attributes;
  const Json answer = parse_body(r);
  for (const auto& item : answer.at("errors")) {
    CHECK(item.at("code") == "missing_required_parameter");
    attributes.insert(item.at("attribute").get<std::string>());
  }
  CHECK(attributes == std::set<std::string>{"username", "password", "password_confirmation"});
}

TEST_CASE("a body that is not an object answers 422 with a null attribute", "[server][create][422]") {
  RunningServer s;
  auto c = s.client();
  for (const char* text : {"[]", "\"text\"", "42", "null"}) {
    INFO(text);
    auto r = post_json(*c, s.collection(), text);
    INFO(describe(r));
    REQUIRE(r);
    REQUIRE(r->status == 422);
    require_conforms(r);
    CHECK(parse_body(r).at("errors").at(0).at("attribute").is_null());
  }
}

TEST_CASE("both call_handler and calling_handler_resource_id answer 422", "[server][create][422]") {
  RunningServer s;
  auto c = s.client();
  Json body = valid_body(unique_username());
  body["call_handler"] = "default";
  body["calling_handler_resource_id"] = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
  auto r = post_json(*c, s.collection(), body.dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 422);
  require_conforms(r);
  const auto codes = error_codes(parse_body(r));
  REQUIRE_FALSE(codes.empty());
  for (const auto& code : codes) CHECK(code == "invalid_parameter");
}

TEST_CASE("the same username twice answers 422 not_unique_within_project", "[server][create][unique]") {
  RunningServer s;
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  auto first = post_json(*c, s.collection(), body);
  INFO(describe(first));
  REQUIRE(first);
  REQUIRE(first->status == 201);
  auto second = post_json(*c, s.collection(), body);
  INFO(describe(second));
  REQUIRE(second);
  REQUIRE(second->status == 422);
  require_conforms(second);
  const Json answer = parse_body(second);
  REQUIRE(answer.at("errors").size() == 1);
  CHECK(answer["errors"][0]["code"] == "not_unique_within_project");
  CHECK(answer["errors"][0]["attribute"] == "username");
  CHECK(s.server().endpoint_count() == 1);
}

TEST_CASE("usernames are unique across the project's subscribers", "[server][create][unique]") {
  ServerOptions o;
  o.parents = {"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "1c4e2b8f-9d5e-4a7f-8b3c-2d4e6f8a0b1c"};
  RunningServer s(o);
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  auto first = post_json(*c, s.collection(o.parents[0]), body);
  INFO(describe(first));
  REQUIRE(first);
  CHECK(first->status == 201);
  auto second = post_json(*c, s.collection(o.parents[1]), body);
  INFO(describe(second));
  REQUIRE(second);
  CHECK(second->status == 422);
  CHECK(error_codes(parse_body(second)) == std::vector<std::string>{"not_unique_within_project"});
}

TEST_CASE("usernames differing only in case are different usernames", "[server][create][unique]") {
  RunningServer s;
  auto c = s.client();
  const std::string name = unique_username("CaseUser");
  auto first = post_json(*c, s.collection(), valid_body(name).dump());
  std::string lower = name;
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto second = post_json(*c, s.collection(), valid_body(lower).dump());
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->status == 201);
  CHECK(second->status == 201);
}

TEST_CASE("a username freed by a delete can be used again", "[server][create][unique]") {
  RunningServer s;
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  auto first = post_json(*c, s.collection(), body);
  REQUIRE(first);
  REQUIRE(first->status == 201);
  const std::string id = parse_body(first).at("id").get<std::string>();
  auto deleted = c->Delete((s.collection() + "/" + id).c_str());
  REQUIRE(deleted);
  REQUIRE(deleted->status == 204);
  auto again = post_json(*c, s.collection(), body);
  INFO(describe(again));
  REQUIRE(again);
  CHECK(again->status == 201);
}

TEST_CASE("a body that is not JSON answers 422 invalid_parameter with where it broke",
          "[server][create][422]") {
  RunningServer s;
  auto c = s.client();
  for (const char* text : {"{\"username\": ", "{username: 1}", "", "not json at all", "{\"a\":1}}"}) {
    INFO("body: " << text);
    auto r = post_json(*c, s.collection(), text);
    INFO(describe(r));
    REQUIRE(r);
    REQUIRE(r->status == 422);
    require_conforms(r);
    const Json answer = parse_body(r);
    REQUIRE(answer.at("errors").size() == 1);
    CHECK(answer["errors"][0]["code"] == "invalid_parameter");
    CHECK(answer["errors"][0]["attribute"].is_null());
    CHECK(answer["errors"][0]["message"].get<std::string>().find("not valid JSON") != std::string::npos);
  }
}

TEST_CASE("a malformed body never echoes the password it contains", "[server][create][422][secrets]") {
  RunningServer s;
  auto c = s.client();
  // Unquoted values make the parser stop right at the secret.
  auto r = post_json(*c, s.collection(), "{\"password\": hunter2-very-secret, \"x\": 1}");
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 422);
  CHECK(r->body.find("hunter2-very-secret") == std::string::npos);
}

TEST_CASE("100000-deep nesting gets a bounded 422 and the server keeps serving",
          "[server][create][422][hostile]") {
  RunningServer s;
  auto c = s.client();
  const std::string deep = "{\"username\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto r = post_json(*c, s.collection(), deep);
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 422);
  require_conforms(r);
  auto ok = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(ok);
  CHECK(ok->status == 201);
}

TEST_CASE("a wrong or missing Content-Type answers 422 invalid_parameter", "[server][create][422]") {
  RunningServer s;
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                           "application/json; charset=latin1", "multipart/form-data; boundary=xyz"}) {
    INFO("Content-Type: " << type);
    auto r = c->Post(s.collection().c_str(), body, type);
    INFO(describe(r));
    REQUIRE(r);
    REQUIRE(r->status == 422);
    require_conforms(r);
    const Json answer = parse_body(r);
    CHECK(answer["errors"][0]["code"] == "invalid_parameter");
    CHECK(answer["errors"][0]["attribute"].is_null());
    CHECK(answer["errors"][0]["message"].get<std::string>().find("application/json") != std::string::npos);
  }
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("Content-Type parameters naming UTF-8 are accepted", "[server][create]") {
  RunningServer s;
  auto c = s.client();
  for (const char* type : {"application/json; charset=utf-8", "Application/JSON;charset=\"UTF-8\""}) {
    INFO(type);
    auto r = c->Post(s.collection().c_str(), valid_body(unique_username()).dump(), type);
    INFO(describe(r));
    REQUIRE(r);
    CHECK(r->status == 201);
  }
}

TEST_CASE("a body over the size limit answers 413 in JSON", "[server][create][413]") {
  ServerOptions o;
  o.max_body_bytes = 4096;
  RunningServer s(o);
  auto c = s.client();
  Json body = valid_body(unique_username());
  body["caller_id"] = std::string(5000, 'x');
  auto r = post_json(*c, s.collection(), body.dump());
  INFO(describe(r));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(parse_body(r).at("error") == "Payload Too Large");
  auto ok = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  INFO(describe(ok));
  REQUIRE(ok);
  CHECK(ok->status == 201);
}

TEST_CASE("a chunked body over the size limit answers 413", "[server][create][413]") {
  ServerOptions o;
  o.max_body_bytes = 4096;
  RunningServer s(o);
  RawConnection raw(s.port());
  std::string request = "POST " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" +
                        authorization_header(s.options()) +
                        "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(1000, ' ');
  for (int i = 0; i < 8; ++i) request += "3e8\r\n" + chunk + "\r\n";
  request += "0\r\n\r\n";
  REQUIRE(raw.send(request));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(answer.rfind("HTTP/1.1 413", 0) == 0);
  CHECK(closed);
}

TEST_CASE("a chunked body within the limit is accepted", "[server][create]") {
  RunningServer s;
  RawConnection raw(s.port());
  const std::string body = valid_body(unique_username()).dump();
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  const std::string request =
      "POST " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" + authorization_header(s.options()) +
      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: "
      "close\r\n\r\n" +
      size + "\r\n" + body + "\r\n0\r\n\r\n";
  REQUIRE(raw.send(request));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(answer.rfind("HTTP/1.1 201", 0) == 0);
}

TEST_CASE("a create past max_endpoints answers 422 and stores nothing more", "[server][create][limits]") {
  ServerOptions o;
  o.max_endpoints = 2;
  RunningServer s(o);
  auto c = s.client();
  for (int i = 0; i < 2; ++i) {
    auto r = post_json(*c, s.collection(), valid_body(unique_username()).dump());
    REQUIRE(r);
    REQUIRE(r->status == 201);
  }
  auto full = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  INFO(describe(full));
  REQUIRE(full);
  CHECK(full->status == 422);
  require_conforms(full);
  CHECK(error_codes(parse_body(full)) == std::vector<std::string>{"limit_exceeded"});
  CHECK(s.server().endpoint_count() == 2);
}

TEST_CASE("a body without a Content-Type answers 422 invalid_parameter", "[server][create][422]") {
  RunningServer s;
  RawConnection raw(s.port());
  const std::string body = valid_body(unique_username()).dump();
  REQUIRE(raw.send("POST " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" + authorization_header(s.options()) +
                   "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                   body));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(answer.rfind("HTTP/1.1 422", 0) == 0);
  CHECK(answer.find("\"attribute\":null") != std::string::npos);
  CHECK(s.server().endpoint_count() == 0);
}
