// closest_name(), the "did you mean" of enum and strict-mode findings, against a plain reference:
// the optimal string alignment distance of the folded names computed for every candidate, with no
// lower bound to rule any out first. The bounds closest_name() uses must never change its answer.
#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "internal.hpp"

namespace {
std::string fold(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '_' || c == '-' || c == ' ') continue;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return out;
}

std::size_t distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The documented rule: the one candidate within max(1, shorter / 4) edits of the folded text, the
// closest; none on a tie; the text itself and names over 64 characters are never suggested.
std::optional<std::string> reference(const std::string& text, const std::vector<std::string>& candidates) {
  if (text.size() > 64) return std::nullopt;
  const std::string wanted = fold(text);
  const std::string* best = nullptr;
  std::size_t best_distance = SIZE_MAX;
  bool tie = false;
  for (const auto& candidate : candidates) {
    if (candidate.size() > 64 || candidate == text) continue;
    const std::string other = fold(candidate);
    const std::size_t d = distance(wanted, other);
    if (d > std::max<std::size_t>(1, std::min(wanted.size(), other.size()) / 4)) continue;
    if (d < best_distance) {
      best = &candidate, best_distance = d, tie = false;
    } else if (d == best_distance && *best != candidate) {
      tie = true;
    }
  }
  if (best == nullptr || tie) return std::nullopt;
  return *best;
}
}  // namespace

TEST_CASE("closest_name suggests what the plain edit distance suggests", "[validate][suggestion]") {
  std::mt19937 rng(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-@\x7f\xc3";
  const auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  const auto word = [&](std::size_t most) {
    std::string out(1 + pick(most), 'a');
    for (char& c : out) c = alphabet[pick(alphabet.size())];
    return out;
  };
  std::size_t suggested = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::string> candidates(1 + pick(8));
    for (auto& candidate : candidates) candidate = word(round % 50 == 0 ? 80 : 24);
    // Mostly a candidate with a few edits (changes, insertions, deletions, swaps, case), else any word.
    std::string text = candidates[pick(candidates.size())];
    for (std::size_t edits = pick(4); edits > 0 && !text.empty(); --edits) {
      const std::size_t at = pick(text.size());
      switch (pick(5)) {
        case 0:
          text[at] = alphabet[pick(alphabet.size())];
          break;
        case 1:
          text.insert(at, 1, alphabet[pick(alphabet.size())]);
          break;
        case 2:
          text.erase(at, 1);
          break;
        case 3:
          if (at + 1 < text.size()) std::swap(text[at], text[at + 1]);
          break;
        default:
          text[at] = static_cast<char>(text[at] ^ 0x20);
          break;
      }
    }
    if (pick(10) == 0) text = word(24);
    const auto expected = reference(text, candidates);
    INFO("text '" << text << "', " << candidates.size() << " candidates, the first '" << candidates[0]
                  << "'");
    CHECK(sipcontract::detail::validation::closest_name(text, candidates) == expected);
    if (expected) ++suggested;
  }
  // The rounds exercise both answers.
  CHECK(suggested > 2000);
  CHECK(suggested < 18000);
}
