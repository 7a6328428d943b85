// Layers around the business handler (api.hpp): every fault mode and every variant of the
// reference server is one. A layer sees each request on its way in and its answer on the way out:
// it may rewrite the request before passing it on, rewrite the answer after, ask the layers inside
// it (and the handler) further requests of its own, or answer by itself. The business logic knows
// none of them, and none of them knows the transport.
//
// Layers nest in one fixed order, outermost first (layers.cpp): how the answer leaves (slow,
// connection-close, gzip, chunked, reset-connection), how its body is represented
// (wrong-content-type, truncated/huge/deep bodies, non-json-body, media-type, extra-fields), its
// status and error shape, what a 201 says, the list and delete variants and faults, and next to
// the handler the faults that change a business decision (bad-uuid, accept-*, no-auth, ...). A
// layer thus sees the answer after every layer inside it, so those that rewrite a 201 see 201s
// before wrong-status makes them 200, and the representation layers see the final JSON.
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
  const ServerOptions& options;  ///< effective options (credentials and parents filled in)
  const Model& model;            ///< the contract, compiled: routes, fields, shapes
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

// A layer that edits the JSON object body of the answers to `action` (any, for kOther) with
// `status`, after the layers inside made them; other answers pass unchanged.
template <class Fn>
std::unique_ptr<Layer> edit_json(const Model& model, Action action, int status, Fn edit) {
  return layer(
      [&model, action, status, edit = std::move(edit)](Request& req, Response& res, const Next& next) {
        const Action sent = model.action_of(req);
        next(req, res);
        if ((action != Action::kOther && sent != action) || res.status != status) return;
        auto json = json_body(res);
        if (!json || !json->is_object()) return;
        edit(req, *json);
        set_json_body(res, *json);
      });
}

}  // namespace sipcontract::detail::refserver
