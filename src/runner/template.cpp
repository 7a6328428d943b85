// Fixture templating: every run gets fresh names, ids and secrets, so runs never collide
// with each other or with what an earlier run left behind.
#include <cstdlib>

#include "internal.hpp"
#include "sipcontract/random.hpp"
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

/// Where a value sits, built into text only for an error message: expanding a body then costs
/// no string per node.
struct Where {
  const std::string* prefix = nullptr;  // "/request" or "/steps/N/request"; only on the root
  std::string_view field;               // "body", "raw_body", ...; only on the root
  const Where* parent = nullptr;
  std::string_view key;  // an object member's name
  std::size_t index = 0;
  bool is_index = false;

  std::string text() const {
    if (!parent) return *prefix + "/" + std::string(field);
    return parent->text() + "/" + (is_index ? std::to_string(index) : pointer_escape(key));
  }
};

template <typename WhereFn>
std::string value_of(std::string_view name, const TemplateContext& ctx, const std::string& case_id,
                     const WhereFn& where) {
  auto fail = [&](const std::string& problem) -> std::string {
    throw ConfigError("case \"" + case_id + "\": " + where() + ": " + problem);
  };
  if (name == "run_id") return ctx.run_id;
  if (name == "case_id") return case_id;
  if (name == "uuid") return new_uuid();
  if (name == "parent" || (!ctx.parent_alias.empty() && name == ctx.parent_alias)) return ctx.parent;
  if (name == "secret") return ctx.secret;
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
  return fail("unknown placeholder {{" + std::string(name) + "}} (run_id, case_id, uuid, parent" +
              (ctx.parent_alias.empty() ? std::string() : ", " + ctx.parent_alias) +
              ", secret, env:NAME, var:NAME)");
}

template <typename WhereFn>
std::string expand(std::string_view text, const TemplateContext& context, const std::string& case_id,
                   const WhereFn& where) {
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
      throw ConfigError("case \"" + case_id + "\": " + where() +
                        ": unclosed \"{{\" (placeholders are {{name}})");
    const auto name = trim(text.substr(open + 2, close - open - 2));
    if (name.starts_with("var:"))  // a value an earlier step captures: filled in when the step runs
      out.append(text.substr(open, close + 2 - open));
    else
      out += value_of(name, context, case_id, where);
    i = close + 2;
  }
}

/// Expands `s` where it holds a placeholder; a string without one is left as it is (no copy).
template <typename WhereFn>
void expand_in_place(std::string& s, const TemplateContext& ctx, const std::string& case_id,
                     const WhereFn& where) {
  if (s.find("{{") != std::string::npos) s = expand(s, ctx, case_id, where);
}

/// Expands every string of `v` in place (object keys, numbers and other non-strings stay).
void expand_json(nlohmann::json& v, const TemplateContext& ctx, const std::string& case_id,
                 const Where& where) {
  if (v.is_string()) {
    expand_in_place(v.get_ref<std::string&>(), ctx, case_id, [&] { return where.text(); });
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) {
      Where child{nullptr, {}, &where, {}, i, true};
      expand_json(v[i], ctx, case_id, child);
    }
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      Where child{nullptr, {}, &where, it.key(), 0, false};
      expand_json(it.value(), ctx, case_id, child);
    }
  }
}

}  // namespace

std::string expand_template(std::string_view text, const TemplateContext& context, const std::string& case_id,
                            const std::string& where) {
  return expand(text, context, case_id, [&] { return where; });
}

Case expand_case(const Case& c, const TemplateContext& context, const std::string& parent_parameter) {
  Case out = c;
  for (std::size_t i = 0; i < out.steps.size(); ++i) {
    auto& step = out.steps[i];
    const std::string prefix = c.steps.size() > 1 ? "/steps/" + std::to_string(i) + "/request" : "/request";
    if (!parent_parameter.empty() && !step.path_params.count(parent_parameter))
      step.path_params[parent_parameter] = "{{parent}}";
    for (auto& param : step.path_params) {
      const std::string& name = param.first;  // a lambda cannot capture a structured binding in clang 14
      expand_in_place(param.second, context, c.id,
                      [&] { return prefix + "/path_params/" + pointer_escape(name); });
    }
    if (step.body) {
      Where root;
      root.prefix = &prefix;
      root.field = "body";
      expand_json(*step.body, context, c.id, root);
    }
    if (step.raw_body) expand_in_place(*step.raw_body, context, c.id, [&] { return prefix + "/raw_body"; });
    // What the case expects to read back holds placeholders too ("username": "sc-{{run_id}}-...").
    const std::string expect_prefix =
        c.steps.size() > 1 ? "/steps/" + std::to_string(i) + "/expect" : "/expect";
    for (auto& [field, value] : step.expect.fields) {
      const std::string label = "fields/" + pointer_escape(field);
      Where root;
      root.prefix = &expect_prefix;
      root.field = label;
      expand_json(value, context, c.id, root);
    }
    expand_in_place(step.content_type, context, c.id, [&] { return prefix + "/content_type"; });
  }
  return out;
}

std::string expand_vars(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  std::size_t i = 0;
  for (auto open = text.find("{{var:"); open != std::string_view::npos; open = text.find("{{var:", i)) {
    auto close = text.find("}}", open);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    const std::string name(trim(text.substr(open + 6, close - open - 6)));
    auto it = vars.find(name);
    if (it == vars.end()) throw ConfigError("{{var:" + name + "}}: no earlier step captured it");
    out += it->second;
    i = close + 2;
  }
  out.append(text.substr(i));
  return out;
}

}  // namespace sipcontract
