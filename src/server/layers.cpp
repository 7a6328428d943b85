#include "layers.hpp"

#include <array>
#include <utility>

namespace sipcontract::detail::refserver {
namespace {

// Every fault mode and variant, outermost first (layers.hpp says why in this order). A layer
// further down sees the request later and the answer earlier than one above it.
struct Slot {
  bool fault;
  int value;
};
constexpr Slot F(ServerFault f) { return {true, static_cast<int>(f)}; }
constexpr Slot V(ServerVariant v) { return {false, static_cast<int>(v)}; }

constexpr std::array kOrder = {
    // How the answer leaves.
    F(ServerFault::kSlow),
    V(ServerVariant::kConnectionClose),
    V(ServerVariant::kGzip),
    V(ServerVariant::kChunked),
    F(ServerFault::kResetConnection),
    // How the body is represented.
    F(ServerFault::kWrongContentType),
    F(ServerFault::kTruncatedBody),
    F(ServerFault::kHugeBody),
    F(ServerFault::kDeepNesting),
    F(ServerFault::kNonJsonBody),
    V(ServerVariant::kMediaType),
    V(ServerVariant::kExtraFields),
    // Status and error shape.
    F(ServerFault::kWrongStatus),
    F(ServerFault::kUndocumentedStatus),
    V(ServerVariant::kStatus415),
    V(ServerVariant::kStatus400),
    F(ServerFault::kBadErrorShape),
    F(ServerFault::kWrongAttribute),
    V(ServerVariant::kErrorsFirstOnly),
    V(ServerVariant::kErrorsReversed),
    // What a 201 says.
    F(ServerFault::kLeakSecret),
    F(ServerFault::kLeakToken),
    F(ServerFault::kMissingField),
    F(ServerFault::kBadEnum),
    F(ServerFault::kNoEcho),
    F(ServerFault::kWrongDefault),
    V(ServerVariant::kCreateOnlyField),
    F(ServerFault::kStoreThen500),
    F(ServerFault::kComboDefault),
    // The siblings.
    V(ServerVariant::kRelativeLinks),
    V(ServerVariant::kPaginated),
    F(ServerFault::kListOmits),
    F(ServerFault::kList503),
    F(ServerFault::kListKeepsDeleted),
    F(ServerFault::kGet404),
    V(ServerVariant::kDelete200),
    F(ServerFault::kGatewayDelete404),
    F(ServerFault::kIgnoreDelete),
    // Business decisions, next to the handler.
    F(ServerFault::kBadUuid),
    F(ServerFault::kControlChar500),
    F(ServerFault::kNullAsAbsent),
    F(ServerFault::kAcceptDuplicates),
    F(ServerFault::kAcceptInvalid),
    F(ServerFault::kUnknownParentOk),
    F(ServerFault::kNoAuth),
};

static_assert(kOrder.size() == static_cast<std::size_t>(ServerFault::kListKeepsDeleted) +
                                   static_cast<std::size_t>(ServerVariant::kStatus400) + 1,
              "every fault (bar kNone) and every variant has its place in the order");

}  // namespace

void Next::operator()(Request& req, Response& res) const {
  if (index_ < pipeline_->layers_.size()) {
    pipeline_->layers_[index_]->serve(req, res, Next(*pipeline_, index_ + 1));
  } else {
    pipeline_->api_.handle(req, res);
  }
}

Pipeline::Pipeline(Api& api, const LayerContext& context) : api_(api) {
  const ServerOptions& o = context.options;
  for (const Slot& slot : kOrder) {
    std::unique_ptr<Layer> layer;
    if (slot.fault && o.faults.count(static_cast<ServerFault>(slot.value)) != 0) {
      layer = make_fault_layer(static_cast<ServerFault>(slot.value), context);
    } else if (!slot.fault && o.variants.count(static_cast<ServerVariant>(slot.value)) != 0) {
      layer = make_variant_layer(static_cast<ServerVariant>(slot.value), context);
    }
    if (layer) layers_.push_back(std::move(layer));
  }
}

std::optional<OrderedJson> json_body(const Response& res) {
  if (res.stream || res.body.empty()) return std::nullopt;
  OrderedJson parsed = OrderedJson::parse(res.body, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

void set_json_body(Response& res, const OrderedJson& json) {
  res.body = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<nlohmann::json> json_request_body(const Request& req, const ServerOptions& options) {
  ParseLimits limits;
  limits.max_bytes = options.max_body_bytes;
  limits.max_depth = options.max_json_depth;
  Parsed parsed = parse_json(req.body, limits);
  if (!parsed) return std::nullopt;
  return std::move(*parsed);
}

BodyRewrite::BodyRewrite(Request& req, Rewrite rewrite)
    : req_(req), inner_(req.body_source), rewrite_(std::move(rewrite)) {
  if (inner_ == nullptr) {
    rewrite_(req_.body);  // already read: rewritten now, before the handler looks at it
  } else {
    req_.body_source = this;
  }
}

BodyRewrite::~BodyRewrite() {
  if (req_.body_source == this) req_.body_source = inner_;  // never read: the transport drops it
}

BodyRead BodyRewrite::read(std::string& out, std::size_t max_bytes) {
  std::string raw;
  const BodyRead result = inner_->read(raw, max_bytes);
  if (result == BodyRead::kOk) rewrite_(raw);
  out += raw;
  return result;
}

bool BodyRewrite::discard(std::size_t max_bytes) { return inner_->discard(max_bytes); }

}  // namespace sipcontract::detail::refserver
