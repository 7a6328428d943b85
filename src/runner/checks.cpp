// The checks run on every response, each under a stable id (see check_ids()).
#include <algorithm>
#include <charconv>
#include <set>

#include "internal.hpp"
#include "sipcontract/ascii.hpp"
#include "sipcontract/json_text.hpp"

namespace sipcontract {

const std::vector<std::string>& check_ids() {
  static const std::vector<std::string> ids = {
      "transport", "size",         "max-time", "redirect", "status", "undocumented-status",
      "secrets",   "content-type", "json",     "schema",   "enum",   "echo",
      "fields",    "attribute",    "state",    "capture",  "cleanup"};
  return ids;
}

namespace detail {
namespace {

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? std::string(sep) : "") + parts[i];
  return out;
}

/// Every JSON Pointer (up to `max`) at which a string or an object key contains `needle`; each
/// string found is masked in place, so that a shorter secret inside it is not reported again.
void find_in_json(nlohmann::json& v, const std::string& needle, const std::string& at,
                  std::vector<std::string>& out, std::size_t max) {
  auto mask = [&](std::string& s) {
    bool hit = false;
    for (std::size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) {
      std::fill(s.begin() + static_cast<std::ptrdiff_t>(p),
                s.begin() + static_cast<std::ptrdiff_t>(p + needle.size()), '\x01');
      hit = true;
    }
    return hit;
  };
  if (v.is_string()) {
    if (mask(v.get_ref<std::string&>()) && out.size() < max) out.push_back(at);
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      find_in_json(v[i], needle, at + "/" + std::to_string(i), out, max);
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::string child = at + "/" + pointer_escape(it.key());
      if (it.key().find(needle) != std::string::npos && out.size() < max) out.push_back(child);
      find_in_json(it.value(), needle, child, out, max);
    }
  }
}

std::string json_text(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// A response value for a report: redacted first (so no secret is ever cut in half and
/// left readable), then cut to a length a console line can hold.
std::string shown(const std::string& text, const Redactor* redactor) {
  constexpr std::size_t kMax = 300;
  std::string out = redactor ? redactor->redact(text) : text;
  if (out.size() > kMax) out = out.substr(0, kMax) + "... (" + std::to_string(out.size()) + " bytes)";
  return out;
}

std::string value_at(const nlohmann::json& doc, const std::string& pointer, const Redactor* redactor) {
  try {
    return shown(json_text(doc.at(nlohmann::json::json_pointer(pointer))), redactor);
  } catch (const std::exception&) {
    return "(absent)";
  }
}

std::string expected_error_text(const ExpectedError& e) {
  std::string out = "an error item";
  if (!e.attributes.empty()) {
    std::vector<std::string> quoted;
    for (const auto& a : e.attributes) quoted.push_back("\"" + a + "\"");
    out += " with attribute " + join(quoted, " or ");
  }
  if (e.code) out += std::string(e.attributes.empty() ? " with" : " and") + " code \"" + *e.code + "\"";
  return out;
}

void check_secrets(const CheckInput& in, const Exchange& ex, const nlohmann::json* doc,
                   std::vector<CheckFailure>& out) {
  // The run's Redactor knows every secret of every case (and each one's escaped form): one pass
  // over the body and the headers settles the usual answer, "none", without a search per secret.
  if (in.redactor && !in.redactor->contains_secret(ex.body) &&
      std::none_of(ex.headers.begin(), ex.headers.end(),
                   [&](const auto& h) { return in.redactor->contains_secret(h.second); }))
    return;
  // One finding per leaked value, naming every secret that has that value (a password and its
  // confirmation are usually one value) and every place it sits; longest values first, and each
  // place found is masked, so that a secret inside another (the base64 credentials inside the
  // Authorization value) is not reported twice for one leak.
  struct Leak {
    const Secret* secret;
    std::vector<std::string> labels;
  };
  std::vector<Leak> leaks;
  for (const auto* list : {in.case_secrets, in.secrets}) {
    if (!list) continue;
    for (const auto& s : *list) {
      if (s.value.empty()) continue;
      auto it =
          std::find_if(leaks.begin(), leaks.end(), [&](const Leak& l) { return l.secret->value == s.value; });
      if (it == leaks.end()) {
        leaks.push_back({&s, {s.label}});
      } else if (std::find(it->labels.begin(), it->labels.end(), s.label) == it->labels.end()) {
        it->labels.push_back(s.label);
      }
    }
  }
  std::stable_sort(leaks.begin(), leaks.end(), [](const Leak& a, const Leak& b) {
    return a.secret->value.size() > b.secret->value.size();
  });
  auto what = [](const Leak& l) {
    std::string text = "the request's " + l.labels[0];
    if (l.labels.size() > 1) {
      text += " (the same value as ";
      for (std::size_t i = 1; i < l.labels.size(); ++i)
        text += (i == 1 ? "" : i + 1 == l.labels.size() ? " and " : ", ") + l.labels[i];
      text += ")";
    }
    return text;
  };
  std::vector<std::string> headers;
  for (const auto& h : ex.headers) headers.push_back(h.second);
  std::string body = ex.body;
  std::optional<nlohmann::json> copy;
  if (doc) copy = *doc;
  auto mask_all = [](std::string& text, const std::string& needle) {
    bool hit = false;
    if (needle.empty()) return hit;
    for (std::size_t p = text.find(needle); p != std::string::npos;
         p = text.find(needle, p + needle.size())) {
      std::fill(text.begin() + static_cast<std::ptrdiff_t>(p),
                text.begin() + static_cast<std::ptrdiff_t>(p + needle.size()), '\x01');
      hit = true;
    }
    return hit;
  };
  for (const Leak& l : leaks) {
    const Secret& s = *l.secret;
    for (std::size_t i = 0; i < headers.size(); ++i) {
      if (mask_all(headers[i], s.value)) {
        const std::string& name = ex.headers[i].first;
        out.push_back({"secrets", "", "no secret in the response", what(l) + " in header " + name,
                       "the response header " + name + " carries " + what(l)});
      }
    }
    // Both forms are masked, even when the first is found, so that no shorter secret is found again
    // inside either (not a ||, which would leave the escaped form unmasked).
    const bool raw_in_body = mask_all(body, s.value);
    const bool escaped_in_body = mask_all(body, s.escaped);
    if (!raw_in_body && !escaped_in_body) continue;
    std::vector<std::string> pointers;
    if (copy) find_in_json(*copy, s.value, "", pointers, 8);
    std::string places;
    for (std::size_t i = 0; i < pointers.size(); ++i) places += (i ? ", " : "") + pointers[i];
    out.push_back(
        {"secrets", pointers.empty() ? "" : pointers.front(), "no secret in the response",
         what(l) + " in the body",
         "the response body carries " + what(l) + (places.empty() ? std::string() : " at " + places)});
  }
}

/// What a create or an update must echo: every field of the resource the request sent, and on a
/// create, each documented default of a field it did not send.
void check_echo(const CheckInput& in, int status, const nlohmann::json& doc, std::vector<CheckFailure>& out) {
  const auto& body = *in.sent;
  const bool create = in.operation->role == Role::kCreate;
  const std::string answer = "the " + std::to_string(status);
  for (const auto& rule : in.resource->fields) {
    const nlohmann::json* want = nullptr;  // no copy: texts are made only for a failure
    const char* why = nullptr;
    const std::string* assumed = nullptr;  // the default is an assumption, not the contract's
    if (auto sent = body.find(rule.name); sent != body.end()) {
      want = &*sent;
      why = "sent";
    } else if (create && rule.default_value &&
               (rule.unless_sent.empty() || !body.contains(rule.unless_sent))) {
      want = &*rule.default_value;
      why = "not sent, so the default";
      if (!rule.default_assumption.empty()) assumed = &rule.default_assumption;
    } else {
      continue;
    }
    CheckFailure f;
    auto got = doc.find(rule.name);
    if (got == doc.end()) {
      f = {"echo", "/" + pointer_escape(rule.name), json_text(*want), "(absent)",
           answer + " does not report " + rule.name + " (" + why + " " + json_text(*want) + ")"};
    } else if (*got != *want) {
      auto shown_got = shown(json_text(*got), in.redactor);
      f = {"echo", "/" + pointer_escape(rule.name), json_text(*want), shown_got,
           rule.name + ": " + why + " " + json_text(*want) + ", " + answer + " reports " + shown_got};
    } else {
      continue;
    }
    if (assumed) {
      f.severity = Severity::kWarning;
      f.assumption = *assumed;
      f.message += " (assumed: " + *assumed + ")";
    }
    out.push_back(std::move(f));
  }
}

/// An error item's attribute names `expected` when it is that name, or a part of it written as
/// "codecs[1]", "codecs.1" or "codecs/1" (the contract does not say how a list item is named).
bool attribute_names(std::string_view actual, std::string_view expected) {
  if (actual == expected) return true;
  return actual.size() > expected.size() && actual.substr(0, expected.size()) == expected &&
         (actual[expected.size()] == '[' || actual[expected.size()] == '.' || actual[expected.size()] == '/');
}

/// Each expected error item must be matched by an item of the 422's list of items (the member the
/// contract's error shape names, with its attribute and code members); a miss is a failure, or a
/// warning naming `assumption` when the items are assumed rather than stated.
void check_attributes(const CheckInput& in, const nlohmann::json& doc,
                      const std::vector<ExpectedError>& expected, const std::string& assumption,
                      std::vector<CheckFailure>& out) {
  const ValidationErrorShape& shape = in.contract->validation_errors();
  const nlohmann::json* items = nullptr;
  if (doc.is_object() && doc.contains(shape.items) && doc[shape.items].is_array()) items = &doc[shape.items];
  auto member_of = [](const nlohmann::json& item, const std::string& name) -> std::optional<std::string> {
    if (item.is_object() && item.contains(name) && item[name].is_string())
      return item[name].get<std::string>();
    return std::nullopt;
  };
  auto attr_of = [&](const nlohmann::json& item) { return member_of(item, shape.attribute); };
  auto code_of = [&](const nlohmann::json& item) { return member_of(item, shape.code); };
  // What the 422 named, as text: made only when an expectation is not met.
  std::optional<std::string> actual_text;
  auto actual = [&]() -> const std::string& {
    if (actual_text) return *actual_text;
    actual_text = "no \"" + shape.items + "\" array";
    if (items) {
      std::vector<std::string> parts;
      for (const auto& item : *items) {
        auto a = attr_of(item);
        auto c = code_of(item);
        parts.push_back(shape.attribute + " " + (a ? "\"" + *a + "\"" : "null") + " " + shape.code + " " +
                        (c ? "\"" + *c + "\"" : "null"));
      }
      actual_text = parts.empty() ? "an empty \"" + shape.items + "\" array"
                                  : shown("[" + join(parts, "; ") + "]", in.redactor);
    }
    return *actual_text;
  };
  std::set<std::size_t> pointed;
  for (const auto& e : expected) {
    auto attr_ok = [&](const nlohmann::json& item) {
      if (e.attributes.empty()) return true;
      auto a = attr_of(item);
      return a && std::any_of(e.attributes.begin(), e.attributes.end(),
                              [&](const std::string& want) { return attribute_names(*a, want); });
    };
    auto code_ok = [&](const nlohmann::json& item) { return !e.code || code_of(item) == e.code; };
    if (items &&
        std::any_of(items->begin(), items->end(), [&](const auto& i) { return attr_ok(i) && code_ok(i); }))
      continue;
    // Point at the item that comes closest (right code but wrong attribute, or the reverse),
    // each unmatched expectation at a different item where there are enough of them.
    std::string pointer = "/" + pointer_escape(shape.items);
    if (items && !items->empty()) {
      std::optional<std::size_t> idx;
      std::string field = shape.attribute;
      auto free_item = [&](std::size_t i) { return !pointed.count(i); };
      for (std::size_t i = 0; i < items->size() && !idx; ++i)
        if (e.code && code_ok((*items)[i]) && free_item(i)) idx = i, field = shape.attribute;
      for (std::size_t i = 0; i < items->size() && !idx; ++i)
        if (!e.attributes.empty() && attr_ok((*items)[i]) && free_item(i)) idx = i, field = shape.code;
      for (std::size_t i = 0; i < items->size() && !idx; ++i)
        if (free_item(i)) idx = i, field = e.attributes.empty() ? shape.code : shape.attribute;
      if (!idx) idx = 0, field = e.attributes.empty() ? shape.code : shape.attribute;
      pointed.insert(*idx);
      pointer += "/" + std::to_string(*idx) + "/" + pointer_escape(field);
    }
    CheckFailure f{"attribute", pointer, expected_error_text(e), actual(),
                   "the 422 does not name " + expected_error_text(e)};
    if (!assumption.empty()) {
      f.severity = Severity::kWarning;
      f.assumption = assumption;
      f.message += " (assumed: " + assumption + ")";
    }
    out.push_back(std::move(f));
  }
}

}  // namespace

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  auto mt = content_type.substr(0, semi);
  while (!mt.empty() && (mt.back() == ' ' || mt.back() == '\t')) mt.remove_suffix(1);
  while (!mt.empty() && (mt.front() == ' ' || mt.front() == '\t')) mt.remove_prefix(1);
  return ascii_lowercase(mt);
}

bool needs_document(const Step& step, int status) {
  if (status >= 200 && status < 300) return true;
  if (!step.capture.empty()) return true;
  if (status != 422) return false;
  if (!step.expect.errors.empty()) return true;
  return std::any_of(step.assume.begin(), step.assume.end(),
                     [](const Assumption& a) { return !a.expect.errors.empty(); });
}

std::optional<Parsed> parse_body(const Exchange& ex, std::size_t max_bytes, std::size_t max_depth) {
  if (ex.failure != Exchange::Failure::kNone || ex.body.empty()) return std::nullopt;
  return parse_json(ex.body, ParseLimits{max_bytes, max_depth});
}

std::vector<CheckFailure> check_exchange(const CheckInput& in, const Exchange& ex,
                                         const std::optional<Parsed>& parsed, bool body_known_valid) {
  std::vector<CheckFailure> out;
  const auto max_ms = static_cast<double>(in.max_time.count());
  switch (ex.failure) {
    case Exchange::Failure::kTransport:
    case Exchange::Failure::kCanceled:
      out.push_back({"transport", "", "a response", "none", ex.failure_detail});
      return out;
    case Exchange::Failure::kTooLarge:
      out.push_back(
          {"size", "", "at most " + std::to_string(in.max_bytes) + " bytes", "more", ex.failure_detail});
      return out;
    case Exchange::Failure::kTooSlow:
      out.push_back(
          {"max-time", "", "a complete response within " + std::to_string(in.max_time.count()) + " ms",
           "none after " + std::to_string(static_cast<long long>(ex.elapsed_ms)) + " ms", ex.failure_detail});
      return out;
    case Exchange::Failure::kNone:
      break;
  }
  const auto& expect = in.step->expect;
  const int status = ex.status;
  const bool expected_status = expect.accepts(status);

  if (max_ms > 0 && ex.elapsed_ms > max_ms)
    out.push_back({"max-time", "", "within " + std::to_string(in.max_time.count()) + " ms",
                   std::to_string(static_cast<long long>(ex.elapsed_ms)) + " ms",
                   "the response took longer than --max-time"});
  if (status >= 300 && status < 400) {
    auto location = ex.header("Location");
    out.push_back({"redirect", "", expect.status_text(), std::to_string(status),
                   "the server redirected" +
                       (location.empty() ? std::string() : " to " + shown(location, in.redactor)) +
                       "; not followed, so the credentials stay with the target"});
  }
  if (!expected_status) {
    out.push_back({"status", "", expect.status_text(), std::to_string(status),
                   "expected " + expect.status_text() + ", got " + std::to_string(status)});
  } else {
    // Within what the contract allows, the status this suite assumes: a miss is a warning.
    for (const auto& a : in.step->assume) {
      if (!a.expect.has_status() || a.expect.accepts(status)) continue;
      CheckFailure f{"status", "", a.expect.status_text(), std::to_string(status),
                     "assumed " + a.expect.status_text() + ", got " + std::to_string(status) +
                         ", which the contract allows (" + expect.status_text() + "; assumed: " + a.because +
                         ")"};
      f.severity = Severity::kWarning;
      f.assumption = a.because;
      out.push_back(std::move(f));
    }
  }
  const ResponseSpec* documented = in.operation->response(status);
  const Schema* schema = documented ? documented->schema : nullptr;
  if (!documented && !expected_status) {
    std::vector<std::string> statuses;
    for (int s : in.operation->statuses()) statuses.push_back(std::to_string(s));
    out.push_back(
        {"undocumented-status", "", join(statuses, ", "), std::to_string(status),
         "the contract does not document status " + std::to_string(status) + " for " + in.operation->id});
  }

  const nlohmann::json* doc = parsed && *parsed ? &**parsed : nullptr;
  // A body known to be valid was not parsed; a leaked secret needs its document for the pointer.
  std::optional<Parsed> late;
  if (!doc && body_known_valid && in.redactor && in.redactor->contains_secret(ex.body)) {
    late = parse_body(ex, in.max_bytes, in.max_depth);
    if (late && *late) doc = &**late;
  }

  check_secrets(in, ex, doc, out);

  // The media type is checked for the statuses the contract documents; for another one (a 415
  // a conforming server may send where the contract is silent) it has nothing to say.
  if (!ex.body.empty() && schema) {
    const std::string& want = documented->content_type;
    auto got = shown(ex.header("Content-Type"), in.redactor);
    if (media_type(got) != media_type(want))
      out.push_back({"content-type", "", want, got.empty() ? "(none)" : got,
                     got.empty() ? "the response has a body but no Content-Type"
                                 : "the body is labelled " + got + ", not " + want});
  }

  if (ex.body.empty()) {
    if (schema)
      out.push_back({"json", "", "a JSON body", "an empty body",
                     "status " + std::to_string(status) + " documents a JSON body; the response has none"});
    return out;
  }
  // Schema::check() found acceptable JSON that satisfies the status's schema, and the caller knew
  // that nothing below (echo, attributes) applies to this answer.
  if (body_known_valid) return out;
  if (!schema && documented && status >= 200 && status < 300)
    return out;  // a body the contract does not describe
  if (!doc) {
    out.push_back({"json", "", "a JSON document", "not JSON",
                   "the body is not acceptable JSON: " + parsed->error().to_string()});
    return out;
  }

  // The verdict first (it stops at the first failure); the findings only for a body that fails.
  if (schema && !schema->is_valid(*doc)) {
    for (const auto& f : schema->validate(*doc).findings) {
      if (f.keyword == "status") continue;  // reported as undocumented-status
      if (f.keyword == "enum") {
        std::vector<std::string> allowed;
        for (const auto& a : f.allowed) allowed.push_back(json_text(a));
        out.push_back({"enum", f.pointer, "one of " + join(allowed, ", "),
                       value_at(*doc, f.pointer, in.redactor), f.message});
      } else {
        out.push_back({"schema", f.pointer, f.keyword + (f.property.empty() ? "" : " " + f.property),
                       f.keyword == "required" ? "(absent)" : value_at(*doc, f.pointer, in.redactor),
                       f.message + " [" + f.keyword + "]"});
      }
    }
  }
  const bool writes = in.operation->role == Role::kCreate || in.operation->role == Role::kUpdate;
  if (writes && status >= 200 && status < 300 && in.sent && in.sent->is_object() && doc->is_object())
    check_echo(in, status, *doc, out);
  if (status >= 200 && status < 300 && !expect.fields.empty()) {
    for (const auto& [field, want] : expect.fields) {
      const std::string pointer = "/" + pointer_escape(field);
      auto got = doc->is_object() ? doc->find(field) : doc->end();
      if (!doc->is_object() || got == doc->end())
        out.push_back(
            {"fields", pointer, json_text(want), "(absent)",
             "the answer does not report " + field + ", which the case expects to be " + json_text(want)});
      else if (*got != want)
        out.push_back({"fields", pointer, json_text(want), shown(json_text(*got), in.redactor),
                       field + ": the case expects " + json_text(want) + ", the answer reports " +
                           shown(json_text(*got), in.redactor)});
    }
  }
  if (status == 422) {
    if (!expect.errors.empty()) check_attributes(in, *doc, expect.errors, "", out);
    for (const auto& a : in.step->assume)
      if (!a.expect.errors.empty()) check_attributes(in, *doc, a.expect.errors, a.because, out);
  }
  return out;
}

std::vector<CheckFailure> check_state(const CheckInput& in, const Exchange& ex,
                                      const std::optional<Parsed>& parsed, const nlohmann::json& created,
                                      bool same_bytes, const Operation& get_op) {
  std::vector<CheckFailure> out;
  const auto successes = get_op.success_statuses();
  const int want_status = successes.empty() ? 200 : successes.front();
  const ResponseSpec* response = get_op.response(want_status);
  const std::string schema_name = response ? response->schema_name : std::string();
  const std::string want = std::to_string(want_status);
  const std::string what =
      "the " + in.resource->title + " the " +
      (in.operation->role == Role::kCreate ? std::string("create") : std::string("update")) + " reported";
  if (ex.failure != Exchange::Failure::kNone) {
    out.push_back(
        {"state", "", want, "no response", "reading back " + what + " failed: " + ex.failure_detail});
    return out;
  }
  // Byte for byte the 201's body: the same document, so it needs no parse of its own.
  const nlohmann::json* doc = same_bytes ? &created : parsed && *parsed ? &**parsed : nullptr;
  check_secrets(in, ex, doc, out);
  if (ex.status != want_status) {
    out.push_back({"state", "", want, std::to_string(ex.status),
                   "reading back " + what + " answered " + std::to_string(ex.status) + ", not " + want +
                       ": what it reported was not kept"});
    return out;
  }
  if (!doc) {
    out.push_back({"state", "", "a JSON body", ex.body.empty() ? "an empty body" : "not JSON",
                   "reading back " + what + " gave no JSON body" +
                       (parsed ? ": " + (*parsed).error().to_string() : std::string())});
    return out;
  }
  if (!schema_name.empty()) {
    try {
      const Schema& schema = *response->schema;
      if (!schema.is_valid(*doc))
        for (const auto& f : schema.validate(*doc).findings)
          out.push_back({"state", f.pointer, f.keyword + (f.property.empty() ? "" : " " + f.property),
                         f.keyword == "required" ? "(absent)" : value_at(*doc, f.pointer, in.redactor),
                         "reading back " + what + ": " + f.message + " [" + f.keyword + "]"});
    } catch (const SchemaError&) {
      // A manifest naming a schema its store lacks was reported when the contract loaded.
    }
  }
  if (!same_bytes && created.is_object() && doc->is_object()) {
    // The fields the read-back's schema documents must agree with the 201; an undocumented one
    // (a server's own extra, which the contract neither asks for nor forbids) is only a note.
    std::set<std::string> documented;
    if (!schema_name.empty()) {
      auto names = in.contract->documented_properties(schema_name);
      documented.insert(names.begin(), names.end());
    }
    for (const auto& [key, value] : created.items()) {
      std::string pointer = "/" + pointer_escape(key);
      CheckFailure f;
      if (!doc->contains(key)) {
        f = {"state", pointer, shown(json_text(value), in.redactor), "(absent)",
             "reading back " + what + " does not report " + key + ", which it reported"};
      } else if ((*doc)[key] != value) {
        auto got = shown(json_text((*doc)[key]), in.redactor);
        f = {"state", pointer, shown(json_text(value), in.redactor), got,
             key + ": " + what + " was " + shown(json_text(value), in.redactor) + ", reading it back gives " +
                 got};
      } else {
        continue;
      }
      if (!schema_name.empty() && !documented.count(key)) {
        f.severity = Severity::kNote;
        f.message += " (an undocumented field: not compared)";
      }
      out.push_back(std::move(f));
    }
  }
  return out;
}

std::string member_text(const Exchange& ex, const std::optional<Parsed>& parsed, const std::string& pointer) {
  if (ex.failure != Exchange::Failure::kNone || ex.status < 200 || ex.status >= 300) return "";
  if (!parsed || !*parsed) return "";
  try {
    const nlohmann::json& v = (**parsed).at(nlohmann::json::json_pointer(pointer));
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number()) return v.dump();
  } catch (const std::exception&) {
  }
  return "";
}

Secret::Secret(std::string label_, std::string value_)
    : label(std::move(label_)), value(std::move(value_)), escaped(json_escaped(value)) {}

std::vector<Secret> body_secrets(const Step& step, const Contract& contract) {
  std::vector<Secret> out;
  if (!step.body || !step.body->is_object()) return out;
  for (const auto& field : contract.secret_fields()) {
    auto it = step.body->find(field);
    if (it != step.body->end() && it->is_string() && !it->get_ref<const std::string&>().empty())
      out.push_back({field, it->get<std::string>()});
  }
  return out;
}

std::string curl_line(const BaseUrl& url, const OutgoingRequest& request, AuthVariant auth, const Step& step,
                      const Contract& contract, const TransportOptions& transport,
                      const SecretExpression& secret) {
  std::string out = "curl -sS -i -X " + request.method + " " + shell_quote(url.origin() + request.path);
  const std::string user = "$" + contract.auth().user_env;
  const std::string token = "$" + contract.auth().token_env;
  switch (auth) {
    case AuthVariant::kValid:
      out += " -u \"" + user + ":" + token + "\"";
      break;
    case AuthVariant::kNone:
      break;
    case AuthVariant::kWrongToken:
      out += " -u \"" + user + ":" + std::string(kWrongToken) + "\"";
      break;
    case AuthVariant::kWrongProject:
      out += " -u \"" + std::string(kWrongProject) + ":" + token + "\"";
      break;
    case AuthVariant::kMalformedHeader:
      out += " -H " + shell_quote("Authorization: " + std::string(kMalformedAuthorization));
      break;
  }
  if (request.body) {
    out += " -H " + shell_quote("Content-Type: " + request.content_type);
    if (step.body && step.body->is_object()) {
      // Each secret value becomes a marker no JSON text holds ("\u0001N\u0001" once written),
      // the body is quoted for the shell, then each marker becomes '"<expression>"': the shell
      // puts the variable's value there, and the line shows no secret.
      nlohmann::json copy = *step.body;
      std::vector<std::string> expressions;
      for (const auto& field : contract.secret_fields()) {
        auto it = copy.find(field);
        if (it == copy.end() || !it->is_string()) continue;
        expressions.push_back(secret(field, it->get<std::string>()));
        *it = "\x01" + std::to_string(expressions.size() - 1) + "\x01";
      }
      std::string quoted = shell_quote(json_text(copy));
      for (std::size_t i = 0; i < expressions.size(); ++i) {
        const std::string marker = "\\u0001" + std::to_string(i) + "\\u0001";
        if (auto at = quoted.find(marker); at != std::string::npos)
          quoted.replace(at, marker.size(), "'\"" + expressions[i] + "\"'");
      }
      out += " --data-binary " + quoted;
    } else {
      out += " --data-binary " + shell_quote(*request.body);
    }
  }
  if (transport.insecure) out += " --insecure";
  if (!transport.ca_file.empty()) out += " --cacert " + shell_quote(transport.ca_file);
  return out;
}

}  // namespace detail
}  // namespace sipcontract
