// Cleanup: delete what a run created, sweep each parent's list for what it may have created
// without knowing (a lost answer, a 5xx after the store), and verify. The report claims an item
// gone only when a complete list no longer shows it and it reads back as the contract's 404; a
// DELETE's own answer is never taken as proof (a gateway's 404 says nothing about the item). What
// cannot be verified is reported as unverified, with the ids and names at risk.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>

#include "internal.hpp"

namespace sipcontract::detail {
namespace {

using Key = std::pair<std::string, std::string>;  // parent, id

bool aborted(const CleanupContext& c) { return c.abort && c.abort->load() != 0; }

std::string status_text(const Exchange& ex) {
  if (ex.failure != Exchange::Failure::kNone) return "no answer (" + ex.failure_detail + ")";
  std::string out = std::to_string(ex.status);
  auto type = ex.header("Content-Type");
  if (!type.empty()) out += " (" + type + ")";
  return out;
}

/// One complete read of a parent's list: the run's items on it, or why it is not known.
struct Listing {
  bool complete = false;
  bool no_such_parent = false;               // the contract's 404: the parent does not exist
  std::set<std::string> ids;                 // the run's items listed: a known id, or a name with the run id
  std::map<std::string, std::string> names;  // id -> name, for the report
  std::map<std::string, std::string> ambiguous;  // id -> a name the run sent that lacks the run id
  std::string error;                             // why it is not complete
};

class Cleaner {
 public:
  Cleaner(const CleanupContext& c, const CleanupPlan& plan) : c_(c), plan_(plan) {}

  CleanupReport run(bool keep) {
    CleanupReport out;
    out.parent_title = c_.resource->parent_title;
    out.item_title = c_.resource->title;
    std::map<Key, std::string> names;                   // what the run knows it created, with the name sent
    std::map<std::string, std::set<std::string>> lost;  // parent -> names sent, outcome unknown
    for (const auto& e : plan_.entries) {
      if (!e.id.empty())
        names[{e.parent, e.id}] = e.name;
      else if (!e.name.empty())
        lost[e.parent].insert(e.name);
    }
    out.created = names.size();
    if (keep) {
      out.kept = true;
      for (const auto& [key, name] : names)
        out.leftovers.push_back({key.first, key.second, name, "kept (--keep)"});
      for (const auto& [sub, set] : lost)
        for (const auto& name : set)
          out.unverified.push_back({sub, "", name, "kept (--keep): its create's answer was lost"});
      out.verified = out.unverified.empty();
      return out;
    }
    const Resource& res = *c_.resource;
    const Operation* del = res.operation(Role::kDelete);
    const Operation* get = res.operation(Role::kGet);
    const Operation* lst = res.operation(Role::kList);
    if (c_.progress && !names.empty()) c_.progress->on_cleanup(names.size());

    // Round 1: DELETE everything known. The answer is recorded for the report, not trusted.
    std::map<Key, std::string> answered;
    if (del) {
      std::vector<Key> keys;
      for (const auto& [key, name] : names) keys.push_back(key);
      answered = delete_all(keys);
    } else {
      out.notes.push_back("the contract has no delete operation for " + res.title + ": nothing was deleted");
    }

    // Which parents to look at: every one a create went to, and every one with a known id.
    std::map<std::string, bool> parents = plan_.parents;
    for (const auto& [key, name] : names) parents[key.first] = true;

    std::set<Key> gone;                  // verified gone
    std::map<Key, std::string> left;     // verified still there, with why
    std::map<Key, std::string> unknown;  // not verified, with why
    std::set<std::string> methods;
    for (const auto& [sub, at_risk] : parents) {
      std::set<std::string> known;
      for (const auto& [key, name] : names)
        if (key.first == sub) known.insert(key.second);
      const auto& lost_here = lost[sub];
      if (aborted(c_)) {
        for (const auto& id : known) unknown[{sub, id}] = "not verified: the run was interrupted twice";
        for (const auto& name : lost_here)
          out.unverified.push_back({sub, "", name, "not verified: the run was interrupted twice"});
        continue;
      }
      Listing listing;
      if (!lst)
        listing.error = "the contract has no list operation";
      else
        listing = list(sub, known, lost_here);
      const bool listed = listing.complete || listing.no_such_parent;
      // What the list shows gone still has to read back as gone where a get operation exists: a
      // list that omits what it holds cannot hide an endpoint that is still readable.
      std::set<std::string> read_back;
      if (listed) {
        methods.insert("list");
        // Listed now: never deleted (found by its name), a DELETE that failed, or one that
        // answered success and kept it. One more DELETE, then a second look.
        for (const auto& [id, name] : listing.names)
          if (!names.count({sub, id})) names[{sub, id}] = name;  // found by the sweep
        if (!listing.ids.empty() && del) {
          std::vector<Key> again;
          for (const auto& id : listing.ids) again.push_back({sub, id});
          for (auto& [key, why] : delete_all(again)) answered.emplace(key, why);
          Listing relisted = list(sub, known, lost_here);
          if (!relisted.complete) {
            for (const auto& id : listing.ids)
              unknown[{sub, id}] =
                  "listed, deleted again, then the list could not be read: " + relisted.error;
          } else {
            for (const auto& id : relisted.ids)
              left[{sub, id}] = "still listed after DELETE answered " + answer_of(answered, {sub, id});
            for (const auto& id : listing.ids)
              if (!relisted.ids.count(id)) read_back.insert(id);
          }
        } else {
          for (const auto& id : listing.ids) left[{sub, id}] = "still listed (no delete operation)";
        }
        for (const auto& id : known)
          if (!listing.ids.count(id)) read_back.insert(id);
        for (const auto& [id, name] : listing.ambiguous)
          out.unverified.push_back({sub, id, name,
                                    "listed under a name this run sent without knowing the outcome; the name "
                                    "does not carry the run id, so it may not be the run's: not deleted"});
        // A name sent without a known outcome and not listed was never created or is gone.
      } else {
        read_back = known;
      }
      if (!get) {
        for (const auto& id : read_back) {
          if (listed)
            gone.insert({sub, id});
          else
            unknown[{sub, id}] =
                "could not verify: " + listing.error + ", and the contract has no get operation";
        }
      } else if (!read_back.empty()) {
        methods.insert("get");
        std::vector<Key> keys;
        for (const auto& id : read_back) keys.push_back({sub, id});
        auto first = read_back_all(keys);
        std::vector<Key> present;
        for (const auto& [key, verdict] : first) {
          if (verdict.empty())
            gone.insert(key);
          else if (verdict == "present")
            present.push_back(key);
          else
            unknown[key] = (listed ? "the list no longer shows it, but reading it back gave "
                                   : "could not verify: " + listing.error + "; reading it back gave ") +
                           verdict;
        }
        if (!present.empty() && del) {
          for (auto& [key, why] : delete_all(present)) answered.emplace(key, why);
          for (const auto& [key, verdict] : read_back_all(present)) {
            if (verdict.empty())
              gone.insert(key);
            else if (verdict == "present")
              left[key] = "still readable after DELETE answered " + answer_of(answered, key) +
                          (listed ? " (although the list no longer shows it)" : "");
            else
              unknown[key] = "deleted again, then reading it back gave " + verdict;
          }
        } else {
          for (const auto& key : present) left[key] = "still readable (no delete operation)";
        }
      }
      if (listed) continue;
      if (!lost_here.empty()) {
        for (const auto& name : lost_here)
          out.unverified.push_back(
              {sub, "", name,
               "a create was sent and its outcome is unknown, and the list could not be read (" +
                   listing.error + ")"});
      } else if (known.empty() && at_risk) {
        out.unverified.push_back(
            {sub, "", "",
             "a create there may have succeeded (it was not refused with a 4xx), and the list "
             "could not be read: " +
                 listing.error});
      } else if (known.empty()) {
        out.notes.push_back(res.parent_title + " " + sub + ": the list could not be read (" + listing.error +
                            "); every create sent there was refused with a 4xx, so nothing is at risk");
      }
    }

    for (const auto& [key, name] : names) {
      if (gone.count(key)) {
        ++out.deleted;
        if (c_.ledger) c_.ledger->gone(key.first, key.second);
      } else if (auto it = left.find(key); it != left.end()) {
        out.leftovers.push_back({key.first, key.second, name, it->second});
      } else if (auto u = unknown.find(key); u != unknown.end()) {
        out.unverified.push_back({key.first, key.second, name, u->second});
      } else {
        out.unverified.push_back({key.first, key.second, name, "not verified"});
      }
    }
    // Found by the sweep only (not among the known): also created by this run.
    out.created = names.size();
    out.verified = out.unverified.empty();
    std::string by = methods.count("list") ? "list" : "";
    if (methods.count("get")) by += by.empty() ? "reading back" : " and reading back";
    out.verified_by = by;
    return out;
  }

 private:
  /// DELETEs on the run's workers; returns key -> how the DELETE answered (for the report).
  std::map<Key, std::string> delete_all(const std::vector<Key>& keys) {
    std::map<Key, std::string> out;
    std::mutex m;
    std::atomic<std::size_t> next{0};
    std::function<void(std::size_t)> worker = [&](std::size_t w) {
      HttpSession& session = *(*c_.sessions)[w];
      while (true) {
        const std::size_t i = next.fetch_add(1);
        if (i >= keys.size()) return;
        if (aborted(c_)) {
          std::lock_guard lock(m);
          out[keys[i]] = "nothing: not sent, the run was interrupted twice";
          continue;
        }
        const auto& [sub, id] = keys[i];
        OutgoingRequest req;
        req.method = "DELETE";
        req.path = c_.url->prefix +
                   fill_path(c_.resource->operation(Role::kDelete)->path,
                             {{c_.resource->parent_parameter, sub}, {c_.resource->id_parameter, id}});
        req.authorization = *c_.authorization;
        req.bounded = false;
        auto ex = send(session, req, nullptr);
        std::string what = status_text(ex);
        if (ex.failure == Exchange::Failure::kNone && ex.status == 404 &&
            !is_contract_answer(*c_.resource->operation(Role::kDelete), ex, 404))
          what += ", not the contract's 404";
        std::lock_guard lock(m);
        out[keys[i]] = what;
      }
    };
    c_.pool->run(std::min(c_.sessions->size(), keys.size()), worker);
    return out;
  }

  static std::string answer_of(const std::map<Key, std::string>& answered, const Key& key) {
    auto it = answered.find(key);
    return it == answered.end() || it->second.empty() ? "nothing" : it->second;
  }

  /// read_back_gone() for each key, on the run's workers.
  std::map<Key, std::string> read_back_all(const std::vector<Key>& keys) {
    std::map<Key, std::string> out;
    std::mutex m;
    std::atomic<std::size_t> next{0};
    std::function<void(std::size_t)> worker = [&](std::size_t w) {
      while (true) {
        const std::size_t i = next.fetch_add(1);
        if (i >= keys.size()) return;
        auto verdict = read_back_gone(*(*c_.sessions)[w], keys[i].first, keys[i].second);
        std::lock_guard lock(m);
        out[keys[i]] = std::move(verdict);
      }
    };
    c_.pool->run(std::min(c_.sessions->size(), keys.size()), worker);
    return out;
  }

  /// "" when the item reads back as the contract's 404; "present" when it reads back (2xx);
  /// otherwise what came back.
  std::string read_back_gone(HttpSession& session, const std::string& sub, const std::string& id) {
    if (aborted(c_)) return "nothing (the run was interrupted twice)";
    OutgoingRequest req;
    req.method = "GET";
    req.path =
        c_.url->prefix + fill_path(c_.resource->operation(Role::kGet)->path,
                                   {{c_.resource->parent_parameter, sub}, {c_.resource->id_parameter, id}});
    req.authorization = *c_.authorization;
    req.bounded = false;
    auto ex = send(session, req, nullptr);
    if (ex.failure == Exchange::Failure::kNone && ex.status >= 200 && ex.status < 300) return "present";
    if (ex.failure == Exchange::Failure::kNone && ex.status == 404 &&
        is_contract_answer(*c_.resource->operation(Role::kGet), ex, 404))
      return "";
    return status_text(ex) + (ex.status == 404 ? ", not the contract's 404" : "");
  }

  /// GETs the parent's list, following same-origin "next" links, and collects the run's
  /// items: an id it knows, a name it sent, or a name carrying the run id.
  Listing list(const std::string& parent, const std::set<std::string>& known,
               const std::set<std::string>& sent_names) {
    Listing out;
    const BaseUrl& url = *c_.url;
    OutgoingRequest req;
    req.method = "GET";
    const Operation& lst = *c_.resource->operation(Role::kList);
    req.path = url.prefix + fill_path(lst.path, {{c_.resource->parent_parameter, parent}});
    req.authorization = *c_.authorization;
    req.bounded = false;
    std::set<std::string> seen_pages;
    const std::string origin = url.origin();
    const std::string plain_origin =
        url.scheme + "://" + (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host);
    const std::string& name_field = c_.resource->name_field;
    const std::string& id_field = c_.resource->id_field;
    const PageSpec& pages = c_.resource->pages;
    constexpr int kMaxPages = 1000;
    for (int page = 0;; ++page) {
      if (aborted(c_)) {
        out.error = "the run was interrupted twice";
        return out;
      }
      if (page == kMaxPages) {
        out.error = "the list has more than " + std::to_string(kMaxPages) + " pages; the rest was not read";
        return out;
      }
      if (!seen_pages.insert(req.path).second) {
        out.error = "the list's next link leads back to a page already read (" + req.path + ")";
        return out;
      }
      auto ex = send(*(*c_.sessions)[0], req, nullptr);
      if (ex.failure != Exchange::Failure::kNone) {
        out.error = "the list gave no answer (" + ex.failure_detail + ")";
        return out;
      }
      if (ex.status == 404 && page == 0 && is_contract_answer(lst, ex, 404)) {
        out.no_such_parent = true;
        return out;
      }
      if (ex.status != 200) {
        out.error = "the list answered " + status_text(ex);
        return out;
      }
      auto parsed = parse_json(ex.body, c_.limits);
      if (!parsed || !parsed->is_object() || !parsed->contains(pages.items) ||
          !(*parsed)[pages.items].is_array()) {
        out.error = "the list's body has no \"" + pages.items + "\" array";
        return out;
      }
      for (const auto& item : (*parsed)[pages.items]) {
        if (!item.is_object() || !item.contains(id_field) || !item[id_field].is_string()) continue;
        auto id = item[id_field].get<std::string>();
        std::string name;
        if (auto n = item.find(name_field); n != item.end() && n->is_string()) name = n->get<std::string>();
        bool ours =
            known.count(id) > 0 || (!plan_.run_id.empty() && name.find(plan_.run_id) != std::string::npos);
        // A name the run sent without the run id in it may be someone else's item of that
        // name: never deleted on a guess, reported instead.
        if (!ours && !name.empty() && sent_names.count(name)) out.ambiguous[id] = name;
        if (ours) {
          out.ids.insert(id);
          out.names[id] = name;
        }
      }
      // Follow "links.next" only on the same origin and prefix, so credentials stay with the target.
      std::string next;
      const auto& doc = *parsed;
      if (doc.contains(pages.links) && doc[pages.links].is_object() && doc[pages.links].contains("next") &&
          doc[pages.links]["next"].is_string())
        next = doc[pages.links]["next"].get<std::string>();
      if (next.empty()) break;
      std::string path = next;
      if (next.rfind(origin + "/", 0) == 0)
        path = next.substr(origin.size());
      else if (next.rfind(plain_origin + "/", 0) == 0)
        path = next.substr(plain_origin.size());
      else if (next.rfind("//", 0) == 0 || next.find("://") != std::string::npos)
        path.clear();  // another origin
      if (path.empty() || path[0] != '/' || path.rfind(url.prefix, 0) != 0) {
        out.error = "the list's next link leaves the target (" + next.substr(0, 200) +
                    "); the rest was not read, so the credentials stay with the target";
        return out;
      }
      req.path = path;
    }
    out.complete = true;
    return out;
  }

  const CleanupContext& c_;
  const CleanupPlan& plan_;
};

}  // namespace

bool is_contract_answer(const Operation& operation, const Exchange& ex, int status) {
  if (ex.failure != Exchange::Failure::kNone || ex.status != status) return false;
  const ResponseSpec* response = operation.response(status);
  if (!response || !response->schema) return false;
  if (media_type(ex.header("Content-Type")) != media_type(response->content_type)) return false;
  return response->schema->check(ex.body) == Verdict::kValid;
}

CleanupReport clean_up(const CleanupContext& context, const CleanupPlan& plan, bool keep) {
  return Cleaner(context, plan).run(keep);
}

LedgerWriter::LedgerWriter(const std::filesystem::path& path, const std::string& run_id,
                           const std::string& base_url, const Contract& contract, bool resume)
    : path_(path) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0)
    throw ConfigError("--ledger " + path.string() + ": cannot open for appending: " + std::strerror(errno));
  if (resume) {
    append({{"event", "cleanup"}, {"at", utc_now_iso8601()}});
    return;
  }
  append({{"ledger", "sipcontract"},
          {"version", 1},
          {"run_id", run_id},
          {"base_url", base_url},
          {"contract", contract.reference()},
          {"operation", contract.operation_of_record().id},
          {"started_at", utc_now_iso8601()}});
}

LedgerWriter::~LedgerWriter() {
  if (fd_ >= 0) ::close(fd_);
}

void LedgerWriter::append(const nlohmann::json& record) {
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  // One write per record (O_APPEND): a record is in the kernel before the request it announces is
  // sent, so a killed run loses none. A short write (a full disk) is retried for the rest.
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

void LedgerWriter::sending(const std::string& parent, const std::string& name, const std::string& case_id) {
  append({{"event", "sending"}, {"parent", parent}, {"name", name}, {"case", case_id}});
}

void LedgerWriter::created(const std::string& parent, const std::string& id, const std::string& name) {
  append({{"event", "created"}, {"parent", parent}, {"id", id}, {"name", name}});
}

void LedgerWriter::gone(const std::string& parent, const std::string& id) {
  append({{"event", "gone"}, {"parent", parent}, {"id", id}});
}

void LedgerWriter::complete() { append({{"event", "complete"}, {"at", utc_now_iso8601()}}); }

}  // namespace sipcontract::detail

namespace sipcontract {

Ledger read_ledger(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw ConfigError("--ledger " + path.string() + ": not a readable file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--ledger " + path.string() + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  Ledger ledger;
  bool header = false;
  std::map<std::pair<std::string, std::string>, std::size_t> by_name;  // (parent, name) -> entry
  std::set<std::string> parents;
  auto str = [](const nlohmann::json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string where = "--ledger " + path.string() + ": line " + std::to_string(i + 1);
    auto parsed = parse_json(lines[i], ParseLimits{1u << 20, 16});
    if (!parsed || !parsed->is_object()) {
      // A run killed in the middle of its last record leaves that line cut short: the records
      // before it still hold.
      if (i + 1 == lines.size() && header) break;
      throw ConfigError(where + ": not a ledger record");
    }
    const auto& r = *parsed;
    if (!header) {
      if (str(r, "ledger") != "sipcontract") throw ConfigError(where + ": not a sipcontract ledger");
      ledger.run_id = str(r, "run_id");
      ledger.base_url = str(r, "base_url");
      ledger.operation_id = str(r, "operation");
      ledger.contract = str(r, "contract");
      header = true;
      continue;
    }
    const std::string event = str(r, "event");
    const std::string sub = str(r, "parent");
    if (event == "sending" || event == "created") {
      const std::string name = str(r, "name");
      const std::string id = str(r, "id");
      parents.insert(sub);
      auto key = std::make_pair(sub, name);
      auto it = name.empty() ? by_name.end() : by_name.find(key);
      if (it == by_name.end() || (!id.empty() && !ledger.entries[it->second].id.empty())) {
        ledger.entries.push_back({sub, id, name, event == "created" ? "created" : "sent; outcome unknown"});
        if (!name.empty() && it == by_name.end()) by_name[key] = ledger.entries.size() - 1;
      } else if (!id.empty()) {
        ledger.entries[it->second].id = id;
        ledger.entries[it->second].reason = "created";
      }
    } else if (event == "gone") {
      const std::string id = str(r, "id");
      auto it = std::find_if(ledger.entries.begin(), ledger.entries.end(),
                             [&](const LeftoverItem& e) { return e.parent == sub && e.id == id; });
      if (it != ledger.entries.end()) {
        ledger.entries.erase(it);
        by_name.clear();
        for (std::size_t k = 0; k < ledger.entries.size(); ++k)
          if (!ledger.entries[k].name.empty())
            by_name[{ledger.entries[k].parent, ledger.entries[k].name}] = k;
        ++ledger.gone;
      }
    } else if (event == "complete") {
      ledger.complete = true;
    }
  }
  if (!header) throw ConfigError("--ledger " + path.string() + ": empty, not a ledger");
  ledger.parents.assign(parents.begin(), parents.end());
  return ledger;
}

CleanupReport cleanup_run(const Contract& contract, const CleanupOptions& options, Progress* progress) {
  using namespace detail;
  BaseUrl url = BaseUrl::parse(options.target.base_url);
  if (url.scheme == "http" && !url.loopback() && !options.transport.allow_plain_http)
    throw ConfigError("refusing to send credentials over plain HTTP to " + url.host +
                      " (use https, or --allow-plain-http if you mean it)");
  if (options.target.user.empty())
    throw ConfigError("no " + contract.auth().user_title + ": set " + contract.auth().user_env +
                      " (credentials come from the environment)");
  if (options.target.token.empty())
    throw ConfigError("no " + contract.auth().token_title + ": set " + contract.auth().token_env +
                      " (credentials come from the environment)");
  if (!options.transport.ca_file.empty())
    if (auto problem = ca_file_problem(options.transport.ca_file))
      throw ConfigError("--ca-file " + options.transport.ca_file + ": " + *problem);
  for (const auto& sub : options.parents)
    if (sub.empty()) throw ConfigError("an empty parent id");
  const Resource& resource = contract.main_resource();
  for (Role role : {Role::kList, Role::kDelete})
    if (!resource.operation(role))
      throw ConfigError("contract " + contract.name() + " has no " + std::string(to_string(role)) +
                        " operation for " + resource.title + ": cleanup cannot work");
  CleanupPlan plan;
  plan.run_id = options.run_id;
  plan.entries = options.entries;
  for (const auto& sub : options.parents) plan.parents[sub] = true;
  for (const auto& e : options.entries) plan.parents[e.parent] = true;

  const std::size_t workers = std::max<std::size_t>(1, std::min<std::size_t>(options.jobs, 64));
  auto watchdog = make_watchdog(options.abort);
  std::vector<SessionPtr> sessions;
  for (std::size_t i = 0; i < workers; ++i)
    sessions.push_back(make_session(url, options.transport, watchdog));
  ThreadPool pool(workers);
  std::unique_ptr<LedgerWriter> ledger;
  if (!options.ledger.empty())
    ledger = std::make_unique<LedgerWriter>(options.ledger, options.run_id, options.target.base_url, contract,
                                            true);
  const std::optional<std::string> authorization = authorization_for(AuthVariant::kValid, options.target);

  CleanupContext context;
  context.contract = &contract;
  context.resource = &resource;
  context.url = &url;
  context.sessions = &sessions;
  context.pool = &pool;
  context.authorization = &authorization;
  context.limits = ParseLimits{options.transport.max_response_bytes, 256};
  context.abort = options.abort;
  context.ledger = ledger.get();
  context.progress = progress;
  CleanupReport report = clean_up(context, plan, false);
  if (ledger) {
    report.ledger = ledger->path().string();
    if (report.clean()) ledger->complete();
  }
  return report;
}

}  // namespace sipcontract
