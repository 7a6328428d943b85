// The wire: one cpp-httplib client per worker, bounded reads, and retries that are reported.
//
// cpp-httplib 0.11.4 reads any body size and follows no redirect by default; both matter here:
// a content receiver stops past --max-response-bytes, and redirects stay unfollowed so the
// credentials never reach another host (a 3xx is reported by the checks instead).
#include <httplib.h>
#include <openssl/x509.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "internal.hpp"
#include "sipcontract/ascii.hpp"

namespace sipcontract::detail {

using Clock = std::chrono::steady_clock;

/// Cuts requests that pass their hard deadline or whose response grows past its byte bound.
/// One thread serves every session of a run and sleeps until the next moment it must look: the
/// earliest deadline, or the next byte count of a request in flight (every kByteCheckInterval).
/// Arming a request whose moments come later than that one (every request of a run whose
/// answers come in time) wakes nobody: a request costs two short critical sections and no
/// context switch, and the thread wakes at most once per interval however many requests run.
class Watchdog {
 public:
  static constexpr std::chrono::milliseconds kByteCheckInterval{10};

  /// One session's request in flight. The socket fields are written by httplib's socket-options
  /// callback, which runs under httplib's socket mutex and so takes no lock of ours (the watchdog
  /// takes ours, then httplib's in client->stop()); everything else is guarded by the mutex.
  struct Slot {
    httplib::Client* client = nullptr;
    std::uint64_t max_bytes = 0;               // the whole response: status line, headers and body
    std::atomic<int> socket_fd{-1};            // the client's current socket
    std::atomic<std::uint64_t> connection{0};  // sockets opened so far
    std::optional<Clock::time_point> deadline;
    bool fired = false;
    bool cut_for_size = false;
    bool cut_for_abort = false;
    std::uint64_t armed_connection = 0;  // which request's bytes are counted, and from where
    bool armed_socket_open = false;
    std::uint64_t base_bytes = 0;
  };

  explicit Watchdog(const std::atomic<int>* abort) : abort_(abort) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  void add(Slot& slot) {
    std::lock_guard lock(mutex_);
    slots_.push_back(&slot);
    if (!thread_.joinable()) thread_ = std::thread([this] { watch(); });
  }

  void remove(Slot& slot) {
    std::lock_guard lock(mutex_);
    slots_.erase(std::remove(slots_.begin(), slots_.end(), &slot), slots_.end());
  }

  /// Sets the hard deadline of the slot's request about to be sent and where its byte count starts.
  void arm(Slot& slot, Clock::time_point deadline) {
    const bool socket_open = slot.client->is_socket_open() != 0;  // a keep-alive connection to reuse
    const std::uint64_t base = socket_open ? tcp_bytes_received(slot.socket_fd.load()).value_or(0) : 0;
    const auto look_at = std::min(deadline, Clock::now() + kByteCheckInterval);
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      slot.deadline = deadline;
      slot.fired = false;
      slot.cut_for_size = false;
      slot.cut_for_abort = false;
      slot.armed_connection = slot.connection.load();
      slot.armed_socket_open = socket_open;
      slot.base_bytes = base;
      wake = look_at < sleeping_until_;
    }
    if (wake) cv_.notify_one();
  }

  /// Clears the slot's deadline; true when the watchdog cut its request (`for_size`: because of
  /// its size; `for_abort`: because the run was aborted).
  bool disarm(Slot& slot, bool& for_size, bool& for_abort) {
    std::lock_guard lock(mutex_);
    slot.deadline.reset();
    for_size = slot.cut_for_size;
    for_abort = slot.cut_for_abort;
    return slot.fired;
  }

 private:
  /// Bytes received for the slot's armed request so far, when they can be told (under mutex_).
  static std::optional<std::uint64_t> received_since_arm(Slot& slot) {
    if (const auto connection = slot.connection.load(); connection != slot.armed_connection) {
      // A connection opened for this request: everything on it belongs to the request.
      slot.armed_connection = connection;
      slot.armed_socket_open = true;
      slot.base_bytes = 0;
    }
    if (!slot.armed_socket_open) return std::nullopt;  // still connecting
    const auto now = tcp_bytes_received(slot.socket_fd.load());
    if (!now || *now < slot.base_bytes) return std::nullopt;
    return *now - slot.base_bytes;
  }

  void watch() {
    std::unique_lock lock(mutex_);
    while (!quit_) {
      const auto now = Clock::now();
      auto next = Clock::time_point::max();
      const bool abort = abort_ && abort_->load() != 0;
      for (Slot* slot : slots_) {
        if (!slot->deadline) continue;
        if (abort) {  // a second signal: every request in flight ends now
          slot->fired = true;
          slot->cut_for_abort = true;
          slot->deadline.reset();
          slot->client->stop();
          continue;
        }
        // httplib bounds neither the number of response headers nor their total size, so a target
        // that sends headers without end would grow memory until the deadline. The kernel's count
        // of received bytes bounds the whole response instead: past max_response_bytes plus 1 MiB
        // for the status line and headers, the request is cut and reported under "size".
        const auto received = received_since_arm(*slot);
        const bool too_large = received && *received > slot->max_bytes;
        if (too_large || *slot->deadline <= now) {
          // Shutting the socket ends the read. Done under the lock, so it can never hit the
          // slot's next request.
          slot->fired = true;
          slot->cut_for_size = too_large;
          slot->deadline.reset();
          slot->client->stop();
        } else {
          next = std::min({next, *slot->deadline, now + kByteCheckInterval});
        }
      }
      sleeping_until_ = next;
      if (next == Clock::time_point::max())
        cv_.wait(lock);
      else
        cv_.wait_until(lock, next);
    }
  }

  const std::atomic<int>* abort_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
  std::vector<Slot*> slots_;
  // When the thread looks next; an earlier moment must wake it (max: asleep with nothing armed).
  Clock::time_point sleeping_until_ = Clock::time_point::max();
  bool quit_ = false;
};

std::shared_ptr<Watchdog> make_watchdog(const std::atomic<int>* abort) {
  return std::make_shared<Watchdog>(abort);
}

class HttpSession {
 public:
  HttpSession(const BaseUrl& url, const TransportOptions& options, std::shared_ptr<Watchdog> watchdog)
      : client_(url.origin()),
        host_(url.host),
        options_(options),
        watchdog_(watchdog ? std::move(watchdog) : make_watchdog()) {
    if (!client_.is_valid())
      throw ConfigError("cannot create an HTTP client for " + url.origin() +
                        (url.scheme == "https" ? " (TLS: check --ca-file)" : ""));
    client_.set_keep_alive(true);
    // httplib writes the headers and the body separately: with Nagle's algorithm on, the body
    // waits for the server's delayed ACK (~40 ms a request).
    client_.set_tcp_nodelay(true);
    client_.set_follow_location(false);  // never forward credentials to another host
    client_.set_url_encode(false);       // paths are encoded by fill_path
    client_.set_connection_timeout(options.timeout);
    client_.set_read_timeout(options.timeout);
    client_.set_write_timeout(options.timeout);
    if (url.scheme == "https") {
      client_.enable_server_certificate_verification(!options.insecure);
      if (!options.ca_file.empty()) client_.set_ca_cert_path(options.ca_file);
    }
    // Compressed answers are asked for, as clients of the API ask for them: a server that gzips is
    // checked on what it sends (httplib decompresses; the size bound applies to what it yields).
    client_.set_default_headers({{"User-Agent", std::string("sipcontract/") + SIPCONTRACT_RUNNER_VERSION},
                                 {"Accept", "application/json"},
                                 {"Accept-Encoding", "gzip, deflate"}});
    // The watchdog reads the socket's received-byte count (see Watchdog::watch()).
    client_.set_socket_options([this](socket_t sock) {
      slot_.socket_fd.store(sock);
      slot_.connection.fetch_add(1);
    });
    slot_.client = &client_;
    slot_.max_bytes = options.max_response_bytes + kHeaderAllowance;
    watchdog_->add(slot_);
  }

  ~HttpSession() { watchdog_->remove(slot_); }
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  Exchange attempt(const OutgoingRequest& r) {
    Exchange ex;
    httplib::Request req;
    req.method = r.method;
    req.path = r.path;
    if (r.authorization) req.set_header("Authorization", *r.authorization);
    if (r.body) {
      req.body = *r.body;
      req.set_header("Content-Type", r.content_type);
    }
    // Three bounds: the read timeout cuts a stalled answer, the content receiver one whose body
    // trickles, and the watchdog anything else (a status line or headers sent a byte at a time,
    // or without end) at a hard deadline. Connecting is bounded on its own, so an unreachable
    // host is a transport error, not a slow answer.
    using std::chrono::milliseconds;
    auto limit =
        r.bounded ? std::min(options_.timeout, options_.max_time + milliseconds(50)) : options_.timeout;
    client_.set_connection_timeout(r.bounded ? std::min(options_.timeout, options_.max_time)
                                             : options_.timeout);
    client_.set_read_timeout(limit);
    client_.set_write_timeout(limit);
    const auto total = r.bounded ? options_.max_time + milliseconds(250) : options_.timeout * 2;

    bool too_large = false;
    bool too_slow = false;
    const auto start = Clock::now();
    const std::size_t cap = options_.max_response_bytes;
    req.response_handler = [&](const httplib::Response& res) {
      auto declared = res.get_header_value("Content-Length");
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(declared.data(), declared.data() + declared.size(), n);
      if (!declared.empty() && ec == std::errc() && p == declared.data() + declared.size() && n > cap) {
        too_large = true;
        return false;
      }
      return true;
    };
    req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
      if (ex.body.size() + n > cap) {
        too_large = true;
        return false;
      }
      if (r.bounded && Clock::now() - start > options_.max_time) {
        too_slow = true;
        return false;
      }
      ex.body.append(data, n);
      return true;
    };

    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    watchdog_->arm(slot_, start + total);
    bool ok = client_.send(req, res, err);
    bool cut_for_size = false;
    bool cut_for_abort = false;
    const bool cut = watchdog_->disarm(slot_, cut_for_size, cut_for_abort);
    ex.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (ok && err == httplib::Error::Success && !cut) {
      ex.status = res.status;
      ex.headers.reserve(res.headers.size());
      for (auto& [k, v] : res.headers) ex.headers.emplace_back(k, std::move(v));
      return ex;
    }
    ex.status = -1;
    ex.body.clear();
    const bool past_max_time = r.bounded && ex.elapsed_ms >= static_cast<double>(options_.max_time.count());
    if (cut_for_abort) {
      ex.failure = Exchange::Failure::kCanceled;
      ex.failure_detail = "cut short: the run was interrupted a second time";
    } else if (too_large || cut_for_size) {
      ex.failure = Exchange::Failure::kTooLarge;
      ex.status = res.status;
      ex.failure_detail = too_large ? "the response body passed " + std::to_string(cap) +
                                          " bytes (--max-response-bytes); reading stopped"
                                    : "the response passed " + std::to_string(cap + kHeaderAllowance) +
                                          " bytes with its headers (--max-response-bytes + 1 MiB); "
                                          "reading stopped";
    } else if (too_slow || (r.bounded && cut) ||
               (past_max_time && (err == httplib::Error::Read || err == httplib::Error::Write))) {
      ex.failure = Exchange::Failure::kTooSlow;
      ex.failure_detail = "no complete response within " + std::to_string(options_.max_time.count()) +
                          " ms (--max-time); reading stopped";
    } else if (cut) {
      ex.failure = Exchange::Failure::kTransport;
      ex.failure_detail =
          "no complete response within " + std::to_string(total.count()) + " ms; the connection was cut";
    } else {
      ex.failure = Exchange::Failure::kTransport;
      ex.failure_detail = describe(err);
      ex.nothing_sent = err == httplib::Error::Connection || err == httplib::Error::ConnectionTimeout ||
                        err == httplib::Error::SSLConnection ||
                        err == httplib::Error::SSLServerVerification ||
                        err == httplib::Error::SSLLoadingCerts || err == httplib::Error::BindIPAddress;
      write_failed_ = err == httplib::Error::Write;
      tls_verification_failed_ =
          err == httplib::Error::SSLServerVerification || err == httplib::Error::SSLLoadingCerts;
      describe_tls(err, ex);
    }
    return ex;
  }

  const TransportOptions& options() const { return options_; }
  std::shared_ptr<Pacer> pacer;  // --rate: shared by the run's sessions
  bool write_failed() const { return write_failed_; }
  bool tls_verification_failed() const { return tls_verification_failed_; }

 private:
  std::string describe(httplib::Error err) const {
    switch (err) {
      case httplib::Error::Connection:
        return "could not connect (Connection)";
      case httplib::Error::ConnectionTimeout:
        return "connecting timed out after " + std::to_string(options_.timeout.count()) +
               " ms (ConnectionTimeout)";
      case httplib::Error::Read:
        return "the connection closed or timed out before a complete response (Read)";
      case httplib::Error::Write:
        return "sending the request failed (Write)";
      case httplib::Error::SSLConnection:
        return "the TLS handshake failed (SSLConnection)";
      case httplib::Error::SSLServerVerification: {
        // httplib reports an untrusted chain and a certificate for another host alike; OpenSSL's
        // verify result tells them apart (X509_V_OK: the chain verified, so the name did not).
        const long result = client_.get_openssl_verify_result();
        if (result == X509_V_OK)
          return "the server's TLS certificate is not for host " + host_ + " (host name mismatch)";
        return std::string("the server's TLS certificate did not verify: ") +
               X509_verify_cert_error_string(result);
      }
      case httplib::Error::SSLLoadingCerts:
        return "the CA certificates could not be loaded (SSLLoadingCerts; see --ca-file)";
      case httplib::Error::Compression:
        return "the response could not be decompressed (Compression)";
      case httplib::Error::Canceled:
        return "the request was canceled (Canceled)";
      default:
        return "transport error (" + httplib::to_string(err) + ")";
    }
  }

  /// Marks a TLS failure and says what to do about it.
  void describe_tls(httplib::Error err, Exchange& ex) {
    switch (err) {
      case httplib::Error::SSLServerVerification:
        ex.tls_problem = true;
        ex.tls_problem_advice =
            client_.get_openssl_verify_result() == X509_V_OK
                ? "use a host name the certificate names in --base-url"
                : "pass the CA that issued the certificate with --ca-file FILE (or --insecure to skip "
                  "verification, which every report then says)";
        break;
      case httplib::Error::SSLLoadingCerts:
        ex.tls_problem = true;
        ex.tls_problem_advice = "check --ca-file, or the system's CA certificates";
        break;
      case httplib::Error::SSLConnection:
        ex.tls_problem = true;
        ex.tls_problem_advice =
            "check that the target speaks TLS on this port (or use http:// for a plain one)";
        break;
      default:
        break;
    }
  }

  static constexpr std::uint64_t kHeaderAllowance = 1u << 20;

  httplib::Client client_;
  std::string host_;
  TransportOptions options_;
  std::shared_ptr<Watchdog> watchdog_;
  Watchdog::Slot slot_;
  bool write_failed_ = false;
  bool tls_verification_failed_ = false;
};

SessionPtr make_session(const BaseUrl& url, const TransportOptions& options,
                        std::shared_ptr<Watchdog> watchdog) {
  return SessionPtr(new HttpSession(url, options, std::move(watchdog)));
}

void destroy_session(HttpSession* session) { delete session; }

Pacer::Pacer(double rate)
    : interval_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(1.0 / rate))) {}

bool Pacer::wait(const std::atomic<int>* cancel) {
  std::chrono::steady_clock::time_point slot;
  {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    slot = std::max(now, next_);
    next_ = slot + interval_;
  }
  // Slept in short pieces, so an interrupted run does not wait out a slow rate.
  while (std::chrono::steady_clock::now() < slot) {
    if (cancel && cancel->load() != 0) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        slot - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
  }
  return true;
}

void set_pacer(HttpSession& session, std::shared_ptr<Pacer> pacer) { session.pacer = std::move(pacer); }

std::string Exchange::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (ascii_iequals(k, name)) return v;  // header names are ASCII
  }
  return "";
}

namespace {

/// Retry-After as a wait: delta-seconds or an HTTP-date; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> retry_after(const Exchange& ex) {
  auto v = ex.header("Retry-After");
  if (v.empty()) return std::nullopt;
  long long seconds = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec == std::errc() && p == v.data() + v.size() && seconds >= 0)
    return std::chrono::milliseconds(std::min<long long>(seconds, 86400) * 1000);
  std::tm tm{};
  if (strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
    auto when = timegm(&tm);
    auto now = std::time(nullptr);
    return std::chrono::milliseconds(std::max<long long>(0, static_cast<long long>(when - now)) * 1000);
  }
  return std::nullopt;
}

bool cancelled(const std::atomic<int>* cancel) { return cancel && cancel->load() != 0; }

/// Sleeps up to `d`, waking early when the run is cancelled; false when cancelled.
bool sleep_unless_cancelled(std::chrono::milliseconds d, const std::atomic<int>* cancel) {
  auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (cancelled(cancel)) return false;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(until - Clock::now(), std::chrono::milliseconds(20)));
  }
  return !cancelled(cancel);
}

}  // namespace

Exchange send(HttpSession& session, const OutgoingRequest& request, const std::atomic<int>* cancel) {
  const auto& opts = session.options();
  const bool idempotent = request.method == "GET" || request.method == "DELETE" || request.method == "HEAD";
  std::vector<std::string> notes;
  for (int attempt = 0;; ++attempt) {
    if (session.pacer) session.pacer->wait(cancel);
    Exchange ex = session.attempt(request);
    std::string why;
    if (ex.failure == Exchange::Failure::kTransport && !session.tls_verification_failed()) {
      // A create whose request reached the server may have been carried out: sending it again
      // could create a second endpoint, so only unsent (or idempotent) requests are retried.
      if (ex.nothing_sent || session.write_failed() || idempotent) why = ex.failure_detail;
    } else if (ex.failure == Exchange::Failure::kNone && (ex.status == 429 || ex.status == 503)) {
      why = std::to_string(ex.status) + (ex.status == 429 ? " Too Many Requests" : " Service Unavailable");
    }
    if (why.empty() || attempt >= opts.retries) {
      ex.retries = std::move(notes);
      return ex;
    }
    auto base = opts.backoff * (1LL << std::min(attempt, 20));
    // Seeded on a thread's first retry, not on its first request: most runs never retry.
    thread_local std::mt19937 jitter_rng{std::random_device{}()};
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    auto wait = std::chrono::milliseconds(
        static_cast<long long>(static_cast<double>(base.count()) * jitter(jitter_rng)));
    std::string after;
    if (auto ra = retry_after(ex)) {
      wait = *ra;
      after = ", Retry-After " + std::to_string(ra->count() / 1000) + " s";
    }
    if (wait > opts.max_backoff) {
      after += " capped";
      wait = opts.max_backoff;
    }
    notes.push_back("attempt " + std::to_string(attempt + 2) + " after " + why + " (waited " +
                    std::to_string(wait.count()) + " ms" + after + ")");
    if (!sleep_unless_cancelled(wait, cancel)) {
      notes.back() = "not retried after " + why + ": the run was interrupted";
      ex.retries = std::move(notes);
      return ex;
    }
  }
}

}  // namespace sipcontract::detail
