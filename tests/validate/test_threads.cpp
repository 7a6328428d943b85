// One Contract shared by threads validating concurrently (run it under TSan too).
#include <atomic>
#include <thread>
#include <vector>

#include "helpers.hpp"

using namespace sipcontract;
using sipcontract::test::valid_request;
using sipcontract::test::valid_response;

TEST_CASE("threads sharing one contract get the same results as one thread", "[validate][threads]") {
  const Contract& contract = Contract::builtin();
  std::vector<nlohmann::json> requests;
  requests.push_back(valid_request());
  auto codecs = valid_request();
  codecs["codecs"] = {"opus", "G711", 3};
  requests.push_back(codecs);
  auto both = valid_request();
  both["call_handler"] = "default";
  both["calling_handler_resource_id"] = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";
  requests.push_back(both);
  auto mismatch = valid_request();
  mismatch["password_confirmation"] = "other";
  mismatch["send_as"] = 5;
  requests.push_back(mismatch);
  auto bad_id = valid_request();
  bad_id["calling_handler_resource_id"] = "not-a-uuid";
  requests.push_back(bad_id);
  auto response = valid_response();
  response["password"] = "x";
  response["id"] = "zz";

  std::vector<Result> expected;
  for (const auto& request : requests) expected.push_back(contract.validate_request(request));
  const Result expected_response = contract.validate_response(201, response);
  REQUIRE(expected[0].valid());
  REQUIRE_FALSE(expected[1].valid());

  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::size_t i = static_cast<std::size_t>(t + round) % requests.size();
        if (contract.validate_request(requests[i]).findings != expected[i].findings) ++mismatches;
        if (contract.request_schema().is_valid(requests[i]) != expected[i].valid()) ++mismatches;
        if (contract.validate_response(201, response).findings != expected_response.findings) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == 0);
}

TEST_CASE("compiling schemas on several threads at once is safe", "[validate][threads]") {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 5; ++round) {
        const Contract contract = Contract::load(CONTRACT_TESTS_DIR);
        if (!contract.validate_request(valid_request()).valid()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
}

TEST_CASE("a schema compiled on first use gives the same findings when several threads use it first at once",
          "[validate][threads]") {
  auto store = std::make_shared<SchemaStore>(SchemaStore::from_directory(SCHEMAS_DIR));
  const std::string name = "create-sip-endpoint.request.json";
  const Schema now = Schema::compile(*store, name);
  auto mismatch = valid_request();
  mismatch["password_confirmation"] = "other";
  const Result expected = now.validate(mismatch);
  REQUIRE_FALSE(expected.valid());
  // Every thread's first call may be the one that compiles: they start together.
  const Schema later = Schema::compile_on_use(store, name);
  std::atomic<int> ready{0};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < 4) std::this_thread::yield();
      if (later.validate(mismatch).findings != expected.findings) ++mismatches;
      if (!later.is_valid(valid_request())) ++mismatches;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == 0);
}
