// Links the installed libraries and uses each: validates a request, serves one in-process.
#include <iostream>

#include <sipcontract/server.hpp>
#include <sipcontract/validate.hpp>

int main() {
  const auto& contract = sipcontract::Contract::builtin();
  auto parsed = sipcontract::parse_json(R"({"username":"u","password":"p","password_confirmation":"p","codecs":["G711"]})");
  if (!parsed) {
    std::cerr << parsed.error().to_string() << '\n';
    return 1;
  }
  auto result = contract.validate_request(*parsed);
  if (result.findings.size() != 1 || result.findings[0].pointer != "/codecs/0") {
    std::cerr << "unexpected validation result\n";
    return 1;
  }
  sipcontract::ReferenceServer server(sipcontract::ServerOptions{});
  server.start();
  std::cout << "consumer: " << sipcontract::to_string(result.findings[0]) << "; served at " << server.base_url() << '\n';
  server.stop();
  return 0;
}
