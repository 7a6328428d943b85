// Case files: reading, strict validation (a typo in a key must not silently drop a check),
// selection and sharding.
#include <fnmatch.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "internal.hpp"
#include "sipcontract/contract.hpp"
#include "sipcontract/runner.hpp"

namespace sipcontract {
namespace {

constexpr std::size_t kMaxCaseFileBytes = 16u << 20;

/// Builds one-line errors that name the file, the case and the field.
struct Where {
  std::string file;
  std::string case_id;

  [[noreturn]] void fail(const std::string& pointer, const std::string& problem) const {
    std::string msg = file;
    if (!case_id.empty()) msg += ": case \"" + case_id + "\"";
    if (!pointer.empty()) msg += ": " + pointer;
    msg += ": " + problem;
    throw ConfigError(msg);
  }
};

std::string type_name(const nlohmann::json& v) { return v.type_name(); }

void check_keys(const nlohmann::json& object, const std::set<std::string>& allowed, const Where& where,
                const std::string& pointer) {
  for (const auto& [key, value] : object.items()) {
    (void)value;
    if (key == "$comment" || allowed.count(key)) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    where.fail(pointer + "/" + pointer_escape(key), "unknown key \"" + key + "\" (allowed: " + list + ")");
  }
}

const nlohmann::json& require_object(const nlohmann::json& v, const Where& where,
                                     const std::string& pointer) {
  if (!v.is_object()) where.fail(pointer, "must be an object, not " + type_name(v));
  return v;
}

std::string require_string(const nlohmann::json& v, const Where& where, const std::string& pointer) {
  if (!v.is_string()) where.fail(pointer, "must be a string, not " + type_name(v));
  return v.get<std::string>();
}

bool valid_case_id(std::string_view id) {
  if (id.empty() || id.size() > 80) return false;
  auto ok = [](char c, bool first) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return !first && (c == '-' || c == '_' || c == '.');
  };
  for (std::size_t i = 0; i < id.size(); ++i)
    if (!ok(id[i], i == 0)) return false;
  return true;
}

AuthVariant parse_auth(const std::string& s, const Where& where, const std::string& pointer) {
  for (auto a : {AuthVariant::kValid, AuthVariant::kNone, AuthVariant::kWrongToken,
                 AuthVariant::kWrongProject, AuthVariant::kMalformedHeader})
    if (to_string(a) == s) return a;
  where.fail(pointer, "unknown auth variant \"" + s +
                          "\" (valid, none, wrong-token, wrong-project, malformed-header)");
}

/// A status (201) or a class of them ("4xx") into `e`.
void parse_status(const nlohmann::json& v, const Where& where, const std::string& pointer, Expectation& e) {
  if (v.is_string()) {
    const auto& text = v.get_ref<const std::string&>();
    if (text.size() == 3 && text[0] >= '1' && text[0] <= '5' && (text[1] == 'x' || text[1] == 'X') &&
        (text[2] == 'x' || text[2] == 'X')) {
      e.status_classes.push_back(text[0] - '0');
      return;
    }
    where.fail(pointer, "\"" + text + "\" is not a status or a class of them (\"4xx\")");
  }
  if (!v.is_number_integer())
    where.fail(pointer, "a status must be an integer or a class such as \"4xx\", not " + type_name(v));
  auto s = v.get<long long>();
  if (s < 100 || s > 599)
    where.fail(pointer, "status " + std::to_string(s) + " is not an HTTP status (100-599)");
  e.statuses.push_back(static_cast<int>(s));
}

std::string read_file_limited(const std::filesystem::path& path, std::size_t limit, const std::string& what) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) throw ConfigError(what + ": cannot read " + path.string() + ": " + ec.message());
  if (size > limit)
    throw ConfigError(what + ": " + path.string() + " is " + std::to_string(size) + " bytes (limit " +
                      std::to_string(limit) + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(what + ": cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// An "expect" object, or (assumption) an "assume" block: the same, with "because" and an
/// optional status.
Expectation parse_expect(const nlohmann::json& v, const Where& where, const std::string& pointer,
                         bool assumption = false) {
  require_object(v, where, pointer);
  if (assumption)
    check_keys(v, {"status", "errors", "because"}, where, pointer);
  else
    check_keys(v, {"status", "errors", "fields", "listed", "unlisted"}, where, pointer);
  Expectation e;
  if (!v.contains("status") && !assumption) where.fail(pointer, "missing \"status\"");
  if (v.contains("status")) {
    const auto& st = v["status"];
    if (st.is_array()) {
      if (st.empty()) where.fail(pointer + "/status", "must name at least one status");
      for (std::size_t i = 0; i < st.size(); ++i)
        parse_status(st[i], where, pointer + "/status/" + std::to_string(i), e);
    } else {
      parse_status(st, where, pointer + "/status", e);
    }
  }
  if (v.contains("fields")) {
    const auto& fields = require_object(v["fields"], where, pointer + "/fields");
    for (const auto& [key, value] : fields.items()) e.fields[key] = value;
  }
  for (const char* key : {"listed", "unlisted"}) {
    if (!v.contains(key)) continue;
    const std::string p = pointer + "/" + key;
    const auto& ids = v[key];
    if (!ids.is_array()) where.fail(p, "must be an array of ids, not " + type_name(ids));
    auto& out = std::string_view(key) == "listed" ? e.listed : e.unlisted;
    for (std::size_t i = 0; i < ids.size(); ++i)
      out.push_back(require_string(ids[i], where, p + "/" + std::to_string(i)));
  }
  if (v.contains("errors")) {
    const auto& errs = v["errors"];
    if (!errs.is_array()) where.fail(pointer + "/errors", "must be an array, not " + type_name(errs));
    if (e.has_status() && !e.accepts(422))
      where.fail(pointer + "/errors", "error items are only checked on a 422; add 422 to \"status\"");
    for (std::size_t i = 0; i < errs.size(); ++i) {
      std::string p = pointer + "/errors/" + std::to_string(i);
      require_object(errs[i], where, p);
      check_keys(errs[i], {"attribute", "code"}, where, p);
      ExpectedError ee;
      if (errs[i].contains("attribute")) {
        const auto& a = errs[i]["attribute"];
        if (a.is_array()) {
          for (std::size_t j = 0; j < a.size(); ++j)
            ee.attributes.push_back(require_string(a[j], where, p + "/attribute/" + std::to_string(j)));
        } else {
          ee.attributes.push_back(require_string(a, where, p + "/attribute"));
        }
      }
      if (errs[i].contains("code")) ee.code = require_string(errs[i]["code"], where, p + "/code");
      if (ee.attributes.empty() && !ee.code)
        where.fail(p, "an expected error names an \"attribute\", a \"code\" or both");
      e.errors.push_back(std::move(ee));
    }
  }
  return e;
}

Step parse_step(const nlohmann::json& request, const nlohmann::json& expect, const Where& where,
                const std::string& pointer, const std::filesystem::path& base_dir) {
  Step step;
  std::string rp = pointer + "/request";
  require_object(request, where, rp);
  check_keys(request, {"auth", "path_params", "body", "body_file", "raw_body", "content_type"}, where, rp);
  if (request.contains("auth"))
    step.auth = parse_auth(require_string(request["auth"], where, rp + "/auth"), where, rp + "/auth");
  if (request.contains("path_params")) {
    const auto& pp = require_object(request["path_params"], where, rp + "/path_params");
    for (const auto& [k, val] : pp.items())
      step.path_params[k] = require_string(val, where, rp + "/path_params/" + pointer_escape(k));
  }
  int bodies = request.contains("body") + request.contains("body_file") + request.contains("raw_body");
  if (bodies > 1) where.fail(rp, "set at most one of \"body\", \"body_file\" and \"raw_body\"");
  if (request.contains("body")) step.body = request["body"];
  if (request.contains("raw_body"))
    step.raw_body = require_string(request["raw_body"], where, rp + "/raw_body");
  if (request.contains("body_file")) {
    auto rel = require_string(request["body_file"], where, rp + "/body_file");
    if (base_dir.empty()) where.fail(rp + "/body_file", "body files are not available for built-in cases");
    std::filesystem::path file = base_dir / rel;
    std::string text;
    try {
      text = read_file_limited(file, kMaxCaseFileBytes, where.file);
    } catch (const ConfigError& e) {
      where.fail(rp + "/body_file", e.what());
    }
    auto parsed = parse_json(text);
    if (!parsed) where.fail(rp + "/body_file", file.string() + ": " + parsed.error().to_string());
    step.body = *parsed;
  }
  if (request.contains("content_type"))
    step.content_type = require_string(request["content_type"], where, rp + "/content_type");
  step.expect = parse_expect(expect, where, pointer + "/expect");
  return step;
}

/// A step's "operation" and "capture" (the members beside "request" and "expect").
void parse_step_extras(const nlohmann::json& v, const Where& where, const std::string& pointer, Step& step) {
  if (v.contains("operation")) step.operation = require_string(v["operation"], where, pointer + "/operation");
  if (v.contains("capture")) {
    const auto& capture = require_object(v["capture"], where, pointer + "/capture");
    for (const auto& [name, target] : capture.items()) {
      auto p = require_string(target, where, pointer + "/capture/" + pointer_escape(name));
      if (!p.empty() && p.front() != '/')
        where.fail(pointer + "/capture/" + pointer_escape(name), "\"" + p + "\" is not a JSON Pointer");
      step.capture[name] = p;
    }
  }
}

/// "assume": one block or an array of them, each naming the assumption it stands for.
void parse_assume(const nlohmann::json& v, const Where& where, const std::string& pointer, Step& step) {
  auto one = [&](const nlohmann::json& block, const std::string& p) {
    Assumption a;
    a.expect = parse_expect(block, where, p, true);
    if (!block.contains("because"))
      where.fail(p, "an assumption names its id in \"because\" (see the manifest's \"assumptions\")");
    a.because = require_string(block["because"], where, p + "/because");
    if (!a.expect.has_status() && a.expect.errors.empty())
      where.fail(p, "an assumption expects a \"status\", \"errors\" or both");
    if (!a.expect.errors.empty() && !a.expect.has_status() && !step.expect.accepts(422))
      where.fail(p + "/errors", "error items are only checked on a 422, which \"expect\" does not allow");
    step.assume.push_back(std::move(a));
  };
  if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i) one(v[i], pointer + "/" + std::to_string(i));
  } else {
    one(v, pointer);
  }
}

Case parse_case(const nlohmann::json& v, const std::string& source, const std::string& file,
                const std::filesystem::path& base_dir) {
  Where where{file, ""};
  require_object(v, where, "");
  if (!v.contains("id")) where.fail("", "a case needs an \"id\"");
  Case c;
  c.id = require_string(v["id"], where, "/id");
  if (!valid_case_id(c.id))
    where.fail("/id",
               "\"" + c.id + "\" is not a case id (letters, digits, '-', '_', '.'; at most 80 characters)");
  where.case_id = c.id;
  c.source = source;
  check_keys(v,
             {"id", "description", "tags", "unsettled", "operation", "request", "expect", "assume", "capture",
              "steps"},
             where, "");
  if (v.contains("description")) c.description = require_string(v["description"], where, "/description");
  if (v.contains("tags")) {
    const auto& tags = v["tags"];
    if (!tags.is_array()) where.fail("/tags", "must be an array of strings, not " + type_name(tags));
    for (std::size_t i = 0; i < tags.size(); ++i) {
      auto t = require_string(tags[i], where, "/tags/" + std::to_string(i));
      if (t.empty()) where.fail("/tags/" + std::to_string(i), "a tag cannot be empty");
      if (std::find(c.tags.begin(), c.tags.end(), t) == c.tags.end()) c.tags.push_back(t);
    }
  }
  if (v.contains("unsettled")) {
    c.unsettled = require_string(v["unsettled"], where, "/unsettled");
    if (c.unsettled.empty()) where.fail("/unsettled", "say why the expectation is unsettled");
    if (std::find(c.tags.begin(), c.tags.end(), "unsettled") == c.tags.end()) c.tags.push_back("unsettled");
  }
  bool single = v.contains("request") || v.contains("expect") || v.contains("assume") ||
                v.contains("operation") || v.contains("capture");
  if (single && v.contains("steps"))
    where.fail("", "use either \"request\"/\"expect\" or \"steps\", not both");
  if (single) {
    if (!v.contains("expect")) where.fail("", "missing \"expect\"");
    static const nlohmann::json kNoRequest = nlohmann::json::object();
    c.steps.push_back(
        parse_step(v.contains("request") ? v["request"] : kNoRequest, v["expect"], where, "", base_dir));
    if (v.contains("assume")) parse_assume(v["assume"], where, "/assume", c.steps.back());
    parse_step_extras(v, where, "", c.steps.back());
  } else if (v.contains("steps")) {
    const auto& steps = v["steps"];
    if (!steps.is_array() || steps.empty()) where.fail("/steps", "must be a non-empty array of steps");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      std::string p = "/steps/" + std::to_string(i);
      require_object(steps[i], where, p);
      check_keys(steps[i], {"operation", "request", "expect", "assume", "capture"}, where, p);
      if (!steps[i].contains("expect")) where.fail(p, "missing \"expect\"");
      static const nlohmann::json kNoRequest = nlohmann::json::object();
      c.steps.push_back(parse_step(steps[i].contains("request") ? steps[i]["request"] : kNoRequest,
                                   steps[i]["expect"], where, p, base_dir));
      if (steps[i].contains("assume")) parse_assume(steps[i]["assume"], where, p + "/assume", c.steps.back());
      parse_step_extras(steps[i], where, p, c.steps.back());
    }
  } else {
    where.fail("", "a case needs \"request\" and \"expect\", or \"steps\"");
  }
  return c;
}

}  // namespace

bool Expectation::accepts(int status) const {
  return std::find(statuses.begin(), statuses.end(), status) != statuses.end() ||
         std::find(status_classes.begin(), status_classes.end(), status / 100) != status_classes.end();
}

std::string Expectation::status_text() const {
  std::string out;
  for (int s : statuses) out += (out.empty() ? "" : " or ") + std::to_string(s);
  for (int c : status_classes) out += (out.empty() ? "" : " or ") + std::to_string(c) + "xx";
  return out;
}

std::string_view to_string(AuthVariant auth) {
  switch (auth) {
    case AuthVariant::kValid:
      return "valid";
    case AuthVariant::kNone:
      return "none";
    case AuthVariant::kWrongToken:
      return "wrong-token";
    case AuthVariant::kWrongProject:
      return "wrong-project";
    case AuthVariant::kMalformedHeader:
      return "malformed-header";
  }
  return "valid";
}

std::vector<Case> parse_cases(std::string_view text, const std::string& file_name,
                              const std::filesystem::path& base_dir) {
  auto parsed = parse_json(text);
  if (!parsed) throw ConfigError(file_name + ": not JSON: " + parsed.error().to_string());
  std::vector<Case> out;
  const auto& doc = *parsed;
  if (doc.is_array()) {
    for (std::size_t i = 0; i < doc.size(); ++i) {
      try {
        out.push_back(parse_case(doc[i], file_name + "[" + std::to_string(i) + "]", file_name, base_dir));
      } catch (const ConfigError& e) {
        // Name the array index when the case has no usable id yet.
        std::string msg = e.what();
        if (msg.rfind(file_name + ": case \"", 0) != 0)
          msg = file_name + "[" + std::to_string(i) + "]" + msg.substr(file_name.size());
        throw ConfigError(msg);
      }
    }
  } else if (doc.is_object()) {
    out.push_back(parse_case(doc, file_name, file_name, base_dir));
  } else {
    throw ConfigError(file_name + ": a case file holds a case object or an array of them, not " +
                      doc.type_name());
  }
  return out;
}

namespace {
void reject_duplicates(const std::vector<Case>& cases) {
  std::map<std::string, std::string> seen;
  for (const auto& c : cases) {
    auto [it, inserted] = seen.emplace(c.id, c.source);
    if (!inserted)
      throw ConfigError(c.source + ": case \"" + c.id + "\": duplicate id (also in " + it->second + ")");
  }
}
}  // namespace

std::vector<Case> load_cases(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path folder = dir;
  if (std::filesystem::is_directory(dir / "cases", ec)) folder = dir / "cases";
  if (!std::filesystem::is_directory(folder, ec))
    throw ConfigError(dir.string() + ": not a folder of case files");
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& p = it->path();
    auto name = p.filename().string();
    if (p.extension() != ".json" || name.ends_with(".manifest.json")) continue;
    if (!it->is_regular_file(ec)) continue;
    files.push_back(p);
  }
  if (ec) throw ConfigError(folder.string() + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw ConfigError(folder.string() + ": no *.json case files");
  std::vector<Case> out;
  for (const auto& f : files) {
    auto text = read_file_limited(f, kMaxCaseFileBytes, f.string());
    auto cases = parse_cases(text, f.string(), f.parent_path());
    std::move(cases.begin(), cases.end(), std::back_inserter(out));
  }
  reject_duplicates(out);
  return out;
}

std::vector<Case> contract_cases(const Contract& contract) {
  std::vector<Case> out;
  const std::string prefix = contract.cases_dir().empty() ? "cases/" : contract.cases_dir().string() + "/";
  for (const auto& [name, text] : contract.case_files()) {
    auto cases = parse_cases(text, prefix + name, contract.cases_dir());
    std::move(cases.begin(), cases.end(), std::back_inserter(out));
  }
  reject_duplicates(out);
  return out;
}

std::vector<Case> builtin_cases() { return contract_cases(Contract::builtin()); }

void check_cases(const std::vector<Case>& cases, const Contract& contract) {
  const auto& assumptions = contract.assumptions();
  for (const auto& c : cases) {
    std::set<std::string> captured;
    for (std::size_t i = 0; i < c.steps.size(); ++i) {
      const Step& step = c.steps[i];
      const std::string where = c.source + ": case \"" + c.id + "\"" +
                                (c.steps.size() > 1 ? ": step " + std::to_string(i + 1) : std::string());
      const Operation* op =
          step.operation.empty() ? &contract.operation_of_record() : contract.operation(step.operation);
      if (!op) {
        std::string known;
        for (const auto& [key, o] : contract.operations()) known += (known.empty() ? "" : ", ") + key;
        throw ConfigError(where + ": operation \"" + step.operation + "\" is not in contract " +
                          contract.name() + " (" + known + ")");
      }
      const Resource& resource = contract.resources().at(op->resource);
      for (const auto& p : op->path_parameters)
        if (!step.path_params.count(p.name) && p.name != resource.parent_parameter)
          throw ConfigError(where + ": path parameter {" + p.name + "} of " + op->name +
                            " has no value (request.path_params)");
      for (const auto& param : step.path_params) {
        const std::string& name = param.first;  // not a structured binding: clang 14 cannot capture one
        if (std::none_of(op->path_parameters.begin(), op->path_parameters.end(),
                         [&](const PathParameter& p) { return p.name == name; }))
          throw ConfigError(where + ": request.path_params." + name + ": " + op->name +
                            " has no such parameter");
      }
      if ((step.body || step.raw_body) && !op->request)
        throw ConfigError(where + ": " + op->name + " takes no request body");
      for (const auto& a : step.assume)
        if (!assumptions.count(a.because)) {
          std::string known;
          for (const auto& [id, text] : assumptions) known += (known.empty() ? "" : ", ") + id;
          throw ConfigError(where + ": assume: unknown assumption \"" + a.because +
                            "\" (the contract's: " + (known.empty() ? "none" : known) + ")");
        }
      // Every {{var:NAME}} must be captured by an earlier step.
      auto uses = [&](std::string_view text) {
        for (auto at = text.find("{{var:"); at != std::string_view::npos; at = text.find("{{var:", at + 1)) {
          auto close = text.find("}}", at);
          if (close == std::string_view::npos) return;
          std::string name(text.substr(at + 6, close - at - 6));
          if (!captured.count(name))
            throw ConfigError(where + ": {{var:" + name + "}} is not captured by an earlier step");
        }
      };
      for (const auto& [name, value] : step.path_params) uses(value);
      if (step.raw_body) uses(*step.raw_body);
      if (step.body) uses(step.body->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      for (const auto& id : step.expect.listed) uses(id);
      for (const auto& id : step.expect.unlisted) uses(id);
      if ((!step.expect.listed.empty() || !step.expect.unlisted.empty()) && op->role != Role::kList)
        throw ConfigError(where + ": \"listed\" and \"unlisted\" are checked on a list operation only");
      for (const auto& [name, pointer] : step.capture) captured.insert(name);
    }
  }
}

std::vector<Case> select_cases(const std::vector<Case>& cases, const Selection& selection) {
  if (selection.shard_count == 0 || selection.shard_index == 0 ||
      selection.shard_index > selection.shard_count)
    throw ConfigError("--shard " + std::to_string(selection.shard_index) + "/" +
                      std::to_string(selection.shard_count) + ": I must be between 1 and N");
  // Shards are taken round-robin over the ids in sorted order: balanced, and the same case set
  // always splits the same way whatever the file order.
  std::set<std::string> in_shard;
  if (selection.shard_count > 1) {
    std::vector<std::string> ids;
    for (const auto& c : cases) ids.push_back(c.id);
    std::sort(ids.begin(), ids.end());
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (i % selection.shard_count == selection.shard_index - 1) in_shard.insert(ids[i]);
  }
  std::vector<Case> out;
  for (const auto& c : cases) {
    if (!selection.globs.empty() &&
        std::none_of(selection.globs.begin(), selection.globs.end(),
                     [&](const std::string& g) { return fnmatch(g.c_str(), c.id.c_str(), 0) == 0; }))
      continue;
    if (!selection.tags.empty() &&
        std::none_of(selection.tags.begin(), selection.tags.end(), [&](const std::string& t) {
          return std::find(c.tags.begin(), c.tags.end(), t) != c.tags.end();
        }))
      continue;
    if (selection.shard_count > 1 && !in_shard.count(c.id)) continue;
    out.push_back(c);
  }
  return out;
}

void write_case_list(const std::vector<Case>& cases, std::ostream& out) {
  for (const auto& c : cases) {
    out << c.id;
    if (!c.tags.empty()) {
      out << "  [";
      for (std::size_t i = 0; i < c.tags.size(); ++i) out << (i ? ", " : "") << c.tags[i];
      out << "]";
    }
    if (c.steps.size() > 1) out << "  (" << c.steps.size() << " steps)";
    if (!c.description.empty()) out << "  " << c.description;
    if (!c.unsettled.empty()) out << "  (unsettled: " << c.unsettled << ")";
    out << '\n';
  }
}

}  // namespace sipcontract
