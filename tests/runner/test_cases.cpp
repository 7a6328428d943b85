// Case files, templating, selection and redaction: no server needed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "runner_test_support.hpp"
#include "sipcontract/runner.hpp"
#include "sipcontract/validate.hpp"

using namespace sipcontract;
using sipcontract::test::TempDir;

namespace {

TemplateContext fixed_context() {
  TemplateContext ctx;
  ctx.run_id = "r1d2e3";
  ctx.parent = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
  ctx.parent_alias = "subscriber";
  ctx.secret = "Pw-fixed-1";
  ctx.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SET_VAR") return std::string("from-env");
    return std::nullopt;
  };
  return ctx;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

/// Every value of a request enum of common.json.
std::vector<std::pair<std::string, std::string>> request_enum_values() {
  std::ifstream in(std::string(SCHEMAS_DIR) + "/common.json");
  auto common = nlohmann::json::parse(in);
  std::vector<std::pair<std::string, std::string>> out;
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"CipherType", "ciphers"},
      {"CodecType", "codecs"},
      {"EncryptionType", "encryption"},
      {"CallHandlerPassthroughType", "call_handler"}};
  for (const auto& [type, field] : fields)
    for (const auto& v : common["definitions"][type]["enum"]) out.emplace_back(field, v.get<std::string>());
  return out;
}

bool sends_value(const nlohmann::json& body, const std::string& field, const std::string& value) {
  if (!body.is_object() || !body.contains(field)) return false;
  const auto& v = body[field];
  if (v.is_string()) return v == value;
  return v.is_array() && std::find(v.begin(), v.end(), nlohmann::json(value)) != v.end();
}

}  // namespace

TEST_CASE("the built-in cases load and equal the repository's case files", "[runner][cases]") {
  auto builtin = builtin_cases();
  auto from_dir = load_cases(CONTRACT_TESTS_DIR);
  REQUIRE(builtin.size() == from_dir.size());
  REQUIRE(builtin.size() >= 50);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < builtin.size(); ++i) {
    CHECK(builtin[i].id == from_dir[i].id);
    CHECK(!builtin[i].steps.empty());
    ids.insert(builtin[i].id);
  }
  CHECK(ids.size() == builtin.size());
}

TEST_CASE("every request enum value is sent by a case that expects 201", "[runner][cases][coverage]") {
  auto cases = builtin_cases();
  for (const auto& [field, value] : request_enum_values()) {
    bool covered =
        std::any_of(cases.begin(), cases.end(), [&, &field = field, &value = value](const Case& c) {
          return c.unsettled.empty() && std::any_of(c.steps.begin(), c.steps.end(), [&](const Step& s) {
                   return s.body && s.expect.statuses == std::vector<int>{201} &&
                          sends_value(*s.body, field, value);
                 });
        });
    INFO(field << " = " << value);
    CHECK(covered);
  }
}

TEST_CASE("the cases cover every required field, auth variant, oneOf variant and the 404",
          "[runner][cases][coverage]") {
  auto cases = builtin_cases();
  auto find = [&](const std::string& id) -> const Case* {
    for (const auto& c : cases)
      if (c.id == id) return &c;
    return nullptr;
  };
  for (const char* field : {"username", "password", "password_confirmation"}) {
    const Case* c = find(std::string("missing-") +
                         (std::string(field) == "password_confirmation" ? "password-confirmation" : field));
    REQUIRE(c);
    REQUIRE(c->steps[0].expect.errors.size() == 1);
    CHECK(c->steps[0].expect.errors[0].attributes == std::vector<std::string>{field});
  }
  std::set<AuthVariant> auths;
  for (const auto& c : cases)
    for (const auto& s : c.steps)
      if (s.expect.statuses == std::vector<int>{401}) auths.insert(s.auth);
  CHECK(auths == std::set<AuthVariant>{AuthVariant::kNone, AuthVariant::kWrongToken,
                                       AuthVariant::kWrongProject, AuthVariant::kMalformedHeader});
  REQUIRE(find("duplicate-username"));
  CHECK(find("duplicate-username")->steps.size() == 2);
  REQUIRE(find("subscriber-unknown"));
  CHECK(find("subscriber-unknown")->steps[0].expect.statuses == std::vector<int>{404});
  for (const char* id : {"valid-minimal", "valid-call-handler-only", "valid-calling-handler-resource-id",
                         "oneof-both-handler-fields", "password-confirmation-mismatch", "valid-full"})
    CHECK(find(id));
}

TEST_CASE("case bodies agree with the request schema: 201 cases valid, settled 422 cases invalid",
          "[runner][cases][contract]") {
  const auto& contract = Contract::builtin();
  auto ctx = fixed_context();
  for (const auto& raw : builtin_cases()) {
    auto c = expand_case(raw, ctx, Contract::builtin().main_resource().parent_parameter);
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      const auto& s = c.steps[i];
      if (!s.body || s.content_type != "application/json" || s.expect.statuses.size() != 1) continue;
      auto result = contract.validate_request(*s.body);
      INFO(c.id << " step " << i + 1);
      if (s.expect.statuses[0] == 201) CHECK(result.valid());
      // The second duplicate-username request is valid by schema; uniqueness is a server rule.
      bool server_rule = std::any_of(s.assume.begin(), s.assume.end(), [](const Assumption& a) {
        return std::any_of(a.expect.errors.begin(), a.expect.errors.end(),
                           [](const ExpectedError& e) { return e.code == "not_unique_within_project"; });
      });
      if (s.expect.statuses[0] == 422 && c.unsettled.empty() && !server_rule) CHECK_FALSE(result.valid());
    }
  }
}

TEST_CASE("a case file with an unknown key names the file, the case and the field",
          "[runner][cases][errors]") {
  TempDir dir;
  dir.write("cases/a.json", R"([{"id":"ok","request":{},"expect":{"status":201}},
                                {"id":"typo","request":{"body":{}},"expcet":{"status":201}}])");
  auto msg = error_of([&] { load_cases(dir.path()); });
  CHECK_THAT(msg, Catch::Contains("a.json"));
  CHECK_THAT(msg, Catch::Contains("case \"typo\""));
  CHECK_THAT(msg, Catch::Contains("/expcet"));
  CHECK_THAT(msg, Catch::Contains("unknown key"));
}

TEST_CASE("case file errors are one line naming where", "[runner][cases][errors]") {
  TempDir dir;
  SECTION("not JSON") {
    dir.write("bad.json", "{\"id\": \"x\",\n  oops}");
    auto msg = error_of([&] { load_cases(dir.path()); });
    CHECK_THAT(msg, Catch::Contains("bad.json") && Catch::Contains("line 2"));
  }
  SECTION("an unknown auth variant") {
    dir.write("a.json", R"({"id":"x","request":{"auth":"bearer"},"expect":{"status":401}})");
    auto msg = error_of([&] { load_cases(dir.path()); });
    CHECK_THAT(msg, Catch::Contains("/request/auth") && Catch::Contains("bearer") &&
                        Catch::Contains("malformed-header"));
  }
  SECTION("a status out of range") {
    dir.write("a.json", R"({"id":"x","request":{},"expect":{"status":[201, 999]}})");
    CHECK_THAT(error_of([&] { load_cases(dir.path()); }), Catch::Contains("/expect/status/1"));
  }
  SECTION("a duplicate id names both places") {
    dir.write("a.json", R"({"id":"x","request":{},"expect":{"status":201}})");
    dir.write("b.json", R"({"id":"x","request":{},"expect":{"status":201}})");
    auto msg = error_of([&] { load_cases(dir.path()); });
    CHECK_THAT(msg,
               Catch::Contains("a.json") && Catch::Contains("b.json") && Catch::Contains("duplicate id"));
  }
  SECTION("error items need a 422") {
    dir.write("a.json", R"({"id":"x","request":{},"expect":{"status":201,"errors":[{"attribute":"u"}]}})");
    CHECK_THAT(error_of([&] { load_cases(dir.path()); }), Catch::Contains("/expect/errors"));
  }
  SECTION("a missing body file") {
    dir.write("a.json", R"({"id":"x","request":{"body_file":"bodies/none.json"},"expect":{"status":201}})");
    CHECK_THAT(error_of([&] { load_cases(dir.path()); }), Catch::Contains("/request/body_file"));
  }
  SECTION("an empty folder") {
    CHECK_THAT(error_of([&] { load_cases(dir.path()); }), Catch::Contains("no *.json case files"));
  }
  for (const auto& line : {error_of([&] { load_cases(dir.path() / "missing"); })})
    CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("a body file is read relative to its case file", "[runner][cases]") {
  TempDir dir;
  dir.write("cases/bodies/min.json",
            R"({"username":"u-{{run_id}}","password":"p","password_confirmation":"p"})");
  dir.write("cases/one.json", R"({"id":"from-file","tags":["t"],"request":{"body_file":"bodies/min.json"},
                                  "expect":{"status":201}})");
  auto cases = load_cases(dir.path());
  REQUIRE(cases.size() == 1);
  REQUIRE(cases[0].steps[0].body);
  auto expanded =
      expand_case(cases[0], fixed_context(), Contract::builtin().main_resource().parent_parameter);
  CHECK((*expanded.steps[0].body)["username"] == "u-r1d2e3");
}

TEST_CASE("placeholders expand in strings only", "[runner][template]") {
  Case c;
  c.id = "tmpl";
  Step s;
  s.body = nlohmann::json{{"username", "sc-{{run_id}}-{{case_id}}"},
                          {"password", "{{secret}}"},
                          {"n", 42},
                          {"list", {"{{ subscriber }}", true}},
                          {"{{run_id}}", "key stays"},
                          {"env", "{{env:SET_VAR}}/{{env:UNSET_VAR|fallback}}"}};
  c.steps.push_back(s);
  auto out = expand_case(c, fixed_context(), Contract::builtin().main_resource().parent_parameter);
  const auto& b = *out.steps[0].body;
  CHECK(b["username"] == "sc-r1d2e3-tmpl");
  CHECK(b["password"] == "Pw-fixed-1");
  CHECK(b["n"] == 42);
  CHECK(b["list"][0] == "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b");
  CHECK(b["list"][1] == true);
  CHECK(b.contains("{{run_id}}"));
  CHECK(b["env"] == "from-env/fallback");
  CHECK(out.steps[0].path_params.at("fabric_subscriber_id") == "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b");
}

TEST_CASE("every {{uuid}} is a fresh v4 UUID", "[runner][template]") {
  auto ctx = fixed_context();
  auto a = expand_template("{{uuid}}", ctx, "c", "/f");
  auto b = expand_template("{{uuid}}", ctx, "c", "/f");
  CHECK(a != b);
  REQUIRE(a.size() == 36);
  CHECK(a[14] == '4');
}

TEST_CASE("template errors name the case, the field and the problem", "[runner][template][errors]") {
  auto ctx = fixed_context();
  Case c;
  c.id = "bad-template";
  Step s;
  s.body = nlohmann::json{{"caller_id", "{{env:UNSET_VAR}}"}};
  c.steps.push_back(s);
  CHECK(error_of([&] { expand_case(c, ctx); }) ==
        "case \"bad-template\": /request/body/caller_id: environment variable UNSET_VAR is not set");
  CHECK(error_of([&] { expand_template("x {{nope}}", ctx, "c1", "/request/body/u"); }) ==
        "case \"c1\": /request/body/u: unknown placeholder {{nope}} (run_id, case_id, uuid, parent, "
        "subscriber, secret, env:NAME, var:NAME)");
  CHECK_THAT(error_of([&] { expand_template("x {{run_id", ctx, "c1", "/f"); }), Catch::Contains("unclosed"));
  CHECK_THAT(error_of([&] { expand_template("{{env:1BAD}}", ctx, "c1", "/f"); }),
             Catch::Contains("not an environment variable name"));
}

TEST_CASE("selection by glob and tag keeps the file order", "[runner][select]") {
  auto all = builtin_cases();
  Selection by_glob;
  by_glob.globs = {"codec-*", "valid-minimal"};
  auto picked = select_cases(all, by_glob);
  CHECK(picked.size() == 8);
  Selection by_tag;
  by_tag.tags = {"auth"};
  const auto auth = select_cases(all, by_tag);
  CHECK(auth.size() >= 8);
  for (const auto& c : auth) CHECK(std::find(c.tags.begin(), c.tags.end(), "auth") != c.tags.end());
  Selection unsettled;
  unsettled.tags = {"unsettled"};
  for (const auto& c : select_cases(all, unsettled)) CHECK(!c.unsettled.empty());
}

TEST_CASE("shards split the cases so that each runs exactly once", "[runner][select]") {
  auto all = builtin_cases();
  std::multiset<std::string> seen;
  for (std::size_t i = 1; i <= 3; ++i) {
    Selection s;
    s.shard_index = i;
    s.shard_count = 3;
    auto shard = select_cases(all, s);
    CHECK(shard.size() >= all.size() / 3);
    for (const auto& c : shard) seen.insert(c.id);
  }
  CHECK(seen.size() == all.size());
  for (const auto& c : all) CHECK(seen.count(c.id) == 1);
  Selection bad;
  bad.shard_index = 4;
  bad.shard_count = 3;
  CHECK_THAT(error_of([&] { select_cases(all, bad); }), Catch::Contains("--shard 4/3"));
}

TEST_CASE("the case list shows ids, tags and unsettled reasons", "[runner][cases]") {
  std::ostringstream out;
  write_case_list(sipcontract::test::builtin_matching({"drift-*"}), out);
  CHECK_THAT(out.str(), Catch::StartsWith("drift-codec-opus-variant") && Catch::Contains("unsettled:"));
}

TEST_CASE("mutated case files give a ConfigError or cases, never another exception",
          "[runner][cases][robustness]") {
  // A deterministic mutation run over the shipped case files: bytes flipped, dropped and
  // duplicated. Whatever comes out, parse_cases either returns cases or throws ConfigError.
  std::mt19937 rng(20260101);
  std::size_t parsed = 0;
  std::size_t refused = 0;
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CONTRACT_TESTS_DIR) + "/cases")) {
    std::ifstream in(entry.path());
    std::string original((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    for (int round = 0; round < 300; ++round) {
      std::string text = original;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        std::size_t at = rng() % text.size();
        switch (rng() % 4) {
          case 0:
            text[at] = static_cast<char>(rng() % 256);
            break;
          case 1:
            text.erase(at, 1 + rng() % 8);
            break;
          case 2:
            text.insert(at, text.substr(at, 1 + rng() % 16));
            break;
          case 3:
            text[at] = "{}[]\",:0n-"[rng() % 10];
            break;
        }
      }
      try {
        auto cases = parse_cases(text, "mutated.json", {});
        ++parsed;
        for (const auto& c : cases) {
          TemplateContext ctx;
          ctx.run_id = "r";
          ctx.parent = "s";
          ctx.secret = "p";
          ctx.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
          try {
            expand_case(c, ctx);
          } catch (const ConfigError&) {
          }
        }
      } catch (const ConfigError& e) {
        ++refused;
        CHECK(std::string(e.what()).find('\n') == std::string::npos);
      }
    }
  }
  CHECK(parsed + refused == files * 300);
  CHECK(refused > 0);
}
