// Links the installed libraries and uses each: validates a request against the built-in contract, serves it
// in-process, and runs the built-in contract suite against that server.
#include <iostream>
#include <sipcontract/contract.hpp>
#include <sipcontract/runner.hpp>
#include <sipcontract/server.hpp>

int main() {
  const auto& contract = sipcontract::Contract::builtin();
  auto parsed = sipcontract::parse_json(
      R"({"username":"u","password":"p","password_confirmation":"p","codecs":["G711"]})");
  if (!parsed) {
    std::cerr << parsed.error().to_string() << '\n';
    return 1;
  }
  auto result = contract.validate_request(*parsed);
  if (result.findings.size() != 1 || result.findings[0].pointer != "/codecs/0") {
    std::cerr << "unexpected validation result\n";
    return 1;
  }
  std::cout << "consumer: " << sipcontract::to_string(result.findings[0]) << '\n';

  sipcontract::ReferenceServer server(sipcontract::ServerOptions{}, contract);
  server.start();
  sipcontract::RunOptions options;
  const auto& served = server.options();
  options.target = {server.base_url(), served.parents.at(0), served.project_id, served.api_token, true};
  const auto report = sipcontract::run_contract_tests(contract, sipcontract::builtin_cases(), options);
  server.stop();
  std::cout << "consumer: " << report.cases.size() << " cases against " << report.base_url << ", "
            << report.failed() << " failed\n";
  return report.exit_code();
}
