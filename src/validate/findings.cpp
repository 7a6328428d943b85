// Findings: how checks encode them through valijson, how valijson's own entries are
// read, how contexts become JSON Pointers, and how values are shown in messages.
#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <utility>
#include <valijson/validation_results.hpp>
#include <vector>

#include "internal.hpp"
#include "sipcontract/ascii.hpp"
#include "sipcontract/json_text.hpp"

namespace sipcontract {

namespace {
// `token` as a JSON Pointer reference token ("~" -> "~0", "/" -> "~1"), appended to `out`.
void append_pointer_token(std::string& out, std::string_view token) {
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
}
}  // namespace

std::string pointer_escape(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  append_pointer_token(out, token);
  return out;
}

std::string to_string(const Finding& finding) {
  std::string out = finding.pointer.empty() ? std::string("(root)") : finding.pointer;
  out += ": ";
  out += finding.message;
  out += " [";
  out += finding.keyword;
  out += ']';
  return out;
}

nlohmann::json to_json(const Finding& finding) {
  nlohmann::json out = {
      {"pointer", finding.pointer}, {"keyword", finding.keyword}, {"message", finding.message}};
  if (!finding.property.empty()) out["property"] = finding.property;
  if (!finding.allowed.empty()) out["allowed"] = finding.allowed.values();
  if (finding.suggestion) out["suggestion"] = *finding.suggestion;
  return out;
}

AllowedValues::AllowedValues(std::vector<nlohmann::json> values) {
  auto shared = std::make_shared<Shared>();
  shared->json = nlohmann::json(values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  shared->values = std::move(values);
  shared_ = std::move(shared);
}

const std::string& AllowedValues::json() const {
  static const std::string empty = "[]";
  return shared_ ? shared_->json : empty;
}

const std::vector<nlohmann::json>& AllowedValues::empty_list() {
  static const std::vector<nlohmann::json> empty;
  return empty;
}

}  // namespace sipcontract

namespace sipcontract::detail::validation {
namespace {

thread_local const SecretValues* current_secrets = nullptr;
thread_local const std::vector<std::string>* current_secret_fields = nullptr;
thread_local std::uint64_t current_secret_lengths = 0;                 // length_bits() of the fields
thread_local const std::vector<std::string>* current_names = nullptr;  // the schema's, sorted
constexpr std::size_t kContainedSecret = 4;  // shorter secrets are hidden only where a value equals them

constexpr char kEncodedMark = '\x1f';

// valijson's per-level entries: each says only that a child failed, and the child's
// own entry says why. The keyword is used only if no child entry exists.
struct SummaryPrefix {
  std::string_view prefix;
  std::string_view keyword;
};
constexpr std::array<SummaryPrefix, 10> kSummaries = {{
    {"Failed to validate item #", "items"},
    {"Failed to validate against schema associated with property name", "properties"},
    {"Failed to validate against schema associated with pattern", "patternProperties"},
    {"Failed to validate against additional properties schema", "additionalProperties"},
    {"Failed to validate against child schema #", "allOf"},
    {"Failed to validate against a conditional schema", "if"},
    {"Failed to validate against dependent schema", "dependencies"},
    {"Failed to validate against any child schemas allowed by oneOf", "oneOf"},
    {"Failed to validate against exactly one child schema", "oneOf"},
    {"Failed to validate against any schemas allowed by anyOf", "anyOf"},
}};

using Token = PathToken;

bool token_less(const Token& a, const Token& b) {
  if (a.index && b.index) return a.number < b.number;
  return a.name < b.name;
}

/// std::stable_sort, without its scratch buffer for the few elements a document's findings
/// usually are: an insertion sort, stable as well (an element moves past greater ones only).
template <typename It, typename Less>
void stable_sort_few(It first, It last, Less less) {
  constexpr std::ptrdiff_t kFew = 16;
  if (last - first > kFew) {
    std::stable_sort(first, last, less);
    return;
  }
  for (It i = first; i != last; ++i) {
    if (i == first || !less(*i, *(i - 1))) continue;
    auto value = std::move(*i);
    It j = i;
    do {
      *j = std::move(*(j - 1));
      --j;
    } while (j != first && less(value, *(j - 1)));
    *j = std::move(value);
  }
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The same finding (as `identity` names it) twice among `order`: the first stays. Sorted stably,
// equal findings are neighbours in input order.
template <typename Identity>
void drop_repeats(std::vector<std::size_t>& order, std::vector<bool>& drop, Identity identity) {
  stable_sort_few(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return identity(a) < identity(b); });
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (identity(order[k]) == identity(order[k - 1])) drop[order[k]] = true;
  }
}

}  // namespace

std::uint64_t length_bits(const std::vector<std::string>& fields) {
  std::uint64_t bits = 0;
  for (const auto& field : fields) bits |= std::uint64_t{1} << (field.size() < 63 ? field.size() : 63);
  return bits;
}

bool is_secret_field(std::string_view name) {
  if (current_secret_fields == nullptr) return false;
  if (!length_may_match(current_secret_lengths, name.size())) return false;
  // The fields' own spelling first: one comparison of bytes settles the usual case.
  for (const std::string& secret : *current_secret_fields)
    if (name == secret) return true;
  for (const std::string& secret : *current_secret_fields)
    if (ascii_iequals(name, secret)) return true;
  return false;
}

namespace {
// Findings reported during one validation, by index (FindingsScope).
struct Arena {
  std::vector<RawFinding> findings;
  std::vector<bool> read;  // decoded: the finding has been moved out
  int depth = 0;
};
thread_local Arena arena;
constexpr char kArenaMark = '\x1e';
}  // namespace

std::string encode(RawFinding&& finding) {
  if (arena.depth > 0) {
    // Within a validation: the finding stays in the arena, the description names its index.
    arena.findings.push_back(std::move(finding));
    arena.read.push_back(false);
    std::string text(1, kArenaMark);
    text += std::to_string(arena.findings.size() - 1);
    return text;
  }
  Json out = {{"k", finding.keyword}, {"m", finding.message}};
  if (!finding.property.empty()) out["p"] = finding.property;
  if (!finding.allowed.empty()) out["a"] = finding.allowed.values();
  if (finding.suggestion) out["s"] = *finding.suggestion;
  if (!finding.names.empty()) out["n"] = finding.names;
  if (finding.exclusion) out["x"] = true;
  std::string text(1, kEncodedMark);
  text += out.dump(-1, ' ', false, Json::error_handler_t::replace);
  return text;
}

RawFinding decode(const std::string& description) {
  RawFinding finding;
  if (!description.empty() && description[0] == kArenaMark && arena.depth > 0) {
    std::size_t index = 0;
    const auto [end, ec] =
        std::from_chars(description.data() + 1, description.data() + description.size(), index);
    if (ec == std::errc() && index < arena.findings.size()) {
      // Each description is read once: valijson hands a child's errors to its parent by moving
      // them (popError, pushError), and each result set is collected once. A second read would
      // find the finding gone, so it says so rather than print an empty one.
      if (arena.read[index]) {
        finding.keyword = "schema";
        finding.message = "internal error: a finding was read twice";
        return finding;
      }
      arena.read[index] = true;
      return std::move(arena.findings[index]);
    }
  }
  if (!description.empty() && description[0] == kEncodedMark) {
    const Json in = Json::parse(description.begin() + 1, description.end(), nullptr, false);
    if (in.is_object()) {
      finding.keyword = in.value("k", std::string("schema"));
      finding.message = in.value("m", std::string());
      finding.property = in.value("p", std::string());
      if (auto it = in.find("a"); it != in.end() && it->is_array()) {
        finding.allowed = std::vector<Json>(it->begin(), it->end());
      }
      if (auto it = in.find("s"); it != in.end()) finding.suggestion = *it;
      if (auto it = in.find("n"); it != in.end() && it->is_array()) {
        for (const auto& name : *it) finding.names.push_back(name.get<std::string>());
      }
      finding.exclusion = in.value("x", false);
      return finding;
    }
  }
  finding.message = description;
  finding.foreign = true;
  for (const auto& summary : kSummaries) {
    if (description.compare(0, summary.prefix.size(), summary.prefix) == 0) {
      finding.keyword = summary.keyword;
      finding.summary = true;
      return finding;
    }
  }
  finding.keyword = "schema";
  return finding;
}

std::vector<LocatedFinding> collect_findings(const valijson::ValidationResults& results) {
  std::vector<LocatedFinding> all;
  all.reserve(results.numErrors());
  for (const auto& error : results) all.push_back({error.context, decode(error.description)});
  // One finding (the usual case) is neither explained by another nor a repeat of one.
  if (all.size() <= 1) return all;

  // A summary is explained by a specific finding at its context or below: the contexts that start
  // with a given one are a run of the sorted contexts, beginning at its lower bound.
  std::vector<const Context*> specific;
  for (const auto& located : all) {
    if (!located.finding.summary) specific.push_back(&located.context);
  }
  const auto context_less = [](const Context* a, const Context* b) { return *a < *b; };
  std::sort(specific.begin(), specific.end(), context_less);
  const auto explained = [&](const Context& context) {
    if (context.empty()) return false;
    auto it = std::lower_bound(specific.begin(), specific.end(), &context, context_less);
    return it != specific.end() && (*it)->size() >= context.size() &&
           std::equal(context.begin(), context.end(), (*it)->begin());
  };
  std::vector<bool> drop(all.size(), false);
  std::vector<std::size_t> order;
  order.reserve(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i].finding.summary && explained(all[i].context)) {
      drop[i] = true;
    } else {
      order.push_back(i);
    }
  }
  drop_repeats(order, drop, [&](std::size_t i) {
    return std::tie(all[i].context, all[i].finding.keyword, all[i].finding.message);
  });
  std::vector<LocatedFinding> kept;
  kept.reserve(order.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!drop[i]) kept.push_back(std::move(all[i]));
  }
  return kept;
}

// The last net, for valijson's own wording: these checks hide the document's text as they word a
// message, and leave the schema's and their own as it is (see quote()). Each stretch of the message
// that one or more secrets cover, overlapping or touching, becomes one "(hidden)", so that no part of
// one is left beside the marker put for another; should a secret then read across a marker and the
// text beside it (a secret made of a marker's characters and the message's own), the message is the
// marker alone.
void hide_secrets(std::string& message) {
  if (current_secrets == nullptr || message.size() < current_secrets->shortest()) return;
  thread_local std::vector<std::pair<std::size_t, std::size_t>> cuts;  // [begin, end) of each occurrence
  cuts.clear();
  for (const auto& secret : *current_secrets) {
    if (secret.size() < kContainedSecret) continue;
    for (std::size_t at = message.find(secret); at != std::string::npos; at = message.find(secret, at + 1))
      cuts.emplace_back(at, at + secret.size());
  }
  if (cuts.empty()) return;
  std::sort(cuts.begin(), cuts.end());
  std::string out;
  out.reserve(message.size());
  std::size_t kept = 0;  // the message up to here is in out
  for (std::size_t i = 0; i < cuts.size(); ++i) {
    const std::size_t begin = cuts[i].first;
    std::size_t end = cuts[i].second;
    while (i + 1 < cuts.size() && cuts[i + 1].first <= end) end = std::max(end, cuts[++i].second);
    out.append(message, kept, begin - kept);
    out += kHiddenText;
    kept = end;
  }
  out.append(message, kept);
  const std::string_view marker = kHiddenText;
  for (const auto& secret : *current_secrets) {
    // A secret inside the marker itself ("hidden") is in every marker, and says nothing there.
    if (secret.size() >= kContainedSecret && marker.find(secret) == std::string_view::npos &&
        out.find(secret) != std::string::npos) {
      message = kHiddenText;
      return;
    }
  }
  message = std::move(out);
}
namespace {
// A finding as a Result shows it: its pointer, with the document's member names that hold a secret
// hidden (the message, property and suggestion were made so by the checks that worded them).
Finding shown(std::vector<Token>& tokens, RawFinding&& raw) {
  // A member's name is hidden where it holds a secret, as written or once escaped ("a/b" is written
  // "a~1b"), unless the schema declares it; an index is where an item sits, and is shown. A hidden
  // name is "(hidden)" for the order of the findings too, which would else say where it sorts.
  const auto build = [&tokens](bool hide_all) {
    std::string pointer;
    for (Token& token : tokens) {
      pointer += '/';
      const std::size_t start = pointer.size();
      append_pointer_token(pointer, token.name);
      const std::string_view escaped = std::string_view(pointer).substr(start);
      const bool hide = token.name.data() == kHiddenText || is_secret_name(token.name) ||
                        (escaped.size() != token.name.size() && is_secret_name(escaped)) ||
                        (hide_all && !is_declared_name(token.name));
      if (!token.index && hide) {
        pointer.resize(start);
        pointer += kHiddenText;
        token.name = kHiddenText;
      }
    }
    return pointer;
  };
  std::string pointer = build(false);
  // A secret that reads across two names ("abcd/efgh"): every name the schema does not declare goes.
  if (is_secret_text(pointer)) pointer = build(true);
  // The checks hid the document's text as they worded the message, and its property where the
  // document named it (a suggestion is the schema's); valijson's own wording gets the last net.
  if (raw.foreign) hide_secrets(raw.message);
  // Made from its parts at once (each moved once).
  return Finding{std::move(pointer),      std::move(raw.keyword), std::move(raw.message),
                 std::move(raw.property), std::move(raw.allowed), std::move(raw.suggestion)};
}

struct Entry {
  std::vector<Token> tokens;
  Finding finding;
};

// The findings in document order (stable: findings at one location keep the order they came in).
std::vector<Finding> in_document_order(std::vector<Entry> entries) {
  stable_sort_few(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::lexicographical_compare(a.tokens.begin(), a.tokens.end(), b.tokens.begin(), b.tokens.end(),
                                        token_less);
  });
  std::vector<Finding> findings;
  findings.reserve(entries.size());
  for (auto& entry : entries) findings.push_back(std::move(entry.finding));
  return findings;
}
}  // namespace

std::vector<Finding> locate_findings(std::vector<LocatedFinding> located, const Json& instance) {
  std::vector<Entry> entries;
  entries.reserve(located.size());
  std::string key;  // a member's name, to look it up
  for (auto& item : located) {
    Entry entry;
    if (item.context.size() > 1) entry.tokens.reserve(item.context.size() - 1);
    const Json* current = &instance;
    // The first token is valijson's "<root>".
    for (std::size_t i = 1; i < item.context.size(); ++i) {
      Token token;
      token.name = token_name(item.context[i]);
      if (current != nullptr && current->is_array() && all_digits(token.name)) {
        token.index = true;
        std::from_chars(token.name.data(), token.name.data() + token.name.size(), token.number);
        current = token.number < current->size() ? &(*current)[token.number] : nullptr;
      } else if (current != nullptr && current->is_object()) {
        key.assign(token.name);
        auto it = current->find(key);
        current = it != current->end() ? &*it : nullptr;
      } else {
        current = nullptr;
      }
      entry.tokens.push_back(token);
    }
    entry.finding = shown(entry.tokens, std::move(item.finding));
    entries.push_back(std::move(entry));
  }
  return in_document_order(std::move(entries));
}

void drop_repeated(std::vector<PlacedFinding>& placed) {
  if (placed.size() <= 1) return;
  std::vector<bool> drop(placed.size(), false);
  std::vector<std::size_t> order(placed.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  // A location compares as valijson's context would: by its tokens' names.
  const auto names = [&](std::size_t i) {
    std::vector<std::string_view> out;
    for (const auto& token : placed[i].tokens) out.push_back(token.name);
    return out;
  };
  drop_repeats(order, drop, [&](std::size_t i) {
    return std::make_tuple(names(i), std::cref(placed[i].finding.keyword),
                           std::cref(placed[i].finding.message));
  });
  std::size_t kept = 0;
  for (std::size_t i = 0; i < placed.size(); ++i) {
    if (drop[i]) continue;
    if (kept != i) placed[kept] = std::move(placed[i]);
    ++kept;
  }
  placed.resize(kept);
}

std::vector<Finding> place_findings(std::vector<PlacedFinding> placed) {
  if (placed.size() == 1) {
    // Most refused documents: one finding, nothing to drop or to order.
    std::vector<Finding> findings;
    findings.push_back(shown(placed.front().tokens, std::move(placed.front().finding)));
    return findings;
  }
  drop_repeated(placed);
  std::vector<Entry> entries;
  entries.reserve(placed.size());
  for (auto& item : placed) {
    Entry entry;
    entry.finding = shown(item.tokens, std::move(item.finding));
    entry.tokens = std::move(item.tokens);
    entries.push_back(std::move(entry));
  }
  return in_document_order(std::move(entries));
}

namespace {

// Lower case, without "_", "-" and spaces: "passwordConfirmation" and "password_confirmation" meet.
std::string folded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '_' || c == '-' || c == ' ') continue;
    out += ascii_lower(c);
  }
  return out;
}

// The longest name closest_name() compares.
constexpr std::size_t kLongestName = 64;

// Optimal string alignment distance (edits plus adjacent transpositions); three rows on the stack,
// since the names compared are at most kLongestName characters.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  const std::size_t n = a.size(), m = b.size();
  std::array<std::size_t, 3 * (kLongestName + 1)> rows;  // each cell is written before it is read
  std::size_t* before = rows.data();
  std::size_t* previous = before + (m + 1);
  std::size_t* current = previous + (m + 1);
  for (std::size_t j = 0; j <= m; ++j) previous[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[m];
}

}  // namespace

std::vector<std::string> folded_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (const auto& name : names) out.push_back(folded(name));
  return out;
}

std::optional<std::string> closest_name(std::string_view text, const std::vector<std::string>& candidates) {
  if (text.size() > kLongestName) return std::nullopt;
  return closest_name(text, candidates, folded_names(candidates));
}

std::optional<std::string> closest_name(std::string_view text, const std::vector<std::string>& candidates,
                                        const std::vector<std::string>& folded_candidates) {
  if (text.size() > kLongestName) return std::nullopt;
  // A candidate whose length is further from the text's than its limit (below) is ruled out at
  // once: when all are, as for most values that no allowed one resembles, nothing more is made.
  const auto limit_of = [](std::size_t a, std::size_t b) {
    return std::max<std::size_t>(1, std::min(a, b) / 4);
  };
  const auto apart_of = [](std::size_t a, std::size_t b) { return a > b ? a - b : b - a; };
  const std::size_t wanted_size = static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return c != '_' && c != '-' && c != ' '; }));
  bool any = false;
  for (std::size_t k = 0; k < candidates.size() && !any; ++k) {
    const std::size_t size = folded_candidates[k].size();
    any = candidates[k].size() <= kLongestName && apart_of(wanted_size, size) <= limit_of(wanted_size, size);
  }
  if (!any) return std::nullopt;
  // folded(text), on the stack (the text is at most kLongestName bytes).
  char wanted_bytes[kLongestName];
  std::size_t wanted_length = 0;
  for (char c : text)
    if (c != '_' && c != '-' && c != ' ') wanted_bytes[wanted_length++] = ascii_lower(c);
  const std::string_view wanted(wanted_bytes, wanted_length);
  // A bit per byte value modulo 64: each bit a candidate has and `wanted` lacks stands for at
  // least one character `wanted` lacks, a lower bound of the distance cheaper than the one below.
  const auto bits_of = [](std::string_view s) {
    std::uint64_t bits = 0;
    for (unsigned char c : s) bits |= std::uint64_t{1} << (c & 63);
    return bits;
  };
  const std::uint64_t wanted_bits = bits_of(wanted);
  // Each byte's count in `wanted` less its count in a candidate: how many characters one has that
  // the other has not is a lower bound of the distance (an edit changes it by at most one each
  // way, a transposition not at all), and rules out most candidates before the distance is
  // computed. Restored to zero after each candidate.
  std::array<std::int16_t, 256> surplus{};
  for (unsigned char c : wanted) ++surplus[c];
  const std::string* best = nullptr;
  std::size_t best_distance = SIZE_MAX;
  bool tie = false;
  for (std::size_t k = 0; k < candidates.size(); ++k) {
    const std::string& candidate = candidates[k];
    if (candidate.size() > kLongestName || candidate == text) continue;
    const std::string& other = folded_candidates[k];
    const std::size_t limit = limit_of(wanted.size(), other.size());
    // The distance is at least the difference in length.
    if (apart_of(wanted.size(), other.size()) > limit) continue;
    if (static_cast<std::size_t>(std::popcount(bits_of(other) & ~wanted_bits)) > limit) continue;
    for (unsigned char c : other) --surplus[c];
    std::size_t missing = 0;  // characters of the candidate that `wanted` lacks
    for (unsigned char c : other) {
      if (surplus[c] < 0) missing += static_cast<std::size_t>(-surplus[c]), surplus[c] = 0;
    }
    for (unsigned char c : other) surplus[c] = 0;  // back to `wanted`'s counts
    for (unsigned char c : wanted) surplus[c] = 0;
    for (unsigned char c : wanted) ++surplus[c];
    if (missing > limit) continue;
    const std::size_t distance = other == wanted ? 0 : edit_distance(wanted, other);
    if (distance > limit) continue;
    if (distance < best_distance) {
      best = &candidate, best_distance = distance, tie = false;
    } else if (distance == best_distance && *best != candidate) {
      tie = true;
    }
  }
  if (best == nullptr || tie) return std::nullopt;
  return *best;
}

RawFinding undeclared_property(std::string_view name, const std::vector<std::string>& declared) {
  RawFinding f;
  f.keyword = "strict";
  f.message = "property " + quote_name(name) + " is not declared by the schema (strict mode)";
  f.property = is_secret_name(name) ? kHiddenText : std::string(name);
  // No suggestion for a hidden name: the name it is closest to would say what the secret is like.
  if (auto suggestion = is_secret_name(name) ? std::nullopt : closest_name(name, declared)) {
    f.message += "; did you mean " + quote_shown(*suggestion) + "?";
    f.suggestion = Json(std::move(*suggestion));
  }
  return f;
}

std::string_view token_name(const std::string& token) {
  if (token.size() >= 2 && token.front() == '[' && token.back() == ']')
    return std::string_view(token).substr(1, token.size() - 2);
  return token;
}

bool context_is_secret(const Context& context) {
  for (std::size_t i = 1; i < context.size(); ++i) {
    const std::string& token = context[i];
    if (token.size() >= 2 && is_secret_field(std::string_view(token).substr(1, token.size() - 2)))
      return true;
  }
  return false;
}

FindingsScope::FindingsScope(const Json& instance, const std::vector<std::string>& secret_fields,
                             const std::vector<std::string>* names)
    : FindingsScope(
          secret_fields,
          [&](SecretValues& secrets) {
            // Depth first; a plain value outside a secret field is not visited at all.
            std::vector<std::pair<const Json*, bool>> stack;
            stack.reserve(32);
            stack.emplace_back(&instance, false);
            while (!stack.empty()) {
              const auto [node, secret] = stack.back();
              stack.pop_back();
              if (node->is_object()) {
                for (const auto& [key, value] : node->get_ref<const Json::object_t&>()) {
                  const bool member_secret = secret || is_secret_field(key);
                  if (member_secret || value.is_structured()) stack.emplace_back(&value, member_secret);
                }
              } else if (node->is_array()) {
                for (const auto& item : node->get_ref<const Json::array_t&>())
                  if (secret || item.is_structured()) stack.emplace_back(&item, secret);
              } else if (secret && node->is_string() && !node->get_ref<const std::string&>().empty()) {
                secrets.add(node->get_ref<const std::string&>());
              } else if (secret && node->is_number()) {
                add_secret_number(secrets, *node);
              }
            }
          },
          names) {}

void add_secret_number(SecretValues& secrets, const Json& number) {
  secrets.add_copy(number.dump());
  if (!number.is_number_float()) return;
  const double value = number.get<double>();
  // A whole number within 64 bits also as an integer: 1e3 is shown as 1000 where an integer holds it.
  if (std::trunc(value) != value || std::fabs(value) >= 9.2e18) return;
  secrets.add_copy(std::to_string(static_cast<std::int64_t>(value)));
}

namespace {
// The secret fields' values of a text, from nlohmann's SAX events: a value is secret when a secret
// field's member holds it, directly or nested in arrays and objects.
class SecretCollector {
 public:
  explicit SecretCollector(SecretValues& secrets) : secrets_(secrets) {}
  bool null() { return done(); }
  bool boolean(bool) { return done(); }
  bool number_integer(std::int64_t value) { return number(Json(value), nullptr); }
  bool number_unsigned(std::uint64_t value) { return number(Json(value), nullptr); }
  bool number_float(double value, const std::string& raw) { return number(Json(value), &raw); }
  bool string(std::string& value) {
    if (secret() && !value.empty()) secrets_.add_copy(std::move(value));
    return done();
  }
  bool binary(Json::binary_t&) { return false; }
  bool start_object(std::size_t) { return open(); }
  bool start_array(std::size_t) { return open(); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(std::string& name) {
    member_secret_ = is_secret_field(name);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  bool secret() const { return member_secret_ || (!open_.empty() && open_.back()); }
  bool done() {
    member_secret_ = false;
    return true;
  }
  bool number(const Json& value, const std::string* raw) {
    if (secret()) {
      add_secret_number(secrets_, value);
      if (raw != nullptr) secrets_.add_copy(*raw);
    }
    return done();
  }
  bool open() {
    open_.push_back(secret());
    return done();
  }
  bool close() {
    open_.pop_back();
    return true;
  }
  SecretValues& secrets_;
  std::vector<bool> open_;      // each open array or object: inside a secret field
  bool member_secret_ = false;  // the value being read is a secret field's member
};
}  // namespace

bool collect_secret_values(std::string_view text, SecretValues& secrets) {
  SecretCollector collector(secrets);
  try {
    return Json::sax_parse(text.begin(), text.end(), &collector);
  } catch (const std::exception&) {
    return false;
  }
}

void SecretValues::clear() {
  values_.clear();
  owned_.clear();
}

void SecretValues::order() {
  const auto before = [](std::string_view a, std::string_view b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  };
  if (values_.size() == 2) {
    // Most documents: a password and its confirmation, most often the same value.
    if (before(values_[1], values_[0])) std::swap(values_[0], values_[1]);
  } else {
    std::sort(values_.begin(), values_.end(), before);
  }
  // A value held twice is looked for once.
  values_.erase(std::unique(values_.begin(), values_.end()), values_.end());
}

namespace {
// Each depth of nested scopes has its list, kept for the thread's next validation at that depth.
SecretValues& secret_values(int depth) {
  thread_local std::vector<std::unique_ptr<SecretValues>> lists;
  while (lists.size() <= static_cast<std::size_t>(depth)) lists.push_back(std::make_unique<SecretValues>());
  return *lists[static_cast<std::size_t>(depth)];
}
}  // namespace

FindingsScope::FindingsScope(const std::vector<std::string>& secret_fields,
                             const std::function<void(SecretValues&)>& collect,
                             const std::vector<std::string>* names)
    : secrets_(&secret_values(arena.depth)),
      previous_(current_secrets),
      previous_fields_(current_secret_fields),
      previous_lengths_(current_secret_lengths),
      previous_names_(current_names) {
  current_names = names != nullptr ? names : previous_names_;  // a nested scope keeps the schema's
  current_secret_fields = &secret_fields;
  current_secret_lengths = length_bits(secret_fields);
  ++arena.depth;
  secrets_->clear();
  collect(*secrets_);
  if (previous_ != nullptr)
    for (const auto& value : *previous_) secrets_->add(value);
  secrets_->order();
  current_secrets = secrets_;
}

FindingsScope::~FindingsScope() {
  current_names = previous_names_;
  current_secrets = previous_;
  current_secret_fields = previous_fields_;
  current_secret_lengths = previous_lengths_;
  secrets_->clear();
  if (--arena.depth != 0) return;
  arena.findings.clear();
  arena.read.clear();
  if (arena.findings.capacity() > 4096) {
    std::vector<RawFinding>().swap(arena.findings);
    std::vector<bool>().swap(arena.read);
  }
}

bool is_secret_text(std::string_view text) {
  // Most texts asked about (names, indexes, short values) are shorter than any secret.
  if (current_secrets == nullptr || text.size() < current_secrets->shortest()) return false;
  for (const auto& secret : *current_secrets) {
    if (text == secret || (secret.size() >= kContainedSecret && text.find(secret) != std::string_view::npos))
      return true;
  }
  return false;
}

bool is_declared_name(std::string_view name) {
  return current_names != nullptr &&
         std::binary_search(current_names->begin(), current_names->end(), name, std::less<>());
}

bool is_secret_name(std::string_view name) { return is_secret_text(name) && !is_declared_name(name); }

std::string quote_name(std::string_view name, std::size_t max_chars) {
  return is_secret_name(name) ? std::string(kHiddenText) : quote_shown(name, max_chars);
}

std::string quote(std::string_view text, std::size_t max_chars) {
  std::string out;
  append_quote(out, text, max_chars);
  return out;
}

std::string quote_shown(std::string_view text, std::size_t max_chars) {
  std::string out;
  append_quote_shown(out, text, max_chars);
  return out;
}

void append_quote(std::string& out, std::string_view text, std::size_t max_chars) {
  if (is_secret_text(text))
    out += kHiddenText;
  else
    append_quote_shown(out, text, max_chars);
}

void append_quote_shown(std::string& out, std::string_view text, std::size_t max_chars) {
  // At most max_chars characters (an ill-formed subpart counts as one, shown as U+FFFD). A text of
  // no more bytes than that has no more characters either, and is shown whole without counting.
  std::size_t i = text.size() <= max_chars ? text.size() : 0;
  for (std::size_t chars = 0; i < text.size() && chars < max_chars; ++chars) i += utf8_character(text, i);
  append_json_string(out, text.substr(0, i), JsonEscape::kDisplay);
  if (i < text.size()) {
    out += "... (";
    out += std::to_string(utf8_length(text));
    out += " characters)";
  }
}

void append_names(std::string& out, const std::vector<std::string>& names) {
  append_words(out, names.size(), [&](std::string& to, std::size_t i) { append_quote_shown(to, names[i]); });
}

std::string render_value(const Json& value, bool schema_value) {
  switch (value.type()) {
    case Json::value_t::string:
      return schema_value ? quote_shown(value.get_ref<const std::string&>())
                          : quote(value.get_ref<const std::string&>());
    case Json::value_t::array:
    case Json::value_t::object: {
      // Small flat containers are shown whole (a secret member's value hidden);
      // anything else is described by its size.
      const bool small = value.size() <= 6 && std::all_of(value.begin(), value.end(), [](const Json& member) {
                           return member.is_primitive() &&
                                  (!member.is_string() || member.get_ref<const std::string&>().size() <= 24);
                         });
      if (small) {
        std::string text(1, value.is_array() ? '[' : '{');
        for (auto it = value.begin(); it != value.end(); ++it) {
          if (it != value.begin()) text += ',';
          if (value.is_object()) {
            text += (schema_value ? quote_shown(it.key(), 32) : quote_name(it.key(), 32)) + ':';
            if (!schema_value && is_secret_field(it.key())) {
              text += "(hidden)";
              continue;
            }
          }
          text += render_value(*it, schema_value);
        }
        text += value.is_array() ? ']' : '}';
        // A secret written across the items ([1,2,3,5] for "1,2,3,5"): described by its size instead.
        if (text.size() <= 96 && (schema_value || !is_secret_text(text))) return text;
      }
      if (value.is_array()) {
        return "an array of " + std::to_string(value.size()) + (value.size() == 1 ? " item" : " items");
      }
      return "an object with " + std::to_string(value.size()) +
             (value.size() == 1 ? " property" : " properties");
    }
    case Json::value_t::binary:
      return "a binary value";
    default: {
      std::string text = value.dump();
      return !schema_value && value.is_number() && is_secret_text(text) ? kHiddenText : text;
    }
  }
}

std::string type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "number";
    default:
      return "binary";
  }
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  append_words(out, words.size(), [&](std::string& to, std::size_t i) { to += words[i]; });
  return out;
}
}  // namespace sipcontract::detail::validation
