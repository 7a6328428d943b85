// The contract loader: contract.json read member by member into the typed model, every schema of
// the folder compiled once, the case files kept as text. Every member of the manifest must be
// read by the loader; one that is not (a typo, or a rule nothing implements) is an error.
#include "sipcontract/contract.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

namespace sipcontract {
namespace detail {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_contracts();
}  // namespace detail

namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxFileBytes = 16u << 20;

/// Reads one object of the manifest: each member read is recorded, and finish() refuses the
/// rest ("$comment" aside), naming the file and the member.
class Reader {
 public:
  Reader(const Json& object, std::string where, const std::string& file)
      : object_(object), where_(std::move(where)), file_(file) {
    if (!object.is_object()) fail("", "must be an object");
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  [[noreturn]] void fail(const std::string& member, const std::string& problem) const {
    throw SchemaError("contract " + file_ + ": " + path(member) + ": " + problem);
  }
  std::string path(const std::string& member) const {
    if (member.empty()) return where_.empty() ? "(root)" : where_;
    return where_.empty() ? member : where_ + "." + member;
  }
  const Json* find(const std::string& key) {
    auto it = object_.find(key);
    if (it == object_.end()) return nullptr;
    read_.insert(key);
    return &*it;
  }
  const Json& need(const std::string& key) {
    const Json* v = find(key);
    if (!v) fail("", "missing \"" + key + "\"");
    return *v;
  }
  std::string string(const std::string& key, bool required = true, std::string fallback = {}) {
    const Json* v = required ? &need(key) : find(key);
    if (!v) return fallback;
    if (!v->is_string() || v->get_ref<const std::string&>().empty()) fail(key, "must be a non-empty string");
    return v->get<std::string>();
  }
  bool boolean(const std::string& key, bool fallback) {
    const Json* v = find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) fail(key, "must be true or false");
    return v->get<bool>();
  }
  std::size_t count(const std::string& key, std::size_t fallback) {
    const Json* v = find(key);
    if (!v) return fallback;
    if (!v->is_number_unsigned() || v->get<std::uint64_t>() == 0)
      fail(key, "must be a positive whole number");
    return v->get<std::size_t>();
  }
  const Json& object(const std::string& key) {
    const Json& v = need(key);
    if (!v.is_object()) fail(key, "must be an object");
    return v;
  }
  /// Refuses every member not read.
  void finish() const {
    for (const auto& [key, value] : object_.items()) {
      (void)value;
      if (key == "$comment" || read_.count(key)) continue;
      std::string known;
      for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
      fail(key, "unknown member (nothing reads it; this object's members: " +
                    (known.empty() ? "none" : known) + ")");
    }
  }

 private:
  const Json& object_;
  std::string where_;
  const std::string& file_;
  std::set<std::string> read_;
};

Role parse_role(const std::string& text, const Reader& r) {
  for (Role role : {Role::kCreate, Role::kList, Role::kGet, Role::kUpdate, Role::kDelete})
    if (to_string(role) == text) return role;
  r.fail("role", "\"" + text + "\" is not a role (create, list, get, update, delete)");
}

int parse_status(const std::string& key, const Reader& r) {
  int status = 0;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), status);
  if (ec != std::errc() || end != key.data() + key.size() || status < 100 || status > 599)
    r.fail(key, "a status must be a number from 100 to 599");
  return status;
}

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw SchemaError("contract: cannot read " + path.string() + ": " + ec.message());
  if (size > kMaxFileBytes)
    throw SchemaError("contract: " + path.string() + " is " + std::to_string(size) + " bytes (limit " +
                      std::to_string(kMaxFileBytes) + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SchemaError("contract: cannot open " + path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The path parameters of a path template ("{name}" segments), in order.
std::vector<std::string> template_parameters(const std::string& path, const Reader& r) {
  std::vector<std::string> out;
  for (std::size_t i = path.find('{'); i != std::string::npos; i = path.find('{', i + 1)) {
    auto close = path.find('}', i);
    if (close == std::string::npos) r.fail("path", "unclosed '{' in " + path);
    out.push_back(path.substr(i + 1, close - i - 1));
  }
  return out;
}

}  // namespace

/// Builds a Contract from its files.
struct ContractLoader {
  /// `compile_now`: every schema compiled here, so that a broken one is found at load time (a
  /// contract from files); else each on its first use (a built-in one: its tests compile them all).
  static Contract load(const std::map<std::string, std::string>& files, const std::string& origin,
                       const std::filesystem::path& cases_dir, bool compile_now = true) {
    auto manifest_it = files.find("contract.json");
    if (manifest_it == files.end()) throw SchemaError("contract " + origin + ": no contract.json");
    const std::string file = origin + (origin.ends_with("contract.json") ? "" : "/contract.json");
    Parsed parsed = parse_json(manifest_it->second);
    if (!parsed) throw SchemaError("contract " + file + ": " + parsed.error().to_string());

    Contract c;
    c.origin_ = origin;
    c.cases_dir_ = cases_dir;
    auto store = std::make_shared<SchemaStore>();
    for (const auto& [name, text] : files) {
      if (name.rfind("schemas/", 0) == 0 && !name.ends_with(".test.json")) store->add(name.substr(8), text);
      if (name.rfind("cases/", 0) == 0) c.case_files_.emplace(name.substr(6), text);
    }
    c.store_ = store;
    for (const auto& name : store->names())
      c.schemas_.emplace(name,
                         compile_now ? Schema::compile(*store, name) : Schema::compile_on_use(store, name));

    Reader root(*parsed, "", file);
    {
      Reader about(root.object("contract"), "contract", file);
      c.name_ = about.string("name");
      c.title_ = about.string("title");
      if (const Json* sources = about.find("sources")) {
        if (!sources->is_array()) about.fail("sources", "must be an array");
        for (std::size_t i = 0; i < sources->size(); ++i) {
          Reader s((*sources)[i], "contract.sources[" + std::to_string(i) + "]", file);
          c.sources_.push_back({s.string("title"), s.string("url")});
          s.finish();
        }
      }
      about.finish();
    }
    c.base_path_ = root.string("base_path", false);
    while (!c.base_path_.empty() && c.base_path_.back() == '/') c.base_path_.pop_back();
    if (!c.base_path_.empty() && c.base_path_.front() != '/') root.fail("base_path", "must start with '/'");
    c.media_type_ = root.string("media_type", false, "application/json");
    {
      Reader auth(root.object("auth"), "auth", file);
      c.auth_.scheme = auth.string("scheme");
      if (c.auth_.scheme != "basic") auth.fail("scheme", "only \"basic\" is supported");
      Reader user(auth.object("user"), "auth.user", file);
      c.auth_.user_env = user.string("env");
      c.auth_.user_title = user.string("title");
      user.finish();
      Reader token(auth.object("token"), "auth.token", file);
      c.auth_.token_env = token.string("env");
      c.auth_.token_title = token.string("title");
      token.finish();
      auth.finish();
    }
    if (const Json* secrets = root.find("secret_fields")) {
      if (!secrets->is_array()) root.fail("secret_fields", "must be an array of field names");
      for (const auto& f : *secrets) {
        if (!f.is_string() || f.get_ref<const std::string&>().empty())
          root.fail("secret_fields", "must be an array of field names");
        c.secret_fields_.push_back(f);
      }
    }
    // Every schema of the contract hides the values of its secret fields in its findings.
    for (auto& [name, schema] : c.schemas_) schema = schema.with_secret_fields(c.secret_fields_);
    read_errors(c, root.object("errors"), file);
    if (const Json* assumptions = root.find("assumptions")) {
      if (!assumptions->is_object()) root.fail("assumptions", "must be an object");
      for (const auto& [id, entry] : assumptions->items()) {
        Reader a(entry, "assumptions." + id, file);
        c.assumptions_[id] = a.string("assumes");
        a.string("why");  // for people: the docs and reports quote "assumes"
        a.finish();
      }
    }
    const auto schema_named = [&](const std::string& name, const std::string& where) -> const Schema* {
      auto it = c.schemas_.find(name);
      if (it == c.schemas_.end())
        throw SchemaError("contract " + file + ": " + where + ": no schema named \"" + name +
                          "\" in the schemas folder");
      return &it->second;
    };

    {
      const Json& ops_json = root.object("operations");
      Reader ops(ops_json, "operations", file);
      for (auto it = ops_json.begin(); it != ops_json.end(); ++it)
        read_operation(c, it.key(), ops.object(it.key()), file, schema_named);
      ops.finish();
    }
    if (c.operations_.empty()) root.fail("operations", "names no operation");
    {
      const Json& res_json = root.object("resources");
      Reader res(res_json, "resources", file);
      for (auto it = res_json.begin(); it != res_json.end(); ++it)
        read_resource(c, it.key(), res.object(it.key()), file, schema_named);
      res.finish();
    }
    root.finish();

    // Cross-references.
    int of_record = 0;
    for (auto& [key, op] : c.operations_) {
      if (!c.resources_.count(op.resource))
        throw SchemaError("contract " + file + ": operations." + key + ".resource: no resource \"" +
                          op.resource + "\"");
      if (op.of_record) ++of_record;
    }
    if (of_record != 1)
      throw SchemaError("contract " + file + ": operations: exactly one operation has \"of_record\": true (" +
                        std::to_string(of_record) + " do)");
    for (const auto& [rname, resource] : c.resources_) {
      for (const auto& f : resource.fields)
        if (!f.default_assumption.empty() && !c.assumptions_.count(f.default_assumption))
          throw SchemaError("contract " + file + ": resources." + rname + ".fields." + f.name +
                            ".default_because: no assumption \"" + f.default_assumption + "\"");
      std::set<Role> roles;
      for (const auto& [key, op] : c.operations_)
        if (op.resource == rname && !roles.insert(op.role).second)
          throw SchemaError("contract " + file + ": operations." + key + ": a second " +
                            std::string(to_string(op.role)) + " operation on " + rname);
    }
    c.relink();
    return c;
  }

  static void read_errors(Contract& c, const Json& errors, const std::string& file) {
    Reader r(errors, "errors", file);
    if (const Json* bodies = r.find("bodies")) {
      if (!bodies->is_object()) r.fail("bodies", "must be an object of status -> body");
      for (const auto& [status, body] : bodies->items()) c.error_bodies_[parse_status(status, r)] = body;
    }
    Reader v(r.object("validation"), "errors.validation", file);
    auto& shape = c.validation_;
    if (const Json* s = v.find("status")) {
      if (!s->is_number_integer()) v.fail("status", "must be a status");
      shape.status = s->get<int>();
    }
    shape.items = v.string("items");
    if (const Json* item = v.find("item")) {
      if (!item->is_object()) v.fail("item", "must be an object");
      shape.item_template = *item;
    } else {
      shape.item_template = Json::object();
    }
    shape.attribute = v.string("attribute");
    shape.code = v.string("code");
    shape.message = v.string("message");
    if (const Json* codes = v.find("codes")) {
      Reader cr(*codes, "errors.validation.codes", file);
      for (const char* situation : {"missing", "invalid", "unreadable", "full"})
        if (auto code = cr.string(situation, false); !code.empty()) shape.codes[situation] = code;
      cr.finish();
    }
    v.finish();
    r.finish();
  }

  template <typename SchemaNamed>
  static void read_operation(Contract& c, const std::string& key, const Json& value, const std::string& file,
                             const SchemaNamed& schema_named) {
    const std::string where = "operations." + key;
    Reader r(value, where, file);
    Operation op;
    op.name = key;
    op.id = r.string("id", false, key);
    op.title = r.string("title", false, op.id);
    op.resource = r.string("resource");
    op.role = parse_role(r.string("role"), r);
    op.of_record = r.boolean("of_record", false);
    op.method = r.string("method");
    op.path = r.string("path");
    if (op.path.front() != '/') r.fail("path", "must start with '/'");
    std::map<std::string, std::string> formats;
    if (const Json* params = r.find("path_parameters")) {
      if (!params->is_object()) r.fail("path_parameters", "must be an object");
      for (const auto& [name, spec] : params->items()) {
        Reader p(spec, where + ".path_parameters." + name, file);
        formats[name] = p.string("format", false);
        if (!formats[name].empty() && formats[name] != "uuid") p.fail("format", "only \"uuid\" is known");
        p.finish();
      }
    }
    for (const auto& name : template_parameters(op.path, r)) {
      op.path_parameters.push_back({name, formats.count(name) ? formats[name] : ""});
      formats.erase(name);
    }
    if (!formats.empty()) r.fail("path_parameters", "\"" + formats.begin()->first + "\" is not in the path");
    if (const Json* request = r.find("request")) {
      Reader rq(*request, where + ".request", file);
      RequestSpec spec;
      spec.content_type = rq.string("content_type", false, c.media_type_);
      spec.schema_name = rq.string("schema");
      spec.schema = schema_named(spec.schema_name, where + ".request.schema");
      rq.finish();
      op.request = spec;
    }
    const Json& responses = r.object("responses");
    if (responses.empty()) r.fail("responses", "documents no status");
    {
      Reader rs(responses, where + ".responses", file);
      for (const auto& [status_text, spec] : responses.items()) {
        rs.find(status_text);
        Reader s(spec, where + ".responses." + status_text, file);
        ResponseSpec response;
        response.status = parse_status(status_text, rs);
        response.schema_name = s.string("schema", false);
        if (!response.schema_name.empty()) {
          response.schema =
              schema_named(response.schema_name, where + ".responses." + status_text + ".schema");
          response.content_type = s.string("content_type", false, c.media_type_);
        }
        s.finish();
        op.responses[response.status] = response;
      }
      rs.finish();
    }
    r.finish();
    c.operations_.emplace(key, std::move(op));
  }

  template <typename SchemaNamed>
  static void read_resource(Contract& c, const std::string& key, const Json& value, const std::string& file,
                            const SchemaNamed& schema_named) {
    const std::string where = "resources." + key;
    Reader r(value, where, file);
    Resource res;
    res.name = key;
    res.title = r.string("title", false, key);
    {
      Reader p(r.object("parent"), where + ".parent", file);
      res.parent_parameter = p.string("parameter");
      res.parent_title = p.string("title", false, "parent");
      res.parent_option = p.string("option", false, "parent");
      p.finish();
    }
    {
      Reader id(r.object("id"), where + ".id", file);
      res.id_field = id.string("field");
      res.id_parameter = id.string("parameter");
      id.finish();
    }
    res.name_field = r.string("name_field", false);
    res.schema_name = r.string("schema");
    schema_named(res.schema_name, where + ".schema");
    if (const Json* unique = r.find("unique")) {
      if (!unique->is_array()) r.fail("unique", "must be an array of rules");
      for (std::size_t i = 0; i < unique->size(); ++i) {
        Reader u((*unique)[i], where + ".unique[" + std::to_string(i) + "]", file);
        UniqueRule rule{u.string("field"), u.string("scope"), u.string("code"), u.string("message")};
        if (rule.scope != "project" && rule.scope != "parent")
          u.fail("scope", "must be \"project\" or \"parent\"");
        u.finish();
        res.unique.push_back(std::move(rule));
      }
    }
    const std::vector<std::string> documented = c.documented_properties(res.schema_name);
    if (const Json* fields = r.find("fields")) {
      if (!fields->is_object()) r.fail("fields", "must be an object of field -> rule");
      for (const auto& [name, spec] : fields->items()) {
        Reader f(spec, where + ".fields." + name, file);
        if (std::find(documented.begin(), documented.end(), name) == documented.end())
          f.fail("", "\"" + name + "\" is not a property of " + res.schema_name);
        FieldRule rule;
        rule.name = name;
        if (const Json* d = f.find("default")) rule.default_value = *d;
        rule.default_assumption = f.string("default_because", false);
        rule.unless_sent = f.string("unless_sent", false);
        if (const Json* a = f.find("absent")) {
          rule.absent_value = *a;
          if (a->is_object()) {
            Reader g(*a, where + ".fields." + name + ".absent", file);
            if (g.string("generate") != "uuid") g.fail("generate", "only \"uuid\" is known");
            g.finish();
          }
        }
        f.finish();
        if ((!rule.default_assumption.empty() || !rule.unless_sent.empty()) && !rule.default_value)
          f.fail("", "default_because and unless_sent qualify a \"default\"");
        res.fields.push_back(std::move(rule));
      }
    }
    for (const auto& rule : res.unique)
      if (std::find(documented.begin(), documented.end(), rule.field) == documented.end())
        r.fail("unique", "\"" + rule.field + "\" is not a property of " + res.schema_name);
    if (const Json* pages = r.find("pages")) {
      Reader p(*pages, where + ".pages", file);
      res.pages.items = p.string("items");
      res.pages.links = p.string("links");
      res.pages.size_parameter = p.string("size_parameter", false);
      res.pages.default_size = p.count("default_size", res.pages.default_size);
      res.pages.max_size = p.count("max_size", res.pages.max_size);
      res.pages.token_parameter = p.string("token_parameter", false);
      if (res.pages.default_size > res.pages.max_size) p.fail("default_size", "is larger than max_size");
      p.finish();
    }
    r.finish();
    c.resources_.emplace(key, std::move(res));
  }
};

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kCreate:
      return "create";
    case Role::kList:
      return "list";
    case Role::kGet:
      return "get";
    case Role::kUpdate:
      return "update";
    case Role::kDelete:
      return "delete";
  }
  return "create";
}

const ResponseSpec* Operation::response(int status) const {
  auto it = responses.find(status);
  return it == responses.end() ? nullptr : &it->second;
}

std::vector<int> Operation::success_statuses() const {
  std::vector<int> out;
  for (const auto& [status, r] : responses)
    if (status >= 200 && status < 300) out.push_back(status);
  return out;
}

std::vector<int> Operation::statuses() const {
  std::vector<int> out;
  for (const auto& [status, r] : responses) out.push_back(status);
  return out;
}

Result Operation::validate_request(const nlohmann::json& body) const {
  if (!request) return {};
  return request->schema->validate(body);
}

Result Operation::validate_response(int status, const nlohmann::json& body) const {
  if (const ResponseSpec* r = response(status); r && r->schema) return r->schema->validate(body);
  if (response(status)) return {};
  std::string documented;
  for (int s : statuses()) documented += (documented.empty() ? "" : ", ") + std::to_string(s);
  Result result;
  Finding f;
  f.keyword = "status";
  f.message =
      "status " + std::to_string(status) + " is not documented for " + id + "; documented: " + documented;
  result.findings.push_back(std::move(f));
  return result;
}

const Operation* Resource::operation(Role role) const {
  auto it = operations_.find(role);
  return it == operations_.end() ? nullptr : it->second;
}

const FieldRule* Resource::field(std::string_view name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

std::string ValidationErrorShape::code_for(const std::string& situation) const {
  auto it = codes.find(situation);
  return it == codes.end() ? std::string() : it->second;
}

Contract::Contract(const Contract& other)
    : name_(other.name_),
      title_(other.title_),
      origin_(other.origin_),
      base_path_(other.base_path_),
      media_type_(other.media_type_),
      sources_(other.sources_),
      auth_(other.auth_),
      secret_fields_(other.secret_fields_),
      error_bodies_(other.error_bodies_),
      validation_(other.validation_),
      assumptions_(other.assumptions_),
      operations_(other.operations_),
      resources_(other.resources_),
      store_(other.store_),
      schemas_(other.schemas_),
      case_files_(other.case_files_),
      cases_dir_(other.cases_dir_) {
  relink();
}

Contract& Contract::operator=(const Contract& other) {
  if (this != &other) {
    Contract copy(other);
    *this = std::move(copy);
  }
  return *this;
}

// std::map keeps its nodes on a move, so the pointers into operations_ and schemas_ stay valid.
Contract::Contract(Contract&&) noexcept = default;
Contract& Contract::operator=(Contract&&) noexcept = default;
Contract::~Contract() = default;

void Contract::relink() {
  of_record_ = nullptr;
  for (auto& [key, op] : operations_) {
    if (op.request) op.request->schema = &schemas_.at(op.request->schema_name);
    for (auto& [status, r] : op.responses)
      r.schema = r.schema_name.empty() ? nullptr : &schemas_.at(r.schema_name);
    if (op.of_record) of_record_ = &op;
  }
  for (auto& [name, res] : resources_) {
    res.operations_.clear();
    for (const auto& [key, op] : operations_)
      if (op.resource == name) res.operations_[op.role] = &op;
  }
}

Contract Contract::load(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path dir = path;
  if (std::filesystem::is_regular_file(path, ec))
    dir = path.parent_path();
  else if (!std::filesystem::is_directory(path, ec))
    throw SchemaError("contract " + path.string() + ": not a contract folder or contract.json");
  std::map<std::string, std::string> files;
  files["contract.json"] =
      read_file(std::filesystem::is_regular_file(path, ec) ? path : dir / "contract.json");
  for (const char* sub : {"schemas", "cases"}) {
    if (!std::filesystem::is_directory(dir / sub, ec)) continue;
    for (std::filesystem::directory_iterator it(dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
      const auto& p = it->path();
      if (p.extension() != ".json" || !it->is_regular_file(ec)) continue;
      files[std::string(sub) + "/" + p.filename().string()] = read_file(p);
    }
    if (ec) throw SchemaError("contract " + (dir / sub).string() + ": cannot list: " + ec.message());
  }
  return ContractLoader::load(files, path.string(), dir / "cases");
}

Contract Contract::from_files(const std::map<std::string, std::string>& files, const std::string& origin) {
  return ContractLoader::load(files, origin, {});
}

std::vector<std::string> Contract::builtin_names() {
  std::set<std::string> names;
  for (const auto& [name, text] : detail::embedded_contracts()) {
    (void)text;
    auto slash = name.find('/');
    if (slash != std::string_view::npos) names.insert(std::string(name.substr(0, slash)));
  }
  return {names.begin(), names.end()};
}

const Contract& Contract::builtin(std::string_view name) {
  // Each built-in contract is loaded (its schemas compiled) on its own first use, once: a command
  // pays for the contract it uses, not for every one this build holds. A name this build lacks is
  // a SchemaError.
  struct Entry {
    std::map<std::string, std::string> files;
    std::once_flag loaded;
    std::shared_ptr<const Contract> contract;
  };
  static std::map<std::string, Entry> all = [] {
    std::map<std::string, Entry> out;
    for (const auto& [path, text] : detail::embedded_contracts()) {
      auto slash = path.find('/');
      if (slash == std::string_view::npos) continue;
      out[std::string(path.substr(0, slash))].files[std::string(path.substr(slash + 1))] = std::string(text);
    }
    return out;
  }();
  auto it = all.find(std::string(name));
  if (it == all.end()) {
    std::string known;
    for (const auto& [n, e] : all) known += (known.empty() ? "" : ", ") + n;
    throw SchemaError("no built-in contract \"" + std::string(name) + "\" (built in: " + known + ")");
  }
  Entry& entry = it->second;
  const std::string& entry_name = it->first;
  std::call_once(entry.loaded, [&entry, &entry_name] {
    entry.contract = std::make_shared<const Contract>(
        ContractLoader::load(entry.files, "built-in " + entry_name, {}, false));
    std::map<std::string, std::string>().swap(entry.files);  // the contract holds its own copies now
  });
  return *entry.contract;
}

Contract Contract::resolve(const std::string& name_or_path) {
  const auto names = builtin_names();
  if (std::find(names.begin(), names.end(), name_or_path) != names.end()) return builtin(name_or_path);
  std::error_code ec;
  if (!std::filesystem::exists(name_or_path, ec)) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw SchemaError("--contract " + name_or_path + ": neither a built-in contract (" + known +
                      ") nor a contract folder");
  }
  return load(name_or_path);
}

std::string Contract::reference() const {
  if (origin_ == "built-in " + name_) return name_;
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(origin_, ec);
  return ec ? origin_ : absolute.string();
}

bool Contract::is_secret_field(std::string_view field) const {
  return std::find(secret_fields_.begin(), secret_fields_.end(), field) != secret_fields_.end();
}

const Operation* Contract::operation(std::string_view key) const {
  if (auto it = operations_.find(std::string(key)); it != operations_.end()) return &it->second;
  for (const auto& [name, op] : operations_)
    if (op.id == key) return &op;
  return nullptr;
}

const Resource& Contract::main_resource() const { return resources_.at(of_record_->resource); }

const Schema& Contract::schema(const std::string& name) const {
  auto it = schemas_.find(name);
  if (it == schemas_.end()) throw SchemaError("the contract has no schema named \"" + name + "\"");
  return it->second;
}

namespace {

/// The properties schema `name` declares, in document order, through a root "$ref" and "allOf";
/// with `with_schemas`, each with its schema as plain JSON (else only the names, which is all
/// loading a contract needs, and two thirds cheaper: no schema is written out and parsed again).
std::vector<PropertySchema> walk_properties(const SchemaStore* store, const std::string& name,
                                            bool with_schemas) {
  using Ordered = nlohmann::ordered_json;
  std::vector<PropertySchema> out;
  if (!store) return out;
  // Each schema file parsed once per call, keeping its members in document order.
  std::map<std::string, Ordered> docs;
  const auto node_at = [&](const std::string& file, const std::string& pointer) -> const Ordered* {
    auto it = docs.find(file);
    if (it == docs.end()) {
      const std::string* text = store->find(file);
      if (!text) return nullptr;
      it = docs.emplace(file, Ordered::parse(*text, nullptr, false)).first;
    }
    if (it->second.is_discarded()) return nullptr;
    try {
      return pointer.empty() ? &it->second : &it->second.at(Ordered::json_pointer(pointer));
    } catch (const std::exception&) {
      return nullptr;
    }
  };
  // Where a "$ref" in `file` leads: ("sip-endpoint.json", "common.json#/definitions/X",
  // "#/definitions/X") -> file and JSON Pointer.
  const auto target_of = [](const std::string& file,
                            const Ordered& schema) -> std::optional<std::pair<std::string, std::string>> {
    if (!schema.is_object()) return std::nullopt;
    auto ref = schema.find("$ref");
    if (ref == schema.end() || !ref->is_string()) return std::nullopt;
    const std::string& target = ref->get_ref<const std::string&>();
    const auto hash = target.find('#');
    return std::pair{hash == 0 ? file : target.substr(0, hash),
                     hash == std::string::npos ? std::string() : target.substr(hash + 1)};
  };
  // A schema with its "$ref" chain followed (at most 16 steps), as plain JSON.
  const auto resolved = [&](std::string file, const Ordered* node) {
    for (int step = 0; step < 16 && node; ++step) {
      auto target = target_of(file, *node);
      if (!target) break;
      file = target->first;
      node = node_at(target->first, target->second);
    }
    return std::pair{file, node};
  };
  const auto plain = [](const Ordered& node) { return nlohmann::json::parse(node.dump()); };
  const auto add = [&](const std::string& file, const Ordered& node) {
    auto props = node.find("properties");
    if (props == node.end() || !props->is_object()) return;
    for (auto it = props->begin(); it != props->end(); ++it) {
      if (std::any_of(out.begin(), out.end(), [&](const PropertySchema& p) { return p.name == it.key(); }))
        continue;
      if (!with_schemas) {
        out.push_back(PropertySchema{it.key(), nlohmann::json()});
        continue;
      }
      auto [where, schema] = resolved(file, &it.value());
      PropertySchema property{it.key(), schema ? plain(*schema) : nlohmann::json::object()};
      if (schema && schema->is_object())
        if (auto items = schema->find("items"); items != schema->end() && items->is_object())
          if (auto [item_file, item] = resolved(where, &*items); item)
            property.schema["items"] = plain(*item);
      out.push_back(std::move(property));
    }
  };
  // A root "$ref" or an "allOf" branch leads to further declarations; each is visited once.
  std::vector<std::pair<std::string, std::string>> todo = {{name, ""}};  // file, JSON Pointer
  std::set<std::pair<std::string, std::string>> seen;
  for (std::size_t next = 0; next < todo.size() && seen.size() < 64; ++next) {
    const auto [file, pointer] = todo[next];
    if (!seen.insert({file, pointer}).second) continue;
    const Ordered* node = node_at(file, pointer);
    if (!node || !node->is_object()) continue;
    add(file, *node);
    if (auto target = target_of(file, *node)) todo.push_back(*target);
    if (auto all = node->find("allOf"); all != node->end() && all->is_array())
      for (const auto& branch : *all) {
        if (auto target = target_of(file, branch)) todo.push_back(*target);
        if (branch.is_object()) add(file, branch);
      }
  }
  return out;
}

}  // namespace

std::vector<std::string> Contract::documented_properties(const std::string& name) const {
  std::vector<std::string> out;
  for (auto& property : walk_properties(store_.get(), name, false)) out.push_back(std::move(property.name));
  return out;
}

std::vector<PropertySchema> Contract::property_schemas(const std::string& name) const {
  return walk_properties(store_.get(), name, true);
}

Result Contract::validate_request(const nlohmann::json& body) const {
  return of_record_->validate_request(body);
}

Result Contract::validate_response(int status, const nlohmann::json& body) const {
  return of_record_->validate_response(status, body);
}

Verdict Contract::check_request(std::string_view text, const ParseLimits& limits) const {
  return request_schema().check(text, limits);
}

TextResult Contract::validate_request_text(std::string_view text, const ParseLimits& limits) const {
  return request_schema().validate_text(text, limits);
}

Verdict Contract::check_response(int status, std::string_view text, const ParseLimits& limits) const {
  if (const Schema* schema = response_schema(status)) return schema->check(text, limits);
  return parse_json(text, limits) ? Verdict::kInvalid : Verdict::kNotJson;
}

TextResult Contract::validate_response_text(int status, std::string_view text,
                                            const ParseLimits& limits) const {
  if (const Schema* schema = response_schema(status)) return schema->validate_text(text, limits);
  TextResult out;
  ParseLimits hiding = limits;
  hiding.secret_fields = &secret_fields_;  // a repeated key's name may be a secret of the text
  Parsed parsed = parse_json(text, hiding);
  if (!parsed) {
    out.verdict = Verdict::kNotJson;
    out.error = parsed.error();
    return out;
  }
  out.result = validate_response(status, *parsed);
  out.verdict = Verdict::kInvalid;
  return out;
}

const Schema* Contract::response_schema(int status) const {
  const ResponseSpec* r = of_record_->response(status);
  return r ? r->schema : nullptr;
}

const Schema& Contract::request_schema() const {
  if (!of_record_->request) throw SchemaError("the operation of record takes no request body");
  return *of_record_->request->schema;
}

std::vector<int> Contract::documented_statuses() const { return of_record_->statuses(); }

}  // namespace sipcontract
