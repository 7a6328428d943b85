// sipcontract/generate.hpp: cases generated from a contract's request schemas (`run --generate N`),
// and the shrinking of a failing one to a small case file.
//
//   sipcontract::CaseGenerator gen(contract, /*seed=*/1);
//   auto cases = gen.generate(1, 300);            // ids gen-1-1 .. gen-1-300, tag "generated"
//   ... run them; for a failed one:
//   Case small = gen.shrink(failed, [&](const Case& c) { return fails_the_same_way(c); }, 200, &tries);
//   std::cout << sipcontract::case_to_json(small).dump(2);  // an ordinary case file
//
// Three kinds of case, all read from the contract (its request schemas, the equal-properties rule,
// the oneOf variants, the resource's name field, unique rules and operations), never from field
// names written here:
//   positive  one create whose body the contract's own validator accepts: every enum value, array
//             value combinations, optional fields present and absent, boundary and unusual strings,
//             each oneOf variant. Expected: the success status and every check of the runner.
//   negative  one create breaking exactly one rule (a required field missing, a wrong type or null,
//             an enum near miss, both oneOf variants, a confirmation that differs, a format, JSON
//             that does not parse). Expected: the contract's 422 naming the field (4xx for JSON that
//             does not parse, as the fixed cases expect); never a 5xx.
//   walk      create, get, list, update and delete of the resource in a random order, each step's
//             expectation from a model: a created item reads back with what was sent and is listed,
//             a deleted one answers 404 and is not listed, a repeated name is refused, an update
//             changes exactly the fields it sent.
//
// Determinism: case n of a seed depends only on the contract, the seed and n (a std::mt19937_64
// seeded from both, with this file's own integer draws, not the implementation-defined
// std::*_distribution). The placeholders a body carries ({{run_id}}, {{case_id}}, {{secret}}) are
// the run's; with the same run id and secret two runs send byte-identical bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sipcontract/contract.hpp"
#include "sipcontract/runner.hpp"

namespace sipcontract {

class CaseGenerator {
 public:
  /// Throws ConfigError when the contract's operation of record takes no JSON object body.
  CaseGenerator(const Contract& contract, std::uint64_t seed);
  ~CaseGenerator();
  CaseGenerator(const CaseGenerator&) = delete;
  CaseGenerator& operator=(const CaseGenerator&) = delete;

  std::uint64_t seed() const;
  /// Case number `n` (1-based): id "gen-<seed>-<n>", tags "generated" and its kind.
  Case generate(std::size_t n) const;
  /// Cases first .. first + count - 1.
  std::vector<Case> generate(std::size_t first, std::size_t count) const;

  /// A smaller case that still fails: optional fields dropped, strings and arrays cut, a walk's
  /// steps dropped (its expectations made again from the model). `still_fails` runs a candidate and
  /// says whether it fails the same check; at most `max_attempts` candidates are run (`attempts`,
  /// when given, says how many were). The result has the id "<id>-min" and is `failing` itself
  /// (renamed) when nothing smaller fails, or when `failing` is not a case of this generator.
  Case shrink(const Case& failing, const std::function<bool(const Case&)>& still_fails,
              std::size_t max_attempts = 200, std::size_t* attempts = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A seed from std::random_device (--generate without --seed; the run prints it).
std::uint64_t random_seed();

/// `c` as a case file's JSON (contracts/README.md), which load_cases() reads back to the same case.
/// Secret values never appear: a case holds only placeholders such as {{secret}}.
nlohmann::ordered_json case_to_json(const Case& c);

}  // namespace sipcontract
