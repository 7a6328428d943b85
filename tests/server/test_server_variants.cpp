// The variants: each one's observable behaviour over real loopback HTTP, and for every variant
// (and all together) that the server stays a conforming implementation: it answers everything,
// loses no endpoint, and every answer to a documented status validates against the contract.
#include <algorithm>
#include <cctype>

#include "server_test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

ServerOptions with_variants(std::set<ServerVariant> variants) {
  ServerOptions o;
  o.variants = std::move(variants);
  return o;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Whether a Content-Type names JSON (application/json, any case, any parameters).
bool is_json_media_type(const std::string& value) {
  std::string type = lower(value.substr(0, value.find(';')));
  type.erase(std::remove(type.begin(), type.end(), ' '), type.end());
  return type == "application/json";
}

/// One answer read off a raw connection: status, head (status line and headers) and the body,
/// with a chunked body put together (`chunks` says from how many chunks).
struct RawAnswer {
  int status = 0;
  std::string head;
  std::string body;
  std::size_t chunks = 0;
  bool has_header(const std::string& line) const {
    return lower(head).find(lower(line)) != std::string::npos;
  }
};

RawAnswer parse_raw(const std::string& text) {
  RawAnswer a;
  const auto end = text.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  a.head = text.substr(0, end + 2);
  a.status = std::stoi(text.substr(9, 3));
  std::string rest = text.substr(end + 4);
  if (!a.has_header("\r\nTransfer-Encoding: chunked\r\n")) {
    a.body = rest;
    return a;
  }
  std::size_t at = 0;
  for (;;) {
    const auto eol = rest.find("\r\n", at);
    REQUIRE(eol != std::string::npos);
    const std::size_t size = std::stoul(rest.substr(at, eol - at), nullptr, 16);
    at = eol + 2;
    if (size == 0) break;
    REQUIRE(rest.size() >= at + size + 2);
    a.body += rest.substr(at, size);
    CHECK(rest.substr(at + size, 2) == "\r\n");
    at += size + 2;
    ++a.chunks;
  }
  return a;
}

/// Sends `request` on a new connection (with "Connection: close") and reads the whole answer.
RawAnswer raw_exchange(const RunningServer& s, const std::string& method, const std::string& path,
                       const std::string& extra_headers = {}, const std::string& body = {}) {
  RawConnection raw(s.port());
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        authorization_header(s.options()) + "\r\n" + extra_headers + "Connection: close\r\n";
  if (!body.empty() || method == "POST") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  REQUIRE(raw.send(request + "\r\n" + body));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(closed);
  return parse_raw(answer);
}

std::string create(RunningServer& s, httplib::Client& c, const std::string& username) {
  auto r = post_json(c, s.collection(), valid_body(username).dump());
  INFO(describe(r));
  REQUIRE(r);
  REQUIRE(r->status == 201);
  return parse_body(r).at("id").get<std::string>();
}

/// The path of a list link, absolute ("http://host:port/api/...") or relative ("/api/...").
std::string link_path(const std::string& link) {
  const auto at = link.find("/api/");
  REQUIRE(at != std::string::npos);
  return link.substr(at);
}

/// Every answer to a documented status validates against its schema; a 200 against the sibling's
/// schema; any other status is 204 without a body, or 400/415 with a JSON {"error": "..."}.
void check_answer(const std::string& what, const httplib::Result& r, const char* schema_200 = nullptr) {
  INFO(what << ": " << describe(r));
  REQUIRE(r);
  if (r->status == 204) {
    CHECK(r->body.empty());
    return;
  }
  CHECK(is_json_media_type(r->get_header_value("Content-Type")));
  auto parsed = parse_json(r->body);
  REQUIRE(static_cast<bool>(parsed));
  const Contract& contract = Contract::builtin();
  if (contract.response_schema(r->status) != nullptr) {
    const Result result = contract.validate_response(r->status, *parsed);
    std::string findings;
    for (const auto& f : result.findings) findings += to_string(f) + "\n";
    INFO(findings);
    CHECK(result.valid());
  } else if (r->status == 200) {
    REQUIRE(schema_200 != nullptr);
    CHECK(contract.schema(schema_200).validate(*parsed).valid());
  } else {
    CHECK((r->status == 400 || r->status == 415));
    CHECK(parsed->is_object());
    CHECK(parsed->contains("error"));
    CHECK((*parsed)["error"].is_string());
  }
}

/// Every endpoint the list shows, following its next links.
std::vector<std::string> listed_ids(RunningServer& s, httplib::Client& c) {
  std::vector<std::string> ids;
  std::string path = s.collection();
  for (int page = 0; page < 100 && !path.empty(); ++page) {
    auto r = c.Get(path.c_str());
    check_answer("list " + path, r, "sip-endpoint-list.json");
    REQUIRE(r->status == 200);
    const Json body = parse_body(r);
    for (const auto& item : body.at("data")) ids.push_back(item.at("id").get<std::string>());
    const Json& links = body.at("links");
    path = links.contains("next") && links["next"].is_string() ? link_path(links["next"].get<std::string>())
                                                               : "";
  }
  CHECK(path.empty());
  return ids;
}

/// A round of everything a client does, each answer checked; returns the ids still stored.
void exercise(RunningServer& s) {
  auto c = s.client();
  c->set_default_headers({{"Accept-Encoding", "gzip, deflate"}});
  std::vector<std::string> kept;
  std::string first_username;
  for (int i = 0; i < 5; ++i) {
    const std::string username = unique_username("variant");
    if (i == 0) first_username = username;
    Json body = valid_body(username);
    if (i == 1) {
      body["caller_id"] = "call-id-123";
      body["codecs"] = {"PCMU", "G722"};
      body["encryption"] = "required";
    }
    auto r = post_json(*c, s.collection(), body.dump());
    check_answer("create", r);
    REQUIRE(r->status == 201);
    kept.push_back(parse_body(r).at("id").get<std::string>());
  }
  check_answer("duplicate", post_json(*c, s.collection(), valid_body(first_username).dump()));
  check_answer("empty object", post_json(*c, s.collection(), "{}"));
  check_answer("not JSON", post_json(*c, s.collection(), "{oops"));
  check_answer("an array", post_json(*c, s.collection(), "[1,2]"));
  check_answer("empty body", post_json(*c, s.collection(), ""));
  check_answer("text/plain", c->Post(s.collection().c_str(), valid_body("x").dump(), "text/plain"));
  check_answer("unauthorized", s.client(false)->Get(s.collection().c_str()));
  check_answer("unknown subscriber", c->Get(s.collection("11111111-2222-4333-8444-555555555555").c_str()));
  check_answer("bad page_size", c->Get((s.collection() + "?page_size=0").c_str()));
  for (const auto& id : kept)
    check_answer("get", c->Get((s.collection() + "/" + id).c_str()), "sip-endpoint.json");
  check_answer("get missing", c->Get((s.collection() + "/0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b").c_str()));
  CHECK(listed_ids(s, *c) == kept);

  auto deleted = c->Delete((s.collection() + "/" + kept.front()).c_str());
  check_answer("delete", deleted, "sip-endpoint.json");
  CHECK((deleted->status == 204 || deleted->status == 200));
  check_answer("get deleted", c->Get((s.collection() + "/" + kept.front()).c_str()));
  check_answer("delete again", c->Delete((s.collection() + "/" + kept.front()).c_str()));
  kept.erase(kept.begin());

  auto head = c->Head(s.collection().c_str());
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  auto options = c->Options(s.collection().c_str());
  REQUIRE(options);
  CHECK(options->status == 204);

  CHECK(listed_ids(s, *c) == kept);
  CHECK(s.server().endpoint_count() == kept.size());
}

}  // namespace

TEST_CASE("every variant has a name that parses back to it and a description", "[server][variants]") {
  CHECK(all_variants().size() == 13);
  for (auto variant : all_variants()) {
    INFO(variant_name(variant));
    CHECK(parse_variant(variant_name(variant)) == variant);
    CHECK_FALSE(variant_description(variant).empty());
  }
  CHECK_FALSE(parse_variant("none"));
  CHECK_FALSE(parse_variant("Chunked"));
}

TEST_CASE("with every variant, and all at once, the server stays conforming and keeps every endpoint",
          "[server][variants][conforming]") {
  std::vector<std::set<ServerVariant>> sets;
  for (auto variant : all_variants()) sets.push_back({variant});
  sets.emplace_back(all_variants().begin(), all_variants().end());
  for (const auto& variants : sets) {
    std::string names;
    for (auto v : variants) names += std::string(variant_name(v)) + " ";
    DYNAMIC_SECTION(names) {
      RunningServer s(with_variants(variants));
      exercise(s);
    }
  }
}

TEST_CASE("variant chunked sends bodies in chunks without Content-Length", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kChunked}));
  const std::string body = valid_body(unique_username()).dump();
  const RawAnswer created =
      raw_exchange(s, "POST", s.collection(), "Content-Type: application/json\r\n", body);
  CHECK(created.status == 201);
  CHECK(created.has_header("\r\nTransfer-Encoding: chunked\r\n"));
  CHECK_FALSE(created.has_header("Content-Length"));
  CHECK(created.chunks >= 2);
  CHECK(Contract::builtin().validate_response(201, *parse_json(created.body)).valid());
  // Answers without a body are not chunked.
  const RawAnswer options = raw_exchange(s, "OPTIONS", s.collection());
  CHECK(options.status == 204);
  CHECK_FALSE(options.has_header("Transfer-Encoding"));
  CHECK(options.body.empty());
}

TEST_CASE("variant gzip codes bodies only when Accept-Encoding allows gzip", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kGzip}));
  create(s, *s.client(), unique_username());
  const RawAnswer gzipped = raw_exchange(s, "GET", s.collection(), "Accept-Encoding: br, gzip\r\n");
  CHECK(gzipped.status == 200);
  CHECK(gzipped.has_header("\r\nContent-Encoding: gzip\r\n"));
  REQUIRE(gzipped.body.size() > 2);
  CHECK(static_cast<unsigned char>(gzipped.body[0]) == 0x1f);  // the gzip magic number
  CHECK(static_cast<unsigned char>(gzipped.body[1]) == 0x8b);
  for (const char* refused :
       {"", "Accept-Encoding: identity\r\n", "Accept-Encoding: gzip;q=0\r\n", "Accept-Encoding: br\r\n"}) {
    INFO(refused);
    const RawAnswer plain = raw_exchange(s, "GET", s.collection(), refused);
    CHECK(plain.status == 200);
    CHECK_FALSE(plain.has_header("Content-Encoding"));
    CHECK(static_cast<bool>(parse_json(plain.body)));
  }
  // httplib's client asks for gzip and decodes it: the decoded body is the list.
  auto c = s.client();
  c->set_default_headers({{"Accept-Encoding", "gzip"}});
  auto r = c->Get(s.collection().c_str());
  REQUIRE(r);
  CHECK(r->get_header_value("Content-Encoding") == "gzip");
  CHECK(parse_body(r).at("data").size() == 1);
}

TEST_CASE("variant connection-close closes the connection after every answer", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kConnectionClose}));
  RawConnection raw(s.port());
  // Keep-alive asked for (HTTP/1.1 default), two requests sent: only the first is answered.
  const std::string get =
      "GET " + s.collection() + " HTTP/1.1\r\nHost: x\r\n" + authorization_header(s.options()) + "\r\n\r\n";
  REQUIRE(raw.send(get + get));
  bool closed = false;
  const std::string answer = raw.read_until_closed(std::chrono::seconds(30), closed);
  CHECK(closed);
  CHECK(answer.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(answer.find("Keep-Alive") == std::string::npos);
  CHECK(answer.find("HTTP/1.1 200", 1) == std::string::npos);
}

TEST_CASE("variant extra-fields adds members to every JSON object answered", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kExtraFields}));
  auto c = s.client();
  auto created = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  require_conforms(created);
  const Json endpoint = parse_body(created);
  CHECK(endpoint.contains("x_reference"));
  auto listed = c->Get(s.collection().c_str());
  const Json list = parse_body(listed);
  CHECK(list.contains("x_reference"));
  CHECK(list.at("data").at(0).contains("x_reference"));
  auto got = c->Get((s.collection() + "/" + endpoint.at("id").get<std::string>()).c_str());
  CHECK(parse_body(got).contains("x_reference"));
  auto invalid = post_json(*c, s.collection(), "{}");
  require_conforms(invalid);
  const Json errors = parse_body(invalid);
  CHECK(errors.contains("x_reference"));
  CHECK(errors.at("errors").at(0).contains("x_reference"));
  auto unauthorized = s.client(false)->Get(s.collection().c_str());
  require_conforms(unauthorized);
  CHECK(parse_body(unauthorized).contains("x_reference"));
}

TEST_CASE("variant create-only-field puts region in the 201 only", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kCreateOnlyField}));
  auto c = s.client();
  auto created = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  require_conforms(created);
  const Json endpoint = parse_body(created);
  CHECK(endpoint.at("region") == "us-east-1");
  auto got = c->Get((s.collection() + "/" + endpoint.at("id").get<std::string>()).c_str());
  CHECK_FALSE(parse_body(got).contains("region"));
  CHECK_FALSE(parse_body(c->Get(s.collection().c_str())).at("data").at(0).contains("region"));
}

TEST_CASE("variant paginated pages by 2 with absolute self, first, next and prev links",
          "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kPaginated}));
  auto c = s.client();
  std::vector<std::string> created;
  for (int i = 0; i < 5; ++i) created.push_back(create(s, *c, unique_username("page")));

  std::vector<std::string> seen;
  std::vector<Json> pages;
  std::string path = s.collection() + "?page_size=50";  // asked for more: a page still holds 2
  while (!path.empty() && pages.size() < 10) {
    const Json page = parse_body(c->Get(path.c_str()));
    CHECK(page.at("data").size() <= 2);
    for (const auto& item : page.at("data")) seen.push_back(item.at("id").get<std::string>());
    const Json& links = page.at("links");
    for (const auto& [rel, link] : links.items()) {
      INFO(rel);
      CHECK(link.get<std::string>().rfind("http://", 0) == 0);
    }
    pages.push_back(page);
    path = links.contains("next") ? link_path(links["next"].get<std::string>()) : "";
  }
  CHECK(seen == created);
  REQUIRE(pages.size() == 3);
  CHECK_FALSE(pages[0].at("links").contains("prev"));
  CHECK(pages[1].at("links").at("prev") == pages[0].at("links").at("self"));
  CHECK(pages[2].at("links").at("prev") == pages[1].at("links").at("self"));
  CHECK_FALSE(pages[2].at("links").contains("next"));
  CHECK(pages[2].at("links").at("first") == pages[0].at("links").at("first"));
  // prev leads back to the page before.
  const Json back = parse_body(c->Get(link_path(pages[2].at("links").at("prev").get<std::string>()).c_str()));
  CHECK(back.at("data") == pages[1].at("data"));
}

TEST_CASE("variant relative-links answers list links as paths", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kRelativeLinks}));
  auto c = s.client();
  for (int i = 0; i < 3; ++i) create(s, *c, unique_username("rel"));
  const Json page = parse_body(c->Get((s.collection() + "?page_size=2").c_str()));
  for (const auto& [rel, link] : page.at("links").items()) {
    INFO(rel);
    CHECK(link.get<std::string>().rfind(s.collection(), 0) == 0);
  }
  const Json next = parse_body(c->Get(page.at("links").at("next").get<std::string>().c_str()));
  CHECK(next.at("data").size() == 1);
}

TEST_CASE("variant delete-200 answers the deleted endpoint", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kDelete200}));
  auto c = s.client();
  const std::string id = create(s, *c, unique_username());
  auto deleted = c->Delete((s.collection() + "/" + id).c_str());
  REQUIRE(deleted);
  CHECK(deleted->status == 200);
  CHECK(is_json_media_type(deleted->get_header_value("Content-Type")));
  const Json body = parse_body(deleted);
  CHECK(body.at("id") == id);
  CHECK(Contract::builtin().schema("sip-endpoint.json").validate(body).valid());
  auto gone = c->Get((s.collection() + "/" + id).c_str());
  REQUIRE(gone);
  CHECK(gone->status == 404);
  auto again = c->Delete((s.collection() + "/" + id).c_str());
  require_conforms(again);
  CHECK(again->status == 404);
  CHECK(s.server().endpoint_count() == 0);
}

TEST_CASE("variants errors-reversed and errors-first-only reorder and trim a 422", "[server][variants]") {
  const std::string body = R"({"codecs":["G711"],"encryption":7})";  // four findings at least
  RunningServer base;
  const Json expected = parse_body(post_json(*base.client(), base.collection(), body)).at("errors");
  REQUIRE(expected.size() >= 3);
  RunningServer reversed(with_variants({ServerVariant::kErrorsReversed}));
  auto r = post_json(*reversed.client(), reversed.collection(), body);
  require_conforms(r);
  Json want = expected;
  std::reverse(want.begin(), want.end());
  CHECK(parse_body(r).at("errors") == want);
  RunningServer first(with_variants({ServerVariant::kErrorsFirstOnly}));
  auto f = post_json(*first.client(), first.collection(), body);
  require_conforms(f);
  CHECK(parse_body(f).at("errors") == Json::array({expected[0]}));
}

TEST_CASE("variant media-type labels JSON Application/JSON with a charset and pretty-prints it",
          "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kMediaType}));
  auto c = s.client();
  auto r = post_json(*c, s.collection(), valid_body(unique_username()).dump());
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(r->get_header_value("Content-Type") == "Application/JSON; charset=UTF-8");
  CHECK(r->body.find("\n  \"") != std::string::npos);
  CHECK(r->body.rfind("{\n  \"id\"", 0) == std::string::npos);  // the handler writes "id" first
  CHECK(Contract::builtin().validate_response(201, parse_body(r)).valid());
  auto unauthorized = s.client(false)->Get(s.collection().c_str());
  REQUIRE(unauthorized);
  CHECK(unauthorized->get_header_value("Content-Type") == "Application/JSON; charset=UTF-8");
  CHECK(parse_body(unauthorized) == Json{{"error", "Unauthorized"}});
}

TEST_CASE("variant status-415 answers an empty or non-JSON body with 415", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kStatus415}));
  auto c = s.client();
  const std::string body = valid_body(unique_username()).dump();
  for (const std::string what : {"text/plain", "empty", "no Content-Type"}) {
    auto r = what == "text/plain" ? c->Post(s.collection().c_str(), body, "text/plain")
             : what == "empty"    ? post_json(*c, s.collection(), "")
                                  : c->Post(s.collection().c_str(), httplib::Headers{}, body, "");
    INFO(what << ": " << describe(r));
    REQUIRE(r);
    CHECK(r->status == 415);
    CHECK(is_json_media_type(r->get_header_value("Content-Type")));
    CHECK(parse_body(r).at("error") == "Unsupported Media Type");
  }
  auto malformed = post_json(*c, s.collection(), "{oops");
  REQUIRE(malformed);
  CHECK(malformed->status == 422);  // declared JSON: a matter of its content, as before
  auto ok = post_json(*c, s.collection(), body);
  REQUIRE(ok);
  CHECK(ok->status == 201);
  CHECK(s.server().endpoint_count() == 1);
}

TEST_CASE("variant status-400 answers malformed JSON or a non-object with 400", "[server][variants]") {
  RunningServer s(with_variants({ServerVariant::kStatus400}));
  auto c = s.client();
  for (const std::string& body : std::vector<std::string>{"{oops", "[1,2]", "\"text\"",
                                                          std::string(100, '[') + std::string(100, ']')}) {
    auto r = post_json(*c, s.collection(), body);
    INFO(body << ": " << describe(r));
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(is_json_media_type(r->get_header_value("Content-Type")));
    CHECK(parse_body(r).at("error") == "Bad Request");
  }
  auto schema = post_json(*c, s.collection(), "{}");
  require_conforms(schema);
  CHECK(schema->status == 422);  // a JSON object the schema refuses stays 422
  auto wrong_type = c->Post(s.collection().c_str(), "{oops", "text/plain");
  REQUIRE(wrong_type);
  CHECK(wrong_type->status == 422);
}
