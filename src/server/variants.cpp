// The variants: conforming alternatives where the contract is silent. Each is a layer (layers.hpp)
// that makes the conforming handler answer as another correct implementation would; a client that
// fails against one of them assumed something the contract does not say.
#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

#include "layers.hpp"

namespace sipcontract {
namespace {

struct VariantInfo {
  ServerVariant variant;
  std::string_view name;
  std::string_view description;
};

constexpr std::array<VariantInfo, 13> kVariants{{
    {ServerVariant::kChunked, "chunked", "response bodies are sent with Transfer-Encoding: chunked"},
    {ServerVariant::kGzip, "gzip",
     "response bodies are gzip-coded when the request's Accept-Encoding allows it"},
    {ServerVariant::kConnectionClose, "connection-close",
     "every answer says Connection: close, and the connection closes after it"},
    {ServerVariant::kExtraFields, "extra-fields",
     "every JSON object answered (items, lists, errors) has undocumented extra members"},
    {ServerVariant::kCreateOnlyField, "create-only-field",
     "the 201 carries an undocumented member (\"region\") that GET and list do not"},
    {ServerVariant::kPaginated, "paginated",
     "lists come in pages of 2 with absolute self, first, next and prev links"},
    {ServerVariant::kRelativeLinks, "relative-links",
     "list links are relative paths (from the base path on)"},
    {ServerVariant::kDelete200, "delete-200", "DELETE answers 200 with the deleted item instead of 204"},
    {ServerVariant::kErrorsReversed, "errors-reversed", "a 422 lists its error items in reverse order"},
    {ServerVariant::kErrorsFirstOnly, "errors-first-only", "a 422 names only the first problem"},
    {ServerVariant::kMediaType, "media-type",
     "Content-Type: Application/JSON; charset=UTF-8, pretty-printed JSON, members in another order"},
    {ServerVariant::kStatus415, "status-415",
     "a create whose body is empty or not declared JSON gets 415 {\"error\": ...}, not 422"},
    {ServerVariant::kStatus400, "status-400",
     "a create whose JSON is malformed or not an object gets 400 {\"error\": ...}, not 422"},
}};

}  // namespace

std::string_view variant_name(ServerVariant variant) {
  for (const auto& info : kVariants) {
    if (info.variant == variant) return info.name;
  }
  return "unknown";
}

std::string_view variant_description(ServerVariant variant) {
  for (const auto& info : kVariants) {
    if (info.variant == variant) return info.description;
  }
  return {};
}

std::optional<ServerVariant> parse_variant(std::string_view name) {
  for (const auto& info : kVariants) {
    if (info.name == name) return info.variant;
  }
  return std::nullopt;
}

const std::vector<ServerVariant>& all_variants() {
  static const std::vector<ServerVariant> variants = [] {
    std::vector<ServerVariant> out;
    for (const auto& info : kVariants) out.push_back(info.variant);
    return out;
  }();
  return variants;
}

namespace detail::refserver {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kPageSize = 2;
constexpr std::size_t kMaxPagesWalked = 10000;

// extra-fields: what every JSON object answered gains. Members of several types, one nested.
const OrderedJson& extra_member() {
  static const OrderedJson extra = {{"note", "an undocumented member"},
                                    {"count", 1},
                                    {"ratio", 0.5},
                                    {"flags", {true, false}},
                                    {"none", nullptr}};
  return extra;
}

void add_extras(const Model& model, OrderedJson& object) {
  if (!object.is_object()) return;
  object["x_reference"] = extra_member();
  for (const std::string& list : {model.pages().items, model.validation().items}) {
    if (auto it = object.find(list); it != object.end() && it->is_array()) {
      for (auto& item : *it) {
        if (item.is_object()) item["x_reference"] = extra_member();
      }
    }
  }
}

// media-type: every object's members in the reverse of the order the handler wrote them.
OrderedJson reversed_members(const OrderedJson& json) {
  if (json.is_array()) {
    OrderedJson out = OrderedJson::array();
    for (const auto& item : json) out.push_back(reversed_members(item));
    return out;
  }
  if (!json.is_object()) return json;
  OrderedJson out = OrderedJson::object();
  std::vector<std::pair<std::string, const OrderedJson*>> members;
  for (auto it = json.begin(); it != json.end(); ++it) members.emplace_back(it.key(), &it.value());
  for (auto it = members.rbegin(); it != members.rend(); ++it) out[it->first] = reversed_members(*it->second);
  return out;
}

// The value of query parameter `name` in a link, or "".
std::string parameter_of(std::string_view link, const std::string& name) {
  const auto query = link.find('?');
  if (query == std::string_view::npos) return {};
  link.remove_prefix(query + 1);
  while (!link.empty()) {
    const std::string_view pair = link.substr(0, link.find('&'));
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
      return std::string(pair.substr(name.size() + 1));
    link.remove_prefix(std::min(link.size(), pair.size() + 1));
  }
  return {};
}

// paginated: the self link of the page before the one `token` starts, found by walking the pages
// from the first (the server's page tokens are cursors that only go forward). std::nullopt for the
// first page, or when the walk does not meet `token` (its page is gone).
std::optional<std::string> previous_page(const Model& model, const Request& req, const std::string& token,
                                         const Next& next) {
  const PageSpec& pages = model.pages();
  Request probe = req.derived("GET", req.path);
  const std::string* size = req.query_value(pages.size_parameter);
  probe.query = {{pages.size_parameter, size ? *size : std::to_string(kPageSize)}};
  for (std::size_t walked = 0; walked < kMaxPagesWalked; ++walked) {
    Response page;
    next(probe, page);
    if (page.status != 200) return std::nullopt;
    const auto json = json_body(page);
    if (!json || !json->contains(pages.links) || !(*json)[pages.links].is_object()) return std::nullopt;
    const OrderedJson& links = (*json)[pages.links];
    if (!links.contains("next") || !links["next"].is_string()) return std::nullopt;
    const std::string next_token = parameter_of(links["next"].get<std::string>(), pages.token_parameter);
    if (next_token.empty()) return std::nullopt;
    if (next_token == token) {
      if (!links.contains("self") || !links["self"].is_string()) return std::nullopt;
      return links["self"].get<std::string>();
    }
    probe.set_query_value(pages.token_parameter, next_token);
  }
  return std::nullopt;
}

// "http://host:port/path?query" -> "/path?query"; anything else as it is.
std::string relative(const std::string& link) {
  const auto scheme = link.find("://");
  if (scheme == std::string::npos || link.find_first_of("/?#") < scheme) return link;
  const auto path = link.find('/', scheme + 3);
  return path == std::string::npos ? "/" : link.substr(path);
}

std::unique_ptr<Layer> status_for_body(int status, const char* error,
                                       bool (*applies)(const Request&, const ServerOptions&),
                                       const LayerContext& context) {
  return layer([status, error, applies, &options = context.options, &model = context.model](
                   Request& req, Response& res, const Next& next) {
    const Action action = model.action_of(req);
    next(req, res);
    if (action != Action::kCreate || res.status != model.validation().status || !applies(req, options))
      return;
    res = Response{};
    res.set_error(status, error);
  });
}

}  // namespace

std::unique_ptr<Layer> make_variant_layer(ServerVariant variant, const LayerContext& context) {
  const Model& model = context.model;
  switch (variant) {
    case ServerVariant::kChunked:
      return layer([](Request& req, Response& res, const Next& next) {
        next(req, res);
        res.chunked = true;  // the transport frames only answers that have a body
      });

    case ServerVariant::kGzip:
      return layer([](Request& req, Response& res, const Next& next) {
        next(req, res);
        res.gzip_when_accepted = true;
      });

    case ServerVariant::kConnectionClose:
      return layer([](Request& req, Response& res, const Next& next) {
        next(req, res);
        res.close_after = true;
      });

    case ServerVariant::kExtraFields:
      return layer([&model](Request& req, Response& res, const Next& next) {
        next(req, res);
        auto json = json_body(res);
        if (!json || !json->is_object()) return;
        add_extras(model, *json);
        set_json_body(res, *json);
      });

    case ServerVariant::kCreateOnlyField:
      return edit_json(model, Action::kCreate, 201,
                       [](const Request&, OrderedJson& body) { body["region"] = "us-east-1"; });

    case ServerVariant::kPaginated:
      return layer([&model](Request& req, Response& res, const Next& next) {
        const PageSpec& pages = model.pages();
        if (model.action_of(req) != Action::kList || pages.size_parameter.empty() ||
            pages.token_parameter.empty())
          return next(req, res);
        // Pages of 2 at most: a page size above that is lowered, as a server's maximum would.
        if (const std::string* sent = req.query_value(pages.size_parameter)) {
          std::size_t value = 0;
          const auto [end, ec] = std::from_chars(sent->data(), sent->data() + sent->size(), value);
          if (ec == std::errc() && end == sent->data() + sent->size() && value > kPageSize)
            req.set_query_value(pages.size_parameter, std::to_string(kPageSize));
        } else {
          req.set_query_value(pages.size_parameter, std::to_string(kPageSize));
        }
        next(req, res);
        const std::string* token = req.query_value(pages.token_parameter);
        if (res.status != 200 || token == nullptr) return;
        auto json = json_body(res);
        if (!json || !json->is_object() || !json->contains(pages.links) || !(*json)[pages.links].is_object())
          return;
        if (auto prev = previous_page(model, req, *token, next)) {
          (*json)[pages.links]["prev"] = *prev;
          set_json_body(res, *json);
        }
      });

    case ServerVariant::kRelativeLinks:
      return edit_json(model, Action::kList, 200, [&model](const Request&, OrderedJson& body) {
        if (auto links = body.find(model.pages().links); links != body.end() && links->is_object()) {
          for (auto& link : *links) {
            if (link.is_string()) link = relative(link.get<std::string>());
          }
        }
      });

    case ServerVariant::kDelete200:
      return layer([&model](Request& req, Response& res, const Next& next) {
        if (model.action_of(req) != Action::kDelete) return next(req, res);
        const Route route = model.route(req.path);
        Response found;
        if (const std::string get = model.path_of(Action::kGet, route.parent, route.item); !get.empty()) {
          Request probe = req.derived("GET", get);
          next(probe, found);
        }
        next(req, res);
        if (res.status != 204 || found.status != 200) return;
        Response deleted;
        deleted.set_json(200, std::move(found.body));
        res = std::move(deleted);
      });

    case ServerVariant::kErrorsReversed:
      return edit_json(
          model, Action::kOther, model.validation().status, [&model](const Request&, OrderedJson& body) {
            if (auto errors = body.find(model.validation().items); errors != body.end() && errors->is_array())
              std::reverse(errors->begin(), errors->end());
          });

    case ServerVariant::kErrorsFirstOnly:
      return edit_json(model, Action::kOther, model.validation().status,
                       [&model](const Request&, OrderedJson& body) {
                         if (auto errors = body.find(model.validation().items);
                             errors != body.end() && errors->is_array() && errors->size() > 1)
                           *errors = OrderedJson::array({(*errors)[0]});
                       });

    case ServerVariant::kMediaType:
      return layer([](Request& req, Response& res, const Next& next) {
        next(req, res);
        if (!iequals(res.headers.get("Content-Type"), "application/json")) return;
        res.headers.set("Content-Type", "Application/JSON; charset=UTF-8");
        if (auto json = json_body(res))
          res.body = reversed_members(*json).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
      });

    case ServerVariant::kStatus415:
      // The handler answers these 422 (api.cpp); a body with no JSON media type, or none at all, is
      // what 415 is for.
      return status_for_body(
          415, "Unsupported Media Type",
          [](const Request& req, const ServerOptions&) {
            return req.body.empty() || !is_json_content_type(req.headers.get("Content-Type"));
          },
          context);

    case ServerVariant::kStatus400:
      return status_for_body(
          400, "Bad Request",
          [](const Request& req, const ServerOptions& o) {
            if (req.body.empty() || !is_json_content_type(req.headers.get("Content-Type"))) return false;
            const auto json = json_request_body(req, o);
            return !json || !json->is_object();
          },
          context);
  }
  return nullptr;
}

}  // namespace detail::refserver
}  // namespace sipcontract
