// `sipcontract validate`: output format, exit codes, options, contracts other than the built-in
// one, and secrets kept out of every output.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace sipcontract::test;

namespace {

const fs::path kFixtures = FIXTURES_DIR;
const fs::path kSchemas = SCHEMAS_DIR;
const fs::path kContractTests = CONTRACT_TESTS_DIR;
const std::string kMinimal = (kFixtures / "requests/valid/minimal.json").string();
const std::string kG711 = (kFixtures / "requests/invalid/codec-g711.json").string();
const std::string k201 = (kFixtures / "responses/201/valid/complete.json").string();

}  // namespace

TEST_CASE("an unknown codec names the pointer, the value and the seven allowed codecs",
          "[cli][validate][enum]") {
  auto run = run_cli({"validate", "request", kG711});
  INFO(run.describe() << "\n" << run.out);
  REQUIRE(run.exit_code == 1);
  auto lines = split_lines(run.out);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == kG711 + ": invalid (1 finding)");
  const std::string& finding = lines[1];
  CHECK(finding.starts_with("  /codecs/1: "));
  CHECK(contains(finding, "\"G711\""));
  for (const char* codec : {"OPUS", "G722", "PCMU", "PCMA", "G729", "VP8", "H264"}) {
    INFO(codec);
    CHECK(contains(finding, codec));
  }
  CHECK(finding.ends_with(" [enum]"));
  CHECK(run.err.empty());
}

TEST_CASE("several files are reported in order and the highest exit code wins", "[cli][validate][exit]") {
  TempDir dir;
  const std::string missing = (dir.path() / "missing.json").string();
  auto run = run_cli({"validate", "request", kMinimal, kG711, missing});
  INFO(run.describe() << "\n" << run.out);
  CHECK(run.exit_code == 2);
  auto lines = split_lines(run.out);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == kMinimal + ": valid");
  CHECK(lines[1] == kG711 + ": invalid (1 finding)");
  auto err = split_lines(run.err);
  REQUIRE(err.size() == 1);
  CHECK(contains(err[0], missing));
  CHECK(contains(err[0], "No such file or directory"));

  auto two = run_cli({"validate", "request", kMinimal, kG711});
  CHECK(two.exit_code == 1);
  auto one = run_cli({"validate", "request", kMinimal, kMinimal});
  CHECK(one.exit_code == 0);
  CHECK(one.out == kMinimal + ": valid\n" + kMinimal + ": valid\n");
}

TEST_CASE("output that cannot be written is the error reported, though a file's complaint flushes it",
          "[cli][validate][exit]") {
  // The first file's verdict waits in stdio's buffer; the complaint about the missing file flushes
  // it to /dev/full first. That failure is the run's one error, not lost in the complaint's flush.
  if (!fs::exists("/dev/full")) {
    WARN("skipped: no /dev/full on this machine");
    return;
  }
  TempDir dir;
  const std::string missing = (dir.path() / "missing.json").string();
  for (const char* format : {"text", "json"}) {
    auto run =
        run_cli_to_full_device({"validate", "request", "--format", format, kMinimal, missing, kMinimal});
    INFO(format << ": " << run.describe());
    CHECK(run.exit_code == 2);
    CHECK(split_lines(run.err).size() == 1);
    CHECK(contains(run.err, "cannot write the output"));
  }
}

TEST_CASE("validate response checks the 201 schema unless --status says otherwise",
          "[cli][validate][response]") {
  CHECK(run_cli({"validate", "response", k201}).exit_code == 0);
  CHECK(run_cli({"validate", "response", "--status", "201", k201}).exit_code == 0);
  auto as404 = run_cli({"validate", "response", "--status", "404", k201});
  CHECK(as404.exit_code == 1);
  CHECK(contains(as404.out, "[required]"));
  const std::string not_found = (kFixtures / "responses/404/valid/not-found.json").string();
  CHECK(run_cli({"validate", "response", "--status", "404", not_found}).exit_code == 0);
  // Options of `validate` also work after the subcommand and after the files.
  auto json = run_cli({"validate", "response", not_found, "--status", "404", "--format", "json"});
  INFO(json.describe() << json.out);
  CHECK(json.exit_code == 0);
  CHECK(nlohmann::json::parse(json.out)["valid"] == true);
}

TEST_CASE("an undocumented status is a usage error that lists the documented ones", "[cli][validate][exit]") {
  auto run = run_cli({"validate", "response", "--status", "418", k201});
  INFO(run.describe());
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  auto err = split_lines(run.err);
  REQUIRE(err.size() == 1);
  CHECK(contains(err[0], "418"));
  CHECK(contains(err[0], "201, 401, 404, 422, 500"));
}

TEST_CASE("usage errors exit 2 with one line on stderr", "[cli][validate][exit]") {
  const std::vector<std::vector<std::string>> cases{
      {"validate", kMinimal},   // neither request, response nor --schema
      {"validate", "request"},  // no FILE
      {"validate", "--schema", (kSchemas / "error-401.json").string(), "request", kMinimal},
      {"validate", "request", "--format", "xml", kMinimal},
      {"validate", "request", "--jobs", "0", kMinimal},
      {"validate", "request", "--max-depth", "100000", kMinimal},
      {"validate", "request", "--max-bytes", "lots", kMinimal},
      {"validate", "request", "--max-bytes", "2EB", kMinimal},
      {"validate", "request", "--max-bytes", "0", kMinimal},
      {"validate", "request", "--no-such-option", kMinimal},
      {"validate", "response", "--status", "two-hundred", k201},
      {"validate", "--schema", (kSchemas / "no-such-schema.json").string(), kMinimal},
      {"validate", "--schema", kSchemas.string(), kMinimal},
      {"validate", "request", "--contract", (kContractTests / "missing").string(), kMinimal},
      {"validate", "request", "--contract", "v0", kMinimal},
      {"validate", "request", "--schema-dir", kSchemas.string(), kMinimal},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    INFO(joined);
    auto run = run_cli(args);
    INFO(run.describe());
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(split_lines(run.err).size() == 1);
  }
}

TEST_CASE("validate --help documents the modes, options and exit codes", "[cli][validate][help]") {
  auto run = run_cli({"validate", "--help"});
  INFO(run.describe());
  CHECK(run.exit_code == 0);
  for (const char* s :
       {"request", "response", "--schema", "--schema-dir", "--contract", "--operation", "--ndjson", "--jobs",
        "--format", "--quiet", "--max-bytes", "--max-depth", "Exit codes", "0  every document is valid",
        "1  a document breaks", "2  usage error"}) {
    INFO(s);
    CHECK(contains(run.out, s));
  }
  auto sub = run_cli({"validate", "response", "--help"});
  CHECK(sub.exit_code == 0);
  CHECK(contains(sub.out, "--status"));
  auto version = run_cli({"validate", "--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.starts_with("sipcontract "));
}

TEST_CASE("a FILE of - reads the document from standard input", "[cli][validate][stdin]") {
  RunOptions options;
  options.stdin_path = kG711;
  auto run = run_cli({"validate", "request", "-"}, options);
  INFO(run.describe() << run.out);
  CHECK(run.exit_code == 1);
  CHECK(run.out.starts_with("<stdin>: invalid (1 finding)\n  /codecs/1: "));
  options.stdin_path = kMinimal;
  auto ok = run_cli({"validate", "request", "-"}, options);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out == "<stdin>: valid\n");
}

TEST_CASE("validate --schema checks against any draft-7 schema, with refs to files in its folder",
          "[cli][validate][schema]") {
  TempDir dir;
  auto list = dir.write("list.json", R"({"data": [)" + read_file(k201) + R"(], "links": {}})");
  auto bad = dir.write("bad-list.json", R"({"data": [)" + read_file(kG711) + R"(], "links": {}})");
  const std::string schema = (kSchemas / "sip-endpoint-list.json").string();
  auto ok = run_cli({"validate", "--schema", schema, list.string()});
  INFO(ok.describe() << ok.out);
  CHECK(ok.exit_code == 0);
  auto ko = run_cli({"validate", "--schema", schema, bad.string()});
  INFO(ko.describe() << ko.out);
  CHECK(ko.exit_code == 1);
  CHECK(contains(ko.out, "  /data/0: "));
  CHECK(contains(ko.out, "  /data/0/codecs/1: "));

  // A schema of one's own, with a cross-file $ref to a sibling.
  TempDir own;
  own.write("port.json", R"({"definitions": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}})");
  auto main_schema = own.write("server.json", R"({"$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object", "required": ["port"], "properties": {"port": {"$ref": "port.json#/definitions/port"}}})");
  auto good = dir.write("server-ok.json", R"({"port": 5060})");
  auto wrong = dir.write("server-bad.json", R"({"port": 70000})");
  CHECK(run_cli({"validate", "--schema", main_schema.string(), good.string()}).exit_code == 0);
  auto run = run_cli({"validate", "--schema", main_schema.string(), wrong.string()});
  INFO(run.describe() << run.out);
  CHECK(run.exit_code == 1);
  CHECK(contains(run.out, "  /port: "));
  CHECK(contains(run.out, "[maximum]"));

  // An unloadable schema: exit 2, one line naming it.
  auto broken = own.write("broken.json", "{\"type\": ");
  auto unloadable = run_cli({"validate", "--schema", broken.string(), good.string()});
  CHECK(unloadable.exit_code == 2);
  CHECK(split_lines(unloadable.err).size() == 1);
  CHECK(contains(unloadable.err, "broken.json"));
}

TEST_CASE("validate --contract and --operation choose the contract and its operation",
          "[cli][validate][contract]") {
  // A copy of the v1 contract folder with CodecType widened to admit G711 and no 500 documented.
  TempDir root;
  fs::copy(kContractTests, root.path() / "c", fs::copy_options::recursive);
  auto common = nlohmann::json::parse(read_file(root.path() / "c/schemas/common.json"));
  common["definitions"]["CodecType"]["enum"].push_back("G711");
  root.write("c/schemas/common.json", common.dump(2));
  auto manifest = nlohmann::json::parse(read_file(root.path() / "c/contract.json"));
  manifest["operations"]["create"]["responses"].erase("500");
  root.write("c/contract.json", manifest.dump(2));
  const std::string folder = (root.path() / "c").string();

  CHECK(run_cli({"validate", "request", kG711}).exit_code == 1);
  auto widened = run_cli({"validate", "request", "--contract", folder, kG711});
  INFO(widened.describe() << widened.out);
  CHECK(widened.exit_code == 0);
  CHECK(run_cli({"validate", "request", "--contract", "v1", kG711}).exit_code == 1);
  // The narrower contract no longer documents 500 for the create.
  const std::string e500 = (kFixtures / "responses/500/valid/internal-server-error.json").string();
  CHECK(run_cli({"validate", "response", "--status", "500", e500}).exit_code == 0);
  auto narrowed = run_cli({"validate", "response", "--contract", folder, "--status", "500", e500});
  INFO(narrowed.describe());
  CHECK(narrowed.exit_code == 2);
  CHECK(contains(narrowed.err, "201, 401, 404, 422"));
  CHECK(!contains(narrowed.err, "500;"));
  // Another operation: an update body needs no username, a create body does.
  TempDir dir;
  auto update = dir.write("update.json", R"({"caller_id":"new"})").string();
  CHECK(run_cli({"validate", "request", update}).exit_code == 1);
  auto as_update = run_cli({"validate", "request", "--operation", "update", update});
  INFO(as_update.describe() << as_update.out);
  CHECK(as_update.exit_code == 0);
  CHECK(run_cli({"validate", "response", "--operation", "get", k201}).exit_code == 0);
  auto no_body = run_cli({"validate", "request", "--operation", "delete", update});
  CHECK(no_body.exit_code == 2);
  CHECK(contains(no_body.err, "takes no request body"));
  auto unknown = run_cli({"validate", "request", "--operation", "rename", update});
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, "create, delete, get, list, update"));
}

TEST_CASE("validate --quiet prints nothing and the exit code carries the verdict", "[cli][validate][quiet]") {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, int>> cases{
      {{"validate", "request", "--quiet", kMinimal}, 0},
      {{"validate", "request", "-q", kMinimal, kG711}, 1},
      {{"validate", "request", "--quiet", kMinimal, (dir.path() / "missing.json").string()}, 2},
      {{"validate", "request", "--quiet", "--ndjson", (kFixtures / "ndjson/mixed.ndjson").string()}, 1},
      {{"validate", "request", "--quiet", "--format", "json", kG711}, 1},
  };
  for (const auto& [args, code] : cases) {
    auto run = run_cli(args);
    INFO(args.back() << ": " << run.describe());
    CHECK(run.exit_code == code);
    CHECK(run.out.empty());
    CHECK(run.err.empty());
  }
}

TEST_CASE("validate --format json is one JSON document with every file's findings", "[cli][validate][json]") {
  TempDir dir;
  auto not_json = dir.write("not-json.json", "{\"username\": ");
  auto run = run_cli({"validate", "request", "--format", "json", kMinimal, kG711, not_json.string()});
  INFO(run.describe() << run.out);
  CHECK(run.exit_code == 1);
  REQUIRE(nlohmann::json::accept(run.out));
  auto report = nlohmann::json::parse(run.out);
  CHECK(report["valid"] == false);
  REQUIRE(report["files"].size() == 3);
  CHECK(report["files"][0] ==
        nlohmann::json({{"file", kMinimal}, {"valid", true}, {"findings", nlohmann::json::array()}}));
  const auto& g711 = report["files"][1];
  CHECK(g711["valid"] == false);
  REQUIRE(g711["findings"].size() == 1);
  CHECK(g711["findings"][0]["pointer"] == "/codecs/1");
  CHECK(g711["findings"][0]["keyword"] == "enum");
  CHECK(g711["findings"][0]["allowed"].size() == 7);
  CHECK(report["files"][2]["error"]["kind"] == "parse");
  CHECK(report["files"][2]["error"]["line"] == 1);
  CHECK(report["summary"] == nlohmann::json({{"documents", 3},
                                             {"valid", 1},
                                             {"invalid", 1},
                                             {"not_json", 1},
                                             {"findings", 1},
                                             {"unreadable", 0},
                                             {"internal", 0}}));
  CHECK(report["schema"].is_string());
}

TEST_CASE("validate --max-bytes and --max-depth refuse documents beyond them with exit 1",
          "[cli][validate][limits]") {
  auto big = run_cli({"validate", "request", "--max-bytes", "10", kMinimal});
  INFO(big.describe() << big.out);
  CHECK(big.exit_code == 1);
  CHECK(big.out == kMinimal + ": larger than the limit of 10 bytes (--max-bytes)\n");
  CHECK(run_cli({"validate", "request", "--max-bytes", "1KB", kMinimal}).exit_code == 0);

  TempDir dir;
  auto nested = dir.write("nested.json", R"({"username": "u", "password": "p", "password_confirmation": "p",
    "extra": [[[[[[[[[[1]]]]]]]]]]})");
  CHECK(run_cli({"validate", "request", nested.string()}).exit_code == 0);
  auto deep = run_cli({"validate", "request", "--max-depth", "5", nested.string()});
  INFO(deep.describe() << deep.out);
  CHECK(deep.exit_code == 1);
  CHECK(split_lines(deep.out).size() == 1);
  CHECK(deep.out.starts_with(nested.string() + ": line 2, column "));
}

TEST_CASE("a password never appears in the output, whatever its type or value", "[cli][validate][secrets]") {
  TempDir dir;
  const std::string secret = "Sup3r-S3cret-Pa55";
  const std::vector<std::string> bodies{
      R"({"username": "u", "password": 987654321987, "password_confirmation": 987654321987})",
      R"({"username": "u", "password": ["Sup3r-S3cret-Pa55"], "password_confirmation": ["Sup3r-S3cret-Pa55"]})",
      R"({"username": "u", "password": {"v": "Sup3r-S3cret-Pa55"}, "password_confirmation": "Sup3r-S3cret-Pa55"})",
      R"({"username": "u", "password": true, "password_confirmation": "Sup3r-S3cret-Pa55"})",
      R"({"username": "u", "password": "Sup3r-S3cret-Pa55", "password_confirmation": "Sup3r-S3cret-Pa56"})",
      R"({"username": "u", "password": "OPUS", "password_confirmation": "Sup3r-S3cret-Pa55", "codecs": ["OPUS"]})",
      R"({"username": "u", "password": "default", "password_confirmation": "Sup3r-S3cret-Pa55", "encryption": "x"})",
      R"({"username": "u", "password": "Sup3r-S3cret-Pa55", "password_confirmation": "Sup3r-S3cret-Pa55", "codecs": [)",
      R"({"username": "u", "password": "Sup3r-S3cret-Pa55\u0000", "password_confirmation": "Sup3r-S3cret-Pa55"})",
  };
  std::string ndjson;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    INFO(bodies[i]);
    auto file = dir.write("body-" + std::to_string(i) + ".json", bodies[i]);
    ndjson += bodies[i] + "\n";
    for (const char* format : {"text", "json"}) {
      auto run = run_cli({"validate", "request", "--format", format, file.string()});
      INFO(format << ": " << run.describe() << "\n" << run.out);
      CHECK(run.exit_code == 1);
      CHECK(!contains(run.out, secret));
      CHECK(!contains(run.err, secret));
      CHECK(!contains(run.out, "987654321987"));
      CHECK(!contains(run.out, "Pa56"));
    }
  }
  // As a 201 body (which must not carry the password at all) and as NDJSON lines.
  auto response = dir.write(
      "response.json", R"({"id": "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "password": "Sup3r-S3cret-Pa55"})");
  auto as_response = run_cli({"validate", "response", response.string()});
  CHECK(as_response.exit_code == 1);
  CHECK(!contains(as_response.out + as_response.err, secret));
  auto stream = dir.write("bodies.ndjson", ndjson);
  for (const char* format : {"text", "json"}) {
    auto run = run_cli({"validate", "request", "--ndjson", "--format", format, stream.string()});
    INFO(run.describe() << run.out);
    CHECK(run.exit_code == 1);
    CHECK(!contains(run.out + run.err, secret));
    CHECK(!contains(run.out + run.err, "987654321987"));
  }
}
