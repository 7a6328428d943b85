// What the command line offers from the built-in contracts: their names, and the names they give
// the parent items are created under (so `--subscriber` exists because a contract says so).
#include <set>

#include "commands.hpp"
#include "sipcontract/contract.hpp"

namespace sipcontract::cli {

std::string builtin_contract_names() {
  std::string out;
  for (const auto& name : Contract::builtin_names()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string parent_option_names() {
  std::set<std::string> names;
  for (const auto& name : Contract::builtin_names())
    for (const auto& [key, resource] : Contract::builtin(name).resources())
      if (resource.parent_option != "parent") names.insert(resource.parent_option);
  std::string out = "--parent";
  for (const auto& n : names) out += ",--" + n;
  return out;
}

std::string parent_titles() {
  std::set<std::string> titles;
  for (const auto& name : Contract::builtin_names())
    for (const auto& [key, resource] : Contract::builtin(name).resources())
      titles.insert(resource.parent_title);
  std::string out;
  for (const auto& t : titles) out += (out.empty() ? "" : ", ") + t;
  return out;
}

std::string credential_variables() {
  const auto& auth = Contract::builtin().auth();
  return auth.user_env + " and " + auth.token_env;
}

std::string case_variables() {
  std::set<std::string> names;
  for (const auto& [file, text] : Contract::builtin().case_files()) {
    for (auto at = text.find("{{env:"); at != std::string::npos; at = text.find("{{env:", at + 1)) {
      const auto start = at + 6;
      const auto end = text.find_first_of("|}", start);
      if (end != std::string::npos) names.insert(text.substr(start, end - start));
    }
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

std::string net_command_summary(std::string_view command) {
  if (command == "serve") {
    return "Run the reference server: an in-memory implementation of a contract (the built-in v1, or\n"
           "--contract), its create/list/get/update/delete operations under the contract's base path, with\n"
           "HTTP Basic auth (credentials from the environment variables the contract names, or generated\n"
           "and printed once). Stops on SIGINT/SIGTERM.";
  }
  if (command == "run") {
    return "Run the contract tests. With no --base-url they run against an in-process reference server "
           "(generated credentials and parent); with --base-url against that target, using the credentials "
           "in the variables the contract names (default contract: " +
           credential_variables() +
           "). Every item the run creates is deleted before it exits (also after failures and on "
           "SIGINT/SIGTERM) unless --keep.";
  }
  return "Delete what a run left on a target and verify it is gone: from the run's ledger (--ledger FILE, "
         "which `sipcontract run` keeps for a remote target), or by the run id in the items' names "
         "(--run-id ID --base-url URL and the parent). Credentials come from the environment variables the "
         "contract names.";
}

std::string secret_field_names() {
  std::string out;
  for (const auto& f : Contract::builtin().secret_fields()) out += (out.empty() ? "" : ", ") + f;
  return out;
}

}  // namespace sipcontract::cli
