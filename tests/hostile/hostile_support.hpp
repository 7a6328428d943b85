// Helpers for the hostile-target tests: a raw POSIX socket server that can misbehave freely (no
// HTTP library between the test and the wire), and the `sipcontract` binary run as a child under
// an address-space limit (tests/support's child), with its peak memory, exit status, outputs and
// reports collected.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "sipcontract/base64.hpp"
#include "test_support.hpp"

namespace sipcontract::test {

/// Credentials the tests hand to the runner through its environment: distinctive, so any copy of
/// them in any output is found.
inline constexpr const char* kProjectId = "proj-HOSTILE-4d1c";
inline constexpr const char* kApiToken = "PT-HOSTILE-SECRET-9e2f7a";
inline constexpr const char* kSubscriber = "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b";

/// RFC 4648 base64 with padding: the product's one encoder (src/common, checked against RFC 4648's
/// vectors in tests/common).
using sipcontract::base64_encode;

/// One request as it arrived on the wire.
struct RawRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string local_host;  ///< the address the client connected to ("127.0.0.1", "127.0.0.2")
  /// The first value of header `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
};

/// The connection a behaviour answers on. Every send ignores SIGPIPE and gives up once the peer
/// is gone or the server stops.
class Peer {
 public:
  Peer(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}
  /// Sends all of `data`; false when the peer is gone (or the server stops).
  bool send(std::string_view data);
  /// Sends `total` bytes produced by repeating `chunk` (a body that is never held in memory).
  bool send_repeated(std::string_view chunk, std::size_t total);
  /// Waits `duration`, or less when the server stops or the peer closes; false in those cases.
  bool idle(std::chrono::milliseconds duration);
  /// Closes with a TCP reset (SO_LINGER 0) instead of an orderly close.
  void reset();
  bool stopping() const { return stopping_.load(); }
  /// Set by a behaviour that wants the connection closed after it returns.
  bool close_after = false;

 private:
  int fd_;
  const std::atomic<bool>& stopping_;
  bool reset_ = false;
  friend class HostileServer;
};

/// A behaviour answers one request on `peer` in any way it likes.
using Behaviour = std::function<void(const RawRequest& request, Peer& peer)>;

/// A listener on `host` (a loopback address) and a free port. Each connection gets a thread that
/// reads requests (headers up to 64 KiB, a Content-Length body up to 1 MiB) and hands each to
/// the behaviour; the connection is kept open for the next request unless the behaviour set
/// close_after or reset it. The destructor stops everything and joins the threads.
class HostileServer {
 public:
  explicit HostileServer(Behaviour behaviour, const std::string& host = "127.0.0.1");
  ~HostileServer();
  HostileServer(const HostileServer&) = delete;
  HostileServer& operator=(const HostileServer&) = delete;

  int port() const { return listener_.port(); }
  const std::string& host() const { return host_; }
  /// "http://HOST:PORT/api/fabric"
  std::string base_url() const;
  /// Every request received so far (a copy).
  std::vector<RawRequest> requests() const;
  /// Connections accepted so far.
  std::size_t connections() const { return connections_.load(); }

 private:
  void accept_loop();
  void serve(int fd);

  Behaviour behaviour_;
  std::string host_;
  LoopbackListener listener_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::set<int> open_fds_;
  std::vector<RawRequest> requests_;
};

/// A complete HTTP/1.1 response with a Content-Length body.
std::string http_response(int status, std::string_view body,
                          std::string_view content_type = "application/json",
                          std::string_view extra_headers = "");

/// A behaviour for the requests cleanup sends (GET list: an empty page; DELETE: 404), so that a
/// scenario's misbehaviour is limited to the create it targets. Returns false for other requests.
bool answer_cleanup(const RawRequest& request, Peer& peer);

/// What a `sipcontract run` child did.
struct RunResult {
  bool exited = false;  ///< false: killed after the guard time
  int exit_code = -1;
  int term_signal = 0;
  double seconds = 0;          ///< wall time from start to exit
  long max_rss_kb = 0;         ///< peak resident set size (getrusage of the child)
  std::string out;             ///< stdout
  std::string err;             ///< stderr
  std::string report;          ///< the --report file
  std::string junit;           ///< the --junit file
  nlohmann::json report_json;  ///< the report parsed (null when it did not parse)

  /// Every failure in the report as {case id, check id}.
  std::vector<std::pair<std::string, std::string>> failures() const;
  /// True when case `case_id` failed with check `check`.
  bool failed_with(const std::string& case_id, const std::string& check) const;
  /// One line per failure, plus exit status and stderr, for INFO().
  std::string describe() const;
  /// Every output (stdout, stderr, report, JUnit) joined, for secret searches.
  std::string all_output() const;
};

/// Options of one child run.
struct RunSpec {
  std::vector<std::string> args;                           ///< after "run"
  std::map<std::string, std::string> env;                  ///< added to PATH and the sanitizer variables
  std::size_t address_space_bytes = std::size_t{2} << 30;  ///< RLIMIT_AS (not in sanitizer builds)
  std::chrono::seconds guard{120};                         ///< killed (SIGKILL) past this
};

/// Runs `sipcontract run ARGS --report R --junit J` with the credentials above in its environment.
RunResult run_sipcontract(const RunSpec& spec);

/// The peak resident size a run against a hostile target may reach: generous, but far below what
/// reading one hostile body whole would take (the bodies here are 300 MB or endless).
long rss_bound_kb();

}  // namespace sipcontract::test
