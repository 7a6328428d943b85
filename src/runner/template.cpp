// Fixture templating: every run gets fresh usernames, ids and passwords, so runs never collide
// with each other or with what an earlier run left behind.
#include <cstdlib>

#include "internal.hpp"
#include "sipcontract/runner.hpp"

namespace sipcontract {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool valid_env_name(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

std::optional<std::string> default_env(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

std::string value_of(std::string_view name, const TemplateContext& ctx, const std::string& case_id,
                     const std::string& where) {
  auto fail = [&](const std::string& problem) -> std::string {
    throw ConfigError("case \"" + case_id + "\": " + where + ": " + problem);
  };
  if (name == "run_id") return ctx.run_id;
  if (name == "case_id") return case_id;
  if (name == "uuid") return detail::fresh_uuid();
  if (name == "subscriber") return ctx.subscriber;
  if (name == "password") return ctx.password;
  if (name.starts_with("env:")) {
    std::string_view rest = name.substr(4);
    std::optional<std::string> fallback;
    if (auto bar = rest.find('|'); bar != std::string_view::npos) {
      fallback = std::string(rest.substr(bar + 1));
      rest = trim(rest.substr(0, bar));
    }
    std::string var(rest);
    if (!valid_env_name(var)) return fail("\"" + var + "\" is not an environment variable name");
    auto value = ctx.env ? ctx.env(var) : default_env(var);
    if (value) return *value;
    if (fallback) return *fallback;
    return fail("environment variable " + var + " is not set");
  }
  return fail("unknown placeholder {{" + std::string(name) +
              "}} (run_id, case_id, uuid, subscriber, password, env:NAME)");
}

nlohmann::json expand_json(const nlohmann::json& v, const TemplateContext& ctx, const std::string& case_id,
                           const std::string& where) {
  if (v.is_string()) return expand_template(v.get_ref<const std::string&>(), ctx, case_id, where);
  if (v.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < v.size(); ++i)
      out.push_back(expand_json(v[i], ctx, case_id, where + "/" + std::to_string(i)));
    return out;
  }
  if (v.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, val] : v.items())
      out[k] = expand_json(val, ctx, case_id, where + "/" + pointer_escape(k));
    return out;
  }
  return v;
}

}  // namespace

std::string expand_template(std::string_view text, const TemplateContext& context, const std::string& case_id,
                            const std::string& where) {
  std::string out;
  std::size_t i = 0;
  while (true) {
    auto open = text.find("{{", i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      return out;
    }
    out.append(text.substr(i, open - i));
    auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      throw ConfigError("case \"" + case_id + "\": " + where +
                        ": unclosed \"{{\" (placeholders are {{name}})");
    out += value_of(trim(text.substr(open + 2, close - open - 2)), context, case_id, where);
    i = close + 2;
  }
}

Case expand_case(const Case& c, const TemplateContext& context) {
  Case out = c;
  for (std::size_t i = 0; i < out.steps.size(); ++i) {
    auto& step = out.steps[i];
    std::string prefix = c.steps.size() > 1 ? "/steps/" + std::to_string(i) + "/request" : "/request";
    if (!step.path_params.count("fabric_subscriber_id"))
      step.path_params["fabric_subscriber_id"] = "{{subscriber}}";
    for (auto& [name, value] : step.path_params)
      value = expand_template(value, context, c.id, prefix + "/path_params/" + pointer_escape(name));
    if (step.body) step.body = expand_json(*step.body, context, c.id, prefix + "/body");
    if (step.raw_body) step.raw_body = expand_template(*step.raw_body, context, c.id, prefix + "/raw_body");
    step.content_type = expand_template(step.content_type, context, c.id, prefix + "/content_type");
  }
  return out;
}

}  // namespace sipcontract
