// The reference server's business logic: credentials, routing, create/list/get/delete and the
// store, on the server's own Request and Response (exchange.hpp). It knows no fault mode and no
// variant: those are layers around it (layers.hpp). api.cpp says how a request is answered and why.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "exchange.hpp"
#include "sipcontract/server.hpp"
#include "store.hpp"

namespace sipcontract::detail::refserver {

constexpr std::string_view kApiBase = "/api/fabric";
constexpr std::string_view kSubscribersPrefix = "/api/fabric/resources/subscribers/";

/// The target of a request path under /api/fabric.
struct Route {
  enum class Kind { kUnknown, kCollection, kItem } kind = Kind::kUnknown;
  std::string subscriber;  ///< the path segment as sent
  std::string endpoint;    ///< kItem only
};
Route parse_route(std::string_view path);

/// What a request asks for, by method and path alone (whether the subscriber exists or the
/// credentials hold is the handler's to say). HEAD counts as the GET it mirrors.
enum class Operation { kOther, kCreate, kList, kGet, kDelete };
Operation operation_of(const Request& req);

/// ".../subscribers/{subscriber}/sip_endpoints" for the subscriber segment of `route`.
std::string collection_path(const Route& route);

/// The business handler: answers every request in `res`. Thread-safe.
class Api {
 public:
  /// `options` (with generated credentials and subscribers filled in) and `contract` must outlive it.
  Api(const ServerOptions& options, const Contract& contract);

  void handle(Request& req, Response& res);

  /// The origin links point at when a request's Host header is not usable ("http://HOST:PORT").
  void set_fallback_origin(std::string origin) { fallback_origin_ = std::move(origin); }
  std::size_t endpoint_count() const { return store_.size(); }

 private:
  struct Target;
  bool authorized(const Request& req) const;
  bool check_access(const Request& req, Response& res, Target& target) const;
  void create(Request& req, Response& res, const Target& target);
  void list(const Request& req, Response& res, const Target& target);
  void get(Response& res, const Target& target);
  void remove(Response& res, const Target& target);
  void framing_error(const Request& req, Response& res) const;
  std::string origin(const Request& req) const;

  const ServerOptions& options_;
  const Contract& contract_;
  Store store_;
  std::string fallback_origin_;
};

}  // namespace sipcontract::detail::refserver
