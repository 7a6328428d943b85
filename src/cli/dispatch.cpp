// `sipcontract serve|run|cleanup`: the process becomes sipcontract-net with the same arguments,
// environment, descriptors and signal dispositions, so exit codes, signals and output are that
// command's own. sipcontract-net sits beside sipcontract in the build tree and in
// libexec/sipcontract once installed; both are found from where this executable is (its real
// path, through any symbolic link), or from argv[0] where /proc is not mounted.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "commands.hpp"

namespace sipcontract::cli {

int exec_net_command(std::string_view command, char** argv) {
  std::error_code error;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error && std::string_view(argv[0]).find('/') != std::string_view::npos) self = argv[0];
  if (self.empty()) {
    std::cerr << "sipcontract: cannot start the " << command << " command: cannot tell where sipcontract is ("
              << "/proc/self/exe: " << error.message() << ")\n";
    return kExitUsage;
  }
  const auto dir = self.parent_path();
  const std::vector<std::filesystem::path> candidates = {
      dir / "sipcontract-net", dir / ".." / "libexec" / "sipcontract" / "sipcontract-net"};
  for (const auto& path : candidates) {
    ::execv(path.c_str(), argv);
    if (errno != ENOENT) {
      std::cerr << "sipcontract: cannot start the " << command << " command: " << path.string() << ": "
                << std::strerror(errno) << "\n";
      return kExitUsage;
    }
  }
  std::cerr << "sipcontract: cannot start the " << command << " command: sipcontract-net is not in "
            << candidates[0].parent_path().string() << " nor in " << candidates[1].parent_path().string()
            << "\n";
  return kExitUsage;
}

}  // namespace sipcontract::cli
