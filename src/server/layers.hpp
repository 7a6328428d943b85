// Layers around the business handler (api.hpp): every fault mode and every variant of the
// reference server is one. A layer sees each request on its way in and its answer on the way out:
// it may rewrite the request before passing it on, rewrite the answer after, ask the layers inside
// it (and the handler) further requests of its own, or answer by itself. The business logic knows
// none of them, and none of them knows the transport.
//
// Order, outermost first: transport (slow, gzip, chunked, connection-close), representation
// (wrong-content-type, media-type, non-json-body, huge-body, truncated-body, deep-nesting), status
// (wrong-status, undocumented-status), error shape (bad-error-shape, wrong-attribute,
// errors-*), extra members and 201 contents, the list and delete variants, then the faults that
// change a business decision (accept-*, no-auth, unknown-subscriber-ok, ...) next to the handler.
// layers.cpp holds the order; faults.cpp and variants.cpp the layers.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api.hpp"
#include "exchange.hpp"
#include "sipcontract/server.hpp"

namespace sipcontract::detail::refserver {

class Pipeline;

/// The rest of the pipeline, inside the layer that holds it. Callable any number of times.
class Next {
 public:
  Next(const Pipeline& pipeline, std::size_t index) : pipeline_(&pipeline), index_(index) {}
  void operator()(Request& req, Response& res) const;

 private:
  const Pipeline* pipeline_;
  std::size_t index_;
};

/// One fault mode or variant. Shared by every worker thread: serve() must be thread-safe.
class Layer {
 public:
  virtual ~Layer() = default;
  virtual void serve(Request& req, Response& res, const Next& next) const = 0;
};

/// What layers may know about the server they wrap.
struct LayerContext {
  const ServerOptions& options;  ///< effective options (credentials and subscribers filled in)
  const Contract& contract;
};

/// The handler wrapped in the layers that `options` asks for. With none, serve() is the handler.
class Pipeline {
 public:
  Pipeline(Api& api, const LayerContext& context);
  void serve(Request& req, Response& res) const { Next(*this, 0)(req, res); }
  std::size_t size() const { return layers_.size(); }

 private:
  friend class Next;
  Api& api_;
  std::vector<std::unique_ptr<Layer>> layers_;  // outermost first
};

/// The layer of one fault mode (faults.cpp), or nullptr for kNone.
std::unique_ptr<Layer> make_fault_layer(ServerFault fault, const LayerContext& context);
/// The layer of one variant (variants.cpp).
std::unique_ptr<Layer> make_variant_layer(ServerVariant variant, const LayerContext& context);

// --- Helpers for layers ---------------------------------------------------------------------------

using OrderedJson = nlohmann::ordered_json;

/// The response body as JSON (member order kept), or std::nullopt when it is not JSON or streamed.
std::optional<OrderedJson> json_body(const Response& res);
/// Replaces the body with `json` (compact; invalid UTF-8 replaced), keeping status and headers.
void set_json_body(Response& res, const OrderedJson& json);
/// The request body as JSON under the server's limits, or std::nullopt.
std::optional<nlohmann::json> json_request_body(const Request& req, const ServerOptions& options);

/// Reads the request body through a rewrite: installs a BodySource that applies `rewrite` to the
/// body when the handler reads it (or rewrites the body at once when it is already read), and puts
/// the original source back when destroyed. Lives on the layer's stack around next().
class BodyRewrite final : public BodySource {
 public:
  using Rewrite = std::function<void(std::string& body)>;
  BodyRewrite(Request& req, Rewrite rewrite);
  ~BodyRewrite() override;
  BodyRewrite(const BodyRewrite&) = delete;
  BodyRewrite& operator=(const BodyRewrite&) = delete;

  BodyRead read(std::string& out, std::size_t max_bytes) override;
  bool discard(std::size_t max_bytes) override;

 private:
  Request& req_;
  BodySource* inner_;
  Rewrite rewrite_;
};

// A layer made of one function.
template <class Fn>
class FunctionLayer final : public Layer {
 public:
  explicit FunctionLayer(Fn fn) : fn_(std::move(fn)) {}
  void serve(Request& req, Response& res, const Next& next) const override { fn_(req, res, next); }

 private:
  Fn fn_;
};

template <class Fn>
std::unique_ptr<Layer> layer(Fn fn) {
  return std::make_unique<FunctionLayer<Fn>>(std::move(fn));
}

// A layer that edits the JSON object body of the answers to operation `op` (any, for kOther) with
// `status`, after the layers inside made them; other answers pass unchanged.
template <class Fn>
std::unique_ptr<Layer> edit_json(Operation op, int status, Fn edit) {
  return layer([op, status, edit = std::move(edit)](Request& req, Response& res, const Next& next) {
    const Operation sent = operation_of(req);
    next(req, res);
    if ((op != Operation::kOther && sent != op) || res.status != status) return;
    auto json = json_body(res);
    if (!json || !json->is_object()) return;
    edit(req, *json);
    set_json_body(res, *json);
  });
}

}  // namespace sipcontract::detail::refserver
