// The contract diff: `diff v1 v2` lists exactly the changes between the two built-in versions,
// each classified; a contract against itself has none; the JSON view's shape; --fail-on; usage
// errors. And `validate request --contract v2` against v1 on the same bodies.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include "cli_runner.hpp"
#include "sipcontract/contract.hpp"
#include "sipcontract/diff.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

using Row = std::tuple<std::string, std::string, std::string, std::string, std::string>;

/// (operation, part, pointer, kind, whom it breaks) of every change.
std::multiset<Row> rows(const DiffReport& report) {
  std::multiset<Row> out;
  for (const auto& c : report.changes)
    out.insert({c.operation, c.part, c.pointer, c.kind, std::string(to_string(c.impact))});
  return out;
}

// The changes from v1 to v2, as docs/contract.md#version-v2 states them.
std::multiset<Row> expected_v1_to_v2() {
  std::multiset<Row> out;
  const std::string item_fields[] = {"call_handler", "calling_handler_resource_id"};
  const std::string new_codecs = "enum-values-added";
  for (const std::string op : {"create", "delete", "get", "list", "update"})
    out.insert({op, "operation", "", "operation-id-changed", "none"});
  // The requests: create and update lose password_confirmation, the handler fields and the
  // conditional oneOf (and the equality rule); the codec enum grows.
  for (const std::string op : {"create", "update"}) {
    out.insert({op, "request", "/password_confirmation", "property-removed", "client"});
    for (const auto& f : item_fields) out.insert({op, "request", "/" + f, "property-removed", "client"});
    out.insert({op, "request", "", "constraint-removed", "server"});  // if/then (oneOf)
    out.insert({op, "request", "", "constraint-removed", "server"});  // x-sipcontract-equal-properties
    out.insert({op, "request", "/codecs/*", new_codecs, "server"});
  }
  // The item: no handler fields; codecs may hold the new values.
  for (const auto& [op, part, base] : {std::tuple{"create", "response 201", ""}, {"get", "response 200", ""},
                                       {"update", "response 200", ""}, {"list", "response 200", "/data/*"}}) {
    for (const auto& f : item_fields)
      out.insert({op, part, std::string(base) + "/" + f, "property-removed", "client"});
    out.insert({op, part, std::string(base) + "/codecs/*", new_codecs, "client"});
  }
  // The list's links: self and first required, every link an absolute URL.
  for (const std::string link : {"self", "first"})
    out.insert({"list", "response 200", "/links/" + link, "property-added", "server"});
  for (const std::string link : {"next", "prev"})
    out.insert({"list", "response 200", "/links/" + link, "property-added", "none"});
  return out;
}

}  // namespace

TEST_CASE("diff v1 v2: exactly the changes between the versions, each classified", "[diff]") {
  const auto report = diff_contracts(Contract::builtin("v1"), Contract::builtin("v2"));
  std::ostringstream text;
  write_diff_text(report, text);
  INFO(text.str());
  CHECK(report.from == "v1");
  CHECK(report.to == "v2");
  CHECK(rows(report) == expected_v1_to_v2());
  CHECK(report.breaks(Impact::kClient));
  CHECK(report.breaks(Impact::kServer));
}

TEST_CASE("diff: a contract against itself has no change", "[diff]") {
  for (const auto& name : Contract::builtin_names()) {
    const auto report = diff_contracts(Contract::builtin(name), Contract::builtin(name));
    CHECK(report.changes.empty());
    std::ostringstream text;
    write_diff_text(report, text);
    CHECK(text.str() == "sipcontract diff " + name + " -> " + name + ": no change\n");
  }
}

TEST_CASE("diff v2 v1: the reverse classification of the same edits", "[diff]") {
  const auto forward = diff_contracts(Contract::builtin("v1"), Contract::builtin("v2"));
  const auto back = diff_contracts(Contract::builtin("v2"), Contract::builtin("v1"));
  CHECK(back.changes.size() == forward.changes.size());
  // v1's codecs are fewer: a v2 client sending OPUS@... is refused by v1 (breaks clients).
  bool refused = false;
  for (const auto& c : back.changes)
    if (c.operation == "create" && c.part == "request" && c.kind == "enum-values-removed") {
      refused = c.impact == Impact::kClient;
      CHECK(c.before == nlohmann::json{"OPUS@48000H@20I", "OPUS@24000H@20I", "OPUS@16000H@20I", "OPUS@8000H@20I"});
    }
  CHECK(refused);
  // password_confirmation comes back as a required request field: a v2 client omits it.
  bool required = false;
  for (const auto& c : back.changes)
    if (c.operation == "create" && c.part == "request" && c.pointer == "/password_confirmation")
      required = c.kind == "property-added" && c.impact == Impact::kClient;
  CHECK(required);
}

TEST_CASE("sipcontract diff v1 v2: text grouped per operation, exit 1", "[diff][cli]") {
  auto r = run_cli({"diff", "v1", "v2"});
  INFO(r.describe() << "\n" << r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.empty());
  const auto report = diff_contracts(Contract::builtin("v1"), Contract::builtin("v2"));
  CHECK(contains(r.out, "sipcontract diff v1 -> v2: " + std::to_string(report.changes.size()) + " changes"));
  CHECK(contains(r.out, "\ncreate  POST /resources/subscribers/{fabric_subscriber_id}/sip_endpoints\n"));
  CHECK(contains(r.out, "breaks clients  response 201 /call_handler"));
  CHECK(contains(r.out, "breaks servers  request /codecs/*"));
  CHECK(contains(r.out, "neither         operation"));
  // One line per change besides the header, the operation headings and blank lines.
  std::size_t lines = 0;
  for (const auto& line : split_lines(r.out))
    if (line.rfind("  ", 0) == 0) ++lines;
  CHECK(lines == report.changes.size());
}

TEST_CASE("sipcontract diff: the same contract gives exit 0", "[diff][cli]") {
  auto r = run_cli({"diff", "v1", "v1"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "sipcontract diff v1 -> v1: no change\n");
  auto folder = run_cli({"diff", "v2", std::string(CONTRACTS_DIR) + "/v2"});
  CHECK(folder.exit_code == 0);
}

TEST_CASE("sipcontract diff --format json: its documented shape", "[diff][cli]") {
  auto r = run_cli({"diff", "v1", "v2", "--format", "json"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["from"] == "v1");
  CHECK(doc["to"] == "v2");
  const auto& summary = doc["summary"];
  CHECK(summary["changes"] == doc["changes"].size());
  CHECK(summary["client"].get<int>() + summary["server"].get<int>() + summary["none"].get<int>() ==
        summary["changes"].get<int>());
  const std::set<std::string> keys = {"operation", "method", "path", "part", "pointer", "kind",
                                      "breaks",    "message", "before", "after"};
  for (const auto& c : doc["changes"]) {
    std::set<std::string> got;
    for (const auto& [k, v] : c.items()) got.insert(k);
    CHECK(got == keys);
    CHECK((c["breaks"] == "client" || c["breaks"] == "server" || c["breaks"] == "none"));
  }
  auto none = run_cli({"diff", "v1", "v1", "--format", "json"});
  CHECK(none.exit_code == 0);
  CHECK(nlohmann::json::parse(none.out)["changes"].empty());
}

TEST_CASE("sipcontract diff --fail-on", "[diff][cli]") {
  CHECK(run_cli({"diff", "v1", "v2", "--fail-on", "none"}).exit_code == 0);
  CHECK(run_cli({"diff", "v1", "v2", "--fail-on", "server"}).exit_code == 1);
  CHECK(run_cli({"diff", "v1", "v2", "--fail-on", "any"}).exit_code == 1);
  CHECK(run_cli({"diff", "v1", "v2", "--fail-on", "client"}).exit_code == 1);
  CHECK(run_cli({"diff", "v1", "v1", "--fail-on", "any"}).exit_code == 0);
}

TEST_CASE("sipcontract diff: usage errors are one line, exit 2", "[diff][cli]") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"diff", "v1", "nope"}, {"diff", "v1"}, {"diff", "v1", "v2", "--fail-on", "x"},
        {"diff", "v1", "v2", "--format", "xml"}, {"diff", "/nonexistent/contract", "v1"}}) {
    auto r = run_cli(args);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(split_lines(r.err).size() == 1);
  }
  auto r = run_cli({"diff", "v1", "nope"});
  CHECK(contains(r.err, "nope"));
  CHECK(contains(r.err, "v1, v2"));
}

TEST_CASE("validate request --contract v2 accepts what v1 refuses", "[diff][cli][v2]") {
  TempDir dir;
  const auto body =
      dir.write("body.json", R"({"username":"u","password":"p","codecs":["OPUS@48000H@20I"]})");
  auto v2 = run_cli({"validate", "request", "--contract", "v2", body.string()});
  INFO(v2.out << v2.err);
  CHECK(v2.exit_code == 0);
  auto v1 = run_cli({"validate", "request", "--contract", "v1", body.string()});
  INFO(v1.out << v1.err);
  CHECK(v1.exit_code == 1);
  CHECK(contains(v1.out, "invalid (2 findings)"));
  CHECK(contains(v1.out, "password_confirmation"));
  CHECK(contains(v1.out, "/codecs/0: \"OPUS@48000H@20I\" is not an allowed value"));
  auto plain = run_cli({"validate", "request", body.string()});  // the default is v1
  CHECK(plain.exit_code == 1);
  CHECK(plain.out == v1.out);
}
