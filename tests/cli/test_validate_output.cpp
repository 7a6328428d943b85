// `sipcontract validate`: the --format json output against its documented JSON Schema
// (docs/validate-output.schema.json), the counts of its summary, --strict, drafts other than
// draft-07, and secrets placed in other fields.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sipcontract/validate.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace sipcontract::test;

namespace {

const fs::path kFixtures = FIXTURES_DIR;
const std::string kMinimal = (kFixtures / "requests/valid/minimal.json").string();
const std::string kG711 = (kFixtures / "requests/invalid/codec-g711.json").string();
const std::string kMixed = (kFixtures / "ndjson/mixed.ndjson").string();

const sipcontract::Schema& output_schema() {
  static const sipcontract::Schema schema =
      sipcontract::Schema::from_file(fs::path(DOCS_DIR) / "validate-output.schema.json");
  return schema;
}

/// Holds one JSON document of the output to the documented schema and its counts to each other.
void conforms(const std::string& text) {
  INFO(text.substr(0, 2000));
  const auto parsed = sipcontract::parse_json(text);
  REQUIRE(parsed);
  const auto result = output_schema().validate(*parsed);
  for (const auto& f : result.findings) UNSCOPED_INFO(sipcontract::to_string(f));
  CHECK(result.valid());
  if (parsed->contains("summary")) {
    const auto& s = (*parsed)["summary"];
    CHECK(s["documents"] == s["valid"].get<int>() + s["invalid"].get<int>() + s["not_json"].get<int>() +
                                s["internal"].get<int>());
  }
}

std::string request_line(const std::string& extra) {
  return R"({"username": "u", "password": "p", "password_confirmation": "p")" + extra + "}";
}

}  // namespace

TEST_CASE("validate --format json output conforms to its documented JSON Schema", "[cli][validate][json]") {
  TempDir dir;
  auto broken = dir.write("broken.json", "{\"username\": ");
  auto big = dir.write("big.json", request_line(", \"caller_id\": \"" + std::string(3000, 'x') + "\""));
  auto many = dir.write("many.json", R"({"codecs": ["a", "b", "c", "d"], "ciphers": [1]})");
  const std::string missing = (dir.path() / "missing.json").string();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"validate", "request", "--format", "json", kMinimal, kG711, broken.string(), many.string()},
           {"validate", "request", "--format", "json", "--max-bytes", "1000", big.string(), missing},
           {"validate", "request", "--format", "json", "--max-findings", "2", "--strict", many.string()},
       }) {
    auto run = run_cli(args);
    INFO(run.describe());
    CHECK(split_lines(run.out).size() == 1);
    conforms(run.out);
    // Each file's record (a parse error, a file too large, findings) is written directly too: it
    // must stand in the output as dump() would write it.
    const auto parsed = sipcontract::parse_json(run.out);
    REQUIRE(parsed);
    for (const auto& record : (*parsed)["files"]) CHECK(run.out.find(record.dump()) != std::string::npos);
  }
  // A value with control characters, DEL and non-ASCII text, quoted in its finding's message.
  auto lines =
      dir.write("lines.ndjson", request_line("") + "\n" + request_line(", \"codec\": [\"OPUS\"]") +
                                    "\n{\"username\": \n" + request_line(", \"codecs\": [7]") + "\n" +
                                    request_line(", \"call_handler\": \"x\\u0001\\n\\u007f\\\"é\"") +
                                    "\n{\"a\": [1, 2\n");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"validate", "request", "--ndjson", "--format", "json", kMixed},
           {"validate", "request", "--ndjson", "--format", "json", "--strict", lines.string(), missing},
           {"validate", "request", "--ndjson", "--format", "json", "--max-findings", "1", "--max-bytes", "60",
            lines.string()},
       }) {
    auto run = run_cli(args);
    INFO(run.describe());
    const auto out = split_lines(run.out);
    CHECK(out.size() > 2);
    for (const auto& line : out) {
      conforms(line);
      // Records are written directly, not through nlohmann: each must be what dump() would write
      // (members in key order, the same escapes), so that a consumer can compare them as text.
      CHECK(line == nlohmann::json::parse(line).dump());
    }
  }
}

TEST_CASE("an NDJSON parse error has one line number, the record's", "[cli][validate][ndjson][json]") {
  TempDir dir;
  auto path = dir.write("bad.ndjson", request_line("") + "\n{\"username\": \n");
  auto run = run_cli({"validate", "request", "--ndjson", "--format", "json", path.string()});
  INFO(run.describe());
  const auto lines = split_lines(run.out);
  REQUIRE(lines.size() == 3);
  const auto record = nlohmann::json::parse(lines[1]);
  CHECK(record["line"] == 2);
  CHECK(record["error"]["kind"] == "parse");
  CHECK_FALSE(record["error"].contains("line"));
  CHECK(record["error"]["column"] == 14);
  const auto summary = nlohmann::json::parse(lines[2])["summary"];
  CHECK(summary == nlohmann::json({{"documents", 2},
                                   {"valid", 1},
                                   {"invalid", 0},
                                   {"not_json", 1},
                                   {"findings", 0},
                                   {"unreadable", 0},
                                   {"internal", 0}}));
  auto text = run_cli({"validate", "request", "--ndjson", path.string()});
  CHECK(split_lines(text.out).back() ==
        path.string() + ": 2 documents, 1 valid, 0 invalid, 1 not JSON, 0 findings");
}

TEST_CASE("validate --strict flags a misspelled field and suggests the declared name",
          "[cli][validate][strict]") {
  TempDir dir;
  auto body = dir.write("codec.json", request_line(R"(, "codec": ["OPUS"], "passwordConfirmation": "p")"));
  auto plain = run_cli({"validate", "request", body.string()});
  CHECK(plain.exit_code == 0);  // objects are open unless --strict
  auto run = run_cli({"validate", "request", "--strict", body.string()});
  INFO(run.describe() << run.out);
  CHECK(run.exit_code == 1);
  const auto lines = split_lines(run.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == body.string() + ": invalid (2 findings)");
  CHECK(lines[1] ==
        "  (root): property \"codec\" is not declared by the schema (strict mode); did you mean \"codecs\"? "
        "[strict]");
  CHECK(
      lines[2] ==
      "  (root): property \"passwordConfirmation\" is not declared by the schema (strict mode); did you mean "
      "\"password_confirmation\"? [strict]");
  auto json = run_cli({"validate", "request", "--strict", "--format", "json", body.string()});
  const auto report = nlohmann::json::parse(json.out);
  const auto& finding = report["files"][0]["findings"][0];
  CHECK(finding["keyword"] == "strict");
  CHECK(finding["property"] == "codec");
  CHECK(finding["suggestion"] == "codecs");
  // With --schema too.
  auto schema = dir.write("s.json", R"({"properties": {"name": {"type": "string"}}})");
  auto doc = dir.write("d.json", R"({"nmae": "x"})");
  auto own = run_cli({"validate", "--strict", "--schema", schema.string(), doc.string()});
  CHECK(own.exit_code == 1);
  CHECK(contains(own.out, "did you mean \"name\"? [strict]"));
}

TEST_CASE("a schema of another draft exits 2 and names the draft", "[cli][validate][drafts]") {
  TempDir dir;
  auto schema = dir.write("new.json", R"({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                          "prefixItems": [{"type": "integer"}]})");
  auto doc = dir.write("doc.json", R"(["not an integer"])");
  auto run = run_cli({"validate", "--schema", schema.string(), doc.string()});
  INFO(run.describe());
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  CHECK(split_lines(run.err).size() == 1);
  CHECK(contains(run.err, "declares draft 2020-12, which sipcontract does not support"));
  auto draft6 =
      dir.write("six.json", R"({"$schema": "http://json-schema.org/draft-06/schema#", "type": "array"})");
  CHECK(run_cli({"validate", "--schema", draft6.string(), doc.string()}).exit_code == 0);
}

TEST_CASE("a secret's value is not printed where another field holds it", "[cli][validate][secret]") {
  TempDir dir;
  const std::string secret = "Sup3r-Secret-Value";
  auto body = dir.write("leak.json", R"({"username": "u", "password": ")" + secret +
                                         R"(", "password_confirmation": ")" + secret + R"(", "codecs": [")" +
                                         secret + R"("], "encryption": ")" + secret + R"("})");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"validate", "request", body.string()},
           {"validate", "request", "--strict", "--format", "json", body.string()},
           {"validate", "request", "--ndjson", body.string()},
       }) {
    auto run = run_cli(args);
    INFO(run.describe() << run.out);
    CHECK(run.exit_code == 1);
    CHECK(contains(run.out, "(hidden)"));
    CHECK_FALSE(contains(run.out + run.err, "Sup3r"));
  }
}

TEST_CASE("a JSON line's findings are the library's to_json(), allowed values of any kind included",
          "[cli][validate][json][enum]") {
  TempDir dir;
  // Allowed values that are not plain strings: numbers, null, an object, escapes, a control
  // character and DEL (which dump() leaves as it is).
  const std::string schema_text =
      R"({"properties": {"e": {"enum": [1, 2.5, null, {"k": [true]}, "a\"b\\c", "tab\there", "del\u007f"]},)"
      R"( "c": {"const": {"x": [1, "y"]}}}})";
  auto schema = dir.write("schema.json", schema_text);
  auto lines = dir.write("docs.ndjson", "{\"e\": \"other\", \"c\": 3}\n{\"e\": 7}\n{\"e\": null}\n");
  auto run =
      run_cli({"validate", "--schema", schema.string(), "--ndjson", "--format", "json", lines.string()});
  INFO(run.describe());
  REQUIRE(run.exit_code == 1);
  const sipcontract::Schema library = sipcontract::Schema::from_file(schema);
  const auto printed = split_lines(run.out);
  REQUIRE(printed.size() == 4);  // three records and the summary
  const std::vector<std::string> docs = {R"({"e": "other", "c": 3})", R"({"e": 7})", R"({"e": null})"};
  for (std::size_t i = 0; i < docs.size(); ++i) {
    INFO(printed[i]);
    const auto record = nlohmann::json::parse(printed[i]);
    const auto expected = library.validate(*sipcontract::parse_json(docs[i]));
    nlohmann::json findings = nlohmann::json::array();
    for (const auto& f : expected.findings) findings.push_back(sipcontract::to_json(f));
    CHECK(record["findings"] == findings);
    CHECK(record["valid"] == expected.valid());
  }
  // The enum's list, as the line prints it: every finding of the rule, the same text.
  const std::string list = R"("allowed":[1,2.5,null,{"k":[true]},"a\"b\\c","tab\there","del)"
                           "\x7f"
                           R"("])";
  CHECK(contains(printed[0], list));
  CHECK(contains(printed[1], list));
  CHECK(contains(printed[0], R"("allowed":[{"x":[1,"y"]}])"));
}
