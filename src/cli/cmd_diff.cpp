// `sipcontract diff A B`: what changed from contract A to contract B (each a built-in name or a
// contract folder), operation by operation, and whom each change breaks. A thin shell over
// sipcontract::diff_contracts (sipcontract/diff.hpp).
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "sipcontract/contract.hpp"
#include "sipcontract/diff.hpp"

namespace sipcontract::cli {
namespace {

struct DiffArgs {
  std::string from;
  std::string to;
  std::string format = "text";
  std::string fail_on = "client";
};

Contract load(const std::string& name_or_path) {
  try {
    return Contract::resolve(name_or_path);
  } catch (const SchemaError& e) {
    // resolve() names the option it serves; here the contract is an argument.
    std::string message = e.what();
    const std::string prefix = "--contract ";
    if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
    throw SchemaError(message);
  }
}

int diff(const DiffArgs& a) {
  const Contract from = load(a.from);
  const Contract to = load(a.to);
  const DiffReport report = diff_contracts(from, to);
  if (a.format == "json")
    std::cout << diff_to_json(report).dump(2) << '\n';
  else
    write_diff_text(report, std::cout);
  bool fails = false;
  if (a.fail_on == "client") fails = report.breaks(Impact::kClient);
  else if (a.fail_on == "server") fails = report.breaks(Impact::kServer);
  else if (a.fail_on == "any") fails = report.breaks(Impact::kClient) || report.breaks(Impact::kServer);
  return fails ? kExitViolation : kExitOk;
}

}  // namespace

void add_diff_command(CLI::App& app, CommandResult& result) {
  auto args = std::make_shared<DiffArgs>();
  auto* cmd = app.add_subcommand(
      "diff",
      "Compare two contracts operation by operation (A the older, B the newer): operations, statuses, "
      "request and response properties, required-ness, types, formats, enum values, defaults, open and "
      "closed objects; each change classified as breaking clients, servers, or neither.");
  cmd->set_version_flag("--version", std::string("sipcontract ") + SIPCONTRACT_VERSION);
  cmd->add_option("A", args->from, "The older contract: a built-in one (" + builtin_contract_names() +
                                       ") or a contract folder")
      ->required()
      ->type_name("NAME|DIR");
  cmd->add_option("B", args->to, "The newer contract, likewise")->required()->type_name("NAME|DIR");
  cmd->add_option("--format", args->format, "text (for a review) or json (for tools; shape in README.md)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}))
      ->type_name("FMT");
  cmd->add_option("--fail-on", args->fail_on,
                  "Exit 1 when a change breaks: client, server, any (either), none (never)")
      ->capture_default_str()
      ->check(CLI::IsMember({"client", "server", "any", "none"}))
      ->type_name("WHO");
  cmd->footer(
      "Exit codes: 0 no change that --fail-on names; 1 a change breaks what --fail-on names (clients by "
      "default); 2 usage error (bad flag, unknown contract, unreadable contract folder).");
  cmd->callback([args, &result] {
    try {
      result.exit_code = diff(*args);
    } catch (const SchemaError& e) {
      std::cerr << "sipcontract diff: " << e.what() << '\n';
      result.exit_code = kExitUsage;
    }
  });
}

}  // namespace sipcontract::cli
