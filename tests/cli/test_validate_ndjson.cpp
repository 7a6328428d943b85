// `sipcontract validate --ndjson`: one document a line, checked on several threads, reported by
// FILE:LINE in input order with a summary; output identical whatever --jobs says.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace fs = std::filesystem;
using namespace sipcontract::test;

namespace {

const fs::path kFixtures = FIXTURES_DIR;

std::string shown(const std::string& pointer) { return pointer.empty() ? "(root)" : pointer; }

/// The text output's lines grouped by the FILE:LINE label that opens each verdict.
std::map<std::size_t, std::vector<std::string>> verdicts_by_line(const std::string& out,
                                                                 const std::string& file,
                                                                 std::vector<std::size_t>& order) {
  std::map<std::size_t, std::vector<std::string>> by_line;
  std::size_t current = 0;
  for (const auto& line : split_lines(out)) {
    if (line.starts_with(file + ":")) {
      std::string rest = line.substr(file.size() + 1);
      std::size_t digits = rest.find_first_not_of("0123456789");
      if (digits == 0) continue;  // the summary: "FILE: N documents, ..."
      current = std::stoul(rest.substr(0, digits));
      order.push_back(current);
    }
    if (current != 0) by_line[current].push_back(line);
  }
  return by_line;
}

/// A large stream with a known verdict per line: valid, invalid (enum), not JSON, blank.
struct Stream {
  std::string text;
  std::size_t documents = 0, valid = 0, invalid = 0, not_json = 0;
};

Stream generate_stream(std::size_t lines, unsigned seed) {
  std::mt19937 rng(seed);
  Stream s;
  const char* codecs[] = {"OPUS", "G722", "PCMU", "G711", "AMR"};
  for (std::size_t i = 0; i < lines; ++i) {
    switch (rng() % 10) {
      case 0:
        s.text += "\n";  // blank: not a document
        continue;
      case 1:
        s.text += "{\"username\": \"u" + std::to_string(i) + "\", \"password\": \n";
        ++s.not_json;
        break;
      default: {
        const char* codec = codecs[rng() % 5];
        bool ok = std::string(codec) != "G711" && std::string(codec) != "AMR";
        s.text += R"({"username": "user-)" + std::to_string(i) +
                  R"(", "password": "pw", "password_confirmation": "pw", "codecs": ["OPUS", ")" + codec +
                  "\"]}" + (rng() % 7 == 0 ? "\r\n" : "\n");
        ++(ok ? s.valid : s.invalid);
      }
    }
    ++s.documents;
  }
  return s;
}

}  // namespace

TEST_CASE("each NDJSON fixture reports every line's verdict by FILE:LINE and a summary",
          "[cli][validate][ndjson]") {
  std::size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures / "ndjson")) {
    if (entry.path().extension() != ".ndjson") continue;
    const std::string file = entry.path().string();
    INFO(file);
    const auto expect = nlohmann::json::parse(
        read_file(entry.path().parent_path() / (entry.path().stem().string() + ".expect.json")));
    std::vector<std::string> args{"validate"};
    for (const auto& a : expect["validate"]) args.push_back(a);
    args.push_back("--ndjson");

    auto with_file = [&](std::vector<std::string> more) {
      auto all = args;
      all.insert(all.end(), more.begin(), more.end());
      all.push_back(file);
      return all;
    };
    auto text = run_cli(with_file({}));
    INFO(text.describe() << "\n" << text.out);
    CHECK(text.exit_code == (expect["invalid"] > 0 ? 1 : 0));
    std::vector<std::size_t> order;
    auto by_line = verdicts_by_line(text.out, file, order);
    CHECK(std::is_sorted(order.begin(), order.end()));
    CHECK(by_line.size() == expect["lines"].size());
    for (const auto& [number, verdict] : expect["lines"].items()) {
      INFO("line " << number);
      const auto& lines = by_line[std::stoul(number)];
      REQUIRE(!lines.empty());
      const std::string label = file + ":" + number + ": ";
      if (verdict == "valid") {
        CHECK(lines == std::vector<std::string>{label + "valid"});
      } else if (verdict.value("parse_error", false)) {
        CHECK(lines.size() == 1);
        CHECK(lines[0].starts_with(label));
        CHECK(!lines[0].starts_with(label + "valid"));
        CHECK(!lines[0].starts_with(label + "invalid ("));
      } else {
        CHECK(lines[0].starts_with(label + "invalid ("));
        bool found = false;
        for (const auto& l : lines)
          found = found || (l.starts_with("  " + shown(verdict["pointer"]) + ": ") &&
                            l.ends_with("[" + verdict["keyword"].get<std::string>() + "]"));
        CHECK(found);
      }
    }
    auto all = split_lines(text.out);
    REQUIRE(!all.empty());
    const std::string summary_start = file + ": " + std::to_string(expect["documents"].get<int>()) +
                                      " documents, " + std::to_string(expect["valid"].get<int>()) +
                                      " valid, " + std::to_string(expect["invalid"].get<int>()) +
                                      " invalid, " + std::to_string(expect["not_json"].get<int>()) +
                                      " not JSON, ";
    CHECK(all.back().starts_with(summary_start));
    CHECK(all.back().ends_with(" findings"));

    // JSON lines: one object a document, then the summary object.
    auto json = run_cli(with_file({"--format", "json"}));
    INFO(json.describe() << "\n" << json.out);
    CHECK(json.exit_code == text.exit_code);
    auto json_lines = split_lines(json.out);
    REQUIRE(json_lines.size() == expect["lines"].size() + 1);
    for (std::size_t i = 0; i + 1 < json_lines.size(); ++i) {
      REQUIRE(nlohmann::json::accept(json_lines[i]));
      auto object = nlohmann::json::parse(json_lines[i]);
      CHECK(object["file"] == file);
      const auto& verdict = expect["lines"][std::to_string(object["line"].get<int>())];
      CHECK(object["valid"] == (verdict == "valid"));
      if (verdict.is_object() && verdict.contains("pointer")) {
        bool found = false;
        for (const auto& f : object["findings"])
          found = found || (f["pointer"] == verdict["pointer"] && f["keyword"] == verdict["keyword"]);
        CHECK(found);
      }
      if (verdict.is_object() && verdict.value("parse_error", false))
        CHECK(object["error"]["kind"] == "parse");
    }
    auto summary = nlohmann::json::parse(json_lines.back());
    CHECK(summary["file"] == file);
    CHECK(summary["summary"]["documents"] == expect["documents"]);
    CHECK(summary["summary"]["valid"] == expect["valid"]);
    CHECK(summary["summary"]["invalid"] == expect["invalid"]);
    CHECK(summary["summary"]["not_json"] == expect["not_json"]);

    for (const auto& s : expect.value("excludes", nlohmann::json::array())) {
      CHECK(!contains(text.out + text.err + json.out + json.err, s.get<std::string>()));
    }
    // One worker and many give the same bytes.
    for (const char* jobs : {"1", "3"}) {
      INFO("--jobs " << jobs);
      CHECK(run_cli(with_file({"--jobs", jobs})).out == text.out);
      CHECK(run_cli(with_file({"--jobs", jobs, "--format", "json"})).out == json.out);
    }
    ++checked;
  }
  CHECK(checked >= 2);
}

TEST_CASE("a long NDJSON stream gives identical output with --jobs 1, the default and --jobs 8",
          "[cli][validate][ndjson][threads]") {
  TempDir dir;
  const Stream stream = generate_stream(60000, 20240501);
  auto path = dir.write("stream.ndjson", stream.text);
  auto one = run_cli({"validate", "request", "--ndjson", "--jobs", "1", path.string()});
  INFO(one.describe());
  REQUIRE(one.exit_code == 1);
  auto all = split_lines(one.out);
  REQUIRE(!all.empty());
  CHECK(all.back().starts_with(path.string() + ": " + std::to_string(stream.documents) + " documents, " +
                               std::to_string(stream.valid) + " valid, " + std::to_string(stream.invalid) +
                               " invalid, " + std::to_string(stream.not_json) + " not JSON, "));
  std::vector<std::size_t> order;
  verdicts_by_line(one.out, path.string(), order);
  CHECK(order.size() == stream.documents);
  CHECK(std::is_sorted(order.begin(), order.end()));
  auto many = run_cli({"validate", "request", "--ndjson", path.string()});
  CHECK(many.exit_code == 1);
  CHECK(many.out == one.out);
  auto eight = run_cli({"validate", "request", "--ndjson", "--jobs", "8", path.string()});
  CHECK(eight.out == one.out);
  auto json1 = run_cli({"validate", "request", "--ndjson", "--format", "json", "--jobs", "1", path.string()});
  auto json8 = run_cli({"validate", "request", "--ndjson", "--format", "json", "--jobs", "8", path.string()});
  CHECK(json1.exit_code == 1);
  CHECK(json8.out == json1.out);
  CHECK(split_lines(json1.out).size() == stream.documents + 1);
  // From stdin too.
  RunOptions from_stdin;
  from_stdin.stdin_path = path;
  auto piped = run_cli({"validate", "request", "--ndjson", "--jobs", "4", "-"}, from_stdin);
  CHECK(piped.exit_code == 1);
  CHECK(split_lines(piped.out).size() == split_lines(one.out).size());
  CHECK(piped.out.starts_with("<stdin>:"));
}

TEST_CASE("NDJSON lines that span the reader's 1 MiB reads keep their bytes, CR and numbers",
          "[cli][validate][ndjson][limits]") {
  // The reader hands out a line in place when one read holds it and gathers it otherwise: a line
  // whose "\r" ends one read and whose "\n" starts the next, and a line over --max-bytes that
  // spans two reads, are read as if the file came in one piece.
  constexpr std::size_t kRead = 1 << 20;
  const std::string ok = R"({"username": "u", "password": "p", "password_confirmation": "p"})";
  const auto padded = [](std::size_t size) {  // a valid document of exactly `size` bytes
    const std::string head = R"({"username": "u", "password": "p", "password_confirmation": "p", "note": ")";
    return head + std::string(size - head.size() - 2, 'n') + "\"}";
  };
  std::string text;
  std::size_t lines = 0;
  const auto fill_to = [&](std::size_t end) {  // whole lines of `ok` while they fit before `end`
    while (text.size() + ok.size() + 1 <= end - 200) {
      text += ok + "\n";
      ++lines;
    }
  };
  fill_to(kRead);
  // "\r" is the last byte of the first read, "\n" the first of the second.
  text += padded(kRead - 1 - text.size()) + "\r\n";
  const std::size_t split_crlf = ++lines;
  fill_to(2 * kRead);
  // Over --max-bytes 4000, from about 200 bytes before the end of the second read into the third.
  text += padded(kRead * 2 + 4000 - text.size()) + "\n";
  const std::size_t spanning_huge = ++lines;
  text += padded(3000) + "\n";  // under the limit, right after the refused line
  const std::size_t after_huge = ++lines;
  text += "[]";  // the last line, without "\n"
  const std::size_t last = ++lines;

  TempDir dir;
  auto path = dir.write("spans.ndjson", text);
  const std::string file = path.string();
  auto run = run_cli({"validate", "request", "--ndjson", "--max-bytes", "4000", "--jobs", "1", file});
  INFO(run.describe());
  CHECK(run.exit_code == 1);
  std::vector<std::size_t> order;
  auto by_line = verdicts_by_line(run.out, file, order);
  CHECK(order.size() == lines);
  const auto verdict = [&](std::size_t n) {
    return by_line[n].empty() ? std::string("(nothing)") : by_line[n].front();
  };
  for (std::size_t n = 1; n < last; ++n) {
    const std::string expected =
        n == spanning_huge
            ? file + ":" + std::to_string(n) + ": larger than the limit of 4000 bytes (--max-bytes)"
            : file + ":" + std::to_string(n) + ": valid";
    if (verdict(n) != expected) {
      FAIL_CHECK("line " << n << ": " << verdict(n));
      break;
    }
  }
  CHECK(verdict(split_crlf) == file + ":" + std::to_string(split_crlf) + ": valid");
  CHECK(verdict(after_huge) == file + ":" + std::to_string(after_huge) + ": valid");
  CHECK(verdict(last).starts_with(file + ":" + std::to_string(last) + ": invalid ("));
  CHECK(split_lines(run.out).back().starts_with(file + ": " + std::to_string(lines) + " documents, " +
                                                std::to_string(lines - 2) +
                                                " valid, 1 invalid, 1 not JSON, "));
  // The same verdicts on another thread count, and from stdin.
  auto threads = run_cli({"validate", "request", "--ndjson", "--max-bytes", "4000", "--jobs", "3", file});
  CHECK(threads.out == run.out);
  RunOptions from_stdin;
  from_stdin.stdin_path = path;
  auto piped = run_cli({"validate", "request", "--ndjson", "--max-bytes", "4000", "-"}, from_stdin);
  CHECK(piped.exit_code == 1);
  CHECK(split_lines(piped.out).size() == split_lines(run.out).size());
}

TEST_CASE("an NDJSON line over --max-bytes is reported and later lines keep their numbers",
          "[cli][validate][ndjson][limits]") {
  TempDir dir;
  const std::string ok = R"({"username": "u", "password": "p", "password_confirmation": "p"})";
  const std::string huge =
      R"({"username": ")" + std::string(5000, 'x') + R"(", "password": "p", "password_confirmation": "p"})";
  auto path = dir.write("limits.ndjson", ok + "\n" + huge + "\n" + ok + "\n" + "[]");
  const std::string file = path.string();
  auto run = run_cli({"validate", "request", "--ndjson", "--max-bytes", "1000", file});
  INFO(run.describe() << "\n" << run.out);
  CHECK(run.exit_code == 1);
  auto lines = split_lines(run.out);
  REQUIRE(lines.size() >= 6);
  CHECK(lines[0] == file + ":1: valid");
  CHECK(lines[1] == file + ":2: larger than the limit of 1000 bytes (--max-bytes)");
  CHECK(lines[2] == file + ":3: valid");
  CHECK(lines[3].starts_with(file + ":4: invalid ("));
  CHECK(lines[4].starts_with("  (root): "));
  CHECK(lines[4].ends_with("[type]"));
  CHECK(lines.back().starts_with(file + ": 4 documents, 2 valid, 1 invalid, 1 not JSON, 1 finding"));
}

TEST_CASE("several NDJSON files print file by file, each with its own summary, whatever --jobs says",
          "[cli][validate][ndjson][threads]") {
  // One pipeline checks every FILE: the next file is read while the last batches of one are
  // checked, yet each file's records, its unreadable record or its summary come in FILE order.
  TempDir dir;
  const auto first = dir.write("first.ndjson", generate_stream(9000, 7).text);
  const auto second = dir.write("second.ndjson", generate_stream(3000, 8).text);
  const std::string missing = (dir.path() / "missing.ndjson").string();
  const std::vector<std::string> files = {first.string(), missing, second.string(), first.string()};
  for (const char* format : {"text", "json"}) {
    INFO("--format " << format);
    // Expected: each file on its own, in turn (a missing file's line is on stderr in text).
    std::string expected_out, expected_err;
    for (const auto& file : files) {
      auto alone = run_cli({"validate", "request", "--ndjson", "--format", format, "--jobs", "1", file});
      expected_out += alone.out;
      expected_err += alone.err;
    }
    for (const char* jobs : {"1", "3", "8"}) {
      std::vector<std::string> args = {"validate", "request", "--ndjson", "--format", format, "--jobs", jobs};
      args.insert(args.end(), files.begin(), files.end());
      auto run = run_cli(args);
      INFO("--jobs " << jobs << ": " << run.describe());
      CHECK(run.exit_code == 2);
      CHECK(run.out == expected_out);
      CHECK(run.err == expected_err);
    }
  }
}

namespace {

/// The writing end of a FIFO that a child reads as its stdin, so that a test can pause the input.
/// The FIFO is opened for reading here first (without waiting), so that neither the child's open
/// nor ours waits for the other; that end is closed once the child has its own.
class PausedInput {
 public:
  explicit PausedInput(const fs::path& fifo) : path_(fifo) {
    if (::mkfifo(fifo.c_str(), 0600) != 0)
      throw std::runtime_error(std::string("mkfifo: ") + std::strerror(errno));
    reader_ = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    writer_ = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    if (reader_ < 0 || writer_ < 0)
      throw std::runtime_error(std::string("open FIFO: ") + std::strerror(errno));
    old_pipe_ = std::signal(SIGPIPE, SIG_IGN);  // a child that ended early makes write() fail instead
  }
  ~PausedInput() {
    close();
    if (reader_ >= 0) ::close(reader_);
    std::signal(SIGPIPE, old_pipe_);
  }
  PausedInput(const PausedInput&) = delete;
  PausedInput& operator=(const PausedInput&) = delete;
  const fs::path& path() const { return path_; }
  /// Once the child has opened the FIFO: only the child reads it from now on.
  void child_started() {
    ::close(reader_);
    reader_ = -1;
  }
  /// Writes all of `text`; false when the child no longer reads.
  bool write(const std::string& text) {
    for (std::size_t done = 0; done < text.size();) {
      const ssize_t n = ::write(writer_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  /// The end of the input.
  void close() {
    if (writer_ >= 0) ::close(writer_);
    writer_ = -1;
  }

 private:
  fs::path path_;
  int reader_ = -1;
  int writer_ = -1;
  void (*old_pipe_)(int) = SIG_DFL;
};

}  // namespace

TEST_CASE("records of NDJSON lines come out while the input pauses, not when a batch fills or it ends",
          "[cli][validate][ndjson][stream]") {
  // `producer | sipcontract validate --ndjson -`: lines arrive, then the writer pauses (still open).
  // Every record of the lines so far must be printed (and flushed) before the input resumes. The
  // test waits for those records; without them it would wait out next_line()'s guard and fail.
  // Nothing here depends on timing when the records come.
  const std::string valid = R"({"username":"u","password":"pw","password_confirmation":"pw"})";
  const std::string refused =
      R"({"username":"u","password":"pw","password_confirmation":"pw","codecs":["X"]})";
  for (const bool json : {true, false}) {
    for (const char* jobs : {"1", "3"}) {
      INFO((json ? "--format json" : "text") << ", --jobs " << jobs);
      TempDir dir;
      PausedInput input(dir.path() / "input.fifo");
      ProcessOptions options;
      options.args = {"validate", "request", "--ndjson", "--jobs", jobs, "-"};
      if (json) options.args.insert(options.args.end(), {"--format", "json"});
      options.stdin_path = input.path();
      Process child(options);
      input.child_started();
      // The line number of each verdict line, text or JSON (0 for a finding's line or the summary).
      const auto verdict_line = [&](const std::string& record) -> std::size_t {
        if (json) {
          const auto parsed = nlohmann::json::parse(record);
          return parsed.contains("line") ? parsed["line"].get<std::size_t>() : 0;
        }
        if (!record.starts_with("<stdin>:")) return 0;
        const std::string rest = record.substr(8);
        const std::size_t digits = rest.find_first_not_of("0123456789");
        return digits == 0 || digits == std::string::npos ? 0 : std::stoul(rest.substr(0, digits));
      };
      // Reads stdout up to the verdict of line `last`; the verdicts seen must be 1, 2, ... in order.
      std::size_t seen = 0;
      const auto read_through = [&](std::size_t last) {
        while (seen < last) {
          const auto record = child.next_line(std::chrono::seconds(60));
          INFO("waiting for the record of line " << last << " of the paused input; "
                                                 << "stderr: " << child.err());
          REQUIRE(record.has_value());
          const std::size_t line = verdict_line(*record);
          if (line == 0) continue;
          REQUIRE(line == seen + 1);
          seen = line;
        }
      };
      // Fewer lines than a batch, then more than one batch (the first holds 256), each part
      // followed by a pause; the last part is a single refused line.
      std::string first = valid + "\n" + refused + "\n" + "not json\n";
      REQUIRE(input.write(first));
      read_through(3);
      std::string second;
      for (int i = 0; i < 300; ++i) second += (i % 10 == 0 ? refused : valid) + "\n";
      REQUIRE(input.write(second));
      read_through(303);
      REQUIRE(input.write(refused + "\n"));
      read_through(304);
      input.close();
      REQUIRE(child.finish(0) == 1);  // refused lines: exit 1
      const auto lines = split_lines(child.out());
      REQUIRE_FALSE(lines.empty());
      CHECK(contains(lines.back(),
                     json ? R"("summary":{"documents":304,)" : "<stdin>: 304 documents, 271 valid"));
      CHECK(child.err().empty());
    }
  }
}

TEST_CASE("NDJSON that arrives through a pipe in pieces of any size is read as the same file is",
          "[cli][validate][ndjson][stream]") {
  // The reader reads on into the rest of its 1 MiB buffer while at least 64 KiB of it is left, and
  // takes a new buffer otherwise: a line may then continue in place across reads, or be gathered
  // across buffers. Pieces from 1 byte to 150 KB, written to a FIFO, cut lines everywhere (CR
  // before LF, lines over --max-bytes, blank lines, the last line without "\n"); every record must
  // be what the whole file gives.
  Stream stream = generate_stream(20000, 20261204);
  std::string text;
  std::mt19937 rng(7);
  std::size_t start = 0;
  for (std::size_t end; (end = stream.text.find('\n', start)) != std::string::npos; start = end + 1) {
    const std::string line = stream.text.substr(start, end - start);
    const unsigned pick = rng() % 500;
    if (pick < 10) {
      text += line + "\r\n";
    } else if (pick < 12) {  // over --max-bytes 6000, now and then longer than what is left of a buffer
      text += R"({"username": ")" + std::string(6000 + rng() % 200000, 'x') + "\"}\n" + line + "\n";
    } else if (pick < 20) {
      text += "\n  \n" + line + "\n";
    } else {
      text += line + "\n";
    }
  }
  text += R"({"username": "u", "password": "p", "password_confirmation": "p"})";  // no "\n"
  TempDir dir;
  const auto file = dir.write("whole.ndjson", text);
  for (const bool json : {false, true}) {
    INFO((json ? "--format json" : "text"));
    std::vector<std::string> args = {"validate", "request", "--ndjson", "--max-bytes", "6000", "--jobs", "3"};
    if (json) args.insert(args.end(), {"--format", "json"});
    auto expected = run_cli([&] {
      auto a = args;
      a.push_back(file.string());
      return a;
    }());
    REQUIRE(expected.exit_code == 1);
    PausedInput input(dir.path() / (json ? "json.fifo" : "text.fifo"));
    ProcessOptions options;
    options.args = args;
    options.args.push_back("-");
    options.stdin_path = input.path();
    Process child(options);
    input.child_started();
    std::mt19937 sizes(json ? 11 : 12);
    for (std::size_t done = 0; done < text.size();) {
      const std::size_t piece = std::min<std::size_t>(text.size() - done, 1 + sizes() % 150000);
      if (!input.write(text.substr(done, piece))) FAIL("the child stopped reading: " << child.err());
      done += piece;
    }
    input.close();
    REQUIRE(child.finish(0) == 1);
    CHECK(child.err().empty());
    // The same records, under the name stdin goes by.
    const std::string name = json ? nlohmann::json(file.string()).dump() : file.string();
    std::string want;
    std::size_t from = 0;
    for (std::size_t at; (at = expected.out.find(name, from)) != std::string::npos; from = at + name.size())
      want += expected.out.substr(from, at - from) + (json ? "\"<stdin>\"" : "<stdin>");
    want += expected.out.substr(from);
    CHECK(child.out() == want);
  }
}

TEST_CASE("short lines between lines over --max-bytes keep few read buffers, whatever the input's size",
          "[cli][validate][ndjson][limits]") {
  // Each short line sits in a 1 MiB read buffer of its own, the rest of which an over-long line
  // fills. Were a batch to keep every buffer its lines point into, a batch of these 100 lines would
  // hold 100 MiB; a batch points into two at most, and the budget counts each buffer.
  constexpr int kLines = 100;
  const std::string ok = R"({"username": "u", "password": "p", "password_confirmation": "p"})";
  const std::string huge = R"({"username": ")" + std::string(1100000, 'x') + "\"}";
  std::string text;
  for (int i = 0; i < kLines; ++i) text += ok + "\n" + huge + "\n";
  TempDir dir;
  const auto path = dir.write("spaced.ndjson", text);
  text.clear();
  text.shrink_to_fit();
  auto run =
      run_cli({"validate", "request", "--ndjson", "--max-bytes", "1000", "--jobs", "8", path.string()});
  INFO(run.describe());
  CHECK(run.exit_code == 1);
  CHECK(split_lines(run.out).back() == path.string() + ": " + std::to_string(2 * kLines) + " documents, " +
                                           std::to_string(kLines) + " valid, 0 invalid, " +
                                           std::to_string(kLines) + " not JSON, 0 findings");
  if (sanitizer_build()) {
    WARN("peak memory not checked: a sanitizer build keeps freed memory");
  } else {
    CHECK(run.max_rss_kb > 0);
    CHECK(run.max_rss_kb < 48 * 1024);  // 10-16 MB measured; 100 MB and more without the bound
  }
}

TEST_CASE("once the output fails, the files still queued say nothing more", "[cli][validate][ndjson][exit]") {
  // The first file's records fail to be written (stdout is /dev/full); the missing file after it is
  // already queued, but its complaint would only bury the one error that matters.
  if (!fs::exists("/dev/full")) {
    WARN("skipped: no /dev/full on this machine");
    return;
  }
  TempDir dir;
  const auto stream = dir.write("stream.ndjson", generate_stream(3000, 9).text);
  for (const char* jobs : {"1", "2", "8"}) {
    auto run = run_cli_to_full_device({"validate", "request", "--ndjson", "--jobs", jobs, stream.string(),
                                       (dir.path() / "missing.ndjson").string()});
    INFO("--jobs " << jobs << ": " << run.describe());
    CHECK(run.exit_code == 2);
    CHECK(split_lines(run.err).size() == 1);
    CHECK(contains(run.err, "cannot write the output"));
    CHECK_FALSE(contains(run.err, "missing.ndjson"));
  }
}

TEST_CASE("NDJSON input that cannot be read exits 2 and the other files are still checked",
          "[cli][validate][ndjson][exit]") {
  TempDir dir;
  const std::string mixed = (kFixtures / "ndjson/mixed.ndjson").string();
  auto run = run_cli({"validate", "request", "--ndjson", (dir.path() / "missing.ndjson").string(), mixed});
  INFO(run.describe());
  CHECK(run.exit_code == 2);
  CHECK(split_lines(run.err).size() == 1);
  CHECK(contains(run.err, "missing.ndjson"));
  CHECK(contains(run.out, mixed + ": 11 documents"));
  auto directory = run_cli({"validate", "request", "--ndjson", dir.path().string()});
  CHECK(directory.exit_code == 2);
  CHECK(contains(directory.err, "is a directory"));
}
