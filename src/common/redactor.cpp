#include "sipcontract/redactor.hpp"

#include <algorithm>
#include <string>

#include "sipcontract/json_text.hpp"

namespace sipcontract {
void Redactor::add(std::string_view secret) {
  if (secret.empty()) return;
  bool added = false;
  auto insert = [&](std::string_view s) {
    if (std::find(secrets_.begin(), secrets_.end(), s) != secrets_.end()) return;
    secrets_.emplace_back(s);
    added = true;
  };
  insert(secret);
  // A secret with quotes, backslashes or control characters appears escaped inside JSON text.
  std::string escaped = json_escaped(secret);
  if (escaped != secret) insert(escaped);
  if (!added) return;  // a run adds the same password for every case: nothing to re-index
  // Grouped by first byte, longest first within a group: a scan looks only at the secrets that
  // can start where it stands, and the first that matches is the longest.
  std::stable_sort(secrets_.begin(), secrets_.end(), [](const std::string& a, const std::string& b) {
    auto fa = static_cast<unsigned char>(a[0]);
    auto fb = static_cast<unsigned char>(b[0]);
    return fa != fb ? fa < fb : a.size() > b.size();
  });
  first_.fill(0);
  for (const auto& s : secrets_) ++first_[static_cast<unsigned char>(s[0]) + 1];
  for (std::size_t b = 1; b < first_.size(); ++b) first_[b] += first_[b - 1];
}

std::size_t Redactor::match_at(std::string_view text, std::size_t at) const {
  const auto b = static_cast<unsigned char>(text[at]);
  const std::size_t rest = text.size() - at;
  for (std::uint32_t k = first_[b]; k < first_[b + 1]; ++k) {
    const std::string& s = secrets_[k];
    if (s.size() <= rest && std::char_traits<char>::compare(text.data() + at, s.data(), s.size()) == 0)
      return s.size();
  }
  return 0;
}

std::string Redactor::redact(std::string_view text) const {
  std::string out;
  std::size_t copied = 0;  // text[0, copied) is in `out` (masked or not)
  std::size_t start = 0;   // the masked run [start, end) not yet written
  std::size_t end = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (first_[static_cast<unsigned char>(text[i])] == first_[static_cast<unsigned char>(text[i]) + 1])
      continue;
    const std::size_t n = match_at(text, i);
    if (n == 0) continue;
    if (end > start && i < end) {  // overlaps the run being masked: one mask covers both
      end = std::max(end, i + n);
      continue;
    }
    if (end > start) {
      out.append(text.substr(copied, start - copied));
      out.append(kMask);
      copied = end;
    }
    start = i;
    end = i + n;
  }
  if (end > start) {
    out.append(text.substr(copied, start - copied));
    out.append(kMask);
    copied = end;
  }
  out.append(text.substr(copied));
  return out;
}

bool Redactor::contains_secret(std::string_view text) const {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (first_[static_cast<unsigned char>(text[i])] != first_[static_cast<unsigned char>(text[i]) + 1] &&
        match_at(text, i) != 0)
      return true;
  }
  return false;
}

}  // namespace sipcontract
