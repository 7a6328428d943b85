// Generated cases (run --generate): deterministic per seed, every one passes against the conforming
// server with nothing left behind, and they find the four fault modes the fixed suite does not
// catch (control-char-500, combo-default, null-as-absent, list-keeps-deleted): each for at least 9
// of 10 seeds within 300 cases, shrunk to a case file that fails on the faulty server and passes on
// the conforming one. The test prints how many cases each seed took.
#include <httplib.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "runner_test_support.hpp"
#include "sipcontract/generate.hpp"
#include "sipcontract/runner.hpp"

using namespace sipcontract;
using namespace sipcontract::test;

namespace {

const std::vector<ServerFault> kNewFaults = {ServerFault::kControlChar500, ServerFault::kComboDefault,
                                             ServerFault::kNullAsAbsent, ServerFault::kListKeepsDeleted};

RunOptions quiet_options(const ServerGuard& server) {
  RunOptions o = options_for(server);
  o.jobs = 4;
  o.transport.retries = 0;
  return o;
}

/// The number of the first failed generated case ("gen-S-N" -> N), 0 when none failed.
std::size_t first_failure(const RunReport& report) {
  std::size_t first = 0;
  for (const auto& c : report.cases) {
    if (c.outcome != Outcome::kFailed) continue;
    const std::size_t n = std::stoull(c.id.substr(c.id.rfind('-') + 1));
    if (first == 0 || n < first) first = n;
  }
  return first;
}

std::size_t body_members(const Case& c) {
  std::size_t n = 0;
  for (const auto& s : c.steps)
    if (s.body && s.body->is_object()) n += s.body->size();
  return n;
}

}  // namespace

TEST_CASE("the same seed gives the same cases, another seed others", "[runner][generate]") {
  const Contract& contract = Contract::builtin();
  CaseGenerator a(contract, 42), b(contract, 42), c(contract, 43);
  std::string first, second, other;
  for (const auto& x : a.generate(1, 300)) first += case_to_json(x).dump() + "\n";
  for (const auto& x : b.generate(1, 300)) second += case_to_json(x).dump() + "\n";
  for (const auto& x : c.generate(1, 300)) other += case_to_json(x).dump() + "\n";
  CHECK(first == second);
  CHECK(first != other);
  // Case n does not depend on how many are generated: --generate 300 is the start of --generate 1000.
  CHECK(case_to_json(a.generate(250)).dump() ==
        case_to_json(CaseGenerator(contract, 42).generate(1, 1000)[249]).dump());
  // Ids, tags, and a case file that reads back to the same case.
  auto cases = a.generate(1, 50);
  CHECK(cases[0].id == "gen-42-1");
  std::string text = "[";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CHECK(cases[i].tags.front() == "generated");
    text += (i ? "," : "") + case_to_json(cases[i]).dump();
  }
  text += "]";
  auto back = parse_cases(text, "generated.json", {});
  REQUIRE(back.size() == cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    CHECK(case_to_json(back[i]).dump() == case_to_json(cases[i]).dump());
  CHECK_NOTHROW(check_cases(back, contract));
}

TEST_CASE("generated cases cover every request enum value, both oneOf variants and every negative kind",
          "[runner][generate]") {
  const Contract& contract = Contract::builtin();
  std::set<std::string> values, tags;
  bool resource_id = false, handler = false;
  for (const auto& c : CaseGenerator(contract, 1).generate(1, 1000)) {
    for (const auto& t : c.tags) tags.insert(t);
    for (const auto& s : c.steps) {
      if (!s.body || !s.body->is_object() || c.tags[1] != "positive") continue;
      for (const auto& [k, v] : s.body->items()) {
        if (v.is_string()) values.insert(k + "=" + v.get<std::string>());
        if (v.is_array())
          for (const auto& x : v)
            if (x.is_string()) values.insert(k + "=" + x.get<std::string>());
      }
      resource_id = resource_id || s.body->contains("calling_handler_resource_id");
      handler = handler || s.body->contains("call_handler");
    }
  }
  for (const auto& p : contract.property_schemas(contract.operation_of_record().request->schema_name)) {
    const nlohmann::json* e = p.schema.contains("enum") ? &p.schema["enum"]
                              : p.schema.contains("items") && p.schema["items"].contains("enum")
                                  ? &p.schema["items"]["enum"]
                                  : nullptr;
    if (!e) continue;
    for (const auto& v : *e) {
      INFO(p.name << "=" << v.get<std::string>());
      CHECK(values.count(p.name + "=" + v.get<std::string>()) == 1);
    }
  }
  CHECK(resource_id);
  CHECK(handler);
  for (const char* t : {"positive", "negative", "walk", "missing", "wrong-type", "enum", "oneof", "mismatch",
                        "format", "malformed"}) {
    INFO(t);
    CHECK(tags.count(t) == 1);
  }
}

TEST_CASE("run --generate 1000 --seed 1 passes against the conforming server with nothing left",
          "[runner][generate]") {
  ServerGuard server;
  RunOptions o = quiet_options(server);
  o.seed = 1;
  auto report =
      run_contract_tests(Contract::builtin(), CaseGenerator(Contract::builtin(), 1).generate(1, 1000), o);
  INFO(describe_failures(report));
  CHECK(report.failed() == 0);
  CHECK(report.passed() == 1000);
  CHECK(report.generated == 1000);
  CHECK(report.exit_code() == 0);
  CHECK(report.cleanup.created > 300);
  CHECK(report.cleanup.deleted == report.cleanup.created);
  CHECK(listed_endpoints(server, server.subscriber(), "").empty());
  std::cout << "generate: 1000 cases (seed 1), " << report.requests << " requests, " << report.cleanup.created
            << " items created and deleted\n";
}

TEST_CASE("two runs with the same seed send byte-identical request bodies", "[runner][generate]") {
  // A server that records every body it gets and answers 404: only what is sent matters here.
  auto record = [](std::uint64_t seed) {
    httplib::Server srv;
    std::mutex m;
    std::vector<std::string> bodies;
    auto keep = [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(m);
      bodies.push_back(req.method + " " + req.body);
      res.status = 404;
      res.set_content(R"({"error":"Not Found"})", "application/json");
    };
    srv.Post(".*", keep);
    srv.Patch(".*", keep);
    srv.Get(".*", keep);
    srv.Delete(".*", keep);
    const int port = srv.bind_to_any_port("127.0.0.1");
    std::thread t([&] { srv.listen_after_bind(); });
    for (int i = 0; i < 500 && !srv.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    RunOptions o;
    o.target = {"http://127.0.0.1:" + std::to_string(port) + "/api/fabric",
                "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "proj", "token-abc", false};
    o.jobs = 1;  // one worker: the same order too
    o.transport.retries = 0;
    o.preflight = false;
    o.run_id = "fixedrun01";  // the run id and the secret are the run's, not the seed's
    o.secret = "Fixed-Secret-1!";
    (void)run_contract_tests(Contract::builtin(), CaseGenerator(Contract::builtin(), seed).generate(1, 200),
                             o);
    srv.stop();
    t.join();
    return bodies;
  };
  auto first = record(7), second = record(7), other = record(8);
  CHECK(first.size() > 200);
  CHECK(first == second);
  CHECK(first != other);
}

TEST_CASE("the fixed suite does not catch the four faults --generate is for", "[runner][generate][faults]") {
  for (auto fault : kNewFaults) {
    DYNAMIC_SECTION(fault_name(fault)) {
      ServerOptions so;
      so.faults = {fault};
      ServerGuard server(so);
      auto report = run_contract_tests(Contract::builtin(), builtin_cases(), quiet_options(server));
      INFO(describe_failures(report));
      CHECK(report.failed() == 0);
    }
  }
}

// One test case a fault (not sections of one), so that CTest runs them in parallel, each within its
// own timeout: under TSan each takes minutes. Each seed gets a faulty server of its own: with
// list-keeps-deleted, one server for all seeds lists every endpoint any earlier seed deleted, and
// reading those lists grew with the square of the runs.
namespace {
void generate_finds(ServerFault fault) {
  ServerGuard conforming;
  ServerOptions so;
  so.faults = {fault};
  std::size_t found = 0;
  std::string line =
      std::string("generate: ") + std::string(fault_name(fault)) + ": first failing case per seed:";
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    ServerGuard faulty(so);
    CaseGenerator gen(Contract::builtin(), seed);
    const auto cases = gen.generate(1, 300);
    RunOptions o = quiet_options(faulty);
    o.seed = seed;
    auto report = run_contract_tests(Contract::builtin(), cases, o);
    const std::size_t first = first_failure(report);
    line += " " + (first ? std::to_string(first) : std::string("-"));
    if (!first) continue;
    ++found;
    // No 5xx but the fault's own: nothing generated makes the conforming code fail.
    // Shrink the first failure and save it as a case file.
    const CaseResult* failed = nullptr;
    for (const auto& c : report.cases)
      if (c.id == "gen-" + std::to_string(seed) + "-" + std::to_string(first)) failed = &c;
    REQUIRE(failed);
    const CheckFailure f = failed->failures().front();
    const Case& original = cases[first - 1];
    RunOptions probe = quiet_options(faulty);
    probe.jobs = 1;
    probe.preflight = false;
    std::size_t attempts = 0;
    Case small = gen.shrink(
        original,
        [&](const Case& c) {
          auto r = run_contract_tests(Contract::builtin(), {c}, probe);
          for (const auto& x : r.cases)
            for (const auto& g : x.failures())
              if (g.check == f.check && g.pointer == f.pointer) return true;
          return false;
        },
        200, &attempts);
    CHECK(small.steps.size() <= original.steps.size());
    CHECK(body_members(small) <= body_members(original));
    TempDir dir;
    dir.write(small.id + ".json", case_to_json(small).dump(2));
    auto saved = load_cases(dir.path());
    REQUIRE(saved.size() == 1);
    auto on_faulty = run_contract_tests(Contract::builtin(), saved, quiet_options(faulty));
    auto on_conforming = run_contract_tests(Contract::builtin(), saved, quiet_options(conforming));
    INFO(case_to_json(small).dump(2));
    INFO(describe_failures(on_conforming));
    CHECK(on_faulty.failed() == 1);
    CHECK(find_failure(on_faulty, f.check, f.pointer) != nullptr);
    CHECK(on_conforming.failed() == 0);
    CHECK(on_conforming.passed() == 1);
    if (seed == 1)
      std::cout << "generate: " << fault_name(fault) << ": seed 1 shrunk " << original.id << " ("
                << original.steps.size() << " steps, " << body_members(original) << " body members) in "
                << attempts << " runs to " << small.steps.size() << " steps, " << body_members(small)
                << " body members; check " << f.check << " " << f.pointer << "\n";
  }
  std::cout << line << " (found for " << found << " of 10 seeds)\n";
  CHECK(found >= 9);
  CHECK(listed_endpoints(conforming, conforming.subscriber(), "").empty());
}
}  // namespace

// One test case a fault of kNewFaults, each its own CTest test.
#define GENERATE_FINDS(NAME, FAULT)                                           \
  TEST_CASE("generate 300 finds " NAME                                        \
            " for at least 9 of 10 seeds, and the shrunk case file fails on " \
            "the faulty server and passes on the conforming one",             \
            "[runner][generate][faults]") {                                   \
    REQUIRE(fault_name(FAULT) == NAME);                                       \
    generate_finds(FAULT);                                                    \
  }
GENERATE_FINDS("control-char-500", ServerFault::kControlChar500)
GENERATE_FINDS("combo-default", ServerFault::kComboDefault)
GENERATE_FINDS("null-as-absent", ServerFault::kNullAsAbsent)
GENERATE_FINDS("list-keeps-deleted", ServerFault::kListKeepsDeleted)
#undef GENERATE_FINDS

TEST_CASE("max-requests stops a run's cases at the bound and still cleans up", "[runner][generate]") {
  ServerGuard server;
  RunOptions o = quiet_options(server);
  o.max_requests = 40;
  auto report =
      run_contract_tests(Contract::builtin(), CaseGenerator(Contract::builtin(), 3).generate(1, 100), o);
  CHECK(report.requests == 40);
  CHECK(report.skipped() > 0);
  CHECK(report.failed() == 0);
  CHECK(report.cleanup.clean());
  CHECK(listed_endpoints(server, server.subscriber(), "").empty());
}
