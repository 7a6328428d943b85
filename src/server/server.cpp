// The reference server: an in-memory implementation of the operations a contract gives its main
// resource. Its parts:
//   model.cpp            the contract compiled once: routes, fields, unique rules, answers
//   api.cpp              the business logic (credentials, routing, create/list/get/update/delete)
//   store.cpp            the items, per parent, for many threads
//   layers.cpp           fault modes (faults.cpp) and variants (variants.cpp) as layers around it
//   exchange.hpp         the server's own Request and Response, all the above work on
//   connection.cpp       the transport: connection loop, direct parser, answer writer
//   httplib_adapter.cpp  hands what cpp-httplib parses to the same handler and writer
// This file starts and stops it.
#include "sipcontract/server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "api.hpp"
#include "connection.hpp"
#include "httplib_adapter.hpp"
#include "layers.hpp"
#include "util.hpp"

namespace sipcontract {
namespace {

namespace refserver = detail::refserver;

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  return text;
}

}  // namespace

struct ReferenceServer::Impl {
  Impl(ServerOptions opts, const Contract& c) : options(std::move(opts)), contract(c), model(c) {}

  ServerOptions options;
  const Contract& contract;
  refserver::Model model;                         // the contract, compiled once
  std::unique_ptr<refserver::Api> api;            // made once the options are complete
  std::unique_ptr<refserver::Pipeline> pipeline;  // the api in the layers the options ask for
  std::unique_ptr<refserver::HttpServer> http;
  std::thread listener;
  int bound_port = 0;
  int listening_fd = -1;  // the listening socket, as the socket-options callback last saw it
  bool started = false;
  bool stopped = false;
  mutable std::mutex lifecycle_mutex;
  std::mutex log_mutex;

  void log(const refserver::Request& req, const refserver::Response& res, std::size_t bytes,
           std::chrono::steady_clock::duration elapsed) {
    const double ms = std::chrono::duration<double, std::milli>(elapsed).count();
    char duration[32];
    std::snprintf(duration, sizeof duration, "%.3fms", ms);
    // Only the path: a query string or a header could carry anything, and none is needed here.
    std::string line = utc_timestamp() + " " + refserver::printable(req.remote_addr) + " \"" +
                       refserver::printable(req.method.substr(0, 16)) + " " +
                       refserver::printable(req.path.substr(0, 512)) + "\" " + std::to_string(res.status) +
                       " " + std::to_string(bytes) + " " + duration;
    if (res.reset) line += " reset";
    std::lock_guard lock(log_mutex);
    options.access_log(line);
  }

  void configure(refserver::HttpServer& server) {
    server.set_payload_max_length(options.max_body_bytes);
    server.set_tcp_nodelay(true);
    // Only SO_REUSEADDR: httplib's default also sets SO_REUSEPORT, which would let a second server
    // bind the same port and silently share its connections. The descriptor is kept so start()
    // can set the listen backlog after httplib's bind.
    server.set_socket_options([this](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listening_fd = sock;
    });
    // Each connection holds a worker for as long as it stays open (httplib serves a connection per
    // thread), so the default leaves room for a load generator's 16 keep-alive connections; a
    // caller expecting more sets ServerOptions::threads (sipcontract run: jobs + 8).
    const std::size_t threads =
        options.threads != 0 ? options.threads : std::max(16u, 2 * std::thread::hardware_concurrency());
    server.new_task_queue = [threads] {
      return new refserver::BoundedThreadPool(threads, std::max<std::size_t>(64, threads * 16));
    };
    // One handler for every request, whichever parser read it: the api in its layers. Without
    // faults or variants the pipeline is the api alone.
    server.set_handler(
        [this](refserver::Request& req, refserver::Response& res) { pipeline->serve(req, res); });
    if (options.access_log) {
      server.set_logger(
          [this](const refserver::Request& req, const refserver::Response& res, std::size_t bytes,
                 std::chrono::steady_clock::duration elapsed) { log(req, res, bytes, elapsed); });
    }
    refserver::install_httplib_adapter(server);
  }
};

ReferenceServer::ReferenceServer(ServerOptions options, const Contract& contract)
    : impl_(std::make_unique<Impl>(std::move(options), contract)) {
  ServerOptions& o = impl_->options;
  if (o.project_id.empty()) o.project_id = refserver::new_uuid();
  if (o.api_token.empty()) o.api_token = "PT" + refserver::random_hex(24);
  if (o.project_id.find(':') != std::string::npos) {
    throw std::invalid_argument(
        "the user cannot contain ':' (HTTP Basic credentials are the user, ':' and the secret)");
  }
  // Parents are UUIDs where the contract's parent parameter is one (as v1's is), and then kept in
  // lowercase like the paths that name them.
  const Resource& resource = impl_->model.resource();
  bool uuid_parent = false;
  for (const auto& [key, op] : contract.operations()) {
    if (op.resource != resource.name) continue;
    for (const auto& p : op.path_parameters)
      uuid_parent |= p.name == resource.parent_parameter && p.format == "uuid";
  }
  if (o.parents.empty()) o.parents.push_back(refserver::new_uuid());
  for (auto& parent : o.parents) {
    if (!uuid_parent) {
      if (parent.empty() || parent.find('/') != std::string::npos)
        throw std::invalid_argument(resource.parent_title + " \"" + refserver::printable(parent) +
                                    "\" cannot be a path segment");
      continue;
    }
    auto normalised = refserver::normalize_uuid(parent);
    if (!normalised)
      throw std::invalid_argument(resource.parent_title + " \"" + refserver::printable(parent) +
                                  "\" is not a UUID");
    parent = *normalised;
  }
  if (o.max_body_bytes == 0) throw std::invalid_argument("max_body_bytes must be at least 1");
  if (o.read_timeout_ms <= 0 || o.write_timeout_ms <= 0 || o.request_timeout_ms <= 0 ||
      o.keep_alive_timeout_ms <= 0) {
    throw std::invalid_argument("timeouts must be positive");
  }
  if (o.listen_backlog < 1) throw std::invalid_argument("listen_backlog must be at least 1");
  impl_->api = std::make_unique<refserver::Api>(impl_->options, impl_->model);
  impl_->pipeline = std::make_unique<refserver::Pipeline>(
      *impl_->api, refserver::LayerContext{impl_->options, impl_->model});
}

ReferenceServer::~ReferenceServer() { stop(); }

void ReferenceServer::start() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started) throw std::logic_error("ReferenceServer::start() called twice");
  const ServerOptions& o = impl_->options;
  refserver::ConnectionLimits limits;
  limits.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
  limits.write_timeout = std::chrono::milliseconds(o.write_timeout_ms);
  limits.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
  limits.keep_alive_timeout = std::chrono::milliseconds(o.keep_alive_timeout_ms);
  limits.keep_alive_max_requests = o.keep_alive_max_requests;
  auto server = std::make_unique<refserver::HttpServer>(limits);
  impl_->configure(*server);

  errno = 0;
  int port = -1;
  if (o.port == 0) {
    port = server->bind_to_any_port(o.host);
  } else if (o.port > 0 && o.port < 65536 && server->bind_to_port(o.host, o.port)) {
    port = o.port;
  }
  if (port <= 0) {
    const int error = errno;
    throw std::runtime_error("cannot listen on " + o.host + ":" + std::to_string(o.port) +
                             (error != 0 ? std::string(": ") + std::strerror(error) : std::string()));
  }
  // httplib listens with a backlog of 5: a burst of clients connecting at once (sipcontract run
  // -j 32 opens 32) overflows it, and the kernel drops the surplus SYNs, which the clients resend
  // only after a second or more. Linux lets listen() be called again on a listening socket to
  // change its backlog (capped at net.core.somaxconn), so the one httplib bound gets ours.
  if (impl_->listening_fd >= 0 && ::listen(impl_->listening_fd, o.listen_backlog) != 0) {
    const int error = errno;
    throw std::runtime_error("cannot set the listen backlog on " + o.host + ":" + std::to_string(port) +
                             ": " + std::strerror(error));
  }
  impl_->bound_port = port;
  const bool v6 = o.host.find(':') != std::string::npos;
  impl_->api->set_fallback_origin("http://" + (v6 ? "[" + o.host + "]" : o.host) + ":" +
                                  std::to_string(port));
  impl_->http = std::move(server);
  impl_->started = true;
  refserver::HttpServer* http = impl_->http.get();
  impl_->listener = std::thread([http] { http->listen_after_bind(); });
  // stop() only works once the accept loop runs, so do not return before it does.
  for (int i = 0; i < 10000 && !http->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void ReferenceServer::stop() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->http->shutdown();
  if (impl_->listener.joinable()) impl_->listener.join();
}

int ReferenceServer::port() const { return impl_->bound_port; }

std::string ReferenceServer::base_url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->bound_port) +
         impl_->contract.base_path();
}

const ServerOptions& ReferenceServer::options() const { return impl_->options; }

std::size_t ReferenceServer::endpoint_count() const { return impl_->api->item_count(); }

}  // namespace sipcontract
