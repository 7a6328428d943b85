// `sipcontract validate`: checks request and response documents (files, stdin, or NDJSON streams)
// against the contract's schemas, or against any draft-7 schema, and reports every finding.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <sipcontract/contract.hpp>
#include <sipcontract/json_text.hpp>
#include <sipcontract/thread_pool.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "commands.hpp"

namespace sipcontract::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;

constexpr std::string_view kTool = "sipcontract validate";
/// Deepest nesting --max-depth accepts: validation recurses once per level, and a few thousand
/// levels stay far from the stack's end on the main thread and on worker threads alike.
constexpr std::size_t kDepthCeiling = 2048;
/// Largest --max-bytes: far beyond any document that fits in memory, and far from overflow.
constexpr std::size_t kBytesCeiling = std::size_t{1} << 40;

/// Every option of `validate` and its two subcommands, as parsed.
struct Options {
  std::vector<std::string> files;          // `validate --schema S FILE...`
  std::vector<std::string> request_files;  // `validate request FILE...`
  std::vector<std::string> response_files;
  int status = 0;  // 0: the operation's first documented 2xx
  std::string schema;
  std::string schema_dir;
  std::string contract;
  std::string operation;
  bool ndjson = false;
  unsigned jobs = 0;  // 0: one per core
  std::string format = "text";
  bool quiet = false;
  bool strict = false;
  std::size_t max_findings = 1000;  // 0: no limit
  std::size_t max_bytes = ParseLimits{}.max_bytes;
  std::size_t max_depth = ParseLimits{}.max_depth;
};

/// How the documents were checked, for the caller's exit code and the summary line. Each count
/// means one thing: documents = valid + invalid + not_json + internal.
struct Counts {
  std::size_t documents = 0;   // documents read (NDJSON: non-blank lines)
  std::size_t valid = 0;       // acceptable JSON that satisfies the schema
  std::size_t invalid = 0;     // acceptable JSON that breaks the schema
  std::size_t not_json = 0;    // documents that are not acceptable JSON (syntax, size, depth, ...)
  std::size_t findings = 0;    // findings of the invalid documents (not counted with --quiet)
  std::size_t unreadable = 0;  // FILE arguments that could not be read at all
  std::size_t internal = 0;    // documents the validator could not check (an exception)

  void add(const Counts& other) {
    documents += other.documents;
    valid += other.valid;
    invalid += other.invalid;
    not_json += other.not_json;
    findings += other.findings;
    unreadable += other.unreadable;
    internal += other.internal;
  }
  int exit_code() const {
    if (unreadable > 0 || internal > 0) return kExitUsage;
    return invalid > 0 || not_json > 0 ? kExitViolation : kExitOk;
  }
};

/// A usage problem found after parsing (bad combination, unloadable schema): exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Dumps JSON for output: a non-UTF-8 byte in a file name or message must not throw.
std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string plural(std::size_t n, std::string_view word) {
  std::string s = std::to_string(n) + " " + std::string(word);
  if (n != 1) s += 's';
  return s;
}

/// Writes to stdout unbuffered by iostreams; remembers a failed write (e.g. a closed pipe) so
/// that a long NDJSON run stops instead of validating for nobody.
class Output {
 public:
  explicit Output(bool quiet) : quiet_(quiet) {}
  /// For a stream of records (--ndjson): a pipe on stdout smaller than `bytes` is grown to it, so
  /// that a batch's records (about 80 KiB) do not fill the default 64 KiB and wait for the reader
  /// at each batch. A larger pipe is left as it is, and so is one that cannot grow.
  void grow_pipe([[maybe_unused]] int bytes) const {
#if defined(F_GETPIPE_SZ) && defined(F_SETPIPE_SZ)
    struct stat st {};
    if (quiet_ || ::fstat(STDOUT_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode)) return;
    const int size = ::fcntl(STDOUT_FILENO, F_GETPIPE_SZ);
    if (size >= 0 && size < bytes) ::fcntl(STDOUT_FILENO, F_SETPIPE_SZ, bytes);
#endif
  }
  void write(std::string_view text) {
    if (quiet_ || failed_ || text.empty()) return;
    if (text.size() < kDirect) {
      if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) fail();
      return;
    }
    // A large text (a batch's records) in one system call rather than stdio's three: what stdio
    // holds goes first, and then nothing of this text stays behind in its buffer.
    if (std::fflush(stdout) != 0) return fail();
    while (!text.empty()) {
      const ssize_t n = ::write(STDOUT_FILENO, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) errno = EIO;  // no progress, and no error said
      if (n <= 0) return fail();
      text.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void flush() {
    if (!quiet_ && !failed_ && std::fflush(stdout) != 0) fail();
  }
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  /// Why the output failed (strerror of the failed write).
  const std::string& error() const { return error_; }
  bool quiet() const { return quiet_; }

 private:
  static constexpr std::size_t kDirect = 16u << 10;  // texts this long are written directly

  void fail() {
    error_ = std::strerror(errno);
    failed_.store(true, std::memory_order_release);
  }

  bool quiet_;
  // Set by the thread that prints, read by the one that reads the input (--ndjson).
  std::atomic<bool> failed_{false};
  std::string error_;  // set before failed_
};

/// A message for stderr: one line, prefixed with the tool's name.
/// stdout is flushed first (through `output`, which keeps a failed write), so that a terminal shows
/// both in order. Once the output has failed nothing more is said: the run ends with that error
/// alone.
void complain(const Options& options, Output& output, const std::string& message) {
  if (options.quiet) return;
  output.flush();
  if (output.failed()) return;
  std::cerr << kTool << ": " << message << '\n';
}

/// An input: a path, or stdin for "-". Closes what it opened.
class InputFile {
 public:
  /// Opens `path`; on failure error() says why (missing, a directory, no permission).
  explicit InputFile(const std::string& path) {
    if (path == "-") {
      fd_ = STDIN_FILENO;
      owned_ = false;
    } else {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) {
        error_ = std::strerror(errno);
        return;
      }
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
      error_ = std::strerror(errno);
    } else if (S_ISDIR(st.st_mode)) {
      error_ = "is a directory";
    } else if (S_ISREG(st.st_mode)) {
      regular_size_ = static_cast<std::size_t>(st.st_size);
    }
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile() {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }
  const std::string& error() const { return error_; }
  std::optional<std::size_t> regular_size() const { return regular_size_; }

  /// True when the input has paused: a pipe, FIFO, terminal or socket had nothing to read for
  /// `wait_ms` milliseconds, its writer still there. This waits at most that long, and no longer
  /// than the read that follows would have. A writer that is merely a little behind the reading
  /// (`cat`, a program writing in bursts) refills within it, so only a real pause counts. A regular
  /// file never pauses.
  bool paused(int wait_ms) const {
    if (regular_size_) return false;
    pollfd ready{fd_, POLLIN, 0};
    int n;
    while ((n = ::poll(&ready, 1, wait_ms)) < 0 && errno == EINTR) {
    }
    return n == 0;
  }

  /// Reads up to `size` bytes; returns the count (0 at end of input) or -1 with error() set.
  long read(char* data, std::size_t size) {
    for (;;) {
      ssize_t n = ::read(fd_, data, size);
      if (n >= 0) return static_cast<long>(n);
      if (errno == EINTR) continue;
      error_ = std::strerror(errno);
      return -1;
    }
  }

 private:
  int fd_ = -1;
  bool owned_ = true;
  std::string error_;
  std::optional<std::size_t> regular_size_;
};

/// The name a FILE argument is reported under.
std::string display_name(const std::string& path) { return path == "-" ? "<stdin>" : path; }

std::string too_large_message(std::size_t max_bytes) {
  return "larger than the limit of " + std::to_string(max_bytes) + " bytes (--max-bytes)";
}

/// What checking one document produced, and its counts: the lines to print, or in JSON the
/// record without its newline (in `text`, or already in the caller's sink when `appended`).
struct Checked {
  Counts counts;
  std::string text;
  bool appended = false;  // the JSON record went straight to the caller's sink, with its newline
};

/// Appends `n` in decimal.
void append_number(std::string& out, std::size_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, static_cast<std::size_t>(end - digits));
}

/// `n` and then `tail` (a record's short end), in one append.
void append_number_then(std::string& out, std::size_t n, std::string_view tail) {
  char text[64];
  assert(tail.size() <= sizeof text - 24);
  char* end = std::to_chars(text, text + 24, n).ptr;
  std::memcpy(end, tail.data(), tail.size());
  out.append(text, static_cast<std::size_t>(end - text) + tail.size());
}

/// `head`, `n` and then `tail`: a valid line's record, in one append (a call of libstdc++'s, not
/// inlined) when it is short, as it is but for a long file name.
void append_record(std::string& out, std::string_view head, std::size_t n, std::string_view tail) {
  char text[160];
  if (head.size() + 24 + tail.size() > sizeof text) {
    out += head;
    append_number_then(out, n, tail);
    return;
  }
  std::memcpy(text, head.data(), head.size());
  char* end = std::to_chars(text + head.size(), text + head.size() + 24, n).ptr;
  std::memcpy(end, tail.data(), tail.size());
  out.append(text, static_cast<std::size_t>(end - text) + tail.size());
}

/// A file's name as JSON-lines records write it, made once for many records (NDJSON batches).
struct FileJson {
  explicit FileJson(const std::string& file)
      : quoted(dump(nlohmann::json(file))),
        valid_head("{\"file\":" + quoted + ",\"findings\":[],\"line\":") {}
  std::string quoted;      // the name as a JSON string
  std::string valid_head;  // a valid line's record up to its line number
};

/// A value as dump() writes it; a string (most suggestions are) without the serializer. Not inlined:
/// append_finding() is flattened, and nlohmann's serializer would come with it.
[[gnu::noinline]] void append_value(std::string& out, const nlohmann::json& value) {
  if (value.is_string()) {
    append_json_string(out, value.get_ref<const std::string&>());
  } else {
    out += dump(value);
  }
}

/// A finding as to_json() then dump() would write it (members in alphabetical order), without
/// building the object: most findings are a few short strings. Flattened: GCC otherwise calls the
/// string's appends out of line here (about 40 instructions a finding more, by callgrind).
[[gnu::flatten]] void append_finding(std::string& out, const Finding& f) {
  if (!f.allowed.empty()) {
    out += "{\"allowed\":"sv;
    out += f.allowed.json();  // written once, with the schema
    out += ",\"keyword\":"sv;
  } else {
    out += "{\"keyword\":"sv;
  }
  append_json_string(out, f.keyword);
  out += ",\"message\":"sv;
  append_json_string(out, f.message);
  out += ",\"pointer\":"sv;
  append_json_string(out, f.pointer);
  if (!f.property.empty()) {
    out += ",\"property\":"sv;
    append_json_string(out, f.property);
  }
  if (f.suggestion) {
    out += ",\"suggestion\":"sv;
    append_value(out, *f.suggestion);
  }
  out += '}';
}

/// Validates one document and formats the verdict under `label` ("FILE" or "FILE:LINE").
class Checker {
 public:
  Checker(const Schema& schema, const Options& options)
      : schema_(schema), options_(options), limits_{options.max_bytes, options.max_depth} {}

  /// Checks `text`; `line` is the NDJSON line number (0 for a whole file). `file_json` is
  /// `file` as records write it, when the caller has it (NDJSON batches make it once). With --format
  /// json and a `sink`, a valid or invalid document's record is appended to it with its newline and
  /// the result says `appended`; other records come back in the result, without one.
  Checked check(std::string_view text, const std::string& file, std::size_t line,
                const FileJson* file_json = nullptr, std::string* sink = nullptr) const {
    Checked out;
    out.counts.documents = 1;
    if (options_.quiet) {
      // Only the verdict is wanted: the fast path, which builds no document for most texts.
      const Verdict verdict = schema_.check(text, limits_);
      ++(verdict == Verdict::kValid
             ? out.counts.valid
             : (verdict == Verdict::kInvalid ? out.counts.invalid : out.counts.not_json));
      return out;
    }
    // A valid text costs only the fast path; any other is parsed again and validated, so its
    // error or findings are exactly parse_json's and validate()'s.
    TextResult checked = schema_.validate_text(text, limits_);
    if (checked.valid() && json_ && line != 0) {
      // Most NDJSON lines are valid: their line is written directly, as dump() would order it,
      // instead of building and serialising an object per line.
      ++out.counts.valid;
      std::string& record = sink != nullptr ? *sink : out.text;
      const std::string_view tail = sink != nullptr ? ",\"valid\":true}\n"sv : ",\"valid\":true}"sv;
      if (file_json != nullptr) {
        append_record(record, file_json->valid_head, line, tail);
      } else {
        record += "{\"file\":"sv;
        append_file(record, file, file_json);
        record += ",\"findings\":[],\"line\":"sv;
        append_number_then(record, line, tail);
      }
      out.appended = sink != nullptr;
      return out;
    }
    const auto label = [&] { return line == 0 ? file : file + ":" + std::to_string(line); };
    if (checked.verdict == Verdict::kNotJson)
      return not_json(std::move(out), file, line, checked.error.message, &checked.error, file_json, sink);
    const auto& findings = checked.result.findings;
    // The validator stops after a fixed number of findings and says so in a last "limit"
    // finding: the count is then a lower bound, and that note is always printed.
    const bool stopped = !findings.empty() && findings.back().keyword == "limit";
    const std::size_t real = findings.size() - (stopped ? 1 : 0);
    if (findings.empty()) {
      ++out.counts.valid;
    } else {
      ++out.counts.invalid;
      out.counts.findings += std::max<std::size_t>(real, 1);
    }
    const std::size_t shown = options_.max_findings == 0 ? real : std::min(real, options_.max_findings);
    if (json_) {
      // The record as dump() would write it: file, findings, findings_complete, findings_total,
      // line, valid.
      std::string& text = sink != nullptr ? *sink : out.text;
      out.appended = sink != nullptr;
      text += "{\"file\":"sv;
      append_file(text, file, file_json);
      text += ",\"findings\":["sv;
      for (std::size_t i = 0; i < shown; ++i) {
        if (i > 0) text += ',';
        append_finding(text, findings[i]);
      }
      if (stopped) {
        if (shown > 0) text += ',';
        append_finding(text, findings.back());
      }
      text += ']';
      if (stopped) text += ",\"findings_complete\":false"sv;
      if (shown < real) {
        text += ",\"findings_total\":"sv;
        append_number(text, real);
      }
      if (line != 0) {
        text += ",\"line\":"sv;
        append_number(text, line);
      }
      text += findings.empty() ? ",\"valid\":true}"sv : ",\"valid\":false}"sv;
      if (sink != nullptr) text += '\n';
    } else if (findings.empty()) {
      out.text = label() + ": valid\n";
    } else {
      out.text = label() + ": invalid (" + std::to_string(real) + (stopped ? "+" : "") +
                 (real == 1 && !stopped ? " finding" : " findings") + ")\n";
      for (std::size_t i = 0; i < shown; ++i) out.text += "  " + to_string(findings[i]) + "\n";
      if (shown < real)
        out.text += "  ... " + plural(real - shown, "more finding") + " not shown (--max-findings)\n";
      if (stopped) out.text += "  " + to_string(findings.back()) + "\n";
    }
    return out;
  }

  /// A document refused before parsing because it is larger than --max-bytes.
  Checked too_large(const std::string& file, std::size_t line) const {
    Checked out;
    out.counts.documents = 1;
    return not_json(std::move(out), file, line, too_large_message(options_.max_bytes));
  }

  bool json() const { return json_; }

 private:
  /// A document that is not JSON: parse_json's `parse` error, or (when null) one of kind too_large.
  /// Written as check() writes its other records (into `sink` when given).
  Checked not_json(Checked out, const std::string& file, std::size_t line, const std::string& message,
                   const ParseError* parse = nullptr, const FileJson* file_json = nullptr,
                   std::string* sink = nullptr) const {
    ++out.counts.not_json;
    if (options_.quiet) return out;
    if (!json_) {
      // A whole file reports "line L, column C"; an NDJSON line is its own document, so its
      // error only needs the column (the line number is in the label).
      out.text = line == 0 ? file : file + ":" + std::to_string(line);
      out.text += ": "sv;
      if (parse != nullptr && line == 0) {
        out.text += parse->to_string();
      } else {
        if (parse != nullptr && parse->column > 0)
          out.text += "column " + std::to_string(parse->column) + ": ";
        out.text += message;
      }
      out.text += '\n';
      return out;
    }
    // The record as dump() would write it: error (byte_offset, column, kind, line, message), file,
    // line, valid. An NDJSON line's error has no "line" of its own: the record's "line" says it.
    std::string& text = sink != nullptr ? *sink : out.text;
    out.appended = sink != nullptr;
    text += "{\"error\":{"sv;
    if (parse != nullptr) {
      text += "\"byte_offset\":"sv;
      append_number(text, parse->byte_offset);
      text += ",\"column\":"sv;
      append_number(text, parse->column);
      text += ",\"kind\":\"parse\""sv;
      if (line == 0) {
        text += ",\"line\":"sv;
        append_number(text, parse->line);
      }
    } else {
      text += "\"kind\":\"too_large\""sv;
    }
    text += ",\"message\":"sv;
    append_json_string(text, message);
    text += "},\"file\":"sv;
    append_file(text, file, file_json);
    if (line != 0) {
      text += ",\"line\":"sv;
      append_number(text, line);
    }
    text += ",\"valid\":false}"sv;
    if (sink != nullptr) text += '\n';
    return out;
  }

  /// `file` as a JSON string: the caller's, when it has one (not copied, as a conditional
  /// expression of it and a temporary would), or written here.
  static void append_file(std::string& out, const std::string& file, const FileJson* file_json) {
    if (file_json != nullptr)
      out += file_json->quoted;
    else
      out += dump(nlohmann::json(file));
  }

  const Schema& schema_;
  const Options& options_;
  ParseLimits limits_;
  bool json_ = options_.format == "json";
};

/// A whole FILE read within --max-bytes: its text, or `too_large`, or why it cannot be read.
struct WholeFile {
  std::string text;
  bool too_large = false;
  std::string error;  // set when the file cannot be read
};

/// Reads `path` ("-": stdin); a regular file over the limit is refused without reading it.
WholeFile read_whole(const std::string& path, std::size_t max_bytes) {
  WholeFile out;
  InputFile in(path);
  if (!in.error().empty()) {
    out.error = in.error();
    return out;
  }
  if (in.regular_size() && *in.regular_size() > max_bytes) {
    out.too_large = true;  // refused without reading it
    return out;
  }
  std::size_t reserve = in.regular_size() ? *in.regular_size() : 0;
  out.text.reserve(std::min(reserve, max_bytes) + 1);
  char buffer[1 << 16];
  for (;;) {
    long n = in.read(buffer, sizeof buffer);
    if (n < 0) {
      out.error = in.error();
      out.text.clear();
      return out;
    }
    if (n == 0) break;
    if (out.text.size() + static_cast<std::size_t>(n) > max_bytes) {
      out.too_large = true;  // a pipe or device: stop reading at the limit
      out.text.clear();
      out.text.shrink_to_fit();
      return out;
    }
    out.text.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

/// A read buffer that batches share: a line that one buffer holds whole is checked where read() put
/// it, not copied. Bytes once handed out are never written again: the reader reads on after them,
/// and takes a new buffer when too little room is left.
struct Chunk {
  std::shared_ptr<char> data;
  std::size_t size = 0;
  std::size_t serial = 0;  // which buffer of its input (a pooled buffer comes back at the same address)
};

/// The full-size read buffers of a run, kept for reuse: a buffer the last batch lets go of comes
/// back here (its pages already mapped) instead of to the allocator. At most kKept are kept.
class ChunkPool : public std::enable_shared_from_this<ChunkPool> {
 public:
  static constexpr std::size_t kSize = 1 << 20;  // reads of up to 1 MiB
  static constexpr std::size_t kKept = 8;
  ChunkPool() = default;
  ChunkPool(const ChunkPool&) = delete;
  ChunkPool& operator=(const ChunkPool&) = delete;
  ~ChunkPool() {
    for (char* data : spare_) delete[] data;
  }

  /// A buffer of `size` bytes, left uninitialized (read() fills what is used). One smaller than
  /// kSize (a small regular file's) is not pooled.
  Chunk take(std::size_t size) {
    if (size < kSize) return {std::shared_ptr<char>(new char[size], std::default_delete<char[]>()), size};
    char* data = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (!spare_.empty()) {
        data = spare_.back();
        spare_.pop_back();
      }
    }
    if (data == nullptr) data = new char[kSize];
    // The deleter holds the pool, so a buffer outlives neither the pool nor its last batch.
    return {std::shared_ptr<char>(data, [pool = shared_from_this()](char* p) { pool->give_back(p); }), kSize};
  }

 private:
  void give_back(char* data) {
    {
      std::lock_guard lock(mutex_);
      if (spare_.size() < kKept) {
        spare_.push_back(data);
        return;
      }
    }
    delete[] data;
  }

  std::mutex mutex_;
  std::vector<char*> spare_;
};

/// Splits an input into lines with bounded memory: a line longer than `max_bytes` is skipped
/// (reported as too large) without being held.
class LineReader {
 public:
  LineReader(InputFile& in, std::size_t max_bytes, std::shared_ptr<ChunkPool> pool)
      : in_(in),
        max_bytes_(max_bytes),
        pool_(std::move(pool)),
        // A smaller regular file needs one read of its size (and one of 0) into a buffer of its own.
        size_(std::clamp<std::size_t>(in.regular_size().value_or(ChunkPool::kSize) + 1, 4096,
                                      ChunkPool::kSize)) {}

  /// The next line (without "\n" or a trailing "\r"); false at the end or on a read error. A line
  /// that one read buffer holds whole points into it (chunk()) and stays valid while that buffer is
  /// held; a line that spans two buffers is gathered (gathered() is true) and is valid until the
  /// next call. Before a read of an input that has paused, runs the on_pause() callback.
  bool next(std::string_view& line, bool& too_large) {
    gathered_.clear();
    spans_ = false;
    too_large = false;
    bool any = false;
    std::size_t start = pos_;  // where the line starts in the buffer, while it is in one piece
    for (;;) {
      if (pos_ == end_) {
        if (eof_) {
          line = spans_ ? std::string_view(gathered_) : in_place(start);
          return any && finish(line, too_large);
        }
        if (idle_ && in_.paused(kPauseMs)) idle_();
        const std::size_t room = chunk_.size - end_;
        if (room == 0 || (room < kLeastRead && chunk_.size == ChunkPool::kSize)) {
          // Too little room left: a new buffer, the line so far gathered (it spans two).
          if (any && !spans_) {
            spans_ = true;
            gather(too_large, chunk_.data.get() + start, pos_ - start);
          }
          chunk_ = pool_->take(size_);
          chunk_.serial = ++taken_;
          pos_ = end_ = start = 0;
        }
        long n = in_.read(chunk_.data.get() + end_, chunk_.size - end_);
        if (n < 0) {
          failed_ = true;
          return false;
        }
        if (n == 0) {
          eof_ = true;
          continue;
        }
        end_ += static_cast<std::size_t>(n);
      }
      any = true;
      const char* from = chunk_.data.get() + pos_;
      const char* newline = static_cast<const char*>(std::memchr(from, '\n', end_ - pos_));
      const std::size_t length = newline ? static_cast<std::size_t>(newline - from) : end_ - pos_;
      if (spans_) {
        gather(too_large, from, length);
        pos_ += length;
      } else {
        pos_ += length;
        // A line in one piece that is already too long is not held (its buffer moves on).
        if (pos_ - start > max_bytes_ + 1) too_large = true;
      }
      if (newline) {
        line = spans_ ? std::string_view(gathered_) : in_place(start);
        ++pos_;
        return finish(line, too_large);
      }
    }
  }
  bool failed() const { return failed_; }

  /// The buffer that the last line points into, unless gathered().
  const Chunk& chunk() const { return chunk_; }
  bool gathered() const { return spans_; }

  /// Runs `idle` before a read of an input that has paused (see InputFile::paused), as next()
  /// goes to wait for more; `idle` may itself wait (for room in the pipeline).
  void on_pause(std::function<void()> idle) { idle_ = std::move(idle); }

 private:
  std::string_view in_place(std::size_t start) const {
    return std::string_view(chunk_.data.get() + start, pos_ - start);
  }
  void gather(bool& too_large, const char* data, std::size_t length) {
    if (too_large) return;
    // One byte of slack for a "\r" that finish() strips.
    if (gathered_.size() + length > max_bytes_ + 1) {
      too_large = true;
      gathered_.clear();
      gathered_.shrink_to_fit();
      return;
    }
    gathered_.append(data, length);
  }
  bool finish(std::string_view& line, bool& too_large) {
    if (!too_large && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (too_large || line.size() > max_bytes_) {
      too_large = true;
      line = {};
    }
    return true;
  }

  InputFile& in_;
  std::size_t max_bytes_;
  std::shared_ptr<ChunkPool> pool_;
  // A read into the current buffer takes what is left of it, unless that is less than this.
  static constexpr std::size_t kLeastRead = 64 << 10;
  static constexpr int kPauseMs = 2;  // nothing to read for this long is a pause
  std::size_t size_;                  // of the buffers this input is read into
  Chunk chunk_;                       // the current buffer: its bytes [0, end_) are read
  std::size_t taken_ = 0;             // buffers taken so far
  std::string gathered_;              // a line that spans two buffers
  bool spans_ = false;                // the last line is in gathered_
  std::function<void()> idle_;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool failed_ = false;
};

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

/// A file's name as the records of its lines write it (made once a file).
struct FileLabel {
  explicit FileLabel(std::string name, bool json)
      : name(std::move(name)), json(json ? std::optional<FileJson>(this->name) : std::nullopt) {}
  std::string name;
  std::optional<FileJson> json;  // with --format json
};

/// Consecutive NDJSON lines of one file checked together by one worker, where the reading put them
/// (a line that spanned two read buffers in a text of the batch's own); or, with no lines, the end
/// of a file.
struct Batch {
  struct Item {
    std::size_t line;
    const char* data;    // in one of chunks, or null: in text, at offset
    std::size_t offset;  // in text
    std::size_t size;
    bool too_large;
  };
  std::size_t sequence = 0;
  /// What the batch holds, for the pipeline's budget: its lines' bytes, and each read buffer it is
  /// the first to point into (see read_ndjson).
  std::size_t bytes = 0;
  std::size_t line_bytes = 0;  // its lines' alone
  std::shared_ptr<const FileLabel> file;
  std::vector<std::shared_ptr<char>> chunks;  // the read buffers its lines are in
  std::string text;                           // the lines that spanned two buffers
  std::vector<Item> items;
  /// Run where the batch is printed, after its records, with the counts of its file so far: the
  /// end of a file prints its summary there (and then the file's counts start again).
  std::function<void(Counts&)> after;
  std::string_view text_of(const Item& item) const {
    return item.data != nullptr ? std::string_view(item.data, item.size)
                                : std::string_view(text).substr(item.offset, item.size);
  }
};

/// A batch's printed form and counts, kept until every earlier batch is printed.
struct BatchOutput {
  std::string text;
  Counts counts;
  std::size_t bytes = 0;               // the input bytes it accounted for, released when printed
  std::function<void(Counts&)> after;  // the batch's
};

BatchOutput check_batch(const Checker& checker, Batch& batch) {
  BatchOutput out;
  out.bytes = batch.bytes;
  out.after = std::move(batch.after);
  if (batch.items.empty()) return out;
  const bool json = checker.json();
  const std::string& file = batch.file->name;
  const std::optional<FileJson>& file_json = batch.file->json;
  // Room for the records in one allocation, as long a line as this thread's last batch had (most
  // are a valid line's, about the first figure), so that the text is not copied as it grows. The
  // hint is bounded: a batch of huge records must not make the next one reserve gigabytes.
  thread_local std::size_t bytes_per_line = 0;
  if (json) {
    const std::size_t least = file_json->valid_head.size() + 26;
    const std::size_t expected = std::clamp(bytes_per_line + bytes_per_line / 8, least, least + 1024);
    out.text.reserve(batch.items.size() * expected);
  }
  // One line's result, returned by value: a record written straight into the batch's text (most
  // are) is not copied; another (not JSON, too large, an internal error) is appended once.
  const auto check_line = [&](const Batch::Item& item) -> Checked {
    const std::size_t mark = out.text.size();
    try {
      if (item.too_large) return checker.too_large(file, item.line);
      return checker.check(batch.text_of(item), file, item.line, file_json ? &*file_json : nullptr,
                           json ? &out.text : nullptr);
    } catch (const std::exception& e) {
      out.text.resize(mark);  // nothing half-written stays
      // The validator failed on this document (it should not): report it and go on.
      Checked checked;
      checked.counts.documents = 1;
      checked.counts.internal = 1;
      std::string message = std::string("internal error: ") + e.what();
      checked.text = json ? dump({{"file", file},
                                  {"line", item.line},
                                  {"valid", false},
                                  {"error", {{"kind", "internal"}, {"message", message}}}})
                          : file + ":" + std::to_string(item.line) + ": " + message + "\n";
      return checked;
    }
  };
  for (const auto& item : batch.items) {
    const Checked checked = check_line(item);
    out.counts.add(checked.counts);
    if (!checked.appended) {
      out.text += checked.text;
      if (json) out.text += '\n';
    }
  }
  if (json) bytes_per_line = out.text.size() / batch.items.size();
  return out;
}

/// Checks NDJSON batches on `jobs` threads while the caller reads, and prints their outputs in
/// input order on a thread of its own, so that neither the reading (which may wait on a slow input)
/// nor the checking holds the records back. Input bytes of batches read but not yet printed stay
/// under a budget, so memory is bounded however long the stream is. One pipeline serves every FILE
/// of a run, so the next file is read while the last batches of one are checked. With one job
/// there are no threads: submit() checks and prints each batch itself.
///
/// Should printing fail with an exception (memory), the printing thread keeps taking outputs
/// without printing them, so that nothing waits on it, and the next submit() or finish() throws
/// the exception on the caller's thread.
class BatchPipeline {
 public:
  BatchPipeline(const Checker& checker, unsigned jobs, std::size_t budget, Output& output)
      : checker_(checker), jobs_(jobs), budget_(budget), output_(output) {
    if (jobs_ > 1) {
      pool_.emplace(jobs_);
      printer_ = std::thread([this] { print_in_order(); });
    }
  }
  BatchPipeline(const BatchPipeline&) = delete;
  BatchPipeline& operator=(const BatchPipeline&) = delete;
  ~BatchPipeline() { stop(); }

  /// Queues a batch (or, with one job, checks and prints it here).
  void submit(Batch batch) {
    batch.sequence = submitted_++;
    if (jobs_ <= 1) {
      print(check_batch(checker_, batch));
      output_.flush();  // as the printing thread does once it has caught up
      return;
    }
    std::unique_lock lock(mutex_);
    if (print_failure_) std::rethrow_exception(print_failure_);
    if (batch.items.empty()) {
      // The end of a file: nothing to check, printed in its turn.
      ++in_flight_;
      ready_.emplace(batch.sequence, check_batch(checker_, batch));
      lock.unlock();
      ready_cv_.notify_one();
      return;
    }
    // Wait for room: the first batch in flight is always admitted, however large.
    room_cv_.wait(lock, [&] {
      return in_flight_ == 0 || (in_flight_ < 4 * jobs_ && bytes_in_flight_ + batch.bytes <= budget_);
    });
    ++in_flight_;
    bytes_in_flight_ += batch.bytes;
    pool_->post([this, batch = std::move(batch)]() mutable { work(batch); });
  }

  /// Waits until every batch submitted so far is printed.
  void drain() {
    if (jobs_ <= 1) return;  // printed as submitted
    std::unique_lock lock(mutex_);
    room_cv_.wait(lock, [&] { return in_flight_ == 0; });
  }

  /// Waits for every batch and prints the rest; returns the counts of every file.
  Counts finish() {
    drain();
    stop();
    if (print_failure_) std::rethrow_exception(print_failure_);
    return total_;
  }

 private:
  /// One batch, on a thread of the pool.
  void work(Batch& batch) {
    BatchOutput out = check_batch(checker_, batch);
    Batch().items.swap(batch.items);  // free the input before waiting to be printed
    std::string().swap(batch.text);
    batch.chunks.clear();
    batch.file.reset();
    bool next;  // the one the printing thread waits for (it finds the others once it has printed that)
    {
      std::lock_guard lock(mutex_);
      next = batch.sequence == printed_;
      ready_.emplace(batch.sequence, std::move(out));
    }
    if (next) ready_cv_.notify_one();
  }

  /// The printing thread: prints ready outputs in sequence order, and flushes the output each time
  /// it has caught up, so that a reader of a slow stream gets every record checked so far.
  void print_in_order() {
    std::unique_lock lock(mutex_);
    for (;;) {
      ready_cv_.wait(lock, [&] { return stopping_ || ready_.count(printed_) != 0; });
      if (ready_.count(printed_) == 0) return;  // stopping, and nothing more to print
      for (auto it = ready_.find(printed_); it != ready_.end(); it = ready_.find(printed_)) {
        BatchOutput out = std::move(it->second);
        ready_.erase(it);
        ++printed_;
        const std::size_t bytes = out.bytes;
        const bool failed = print_failure_ != nullptr;
        lock.unlock();
        std::exception_ptr failure;
        if (!failed) {
          try {
            print(std::move(out));
          } catch (...) {
            failure = std::current_exception();
          }
        }
        lock.lock();
        if (failure) print_failure_ = failure;
        --in_flight_;
        bytes_in_flight_ -= bytes;
        room_cv_.notify_all();
      }
      lock.unlock();
      output_.flush();
      lock.lock();
    }
  }

  void print(BatchOutput out) {
    file_counts_.add(out.counts);
    output_.write(out.text);
    if (out.after) {
      out.after(file_counts_);
      total_.add(file_counts_);
      file_counts_ = Counts{};
    }
  }

  void stop() {
    if (pool_) pool_->shutdown();  // every batch queued is checked
    if (printer_.joinable()) {
      {
        std::lock_guard lock(mutex_);
        stopping_ = true;
      }
      ready_cv_.notify_one();
      printer_.join();
    }
  }

  const Checker& checker_;
  unsigned jobs_;
  std::size_t budget_;
  Output& output_;
  std::mutex mutex_;
  std::condition_variable ready_cv_;  // an output is ready, or stopping_: for the printing thread
  std::condition_variable room_cv_;   // an output was printed: for submit() and drain()
  std::map<std::size_t, BatchOutput> ready_;
  std::size_t submitted_ = 0;
  std::size_t printed_ = 0;
  std::size_t in_flight_ = 0;
  std::size_t bytes_in_flight_ = 0;
  bool stopping_ = false;
  std::exception_ptr print_failure_;  // what printing threw, for the caller's thread
  // The files printed so far and the file being printed: touched only by the thread that prints
  // (and read by finish() once it has stopped).
  Counts file_counts_;
  Counts total_;
  std::thread printer_;
  std::optional<ThreadPool> pool_;  // last: its threads stop before what they use goes
};

std::string summary_text(const std::string& file, const Counts& c) {
  std::string text = file + ": " + plural(c.documents, "document") + ", " + std::to_string(c.valid) +
                     " valid, " + std::to_string(c.invalid) + " invalid, " + std::to_string(c.not_json) +
                     " not JSON, " + plural(c.findings, "finding");
  if (c.internal > 0) text += ", " + std::to_string(c.internal) + " not checked (internal error)";
  return text + "\n";
}

nlohmann::json summary_json(const Counts& c) {
  return nlohmann::json{{"documents", c.documents}, {"valid", c.valid},       {"invalid", c.invalid},
                        {"not_json", c.not_json},   {"findings", c.findings}, {"unreadable", c.unreadable},
                        {"internal", c.internal}};
}

// A batch of NDJSON lines: 256 lines at first, so that every worker is busy on a short stream,
// then twice as many each batch up to 1,024, so that a long one costs fewer hand-overs; at most
// 256 KiB, which bounds a batch of big lines.
constexpr std::size_t kFirstLines = 256;
constexpr std::size_t kMostLines = 1024;
constexpr std::size_t kBatchBytes = 256u << 10;

/// Reads one FILE of `--ndjson` into the pipeline, its batches then the end of the file (where the
/// file's summary is printed, in its turn).
void read_ndjson(const std::string& path, const Checker& checker, const Options& options, Output& output,
                 BatchPipeline& pipeline, const std::shared_ptr<ChunkPool>& pool) {
  const bool json = checker.json();
  auto file = std::make_shared<const FileLabel>(display_name(path), json);
  // The end of the file, printed after its last batch: `failure` (why it could not be read, at
  // line `at`, or at all when 0) and the summary.
  const auto submit_end = [&](std::string failure, std::size_t at) {
    Batch end;
    end.after = [&options, &output, json, file, failure = std::move(failure), at](Counts& counts) {
      const std::string& name = file->name;
      if (!failure.empty()) ++counts.unreadable;
      // Once the output failed nothing more is said: the run ends with that error alone, as it
      // would have before reading this file.
      if (output.failed()) return;
      if (!failure.empty()) {
        if (json) {
          nlohmann::json record = {
              {"file", name}, {"valid", false}, {"error", {{"kind", "unreadable"}, {"message", failure}}}};
          if (at != 0) record["line"] = at;
          output.write(dump(record) + "\n");
        } else {
          complain(options, output,
                   name + (at != 0 ? ":" + std::to_string(at) : std::string()) + ": cannot read: " + failure);
        }
        if (at == 0) return;  // a file not read at all has no summary
      }
      output.write(json ? dump({{"file", name}, {"summary", summary_json(counts)}}) + "\n"
                        : summary_text(name, counts));
    };
    pipeline.submit(std::move(end));
  };
  // A FILE that may make the reading wait (stdin, a FIFO: even opening one waits for a writer), or
  // that cannot be read: what came before is printed first, so that nothing already checked waits
  // on it. A regular file is read while the last batches of the one before are checked.
  struct stat st {};
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) pipeline.drain();
  InputFile in(path);
  if (!in.error().empty()) {
    submit_end(in.error(), 0);
    return;
  }
  std::size_t lines = kFirstLines;
  LineReader reader(in, options.max_bytes, pool);
  Batch batch;
  batch.file = file;
  // The budget counts a read buffer once, with the first batch that points into it: batches are
  // printed in order, and a buffer's batches are consecutive, so of the buffers that batches in
  // flight hold, only the oldest's first may have been counted with a batch already printed.
  std::size_t counted = 0;  // the serial of the last buffer counted
  // Input that pauses (a pipe whose writer is slow, `tail -f`, a terminal): before the reading
  // waits, the lines read so far go to be checked as a batch, whose records the printing thread
  // prints and flushes, so that a line's record comes soon after the line rather than when a batch
  // is full or the input ends. Input that does not pause (a file, a writer that refills the pipe
  // within kPauseMs, a trickle of lines closer together than that) is read in full batches.
  if (!options.quiet) {
    reader.on_pause([&] {
      if (batch.items.empty()) return;
      pipeline.submit(std::move(batch));
      batch = Batch();
      batch.file = file;
    });
  }
  std::string_view line;
  bool too_large = false;
  std::size_t number = 0;
  const auto submit = [&] {
    const bool growing = batch.items.size() >= lines && lines < kMostLines;
    pipeline.submit(std::move(batch));
    if (growing) lines *= 2;
    batch = Batch();
    batch.file = file;
    batch.items.reserve(lines);  // the next batch is likely as big
  };
  while (!output.failed() && reader.next(line, too_large)) {
    ++number;
    if (!too_large && is_blank(line)) continue;  // NDJSON readers commonly allow blank lines
    batch.bytes += line.size() + 1;
    batch.line_bytes += line.size() + 1;
    if (too_large || reader.gathered()) {
      batch.items.push_back({number, nullptr, batch.text.size(), line.size(), too_large});
      batch.text += line;
    } else {
      const Chunk& chunk = reader.chunk();
      if (batch.chunks.empty() || batch.chunks.back() != chunk.data) {
        // A batch points into two buffers at most, so that lines far apart (too large ones
        // between them) do not keep many buffers for a few bytes each.
        if (batch.chunks.size() == 2) submit();
        batch.chunks.push_back(chunk.data);
        if (counted != chunk.serial) {
          counted = chunk.serial;
          batch.bytes += chunk.size;
        }
      }
      batch.items.push_back({number, line.data(), 0, line.size(), false});
    }
    if (batch.items.size() >= lines || batch.line_bytes >= kBatchBytes) submit();
  }
  if (!batch.items.empty()) pipeline.submit(std::move(batch));
  submit_end(reader.failed() ? in.error() : std::string(), number + 1);
}

/// `--ndjson`: one document a line, checked on every core, reported in input order, FILE by FILE.
Counts validate_ndjson(const std::vector<std::string>& paths, const Checker& checker, const Options& options,
                       Output& output) {
  const unsigned jobs = options.jobs != 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  // Room for four batches a job, and for the read buffers their lines are in (one holds the lines
  // of about four full batches).
  const std::size_t budget =
      std::max<std::size_t>(16u << 20, 4u * jobs * (kBatchBytes + ChunkPool::kSize / 4));
  // Every FILE's reading takes its buffers here; a batch done with one gives it back.
  const auto pool = std::make_shared<ChunkPool>();
  BatchPipeline pipeline(checker, jobs, budget, output);
  output.grow_pipe(256 << 10);
  for (const auto& path : paths) {
    if (output.failed()) break;
    read_ndjson(path, checker, options, output, pipeline, pool);
  }
  return pipeline.finish();
}

/// One document a FILE; text prints as it goes, json streams one document with every file.
Counts validate_files(const std::vector<std::string>& paths, const Checker& checker, const Schema& schema,
                      const Options& options, Output& output) {
  Counts total;
  if (checker.json()) output.write("{\"schema\":" + dump(schema.title()) + ",\"files\":[");
  bool first = true;
  for (const auto& path : paths) {
    if (output.failed()) break;
    const std::string file = display_name(path);
    WholeFile whole = read_whole(path, options.max_bytes);
    Checked checked;
    if (!whole.error.empty()) {
      checked.counts.unreadable = 1;
      if (checker.json())
        checked.text = dump({{"file", file},
                             {"valid", false},
                             {"error", {{"kind", "unreadable"}, {"message", whole.error}}}});
      else
        complain(options, output, file + ": cannot read: " + whole.error);
    } else {
      try {
        checked = whole.too_large ? checker.too_large(file, 0) : checker.check(whole.text, file, 0);
      } catch (const std::exception& e) {
        checked = Checked{};
        checked.counts.documents = 1;
        checked.counts.internal = 1;
        std::string message = std::string("internal error: ") + e.what();
        if (checker.json())
          checked.text = dump(
              {{"file", file}, {"valid", false}, {"error", {{"kind", "internal"}, {"message", message}}}});
        else
          complain(options, output, file + ": " + message);
      }
    }
    total.add(checked.counts);
    if (checker.json()) {
      output.write((first ? "" : ",") + checked.text);
      first = false;
    } else {
      output.write(checked.text);
    }
  }
  if (checker.json()) {
    bool all_valid = total.exit_code() == kExitOk;
    output.write("],\"valid\":" + std::string(all_valid ? "true" : "false") +
                 ",\"summary\":" + dump(summary_json(total)) + "}\n");
  }
  return total;
}

std::string join_statuses(const std::vector<int>& statuses) {
  std::string s;
  for (int status : statuses) s += (s.empty() ? "" : ", ") + std::to_string(status);
  return s;
}

/// The contract the request/response modes use: --contract (a built-in name or a folder), else the
/// built-in contract of record.
const Contract& load_contract(const Options& options, std::optional<Contract>& storage) {
  if (options.contract.empty()) return Contract::builtin();
  try {
    storage.emplace(Contract::resolve(options.contract));
    return *storage;
  } catch (const SchemaError& e) {
    throw UsageError(e.what());
  }
}

/// The operation whose request or responses are checked: --operation, else the contract's one of
/// record.
const Operation& pick_operation(const Options& options, const Contract& contract) {
  if (options.operation.empty()) return contract.operation_of_record();
  if (const Operation* op = contract.operation(options.operation)) return *op;
  std::string known;
  for (const auto& [key, op] : contract.operations()) known += (known.empty() ? "" : ", ") + key;
  throw UsageError("--operation " + options.operation + ": contract " + contract.name() + " has " + known);
}

/// Compiles --schema, resolving its cross-file "$ref"s in --schema-dir or in its own folder.
Schema load_schema(const Options& options) {
  std::error_code ec;
  if (fs::is_directory(options.schema, ec))
    throw UsageError("--schema " + options.schema + ": is a directory");
  try {
    // Any schema hides the values of the built-in contract's secret fields in its findings.
    const auto& secrets = Contract::builtin().secret_fields();
    if (options.schema_dir.empty()) return Schema::from_file(options.schema).with_secret_fields(secrets);
    SchemaStore store = SchemaStore::from_directory(options.schema_dir);
    std::ifstream in(options.schema, std::ios::binary);
    if (!in) throw UsageError("--schema " + options.schema + ": cannot read: " + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    std::string name = fs::path(options.schema).filename().string();
    store.add(name, text.str());
    return Schema::compile(store, name).with_secret_fields(secrets);
  } catch (const SchemaError& e) {
    throw UsageError(e.what());
  }
}

int run(const Options& options, bool request_mode, bool response_mode) {
  const std::vector<std::string>* files = nullptr;
  std::optional<Contract> contract_storage;
  std::optional<Schema> own_schema;
  const Schema* schema = nullptr;

  if (!options.schema.empty()) {
    if (request_mode || response_mode)
      throw UsageError("--schema replaces `request`/`response`: give one or the other");
    if (!options.contract.empty() || !options.operation.empty())
      throw UsageError(
          "--schema replaces the contract: --contract and --operation go with `request`/`response`");
    if (options.files.empty()) throw UsageError("no FILE given (use - for stdin)");
    own_schema.emplace(load_schema(options));
    schema = &*own_schema;
    files = &options.files;
  } else if (request_mode || response_mode) {
    if (!options.files.empty())
      throw UsageError("unexpected argument '" + options.files.front() +
                       "' before the subcommand (put FILEs after `request` or `response`)");
    if (!options.schema_dir.empty())
      throw UsageError("--schema-dir goes with --schema (a contract holds its own schemas)");
    const Contract& contract = load_contract(options, contract_storage);
    const Operation& op = pick_operation(options, contract);
    if (request_mode) {
      if (!op.request) throw UsageError(op.name + " (" + op.id + ") takes no request body");
      schema = op.request->schema;
      files = &options.request_files;
    } else {
      const auto successes = op.success_statuses();
      const int status = options.status != 0 ? options.status : successes.empty() ? 0 : successes.front();
      const ResponseSpec* response = op.response(status);
      if (response == nullptr)
        throw UsageError("status " + std::to_string(status) + " is not documented for " + op.id +
                         "; documented statuses: " + join_statuses(op.statuses()));
      if (response->schema == nullptr)
        throw UsageError("status " + std::to_string(status) + " of " + op.id + " has no body to validate");
      schema = response->schema;
      files = &options.response_files;
    }
  } else {
    throw UsageError(
        "say what to validate against: `request`, `response [--status N]`, or --schema SCHEMA.json");
  }
  if (options.max_depth > kDepthCeiling)
    throw UsageError("--max-depth " + std::to_string(options.max_depth) + " is above the ceiling of " +
                     std::to_string(kDepthCeiling));

  std::optional<Schema> strict_schema;
  if (options.strict) {
    try {
      strict_schema.emplace(schema->strict());
    } catch (const SchemaError& e) {
      throw UsageError(e.what());
    }
    schema = &*strict_schema;
  }
  Output output(options.quiet);
  Checker checker(*schema, options);
  Counts total;
  if (options.ndjson) {
    total = validate_ndjson(*files, checker, options, output);
  } else {
    total = validate_files(*files, checker, *schema, options, output);
  }
  output.flush();
  if (output.failed()) {
    std::cerr << kTool << ": cannot write the output: " << output.error() << '\n';
    return kExitUsage;
  }
  return total.exit_code();
}

constexpr const char* kFooter =
    R"footer(FILE is a path, or - for stdin. NDJSON (--ndjson) is one document a line; blank lines are skipped.
Text output: "FILE: valid", or "FILE: invalid (N findings)" and one line a finding
("  POINTER: message [keyword]"), or one line "FILE: line L, column C: message" for input that is
not JSON. With --ndjson the label is FILE:LINE, and a summary ends each file
("FILE: N documents, V valid, I invalid, J not JSON, F findings"). --format json is described, with
a JSON Schema of it, in docs/validate-json-output.md. Values of the contract's secret fields
(@SECRETS@) never appear in any output, nor does the same value elsewhere.
Schemas: draft-07; a "$schema" naming draft-06 or draft-04 gets that draft's semantics, any other
draft (2019-09, 2020-12, draft-03) is refused (exit 2). A recursive schema is applied to documents
nesting at most 512 levels; a deeper one gets a finding of keyword "depth".
Exit codes:
  0  every document is valid
  1  a document breaks the schema, or is not acceptable JSON (syntax, not UTF-8, empty, larger
     than --max-bytes, deeper than --max-depth)
  2  usage error (bad option, undocumented --status), a FILE that cannot be read (missing, a
     directory, no permission), or a schema or manifest that cannot be loaded (unreadable, not
     JSON, a broken "$ref", a "$schema" of an unsupported draft, a schema that applies itself
     to the same value without end)
  With several FILEs the highest code applies. A FILE named like a subcommand goes after "--".)footer";

}  // namespace

void add_validate_command(CLI::App& app, CommandResult& result) {
  auto options = std::make_shared<Options>();
  CLI::App* validate = app.add_subcommand(
      "validate",
      "Validate request or response documents against the contract, or against any draft-07 schema");
  std::string footer = kFooter;
  footer.replace(footer.find("@SECRETS@"), 9, "default contract: " + secret_field_names());
  validate->footer(footer);
  validate->set_version_flag("--version", std::string("sipcontract ") + SIPCONTRACT_VERSION);
  validate->require_subcommand(0, 1);

  validate
      ->add_option(
          "--schema", options->schema,
          "Validate against this draft-07 schema (or draft-06/04, by its \"$schema\") instead of the "
          "contract; its \"$ref\"s to other files resolve in its folder (or --schema-dir)")
      ->type_name("FILE");
  validate
      ->add_option("--schema-dir", options->schema_dir,
                   "With --schema: the folder its \"$ref\"s to other files resolve in")
      ->type_name("DIR");
  validate
      ->add_option("--contract", options->contract,
                   "The contract: a built-in one (" + builtin_contract_names() +
                       ") or a contract folder (contract.json, schemas/, cases/); default: the built-in v1")
      ->type_name("NAME|DIR");
  validate
      ->add_option("--operation", options->operation,
                   "The contract operation whose request or response to check (default: the one of record)")
      ->type_name("NAME");
  validate->add_flag("--ndjson", options->ndjson,
                     "Each FILE holds one JSON document a line; report by FILE:LINE");
  validate->add_option("-j,--jobs", options->jobs, "Worker threads for --ndjson (default: one per core)")
      ->type_name("N")
      ->check(CLI::Range(1u, 1024u));
  validate
      ->add_option("--format", options->format,
                   "Output format: text, or json (one JSON document; with "
                   "--ndjson one JSON object a line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  validate->add_flag("-q,--quiet", options->quiet,
                     "Print nothing but usage errors; the exit code is the verdict");
  validate->add_flag("--strict", options->strict,
                     "Also report members that no schema object applying to their object declares "
                     "(misspelled fields), with the closest declared name as a suggestion");
  validate
      ->add_option(
          "--max-findings", options->max_findings,
          "Findings printed per document, 0 for every one the validator reports (it stops after a fixed "
          "number and says so in a last [limit] finding)")
      ->capture_default_str();
  validate
      ->add_option("--max-bytes", options->max_bytes,
                   "Largest document accepted (NDJSON: largest line); "
                   "units such as 16MB are accepted")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(std::size_t{1}, kBytesCeiling))
      ->capture_default_str();
  validate
      ->add_option(
          "--max-depth", options->max_depth,
          "Deepest nesting of arrays and objects accepted (at most " + std::to_string(kDepthCeiling) + ")")
      ->check(CLI::Range(std::size_t{1}, kDepthCeiling))
      ->capture_default_str();
  validate->add_option("files", options->files, "Documents to validate with --schema")->type_name("FILE");

  CLI::App* request =
      validate->add_subcommand("request", "Validate request bodies of the contract's operation (default: " +
                                              Contract::builtin().operation_of_record().title + ")");
  request->fallthrough();
  request->add_option("files", options->request_files, "Request documents (- for stdin)")
      ->type_name("FILE")
      ->required();
  request->footer("Every option of `sipcontract validate` applies (see sipcontract validate --help).");

  CLI::App* response = validate->add_subcommand("response", "Validate response bodies of one status");
  response->fallthrough();
  response
      ->add_option("--status", options->status,
                   "HTTP status whose documented body to check against (default: the operation's 2xx)")
      ->capture_default_str();
  response->add_option("files", options->response_files, "Response documents (- for stdin)")
      ->type_name("FILE")
      ->required();
  response->footer("Every option of `sipcontract validate` applies (see sipcontract validate --help).");

  validate->callback([options, request, response, &result] {
    try {
      result.exit_code = run(*options, request->parsed(), response->parsed());
    } catch (const UsageError& e) {
      std::cerr << kTool << ": " << e.what() << " (see sipcontract validate --help)\n";
      result.exit_code = kExitUsage;
    } catch (const std::exception& e) {
      std::cerr << kTool << ": " << e.what() << '\n';
      result.exit_code = kExitUsage;
    }
  });
}

}  // namespace sipcontract::cli
