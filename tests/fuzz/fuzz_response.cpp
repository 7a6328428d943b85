// Fuzz target: the runner's checks on whatever a target answers, and the reports they end in.
//
// Input: byte 1 picks the status, byte 0 one of the built-in cases that expect it (its first step is
// "the request sent"), then the headers ("Name: value" lines) up to the first empty line, then the body. The
// exchange goes through every check (check_exchange), the id and read-back checks (created_id,
// check_state), and into a report written as console summary, JUnit and JSON. Beyond "no crash,
// no hang, no leak": no output ever shows the run's API token, and the JSON report parses.
//
// Seeds: fixtures/responses (scripts/fuzz.sh prefixes them with a case and a status byte).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "internal.hpp"  // check_exchange, parse_body, created_id, check_state
#include "sipcontract/runner.hpp"

using namespace sipcontract;

namespace {

constexpr const char* kToken = "tok-FUZZ-SECRET-77";
constexpr const char* kPassword = "pw-FUZZ-SECRET-42";

const std::vector<Case>& cases() {
  static const std::vector<Case> expanded = [] {
    const TemplateContext context{
        "0123456789", "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "subscriber", kPassword,
        [](const std::string&) { return std::optional<std::string>("+14632322867"); }};
    std::vector<Case> out;
    // The steps of the operation of record (the answers fuzzed are its answers).
    for (const Case& c : builtin_cases())
      if (std::all_of(c.steps.begin(), c.steps.end(), [](const Step& s) { return s.operation.empty(); }))
        out.push_back(expand_case(c, context, Contract::builtin().main_resource().parent_parameter));
    return out;
  }();
  return expanded;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_response: %s\n", what);
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const Contract& contract = Contract::builtin();
  static constexpr int kStatuses[] = {201, 422, 401, 404, 500, 200, 204, 400,
                                      301, 307, 413, 429, 503, 418, -1};
  const int status = kStatuses[data[1] % (sizeof kStatuses / sizeof kStatuses[0])];
  // The case among those that expect this status (all of them when none does).
  std::vector<const Case*> candidates;
  for (const Case& k : cases())
    for (int expected : k.steps.front().expect.statuses)
      if (expected == status) candidates.push_back(&k);
  if (candidates.empty())
    for (const Case& k : cases()) candidates.push_back(&k);
  const Case& c = *candidates[data[0] % candidates.size()];
  const Step& step = c.steps.front();
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);

  detail::Exchange ex;
  ex.status = status;
  if (status == -1) {
    ex.failure = detail::Exchange::Failure::kTransport;
    ex.failure_detail = "fuzzed transport failure";
  }
  const auto blank = rest.find("\n\n");
  std::string_view head = blank == std::string_view::npos ? std::string_view() : rest.substr(0, blank);
  ex.body = std::string(blank == std::string_view::npos ? rest : rest.substr(blank + 2));
  while (!head.empty()) {
    const auto nl = head.find('\n');
    const std::string_view line = head.substr(0, nl);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos)
      ex.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    head.remove_prefix(nl == std::string_view::npos ? head.size() : nl + 1);
  }

  const Target target{"http://127.0.0.1:9/api/fabric", "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "fuzz-project",
                      kToken, false};
  std::vector<detail::Secret> secrets = {{"API token", kToken}, {"password", kPassword}};
  for (auto a : {AuthVariant::kValid, AuthVariant::kWrongToken, AuthVariant::kWrongProject}) {
    const auto value = detail::authorization_for(a, target);
    secrets.push_back({"Authorization header", *value});
    secrets.push_back({"Authorization header", value->substr(6)});
  }
  for (auto& s : detail::body_secrets(step, contract)) secrets.push_back(std::move(s));
  auto redactor = std::make_shared<Redactor>();
  for (const auto& s : secrets) redactor->add(s.value);

  detail::CheckInput in;
  in.contract = &contract;
  in.operation = &contract.operation_of_record();
  in.resource = &contract.main_resource();
  in.step = &step;
  in.sent = step.body ? &*step.body : nullptr;
  in.secrets = &secrets;
  in.redactor = redactor.get();
  in.max_time = std::chrono::milliseconds(10000);
  in.max_bytes = 1u << 20;
  in.max_depth = 64;
  const auto parsed = detail::parse_body(ex, in.max_bytes, in.max_depth);

  StepResult sr;
  sr.method = "POST";
  sr.url = target.base_url;
  sr.status = ex.status;
  sr.failures = detail::check_exchange(in, ex, parsed);
  sr.created_id = detail::member_text(ex, parsed, "/id");
  if (parsed && *parsed && status >= 200 && status < 300) {
    // The same answer as the read-back of the item it describes.
    for (auto& f : detail::check_state(in, ex, parsed, **parsed, false,
                                       *contract.main_resource().operation(Role::kGet)))
      sr.failures.push_back(std::move(f));
  }
  for (auto& f : sr.failures) {  // as the runner stores them
    f.message = redactor->redact(f.message);
    f.expected = redactor->redact(f.expected);
    f.actual = redactor->redact(f.actual);
  }

  RunReport report;
  report.redactor = redactor;
  report.run_id = "0123456789";
  CaseResult cr;
  cr.id = c.id;
  cr.description = c.description;
  cr.outcome = sr.failures.empty() ? Outcome::kPassed : Outcome::kFailed;
  cr.steps.push_back(std::move(sr));
  report.cases.push_back(std::move(cr));
  std::ostringstream console, junit, json;
  write_summary(report, console);
  write_junit(report, junit);
  write_json_report(report, json);
  for (const std::string& text : {console.str(), junit.str(), json.str()})
    if (text.find(kToken) != std::string::npos) fail("a report shows the API token");
  if (nlohmann::json::parse(json.str(), nullptr, false).is_discarded())
    fail("the JSON report does not parse");
  return 0;
}
