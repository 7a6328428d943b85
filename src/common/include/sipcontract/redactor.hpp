// The one redactor: every secret a module knows (the runner's credentials and bodies, the server's
// secret field values) is replaced by one placeholder, "<redacted>", wherever text leaves it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sipcontract {

/// Replaces every secret it holds with "<redacted>". Every runner output path (console, JUnit,
/// JSON report, messages, curl lines) goes through one Redactor fed with all of the run's secrets;
/// the reference server passes its 422 messages through one holding the request's secret values.
/// Scanning is one pass over the text whatever the number of secrets (an index by first byte).
class Redactor {
 public:
  static constexpr std::string_view kMask = "<redacted>";
  /// Adds a secret (and its JSON-escaped form when that differs); empty strings are ignored.
  void add(std::string_view secret);
  /// `text` with every occurrence of every secret replaced by kMask. Occurrences that overlap
  /// (one secret inside or across another) become one mask, so no part of either shows.
  std::string redact(std::string_view text) const;
  /// True when `text` contains any secret.
  bool contains_secret(std::string_view text) const;
  std::size_t size() const { return secrets_.size(); }

 private:
  /// The length of the longest secret that starts at text[at], 0 when none does.
  std::size_t match_at(std::string_view text, std::size_t at) const;

  std::vector<std::string> secrets_;        // unique; grouped by first byte, longest first in a group
  std::array<std::uint32_t, 257> first_{};  // secrets_[first_[b], first_[b + 1]) start with byte b
};

}  // namespace sipcontract
