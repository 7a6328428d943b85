// Helpers for the reference server tests: a started server on a free loopback port, an httplib
// client per test, raw sockets for what httplib's client cannot send, and contract checks.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "sipcontract/server.hpp"
#include "sipcontract/validate.hpp"

namespace sipcontract::test {

using Json = nlohmann::json;

/// A reference server started on 127.0.0.1 and a free port; stopped by the destructor.
class RunningServer {
 public:
  explicit RunningServer(ServerOptions options = {}) : server_(std::move(options)) { server_.start(); }
  ~RunningServer() { server_.stop(); }

  ReferenceServer& server() { return server_; }
  const ServerOptions& options() const { return server_.options(); }
  int port() const { return server_.port(); }
  const std::string& subscriber() const { return server_.options().parents.front(); }

  /// "/api/fabric/resources/subscribers/<subscriber>/sip_endpoints"
  std::string collection(const std::string& subscriber = {}) const {
    return "/api/fabric/resources/subscribers/" + (subscriber.empty() ? this->subscriber() : subscriber) +
           "/sip_endpoints";
  }

  /// A keep-alive client with the server's credentials (or none) and generous timeouts.
  std::unique_ptr<httplib::Client> client(bool with_credentials = true) const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port());
    if (with_credentials) c->set_basic_auth(options().project_id.c_str(), options().api_token.c_str());
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);  // without it, Nagle and delayed ACKs add ~40 ms per keep-alive request
    c->set_connection_timeout(30, 0);
    c->set_read_timeout(60, 0);
    c->set_write_timeout(60, 0);
    return c;
  }

 private:
  ReferenceServer server_;
};

/// A valid create body with a username nobody else uses.
inline Json valid_body(const std::string& username) {
  return Json{{"username", username},
              {"password", "s3cret-Passw0rd!"},
              {"password_confirmation", "s3cret-Passw0rd!"}};
}

/// A username unique within the process.
inline std::string unique_username(const std::string& prefix = "user") {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

/// The transport error of a failed httplib call, for assertion messages.
inline std::string describe(const httplib::Result& r) {
  if (r) return "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 400);
  return "transport error: " + httplib::to_string(r.error());
}

/// POSTs `body` as JSON to `path`.
inline httplib::Result post_json(httplib::Client& c, const std::string& path, const std::string& body) {
  return c.Post(path.c_str(), body, "application/json");
}

/// Parses a response body; fails the test when it is not JSON.
inline Json parse_body(const httplib::Result& r) {
  REQUIRE(r);
  auto parsed = parse_json(r->body);
  INFO(r->body.substr(0, 400));
  REQUIRE(static_cast<bool>(parsed));
  return *parsed;
}

/// Checks a response against the contract's schema for its status (201 and 422 in particular).
inline void require_conforms(const httplib::Result& r) {
  REQUIRE(r);
  const Json body = parse_body(r);
  const Result result = Contract::builtin().validate_response(r->status, body);
  std::string findings;
  for (const auto& f : result.findings) findings += to_string(f) + "\n";
  INFO("status " << r->status << " body " << r->body.substr(0, 400) << "\n" << findings);
  REQUIRE(result.valid());
  REQUIRE(r->get_header_value("Content-Type").rfind("application/json", 0) == 0);
}

/// The codes of a 422 body's items.
inline std::vector<std::string> error_codes(const Json& body) {
  std::vector<std::string> codes;
  for (const auto& item : body.at("errors")) codes.push_back(item.at("code").get<std::string>());
  return codes;
}

/// A blocking TCP connection for requests httplib's client will not send (half requests, raw
/// headers). Every wait is bounded.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  /// Sends all of `data`; false when the peer is gone.
  bool send(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  /// Reads until the peer closes (or resets) the connection or `timeout` passes; `closed` tells which.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool& closed) {
    std::string out;
    closed = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

  /// Reads one whole answer (status line, headers and a Content-Length body), whatever arrives in
  /// the same reads stays buffered for the next call; empty when none arrives within `timeout`.
  std::string read_response(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[65536];
    for (;;) {
      const auto head_end = pending_.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const std::string head = pending_.substr(0, head_end);
        const auto at = head.find("\r\nContent-Length: ");
        if (at != std::string::npos) length = std::stoul(head.substr(at + 18));
        const std::size_t total = head_end + 4 + length;
        if (pending_.size() >= total) {
          std::string response = pending_.substr(0, total);
          pending_.erase(0, total);
          return response;
        }
      }
      if (std::chrono::steady_clock::now() >= deadline) return {};
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return {};
      pending_.append(buffer, static_cast<std::size_t>(n));
    }
  }

  /// Reads until `text` has arrived, the peer closes, or `timeout` passes.
  std::string read_until(const std::string& text, std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[65536];
    while (std::chrono::steady_clock::now() < deadline && out.find(text) == std::string::npos) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  int fd_ = -1;
  std::string pending_;  // received by read_response() past the answer it returned
};

/// The status of a raw answer ("HTTP/1.1 201 Created\r\n..." -> 201; 0 when it is none).
inline int status_of(const std::string& response) {
  return response.rfind("HTTP/1.1 ", 0) == 0 && response.size() >= 12
             ? std::atoi(response.substr(9, 3).c_str())
             : 0;
}

/// The body of a raw answer (everything after its head).
inline std::string body_of(const std::string& response) {
  const auto at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

/// "Authorization: Basic ..." for the server's credentials.
inline std::string authorization_header(const ServerOptions& o) {
  const auto header = httplib::make_basic_authentication_header(o.project_id, o.api_token);
  return header.first + ": " + header.second;
}

}  // namespace sipcontract::test
