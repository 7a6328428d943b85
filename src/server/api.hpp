// The reference server's business logic: credentials, routing, create/list/get/update/delete and
// the store, on the server's own Request and Response (exchange.hpp), for the resource a contract
// describes (model.hpp compiles it). It knows no fault mode and no variant: those are layers around
// it (layers.hpp). api.cpp says how a request is answered and why.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "exchange.hpp"
#include "model.hpp"
#include "sipcontract/server.hpp"
#include "store.hpp"

namespace sipcontract::detail::refserver {

/// The business handler: answers every request in `res`. Thread-safe.
class Api {
 public:
  /// `options` (with generated credentials and parents filled in) and `model` must outlive it.
  Api(const ServerOptions& options, const Model& model);

  void handle(Request& req, Response& res);

  /// The origin links point at when a request's Host header is not usable ("http://HOST:PORT").
  void set_fallback_origin(std::string origin) { fallback_origin_ = std::move(origin); }
  std::size_t item_count() const { return store_.size(); }

 private:
  struct Target;
  bool authorized(const Request& req) const;
  bool check_access(const Request& req, Response& res, Target& target) const;
  /// Reads and checks a create's or an update's body (size, media type, JSON, the operation's
  /// schema) into `sent`; on failure the answer is in `res`.
  bool read_fields(Request& req, Response& res, const sipcontract::Operation& op, Members& sent) const;
  void create(Request& req, Response& res, const Target& target);
  void update(Request& req, Response& res, const Target& target);
  void list(const Request& req, Response& res, const Target& target);
  void get(Response& res, const Target& target);
  void remove(Response& res, const Target& target);
  /// The 422 (or 404, 422 full) a refused write gets.
  void refused(Response& res, const Written& written) const;
  void framing_error(const Request& req, Response& res) const;
  std::string origin(const Request& req) const;

  const ServerOptions& options_;
  const Model& model_;
  Store store_;
  std::string fallback_origin_;
};

}  // namespace sipcontract::detail::refserver
