// sipcontract-bench-validate: validation throughput of the sipcontract library, from the bytes of an
// NDJSON corpus to one verdict per line, on one or more threads.
//
//   sipcontract-bench-validate --corpus corpus.ndjson --mode is_valid --threads 2 --min-time 1
//   sipcontract-bench-validate --corpus corpus.ndjson --mode check,validate_text --threads 2
//
// Modes: check (Schema::check), validate_text (Schema::validate_text), is_valid (parse_json +
// Schema::is_valid), validate (parse_json + Schema::validate, every finding), parse
// (nlohmann::json::parse alone: the parser's ceiling), parse_json (sipcontract's bounded parse alone),
// sax (nlohmann's SAX parser with a handler that keeps nothing: the lexer alone), rapidjson
// (RapidJSON's DOM parse alone: Debian ships it with valijson, which has an adapter for it), simdjson
// (its parse alone). The corpus is read into memory first; the timed part splits lines, parses and
// validates, as ajv-bench.js does with JSON.parse + ajv. Threads share the one compiled Schema
// (documented as safe). Protocol, shared with ajv-bench.js: the corpus is cut into chunks of about
// 1 MiB (each ending at a line end), and the threads take the next chunk from one shared counter
// until the work runs out, so that a thread the host slows does less of it instead of holding the
// others idle at the end; one untimed warm-up pass over the corpus that way (it also sizes the
// passes), then P timed passes, P chosen so the run lasts about --min-time seconds. Several modes
// (comma-separated) are measured in one process: a warm-up pass of each, then 10 rounds that each
// run every mode's share of its passes in turn (the order reversed every other round), so that a
// host whose speed moves during the run moves them alike; each mode's figures are over its own
// passes. Prints one JSON line a mode, in the order given. Exit status: 0; 2 for an unreadable or
// empty corpus or a setup error; 3 when the timed passes gave another answer than the warm-up pass.
#include <rapidjson/document.h>
#ifdef SIPCONTRACT_BENCH_HAVE_SIMDJSON
#include <simdjson.h>
#endif
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sipcontract/contract.hpp"

namespace {

using Clock = std::chrono::steady_clock;

enum class Mode {
  kCheck,
  kValidateText,
  kIsValid,
  kValidate,
  kParse,
  kParseJson,
  kSax,
  kRapidJson,
  kSimdjson
};

struct PassResult {
  std::uint64_t docs = 0;
  std::uint64_t valid = 0;
  std::uint64_t findings = 0;  // summed so the compiler cannot drop validate()'s work
  PassResult& operator+=(const PassResult& other) {
    docs += other.docs;
    valid += other.valid;
    findings += other.findings;
    return *this;
  }
};

/// A SAX handler that accepts every event and keeps nothing: nlohmann's lexer and syntax check alone,
/// the ceiling of any validator that reads events from nlohmann::json instead of building a DOM.
struct NullSax {
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(nlohmann::json::number_integer_t) { return true; }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return true; }
  bool number_float(nlohmann::json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(nlohmann::json::binary_t&) { return true; }
  bool start_object(std::size_t) { return true; }
  bool key(std::string&) { return true; }
  bool end_object() { return true; }
  bool start_array(std::size_t) { return true; }
  bool end_array() { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }
};

/// One pass over [begin, end): split at '\n', and give each non-empty line a verdict.
PassResult run_pass(std::string_view slice, Mode mode, const sipcontract::Schema& schema) {
  PassResult r;
  const char* p = slice.data();
  const char* const end = p + slice.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    const std::string_view line(p, static_cast<std::size_t>(line_end - p));
    p = line_end + 1;
    if (line.empty()) continue;
    ++r.docs;
    switch (mode) {
      case Mode::kCheck: {
        if (schema.check(line) == sipcontract::Verdict::kValid) ++r.valid;
        break;
      }
      case Mode::kValidateText: {
        const auto checked = schema.validate_text(line);
        // A text that is not JSON counts one finding, as its parse error does in validate mode.
        r.findings +=
            checked.result.findings.size() + (checked.verdict == sipcontract::Verdict::kNotJson ? 1 : 0);
        if (checked.valid()) ++r.valid;
        break;
      }
      case Mode::kSimdjson: {
#ifdef SIPCONTRACT_BENCH_HAVE_SIMDJSON
        // One parser per thread, reused, as a library must; parse() copies the line into padding.
        thread_local simdjson::dom::parser parser;
        if (!parser.parse(line.data(), line.size()).error()) ++r.valid;
#endif
        break;
      }
      case Mode::kParse: {
        auto doc = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
        if (!doc.is_discarded()) ++r.valid;  // "valid" here means well-formed JSON
        break;
      }
      case Mode::kSax: {
        NullSax sax;
        if (nlohmann::json::sax_parse(line.begin(), line.end(), &sax)) ++r.valid;
        break;
      }
      case Mode::kRapidJson: {
        rapidjson::Document doc;
        // UTF-8 checked, as nlohmann and JSON.parse do; RapidJSON skips that by default.
        doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
        if (!doc.HasParseError()) ++r.valid;
        break;
      }
      case Mode::kParseJson: {
        if (sipcontract::parse_json(line)) ++r.valid;
        break;
      }
      case Mode::kIsValid: {
        auto parsed = sipcontract::parse_json(line);
        if (parsed && schema.is_valid(*parsed)) ++r.valid;
        break;
      }
      case Mode::kValidate: {
        auto parsed = sipcontract::parse_json(line);
        if (!parsed) {
          ++r.findings;  // a parse error is the one finding of that line
          break;
        }
        auto result = schema.validate(*parsed);
        r.findings += result.findings.size();
        if (result.valid()) ++r.valid;
        break;
      }
    }
  }
  return r;
}

/// User + system CPU time of the whole process (every thread) so far.
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

/// The bytes a chunk of the shared queue holds, about (a chunk ends at a line end); as ajv-bench.js's
/// chunks (where smaller ones slow V8), and the threads' shared tail is one chunk a phase (one a run
/// of one mode, ten a mode of an interleaved run), not one a pass.
constexpr std::size_t kChunkBytes = 1024 * 1024;

/// Cuts the corpus into `n` slices of about equal bytes, each ending at a line end.
std::vector<std::string_view> slice_corpus(std::string_view corpus, unsigned n) {
  std::vector<std::string_view> slices;
  std::size_t start = 0;
  for (unsigned i = 0; i < n; ++i) {
    std::size_t stop = (i + 1 == n) ? corpus.size() : corpus.size() * (i + 1) / n;
    if (stop < corpus.size()) {
      const auto nl = corpus.find('\n', std::max(stop, start));
      stop = nl == std::string_view::npos ? corpus.size() : nl + 1;
    }
    slices.push_back(corpus.substr(start, stop - start));
    start = stop;
  }
  return slices;
}

/// The modes of a --mode list ("check,validate_text"), in order; empty names are dropped.
std::vector<std::string> split_modes(const std::string& list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

/// Rounds of an interleaved run: each mode's timed passes are cut into this many phases.
constexpr std::uint64_t kRounds = 10;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Validation throughput of the sipcontract library over an NDJSON corpus",
               "sipcontract-bench-validate"};
  std::string corpus_path;
  std::string mode_names = "is_valid";
  unsigned threads = 1;
  double min_time = 1.0;
  const std::map<std::string, Mode> modes = {
      {"check", Mode::kCheck},      {"validate_text", Mode::kValidateText},
      {"is_valid", Mode::kIsValid}, {"validate", Mode::kValidate},
      {"parse", Mode::kParse},      {"parse_json", Mode::kParseJson},
      {"sax", Mode::kSax},          {"rapidjson", Mode::kRapidJson},
      {"simdjson", Mode::kSimdjson}};
  app.add_option("--corpus", corpus_path, "NDJSON corpus (sipcontract-bench-corpus)")->required();
  app.add_option(
         "--mode", mode_names,
         "check | validate_text | is_valid | validate | parse | parse_json | sax | rapidjson | simdjson;"
         " several, comma-separated: their passes interleaved, a line each")
      ->capture_default_str()
      ->check([&](const std::string& list) -> std::string {
        for (const auto& name : split_modes(list))
          if (modes.count(name) == 0) return "unknown mode '" + name + "'";
        return split_modes(list).empty() ? "no mode" : "";
      });
  app.add_option("--threads", threads, "worker threads; 0 = every core")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  app.add_option("--min-time", min_time, "seconds the timed passes of each mode should last at least")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 600.0));
  CLI11_PARSE(app, argc, argv);
  // A schema, case file or server that cannot be set up is a one-line error (exit 2), not an abort.
  try {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    const std::vector<std::string> names = split_modes(mode_names);
    std::vector<Mode> run_modes;
    for (const auto& name : names) run_modes.push_back(modes.at(name));
#ifndef SIPCONTRACT_BENCH_HAVE_SIMDJSON
    if (std::count(run_modes.begin(), run_modes.end(), Mode::kSimdjson) != 0) {
      std::cerr << "sipcontract-bench-validate: built without simdjson (libsimdjson-dev)\n";
      return 2;
    }
#endif

    std::ifstream in(corpus_path, std::ios::binary);
    if (!in) {
      std::cerr << "sipcontract-bench-validate: cannot read " << corpus_path << '\n';
      return 2;
    }
    const std::string corpus((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (corpus.find_first_not_of(" \t\r\n") == std::string::npos) {
      std::cerr << "sipcontract-bench-validate: " << corpus_path << " holds no document\n";
      return 2;
    }
    const sipcontract::Schema& schema = sipcontract::Contract::builtin().request_schema();

    const auto chunks = slice_corpus(corpus, static_cast<unsigned>(std::max<std::size_t>(
                                                 1, (corpus.size() + kChunkBytes - 1) / kChunkBytes)));
    // A phase: every thread takes work items [0, items) of one mode from the shared counter (item k
    // is chunk k % chunks.size()), into its own result for that mode. Main joins every barrier, to
    // start a phase and to stop its clock.
    std::atomic<std::uint64_t> next{0};
    std::uint64_t items = 0;
    std::size_t phase_mode = 0;
    bool stopping = false;
    std::vector<std::vector<PassResult>> results(threads, std::vector<PassResult>(run_modes.size()));
    std::barrier sync(static_cast<std::ptrdiff_t>(threads) + 1);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        for (;;) {
          sync.arrive_and_wait();  // go (or stop)
          if (stopping) return;
          PassResult& into = results[t][phase_mode];
          const Mode mode = run_modes[phase_mode];
          for (std::uint64_t k; (k = next.fetch_add(1, std::memory_order_relaxed)) < items;)
            into += run_pass(chunks[k % chunks.size()], mode, schema);
          sync.arrive_and_wait();  // done
        }
      });
    }
    struct Timing {
      double seconds = 0;
      double cpu = 0;
    };
    // One phase of `passes` passes of mode m, timed.
    const auto phase = [&](std::size_t m, std::uint64_t passes) {
      phase_mode = m;
      items = passes * chunks.size();
      next.store(0);
      const double cpu0 = process_cpu_seconds();
      const auto t0 = Clock::now();
      sync.arrive_and_wait();
      sync.arrive_and_wait();
      return Timing{std::chrono::duration<double>(Clock::now() - t0).count(), process_cpu_seconds() - cpu0};
    };
    // One untimed warm-up pass of each mode, which also sizes its passes and gives its answer.
    std::vector<PassResult> answers(run_modes.size());
    std::vector<std::uint64_t> passes(run_modes.size());
    // With several modes, `kRounds` rounds each run every mode once (in turn, the order reversed
    // every other round), so that a host whose speed moves during the run moves every mode alike.
    const std::uint64_t rounds = run_modes.size() > 1 ? kRounds : 1;
    for (std::size_t m = 0; m < run_modes.size(); ++m) {
      const Timing warm = phase(m, 1);
      for (unsigned t = 0; t < threads; ++t) {
        answers[m] += results[t][m];
        results[t][m] = PassResult{};  // the timed passes' own from here
      }
      passes[m] = std::max<std::uint64_t>(
          1, static_cast<std::uint64_t>(
                 std::ceil(min_time / static_cast<double>(rounds) / std::max(warm.seconds, 1e-6))));
    }
    std::vector<Timing> timing(run_modes.size());
    for (std::uint64_t r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < run_modes.size(); ++i) {
        const std::size_t m = r % 2 == 0 ? i : run_modes.size() - 1 - i;
        const Timing t = phase(m, passes[m]);
        timing[m].seconds += t.seconds;
        timing[m].cpu += t.cpu;
      }
    }
    stopping = true;
    sync.arrive_and_wait();
    for (auto& w : workers) w.join();

    bool same = true;
    for (std::size_t m = 0; m < run_modes.size(); ++m) {
      PassResult timed_total;
      for (unsigned t = 0; t < threads; ++t) timed_total += results[t][m];
      const PassResult& answer = answers[m];
      const std::uint64_t all = passes[m] * rounds;
      const double seconds = timing[m].seconds;
      const double docs = static_cast<double>(answer.docs) * static_cast<double>(all);
      const double bytes = static_cast<double>(corpus.size()) * static_cast<double>(all);
      nlohmann::json out = {{"bench", "lib-" + names[m]},
                            {"threads", threads},
                            {"docs", answer.docs},
                            {"bytes", corpus.size()},
                            {"valid", answer.valid},
                            {"passes", all},
                            {"seconds", seconds},
                            {"docs_per_s", docs / seconds},
                            {"mb_per_s", bytes / seconds / 1e6},
                            {"cpus_used", timing[m].cpu / seconds}};
      if (rounds > 1) {
        out["interleaved"] = mode_names;
        out["rounds"] = rounds;
      }
      if (run_modes[m] == Mode::kValidate || run_modes[m] == Mode::kValidateText)
        out["findings_per_pass"] = answer.findings;
      std::cout << out.dump() << '\n';
      // Every pass must give the same answer.
      same = same && timed_total.findings == answer.findings * all &&
             timed_total.valid == answer.valid * all && timed_total.docs == answer.docs * all;
    }
    return same ? 0 : 3;
  } catch (const std::exception& e) {
    std::cerr << "sipcontract-bench-validate: " << e.what() << '\n';
    return 2;
  }
}
