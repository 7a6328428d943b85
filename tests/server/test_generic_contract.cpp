// A contract for a different, small resource (tests/fixtures/contracts/notes: notes in notebooks,
// under /v2, with its own credentials' variables, error bodies, 422 shape, paging members, a
// title unique within one notebook and a secret share key): validate, serve and run work on it
// with no change to the code, and the whole of its suite passes against the reference server in
// process and against `sipcontract serve --contract` started on its own. The server takes its
// routes, fields, defaults, uniqueness, secrets and paging from it, and so do the fault modes.
#include <signal.h>

#include <filesystem>
#include <regex>

#include "server_test_support.hpp"
#include "test_support.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

namespace fs = std::filesystem;

const fs::path kNotes = NOTES_CONTRACT_DIR;
constexpr const char* kNotebook = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
constexpr const char* kOtherNotebook = "1c4e2b8f-9d5e-4a7f-8b3c-2d4e6f8a0b1c";

const Contract& notes() {
  static const Contract contract = Contract::load(kNotes);
  return contract;
}

/// A reference server of the notes contract on a free loopback port, with two notebooks.
class NotesServer {
 public:
  explicit NotesServer(ServerOptions options = {}) : server_(with_notebooks(std::move(options)), notes()) {
    server_.start();
  }
  ~NotesServer() { server_.stop(); }

  ReferenceServer& server() { return server_; }
  std::string notes_path(const std::string& notebook = kNotebook) const {
    return "/v2/notebooks/" + notebook + "/notes";
  }
  std::unique_ptr<httplib::Client> client(bool with_credentials = true) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_.port());
    if (with_credentials)
      c->set_basic_auth(server_.options().project_id.c_str(), server_.options().api_token.c_str());
    c->set_connection_timeout(30, 0);
    c->set_read_timeout(60, 0);
    return c;
  }

 private:
  static ServerOptions with_notebooks(ServerOptions o) {
    o.parents = {kNotebook, kOtherNotebook};
    return o;
  }
  ReferenceServer server_;
};

/// The findings of `body` against the notes contract's schema for `status` of `operation`.
std::string findings(const std::string& operation, int status, const Json& body) {
  std::string out;
  for (const auto& f : notes().operation(operation)->validate_response(status, body).findings)
    out += to_string(f) + "\n";
  return out;
}

httplib::Result post(httplib::Client& c, const std::string& path, const Json& body) {
  return c.Post(path.c_str(), body.dump(), "application/json");
}

}  // namespace

TEST_CASE("the notes fixture loads, and every test case beside its schemas holds", "[server][generic]") {
  const Contract& c = notes();
  CHECK(c.name() == "notes");
  CHECK(c.base_path() == "/v2");
  CHECK(c.main_resource().parent_parameter == "notebook_id");
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(kNotes / "schemas")) {
    const std::string file = entry.path().filename().string();
    if (!file.ends_with(".test.json")) continue;
    const std::string schema_name = file.substr(0, file.size() - 10) + ".json";
    const Schema& schema = c.schema(schema_name);
    for (const auto& t : Json::parse(read_file(entry.path()))) {
      INFO(file << ": " << t.at("description").get<std::string>());
      Json data = t.at("data");
      Result result;
      if (t.contains("definition")) {
        // A definition of common.json, validated through a schema that refers to it.
        const std::string ref = "common.json#/definitions/" + t.at("definition").get<std::string>();
        SchemaStore store;
        for (const auto& s : fs::directory_iterator(kNotes / "schemas"))
          if (!s.path().filename().string().ends_with(".test.json"))
            store.add(s.path().filename().string(), read_file(s.path()));
        store.add("probe.json", Json{{"$ref", ref}}.dump());
        result = Schema::compile(store, "probe.json").validate(data);
      } else {
        result = schema.validate(data);
      }
      CHECK(result.valid() == t.at("valid").get<bool>());
      if (!t.at("valid").get<bool>()) {
        bool matched = false;
        for (const auto& f : result.findings)
          matched |= f.pointer == t.at("pointer").get<std::string>() &&
                     f.keyword == t.at("keyword").get<std::string>() &&
                     (!t.contains("property") || f.property == t.at("property").get<std::string>());
        CHECK(matched);
      }
      ++checked;
    }
  }
  CHECK(checked > 40);
}

TEST_CASE("validate request --contract takes the folder's request schema", "[server][generic][cli]") {
  const TempDir dir;
  const auto good =
      dir.write("good.json", R"({"title":"Groceries","tags":["home"],"share_key":"k3y-of-8-or-more"})");
  const auto bad = dir.write("bad.json", R"({"title":"","visibility":"secret","share_key":"short-k"})");
  const auto v1 =
      dir.write("v1.json", R"({"username":"u","password":"pw-pw-pw","password_confirmation":"pw-pw-pw"})");
  const auto validate = [&](const fs::path& file, const std::vector<std::string>& extra = {}) {
    ProcessOptions o;
    o.args = {"validate", "request", "--contract", kNotes.string(), file.string()};
    o.args.insert(o.args.end(), extra.begin(), extra.end());
    return run_process(o);
  };
  auto accepted = validate(good);
  INFO(accepted.describe() << accepted.out << accepted.err);
  CHECK(accepted.exit_code == 0);
  auto refused = validate(bad);
  INFO(refused.out << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(contains(refused.out, "/title"));
  CHECK(contains(refused.out, "/visibility"));
  CHECK(contains(refused.out, "/share_key"));
  CHECK_FALSE(contains(refused.out + refused.err, "short-k"));  // share_key is a secret field
  // A v1 body is not a note: no title, and the closed schema refuses v1's fields.
  auto other = validate(v1);
  CHECK(other.exit_code == 1);
  CHECK(contains(other.out, "title"));
  // The update operation, by name.
  auto update = validate(bad, {"--operation", "update"});
  CHECK(update.exit_code == 1);
}

TEST_CASE("the server takes routes, fields, defaults, secrets and errors from the contract",
          "[server][generic]") {
  NotesServer s;
  auto c = s.client();
  CHECK(s.server().base_url() == "http://127.0.0.1:" + std::to_string(s.server().port()) + "/v2");

  auto created = post(*c, s.notes_path(), {{"title", "Groceries"}, {"share_key", "k3y-of-8-or-more"}});
  INFO(describe(created));
  REQUIRE(created);
  REQUIRE(created->status == 201);
  const Json note = parse_body(created);
  CHECK(findings("create", 201, note).empty());
  // Defaults and absent values from the manifest; the id generated; the secret never kept.
  CHECK(note.at("visibility") == "private");
  CHECK(note.at("pinned") == false);
  CHECK(note.at("body") == "");
  CHECK(note.at("tags") == Json::array());
  CHECK(note.at("note_id").get<std::string>().size() == 36);
  CHECK_FALSE(note.contains("share_key"));
  CHECK(created->body.find("k3y-of-8-or-more") == std::string::npos);
  // The fields of the item schema, in its order.
  CHECK(created->body.rfind("{\"note_id\":", 0) == 0);

  // The contract's error bodies and 422 shape.
  auto unauthorized = s.client(false)->Get(s.notes_path().c_str());
  REQUIRE(unauthorized);
  CHECK(unauthorized->status == 401);
  CHECK(parse_body(unauthorized) == Json{{"problem", "unauthenticated"}});
  auto unknown = c->Get(s.notes_path("22222222-3333-4444-8555-666666666666").c_str());
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(parse_body(unknown) == Json{{"problem", "not found"}});
  auto v1_path =
      c->Get(("/api/fabric/resources/subscribers/" + std::string(kNotebook) + "/sip_endpoints").c_str());
  REQUIRE(v1_path);
  CHECK(v1_path->status == 404);
  auto invalid = post(*c, s.notes_path(), {{"visibility", "secret"}, {"share_key", "short-k"}});
  REQUIRE(invalid);
  REQUIRE(invalid->status == 422);
  const Json problems = parse_body(invalid);
  CHECK(findings("create", 422, problems).empty());
  std::set<std::string> seen;
  for (const auto& item : problems.at("errors")) {
    CHECK(item.at("kind") == "invalid_request");
    CHECK(item.contains("detail"));
    seen.insert(item.at("attribute").get<std::string>() + ":" + item.at("code").get<std::string>());
  }
  CHECK(seen == std::set<std::string>{"title:required", "visibility:invalid", "share_key:invalid"});
  CHECK(invalid->body.find("short-k") == std::string::npos);
  auto not_json = c->Post(s.notes_path().c_str(), "{title", "application/json");
  REQUIRE(not_json);
  CHECK(not_json->status == 422);
  CHECK(parse_body(not_json).at("errors").at(0).at("code") == "unreadable");

  // The methods of each path are the contract's operations.
  auto options = c->Options((s.notes_path() + "/" + note.at("note_id").get<std::string>()).c_str());
  REQUIRE(options);
  CHECK(options->get_header_value("Allow") == "GET, HEAD, PATCH, DELETE, OPTIONS");
  auto put = c->Put(s.notes_path().c_str(), "{}", "application/json");
  REQUIRE(put);
  CHECK(put->status == 405);
}

TEST_CASE("an update merges what it sends, and a title is unique within its notebook only",
          "[server][generic][update]") {
  NotesServer s;
  auto c = s.client();
  auto first = post(*c, s.notes_path(), {{"title", "Plan"}, {"tags", {"idea"}}});
  REQUIRE(first);
  REQUIRE(first->status == 201);
  const std::string id = parse_body(first).at("note_id").get<std::string>();
  const std::string item = s.notes_path() + "/" + id;

  // The same title in the same notebook is refused with the rule's code and message; in the
  // other notebook it is not (scope "parent").
  auto again = post(*c, s.notes_path(), {{"title", "Plan"}});
  REQUIRE(again);
  REQUIRE(again->status == 422);
  const Json repeat = parse_body(again).at("errors").at(0);
  CHECK(repeat.at("attribute") == "title");
  CHECK(repeat.at("code") == "title_taken");
  CHECK(repeat.at("detail") == "Another note of this notebook has this title");
  auto elsewhere = post(*c, s.notes_path(kOtherNotebook), {{"title", "Plan"}});
  REQUIRE(elsewhere);
  CHECK(elsewhere->status == 201);

  auto patched = c->Patch(item.c_str(), R"({"body":"after","visibility":"public"})", "application/json");
  INFO(describe(patched));
  REQUIRE(patched);
  REQUIRE(patched->status == 200);
  const Json updated = parse_body(patched);
  CHECK(findings("update", 200, updated).empty());
  CHECK(updated.at("note_id") == id);
  CHECK(updated.at("title") == "Plan");
  CHECK(updated.at("tags") == Json::array({"idea"}));
  CHECK(updated.at("body") == "after");
  CHECK(updated.at("visibility") == "public");
  auto read = c->Get(item.c_str());
  REQUIRE(read);
  CHECK(parse_body(read) == updated);

  // An update is validated with its own schema, re-checks uniqueness, and frees the old title.
  auto empty = c->Patch(item.c_str(), "{}", "application/json");
  REQUIRE(empty);
  CHECK(empty->status == 422);
  auto second = post(*c, s.notes_path(), {{"title", "Other"}});
  REQUIRE(second);
  const std::string second_item = s.notes_path() + "/" + parse_body(second).at("note_id").get<std::string>();
  auto taken = c->Patch(second_item.c_str(), R"({"title":"Plan"})", "application/json");
  REQUIRE(taken);
  CHECK(taken->status == 422);
  auto renamed =
      c->Patch(item.c_str(), R"({"title":"Renamed","share_key":"k3y-of-8-or-more"})", "application/json");
  REQUIRE(renamed);
  CHECK(renamed->status == 200);
  CHECK(renamed->body.find("k3y-of-8-or-more") == std::string::npos);
  auto freed = c->Patch(second_item.c_str(), R"({"title":"Plan"})", "application/json");
  REQUIRE(freed);
  CHECK(freed->status == 200);
  auto unknown = c->Patch((s.notes_path() + "/" + std::string(kOtherNotebook)).c_str(), R"({"body":"x"})",
                          "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
}

TEST_CASE("lists use the contract's members and paging parameters", "[server][generic][list]") {
  NotesServer s;
  auto c = s.client();
  for (int i = 0; i < 3; ++i)
    REQUIRE(post(*c, s.notes_path(), {{"title", "n" + std::to_string(i)}})->status == 201);
  auto page = c->Get((s.notes_path() + "?limit=2").c_str());
  REQUIRE(page);
  REQUIRE(page->status == 200);
  const Json first = parse_body(page);
  CHECK(findings("list", 200, first).empty());
  CHECK(first.at("items").size() == 2);
  const std::string next = first.at("paging").at("next").get<std::string>();
  CHECK(next.find("limit=2&cursor=") != std::string::npos);
  auto rest = c->Get(next.substr(next.find("/v2/")).c_str());
  REQUIRE(rest);
  const Json second = parse_body(rest);
  CHECK(second.at("items").size() == 1);
  CHECK_FALSE(second.at("paging").contains("next"));
  auto too_many = c->Get((s.notes_path() + "?limit=101").c_str());
  REQUIRE(too_many);
  CHECK(too_many->status == 422);
  CHECK(parse_body(too_many).at("errors").at(0).at("attribute") == "limit");
}

TEST_CASE("the fault modes pick their fields from the contract", "[server][generic][faults]") {
  const Json sent = {
      {"title", "Faulty"}, {"body", "as sent"}, {"tags", {"work"}}, {"share_key", "k3y-of-8-or-more"}};
  const auto create_with = [&](ServerFault fault, const Json& body) {
    ServerOptions o;
    o.faults = {fault};
    NotesServer s(o);
    auto r = post(*s.client(), s.notes_path(), body);
    REQUIRE(r);
    return std::pair{r->status, r->body};
  };
  SECTION("bad-enum: the first list of an enum, tags") {
    auto [status, body] = create_with(ServerFault::kBadEnum, sent);
    CHECK(status == 201);
    CHECK(Json::parse(body).at("tags") == Json::array({"not-listed"}));
    CHECK_THAT(findings("create", 201, Json::parse(body)), Catch::Contains("/tags/0"));
  }
  SECTION("no-echo: the first string field sent other than the title, body") {
    auto [status, body] = create_with(ServerFault::kNoEcho, sent);
    CHECK(Json::parse(body).at("body") == "as sent-altered");
    CHECK(Json::parse(body).at("title") == "Faulty");
  }
  SECTION("wrong-default: the first documented default, visibility") {
    auto [status, body] = create_with(ServerFault::kWrongDefault, Json{{"title", "Faulty"}});
    CHECK(Json::parse(body).at("visibility") == "public");
    CHECK(Json::parse(body).at("pinned") == false);  // its default is an assumption: left alone
  }
  SECTION("leak-secret: the share key") {
    auto [status, body] = create_with(ServerFault::kLeakSecret, sent);
    CHECK(Json::parse(body).at("share_key") == "k3y-of-8-or-more");
  }
  SECTION("missing-field: the id field") {
    auto [status, body] = create_with(ServerFault::kMissingField, sent);
    CHECK_FALSE(Json::parse(body).contains("note_id"));
  }
  SECTION("accept-invalid: a body without its required title is repaired and accepted") {
    auto [status, body] =
        create_with(ServerFault::kAcceptInvalid, Json{{"visibility", "secret"}, {"colour", 1}});
    CHECK(status == 201);
    CHECK(findings("create", 201, Json::parse(body)).empty());
  }
  SECTION("bad-uuid and accept-duplicates: the id and the unique title, in every answer") {
    ServerOptions o;
    o.faults = {ServerFault::kBadUuid, ServerFault::kAcceptDuplicates};
    NotesServer s(o);
    auto c = s.client();
    auto one = post(*c, s.notes_path(), {{"title", "Twice"}});
    auto two = post(*c, s.notes_path(), {{"title", "Twice"}});
    REQUIRE(one);
    REQUIRE(two);
    CHECK(two->status == 201);
    const Json note = parse_body(two);
    CHECK(note.at("title") == "Twice");
    const std::string id = note.at("note_id").get<std::string>();
    CHECK(id.rfind("note-", 0) == 0);
    auto read = c->Get((s.notes_path() + "/" + id).c_str());
    REQUIRE(read);
    CHECK(read->status == 200);
    CHECK(parse_body(read).at("title") == "Twice");
    auto patched = c->Patch((s.notes_path() + "/" + id).c_str(), R"({"body":"x"})", "application/json");
    REQUIRE(patched);
    CHECK(patched->status == 200);
    CHECK(parse_body(patched).at("note_id") == id);
  }
  SECTION("unknown-parent-ok: a create under an unknown notebook lands in a known one") {
    ServerOptions o;
    o.faults = {ServerFault::kUnknownParentOk};
    NotesServer s(o);
    auto r = post(*s.client(), s.notes_path("22222222-3333-4444-8555-666666666666"), Json{{"title", "Lost"}});
    REQUIRE(r);
    CHECK(r->status == 201);
  }
}

TEST_CASE("sipcontract run --contract passes the whole notes suite against the in-process server",
          "[server][generic][cli]") {
  ProcessOptions o;
  o.args = {"run", "--contract", kNotes.string(), "-j", "4"};
  o.timeout = std::chrono::seconds(300);
  const auto r = run_process(o);
  INFO(r.describe() << "\n" << r.out.substr(0, 6000) << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "24 cases: 24 passed, 0 failed"));
  CHECK(contains(r.out, "contract notes"));
  CHECK(contains(r.out, "nothing left behind"));
}

TEST_CASE("serve --contract serves the notes contract, and run --contract passes against it",
          "[server][generic][cli]") {
  const std::map<std::string, std::string> credentials = {{"NOTES_USER", "notes-user"},
                                                          {"NOTES_KEY", "notes-key-0123456789"}};
  Process serve({"serve", "--contract", kNotes.string(), "--port", "0", "--parent", kNotebook}, credentials);
  const std::string first = serve.first_line();
  std::smatch m;
  INFO("serve said: " << first << serve.err());
  REQUIRE(std::regex_match(first, m, std::regex(R"(^listening on (http://127\.0\.0\.1:(\d+)/v2)$)")));
  const std::string base_url = m[1];
  const int port = std::stoi(m[2]);

  // The banner names the notebook and where the credentials come from, never their values.
  std::vector<std::string> banner;
  while (auto line = serve.next_line()) {
    banner.push_back(*line);
    if (contains(*line, "/notes")) break;
  }
  const std::string shown = [&] {
    std::string all;
    for (const auto& l : banner) all += l + "\n";
    return all;
  }();
  CHECK(contains(shown, std::string("notebook ") + kNotebook));
  CHECK(contains(shown, "credentials from NOTES_USER and NOTES_KEY"));
  CHECK(contains(shown, "$NOTES_USER:$NOTES_KEY"));
  CHECK_FALSE(contains(shown, "notes-key-0123456789"));

  httplib::Client c("127.0.0.1", port);
  c.set_basic_auth("notes-user", "notes-key-0123456789");
  auto created = c.Post(("/v2/notebooks/" + std::string(kNotebook) + "/notes").c_str(),
                        R"({"title":"Hello"})", "application/json");
  REQUIRE(created);
  CHECK(created->status == 201);

  ProcessOptions o;
  o.args = {"run",    "--contract", kNotes.string(), "--base-url",
            base_url, "--parent",   kNotebook,       "--no-ledger"};
  o.env = credentials;
  o.timeout = std::chrono::seconds(300);
  const auto r = run_process(o);
  INFO(r.describe() << "\n" << r.out.substr(0, 6000) << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "24 cases: 24 passed, 0 failed"));
  CHECK(contains(r.out, "nothing left behind"));

  // What the run made is gone; what was there before it stays.
  auto list = c.Get(("/v2/notebooks/" + std::string(kNotebook) + "/notes").c_str());
  REQUIRE(list);
  const Json page = parse_body(list);
  REQUIRE(page.at("items").size() == 1);
  CHECK(page.at("items").at(0).at("title") == "Hello");
  CHECK(serve.finish(SIGTERM) == 0);
}
