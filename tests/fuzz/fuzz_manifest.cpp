// Fuzz target: loading what `sipcontract run` reads from disk, through the runner's API.
//
// Every input is read as a case file (parse_cases, with a folder holding one body file), and each
// case it yields goes the way the runner takes it before sending: templates expanded, the path
// filled in, the body's secrets collected, the curl line written; then selection and the --list
// view. An input that looks like a manifest (it names "operation") is also loaded with
// Contract::load against the built-in schemas. A documented error (ConfigError, SchemaError) is
// fine; any other exception, a crash, a hang or a leak is a bug.
//
// Seeds: contracts/v1/ (the manifest and the shipped case files).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "internal.hpp"  // the runner's request building (fill_path, curl_line, body_secrets)
#include "sipcontract/runner.hpp"
#include "sipcontract/validate.hpp"

namespace fs = std::filesystem;
using namespace sipcontract;

namespace {

constexpr const char* kSubscriber = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";

// A private folder: body.json for "body_file", schemas/ with the built-in schemas, and the file a
// manifest input is written to. Removed at exit.
struct Workspace {
  fs::path root;
  fs::path schemas;
  fs::path manifest;

  Workspace() {
    std::string pattern = (fs::temp_directory_path() / "sipcontract-fuzz-manifest-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    root = pattern;
    schemas = root / "schemas";
    manifest = root / "contract.json";
    fs::create_directory(schemas);
    const SchemaStore& store = Contract::builtin().schema_store();
    for (const auto& name : store.names())
      std::ofstream(schemas / name, std::ios::binary) << *store.find(name);
    std::ofstream(root / "body.json") << R"({"username":"u","password":"p","password_confirmation":"p"})";
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
};

const Workspace& workspace() {
  static const Workspace w;
  return w;
}

std::optional<std::string> fake_env(const std::string& name) {
  if (name.rfind("SET", 0) == 0) return "value-of-" + name;
  return std::nullopt;
}

void exercise_cases(std::string_view text) {
  const Contract& contract = Contract::builtin();
  std::vector<Case> cases;
  try {
    cases = parse_cases(text, "fuzzed.json", workspace().root);
  } catch (const ConfigError& e) {
    (void)e.what();
    return;
  }
  const TemplateContext context{"0123456789", kSubscriber, "subscriber", "pw-FUZZ-secret", fake_env};
  const std::string path_template = contract.operation_of_record().path;
  const std::string parent = contract.main_resource().parent_parameter;
  const detail::BaseUrl url = detail::BaseUrl::parse("http://127.0.0.1:9/api/fabric");
  const Target target{url.origin() + url.prefix, kSubscriber, "fuzz-project", "fuzz-token", false};
  Redactor redactor;
  for (const Case& c : cases) {
    try {
      const Case expanded = expand_case(c, context, parent);
      for (const Step& step : expanded.steps) {
        detail::OutgoingRequest request;
        request.method = "POST";
        request.path = url.prefix + detail::fill_path(path_template, step.path_params);
        request.authorization = detail::authorization_for(step.auth, target);
        if (step.body) {
          request.body = step.body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } else if (step.raw_body) {
          request.body = *step.raw_body;
        }
        request.content_type = step.content_type;
        for (const auto& secret : detail::body_secrets(step, contract)) redactor.add(secret.value);
        const std::string curl =
            detail::curl_line(url, request, step.auth, step, contract, TransportOptions{},
                              [](const std::string&, const std::string&) { return std::string("${SC_X}"); });
        (void)redactor.redact(curl);
      }
    } catch (const ConfigError& e) {
      (void)e.what();  // a template or path error is a reported configuration error
    }
  }
  Selection selection;
  selection.globs = {"*valid*", "[a-m]*"};
  selection.tags = {"invalid", "unsettled"};
  selection.shard_index = 2;
  selection.shard_count = 3;
  (void)select_cases(cases, selection);
  std::ostringstream list;
  write_case_list(cases, list);
}

void exercise_manifest(std::string_view text) {
  if (text.find("\"operations\"") == std::string_view::npos) return;
  const Workspace& w = workspace();
  std::ofstream(w.manifest, std::ios::binary | std::ios::trunc)
      .write(text.data(), static_cast<std::streamsize>(text.size()));
  try {
    const Contract contract = Contract::load(w.root);
    auto parsed =
        parse_json(R"({"username":"u","password":"p","password_confirmation":"p","codecs":["OPUS"]})");
    (void)contract.validate_request(*parsed);
    for (int status : contract.documented_statuses()) (void)contract.validate_response(status, *parsed);
    (void)contract.validate_response(299, *parsed);
  } catch (const SchemaError& e) {
    (void)e.what();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  exercise_cases(text);
  exercise_manifest(text);
  return 0;
}
