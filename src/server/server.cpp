// The reference server: an in-memory implementation of the operations a contract gives its main
// resource. Its parts:
//   model.cpp            the contract compiled once: routes, fields, unique rules, answers
//   api.cpp              the business logic (credentials, routing, create/list/get/update/delete)
//   store.cpp            the items, per parent, for many threads
//   layers.cpp           fault modes (faults.cpp) and variants (variants.cpp) as layers around it
//   exchange.hpp         the server's own Request and Response, all the above work on
//   connection.cpp       the transport: sockets, poller and workers, request bodies, answer writer
//   http_parser.cpp      the request parser the transport reads every request with
// This file starts and stops it.
#include "sipcontract/server.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

#include "api.hpp"
#include "connection.hpp"
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
  int bound_port = 0;
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

  std::unique_ptr<refserver::HttpServer> make_http() {
    const ServerOptions& o = options;
    refserver::ConnectionLimits limits;
    limits.read_timeout = std::chrono::milliseconds(o.read_timeout_ms);
    limits.write_timeout = std::chrono::milliseconds(o.write_timeout_ms);
    limits.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
    limits.keep_alive_timeout = std::chrono::milliseconds(o.keep_alive_timeout_ms);
    limits.keep_alive_max_requests = o.keep_alive_max_requests;
    limits.max_connections = o.max_connections;
    limits.max_body_bytes = o.max_body_bytes;
    // A connection holds a worker only while it is busy, so the default leaves room for a load
    // generator's 16 connections sending at once; a caller expecting more sets
    // ServerOptions::threads (sipcontract run: jobs + 16).
    const std::size_t threads =
        o.threads != 0 ? o.threads : std::max(16u, 2 * std::thread::hardware_concurrency());
    // One handler for every request: the api in its layers (without faults or variants, the
    // pipeline is the api alone).
    refserver::AnswerLogger logger;
    if (o.access_log) {
      logger = [this](const refserver::Request& req, const refserver::Response& res, std::size_t bytes,
                      std::chrono::steady_clock::duration elapsed) { log(req, res, bytes, elapsed); };
    }
    return std::make_unique<refserver::HttpServer>(
        limits, threads,
        [this](refserver::Request& req, refserver::Response& res) { pipeline->serve(req, res); },
        std::move(logger));
  }
};

ReferenceServer::ReferenceServer(ServerOptions options, const Contract& contract)
    : impl_(std::make_unique<Impl>(std::move(options), contract)) {
  ServerOptions& o = impl_->options;
  if (o.project_id.empty()) o.project_id = new_uuid();
  if (o.api_token.empty()) o.api_token = "PT" + random_hex(24);
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
  if (o.parents.empty()) o.parents.push_back(new_uuid());
  for (auto& parent : o.parents) {
    if (!uuid_parent) {
      if (parent.empty() || parent.find('/') != std::string::npos)
        throw std::invalid_argument(resource.parent_title + " \"" + refserver::printable(parent) +
                                    "\" cannot be a path segment");
      continue;
    }
    auto normalised = normalize_uuid(parent);
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
  if (o.max_connections < 1) throw std::invalid_argument("max_connections must be at least 1");
  impl_->api = std::make_unique<refserver::Api>(impl_->options, impl_->model);
  impl_->pipeline = std::make_unique<refserver::Pipeline>(
      *impl_->api, refserver::LayerContext{impl_->options, impl_->model});
}

ReferenceServer::~ReferenceServer() { stop(); }

void ReferenceServer::start() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (impl_->started) throw std::logic_error("ReferenceServer::start() called twice");
  const ServerOptions& o = impl_->options;
  auto server = impl_->make_http();
  const int port = server->listen(o.host, o.port, o.listen_backlog);
  impl_->bound_port = port;
  const bool v6 = o.host.find(':') != std::string::npos;
  impl_->api->set_fallback_origin("http://" + (v6 ? "[" + o.host + "]" : o.host) + ":" +
                                  std::to_string(port));
  server->start();
  impl_->http = std::move(server);
  impl_->started = true;
}

void ReferenceServer::stop() {
  std::lock_guard lock(impl_->lifecycle_mutex);
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->http->shutdown();
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
