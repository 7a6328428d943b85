// Reports: console progress and summary, JUnit XML (pugixml) and the JSON report. Every text
// goes through the run's Redactor on its way out, whatever the report already holds.
#include <cmath>
#include <csignal>
#include <cstring>
#include <iomanip>
#include <map>
#include <ostream>
#include <pugixml.hpp>
#include <set>
#include <sstream>

#include "internal.hpp"
#include "sipcontract/json_text.hpp"
#include "sipcontract/runner.hpp"

namespace sipcontract {
namespace {

std::string redacted(const RunReport& report, std::string_view text) {
  return report.redactor ? report.redactor->redact(text) : std::string(text);
}

std::string seconds(double ms) {
  if (ms < 1000) return std::to_string(static_cast<long long>(std::llround(ms))) + " ms";
  std::ostringstream s;
  s << std::fixed << std::setprecision(ms < 10000 ? 2 : 1) << ms / 1000.0 << " s";
  return s.str();
}

/// Seconds with millisecond precision, as JUnit's time attributes expect.
std::string junit_time(double ms) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(3) << ms / 1000.0;
  return s.str();
}

/// Milliseconds rounded to 0.1 ms for the JSON report.
double round_ms(double ms) { return std::round(ms * 10.0) / 10.0; }

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string signal_name(int sig) {
  if (sig == SIGINT) return "SIGINT";
  if (sig == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(sig);
}

std::string pointer_text(const std::string& pointer) { return pointer.empty() ? "(root)" : pointer; }

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  return out;
}

std::string checks_of(const CaseResult& c) {
  std::string out;
  for (const auto& f : c.failures()) {
    std::string item = f.check;
    if (out.find(item) == std::string::npos) out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

/// Text safe for XML 1.0: valid UTF-8, no control characters but tab and newline.
std::string xml_safe(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? '?' : static_cast<char>(c);
      ++i;
      continue;
    }
    bool well_formed = false;
    const std::size_t len = utf8_character(in, i, &well_formed);  // the one UTF-8 decoder (src/common)
    if (well_formed)
      out.append(in.substr(i, len));
    else
      out += '?';  // one for the maximal ill-formed subpart
    i += len;
  }
  return out;
}

std::string failure_detail(const CheckFailure& f) {
  std::string out = "[" + f.check + "] " + pointer_text(f.pointer) + ": " + f.message;
  if (!f.explained_by.empty()) out += " (as contract " + f.explained_by + " has it)";
  if (!f.expected.empty() || !f.actual.empty())
    out += "\n      expected: " + f.expected + "\n      actual:   " + f.actual;
  return out;
}

/// One line for a warning or a note: "[check] pointer: message".
std::string finding_line(const CheckFailure& f) {
  return "[" + f.check + "] " + pointer_text(f.pointer) + ": " + f.message;
}

/// The response of a step as a person reads it: status, type, size, then the body's start.
std::string response_text(const ResponseExcerpt& r, const std::string& indent) {
  if (!r.present()) return "";
  std::string out =
      indent + "response: " + std::to_string(r.status) + " " +
      (r.content_type.empty() ? "(no Content-Type)" : r.content_type) + ", " +
      plural(r.body_bytes, "byte", "bytes") +
      (r.body_bytes > r.body.size() ? " (first " + std::to_string(r.body.size()) + " shown)" : "") + "\n";
  if (!r.body.empty()) {
    std::string body = r.body;
    // One block, indented: a pretty-printed body keeps its lines.
    std::string shown;
    for (char c : body) {
      shown += c;
      if (c == '\n') shown += indent + "  ";
    }
    out += indent + "  " + shown + "\n";
  }
  return out;
}

/// The failures of a case whose only failures are transport ones, as one text (to group cases
/// that failed the same way); "" otherwise.
std::string transport_signature(const CaseResult& c) {
  std::string out;
  for (const auto& f : c.failures()) {
    if (f.check != "transport") return "";
    out += f.message + "\n";
  }
  return out;
}

std::string tally_text(const RunReport& report) {
  std::string out;
  for (const auto& t : report.tally()) {
    std::vector<std::string> parts;
    if (t.failures) parts.push_back(plural(t.failures, "failure", "failures"));
    if (t.warnings) parts.push_back(plural(t.warnings, "warning", "warnings"));
    if (t.notes) parts.push_back(plural(t.notes, "note", "notes"));
    std::string joined;
    for (std::size_t i = 0; i < parts.size(); ++i) joined += (i ? ", " : "") + parts[i];
    out += "  " + t.check + ": " + joined + "\n";
  }
  return out;
}

std::string leftover_text(const LeftoverItem& l, const CleanupReport& cl) {
  return cl.parent_title + " " + l.parent + " " + cl.item_title + " " +
         (l.id.empty() ? "(id unknown)" : l.id) + (l.name.empty() ? "" : " named " + l.name);
}

/// The cleanup part of a summary: what was created, deleted and verified, and what may be left.
std::string cleanup_text(const CleanupReport& cl) {
  std::ostringstream s;
  if (cl.kept) {
    s << "Cleanup: --keep: " << cl.leftovers.size() << " kept\n";
  } else if (cl.clean()) {
    s << "Cleanup: " << cl.created << " created, " << cl.deleted << " deleted"
      << (cl.verified_by.empty() ? "" : ", verified by " + cl.verified_by) << ": nothing left behind\n";
  } else {
    s << "Cleanup: " << cl.created << " created, " << cl.deleted << " deleted and verified gone, "
      << cl.leftovers.size() << " LEFT BEHIND";
    if (!cl.unverified.empty()) s << ", " << cl.unverified.size() << " UNVERIFIED (may still be there)";
    s << '\n';
  }
  for (const auto& l : cl.leftovers)
    s << (cl.kept ? "  kept: " : "  LEFT BEHIND: ") << leftover_text(l, cl)
      << (cl.kept ? "" : ": " + l.reason) << '\n';
  for (const auto& l : cl.unverified)
    s << "  UNVERIFIED: " << leftover_text(l, cl) << ": " << l.reason << '\n';
  for (const auto& n : cl.notes) s << "  note: " << n << '\n';
  if (!cl.ledger.empty() && !cl.clean() && !cl.kept)
    s << "  ledger: " << cl.ledger << " (`sipcontract cleanup --ledger " << cl.ledger
      << "` deletes and verifies what is left)\n";
  return s.str();
}

}  // namespace

namespace {
std::string seconds_free(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

void ConsoleProgress::on_start(const RunReport& header, std::size_t total) {
  out_ << "sipcontract run " << header.run_id << ": " << plural(total, "case", "cases") << " against "
       << header.base_url << (header.in_process ? " (in-process reference server)" : "") << '\n';
  if (header.seed)
    out_ << "generated: " << plural(header.generated, "case", "cases") << ", seed " << *header.seed
         << " (run again with --seed " << *header.seed << " for the same requests)\n";
  if (header.rate > 0 || header.max_requests > 0)
    out_ << "bounds:" << (header.rate > 0 ? " --rate " + seconds_free(header.rate) + " requests/s" : "")
         << (header.max_requests > 0 ? " --max-requests " + std::to_string(header.max_requests) : "") << '\n';
  if (header.insecure) out_ << "WARNING: TLS certificate verification is OFF (--insecure)\n";
  if (header.strict) out_ << "--strict: a broken assumption fails its case\n";
  if (header.diagnosis)
    out_ << "NOT RUN: " << header.diagnosis.problem << "\n  " << header.diagnosis.detail << "\n  "
         << header.diagnosis.advice << '\n';
  out_.flush();
}

void ConsoleProgress::on_case(const CaseResult& r, std::size_t done, std::size_t total) {
  (r.outcome == Outcome::kPassed ? passed_ : r.outcome == Outcome::kFailed ? failed_ : skipped_)++;
  const std::size_t warnings = r.count(Severity::kWarning);
  warnings_ += warnings;
  std::ostringstream line;
  const int width = static_cast<int>(std::to_string(total).size());
  line << '[' << std::setw(width) << done << '/' << total << "] ";
  switch (r.outcome) {
    case Outcome::kPassed:
      line << "PASS " << r.id;
      break;
    case Outcome::kFailed:
      line << "FAIL " << r.id << "  (" << checks_of(r) << ")";
      break;
    case Outcome::kSkipped:
      line << "SKIP " << r.id << "  (" << r.skip_reason << ")";
      break;
  }
  if (warnings) line << "  " << plural(warnings, "warning", "warnings");
  if (r.outcome != Outcome::kSkipped)
    line << "  " << static_cast<long long>(std::llround(r.duration_ms)) << " ms";
  if (auto n = r.retries()) line << "  " << plural(n, "retry", "retries");
  if (!tty_) {
    out_ << line.str() << '\n';
  } else {
    // On a terminal only failures stay on screen; one progress line is rewritten in place.
    out_ << "\r\033[K";
    if (r.outcome == Outcome::kFailed) out_ << line.str() << '\n';
    out_ << '[' << done << '/' << total << "] " << passed_ << " passed, " << failed_ << " failed";
    if (skipped_) out_ << ", " << skipped_ << " skipped";
    if (warnings_) out_ << ", " << plural(warnings_, "warning", "warnings");
    if (done == total) out_ << '\n';
  }
  out_.flush();
}

void ConsoleProgress::on_interrupt(int signal) {
  out_ << (tty_ ? "\r\033[K" : "") << "interrupted (" << signal_name(signal)
       << "): no new cases; finishing requests in flight, then cleaning up (interrupt again to cut "
          "requests and cleanup short and report what may be left; a third time quits at once)\n";
  out_.flush();
}

void ConsoleProgress::on_cleanup(std::size_t count) {
  out_ << (tty_ ? "\r\033[K" : "") << "cleanup: deleting " << plural(count, "item", "items")
       << " the run created\n";
  out_.flush();
}

void write_summary(const RunReport& report, std::ostream& out) {
  std::ostringstream s;
  const std::size_t warnings = report.warnings();
  s << "\nSummary: " << plural(report.cases.size(), "case", "cases") << ": " << report.passed() << " passed, "
    << report.failed() << " failed, " << report.skipped() << " skipped; "
    << plural(warnings, "warning", "warnings")
    << (warnings && !report.strict
            ? " (assumptions where the contract is silent: not failures without --strict)"
            : "")
    << "; " << plural(report.retries(), "retry", "retries") << "; " << seconds(report.duration_ms) << '\n';
  s << "Target: " << report.base_url << (report.in_process ? " (in-process reference server)" : "") << ", "
    << report.parent_title << " " << report.parent << ", contract " << report.contract << ", run id "
    << report.run_id << '\n';
  if (report.drift)
    s << "Drift: the target appears to follow contract " << report.drift.version << ", not " << report.contract
      << ": " << report.drift.version << " explains " << report.drift.explained << " of "
      << plural(report.drift.failures, "failure", "failures")
      << " (its schemas accept the answers where " << report.contract
      << "'s refuse them; they stay failures).\n  Run against " << report.drift.version << ": "
      << report.drift.command << '\n';
  if (!report.shard_note.empty()) s << report.shard_note << '\n';
  if (report.seed)
    s << "Generated: " << plural(report.generated, "case", "cases") << ", seed " << *report.seed
      << " (--seed " << *report.seed << " sends the same requests again)\n";
  if (report.max_requests > 0)
    s << "Requests for the cases: " << report.requests << " of at most " << report.max_requests
      << (report.skipped() ? " (cases past the bound were skipped)" : "") << '\n';
  if (report.insecure) s << "WARNING: TLS certificate verification was OFF (--insecure)\n";
  if (report.diagnosis) {
    s << "\nNOT RUN: " << report.diagnosis.problem << "\n  seen:   " << report.diagnosis.detail
      << "\n  advice: " << report.diagnosis.advice << "\n  (one request told; the " << report.cases.size()
      << " cases were not sent)\n";
  }
  if (report.interrupted_by)
    s << "Interrupted by " << signal_name(report.interrupted_by)
      << (report.aborted ? " twice: requests in flight and the cleanup were cut short" : "") << ": "
      << report.skipped() << " cases not run or not finished\n";
  if (auto tally = tally_text(report); !tally.empty()) s << "\nChecks:\n" << tally;

  bool any_retry = false;
  for (const auto& c : report.cases) {
    for (const auto& st : c.steps) {
      for (const auto& note : st.retries) {
        if (!any_retry) s << "\nRetries:\n";
        any_retry = true;
        s << "  " << c.id << " step " << st.index + 1 << ": " << note << '\n';
      }
    }
  }

  if (report.failed() > 0) s << "\nFailures:\n";
  std::map<std::string, std::string> transport_seen;  // signature -> the first case that had it
  for (const auto& c : report.cases) {
    if (c.outcome != Outcome::kFailed) continue;
    if (auto sig = transport_signature(c); !sig.empty()) {
      auto [it, first] = transport_seen.emplace(sig, c.id);
      if (!first) {
        s << "  " << c.id << ": the same transport failure as " << it->second << '\n';
        continue;
      }
    }
    s << "  " << c.id << (c.unsettled.empty() ? "" : "  (unsettled: " + c.unsettled + ")") << '\n';
    for (const auto& st : c.steps) {
      if (st.count(Severity::kFailure) == 0) continue;
      s << "    step " << st.index + 1 << " of " << c.steps.size() << ": " << st.method << ' ' << st.url
        << " (auth " << st.auth << ") -> "
        << (st.status < 0 ? std::string("no response") : std::to_string(st.status)) << '\n';
      for (const auto& f : st.failures)
        if (f.severity == Severity::kFailure) s << "    " << failure_detail(f) << '\n';
      s << response_text(st.response, "    ");
    }
    if (!c.reproduce.empty()) {
      s << "    reproduce:\n";
      for (const auto& line : split(c.reproduce)) s << "      " << line << '\n';
    }
  }
  if (!report.reproduce_exports.empty() && report.failed() > 0) {
    s << "\nThe reproduction lines read the credentials from the environment (as the run did),\n"
         "and stand-ins for the run's secret values (never shown) from:\n";
    for (const auto& line : report.reproduce_exports) s << "  " << line << '\n';
  }

  if (warnings > 0) {
    s << "\nWarnings (assumptions: the contract does not state these"
      << (report.strict ? "; --strict makes them failures" : "") << "):\n";
    std::set<std::string> used;
    for (const auto& c : report.cases)
      for (const auto& st : c.steps)
        for (const auto& f : st.failures)
          if (f.severity == Severity::kWarning) {
            s << "  " << c.id << " step " << st.index + 1 << ": " << finding_line(f) << '\n';
            used.insert(f.assumption);
          }
    for (const auto& id : used)
      if (auto it = report.assumptions.find(id); it != report.assumptions.end())
        s << "  assumption " << id << ": " << it->second << '\n';
  }
  bool any_note = false;
  for (const auto& c : report.cases)
    for (const auto& st : c.steps)
      for (const auto& f : st.failures)
        if (f.severity == Severity::kNote) {
          if (!any_note) s << "\nNotes:\n";
          any_note = true;
          s << "  " << c.id << " step " << st.index + 1 << ": " << finding_line(f) << '\n';
        }

  s << '\n' << cleanup_text(report.cleanup);

  int code = report.exit_code();
  s << "Result: "
    << (code == 0   ? "PASSED"
        : code == 1 ? "FAILED"
        : code == 2 ? "NOT RUN (configuration)"
        : code == 3 ? "TARGET UNREACHABLE"
                    : "INTERRUPTED")
    << " (exit " << code << ")\n";
  out << redacted(report, s.str());
  out.flush();
}

void write_cleanup_summary(const CleanupReport& cleanup, std::ostream& out) {
  out << cleanup_text(cleanup) << "Result: " << (cleanup.clean() ? "CLEAN (exit 0)" : "NOT CLEAN (exit 1)")
      << '\n';
  out.flush();
}

void write_junit(const RunReport& report, std::ostream& out) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto text = [&](std::string_view t) { return xml_safe(redacted(report, t)); };
  const std::string classname = report.operation_id.empty() ? "operation" : report.operation_id;

  const bool cleanup_failed = !report.cleanup.kept && !report.cleanup.clean();
  const std::size_t tests = report.cases.size() + 1;
  const std::size_t failures = report.failed() + (cleanup_failed ? 1 : 0);
  const std::size_t errors = report.diagnosis ? 1 : 0;
  auto suites = doc.append_child("testsuites");
  suites.append_attribute("name") = "sipcontract";
  suites.append_attribute("tests") = static_cast<unsigned long long>(tests);
  suites.append_attribute("failures") = static_cast<unsigned long long>(failures);
  suites.append_attribute("errors") = static_cast<unsigned long long>(errors);
  suites.append_attribute("skipped") = static_cast<unsigned long long>(report.skipped());
  suites.append_attribute("time") = junit_time(report.duration_ms).c_str();

  auto suite = suites.append_child("testsuite");
  suite.append_attribute("name") = text("sipcontract." + classname).c_str();
  suite.append_attribute("tests") = static_cast<unsigned long long>(tests);
  suite.append_attribute("failures") = static_cast<unsigned long long>(failures);
  suite.append_attribute("errors") = static_cast<unsigned long long>(errors);
  suite.append_attribute("skipped") = static_cast<unsigned long long>(report.skipped());
  suite.append_attribute("time") = junit_time(report.duration_ms).c_str();
  suite.append_attribute("timestamp") = report.started_at.c_str();
  auto props = suite.append_child("properties");
  auto prop = [&](const char* name, const std::string& value) {
    auto p = props.append_child("property");
    p.append_attribute("name") = name;
    p.append_attribute("value") = text(value).c_str();
  };
  prop("run_id", report.run_id);
  if (report.seed) {
    prop("seed", std::to_string(*report.seed));
    prop("generated", std::to_string(report.generated));
  }
  prop("base_url", report.base_url);
  prop("contract", report.contract);
  prop("parent", report.parent);
  prop("in_process", report.in_process ? "true" : "false");
  prop("insecure", report.insecure ? "true" : "false");
  prop("strict", report.strict ? "true" : "false");
  prop("retries", std::to_string(report.retries()));
  prop("warnings", std::to_string(report.warnings()));
  prop("cleanup_verified", report.cleanup.verified ? "true" : "false");
  if (report.interrupted_by) prop("interrupted_by", signal_name(report.interrupted_by));
  if (report.diagnosis) prop("not_run", report.diagnosis.problem);
  if (report.drift) {
    prop("drift_version", report.drift.version);
    prop("drift_explained", std::to_string(report.drift.explained) + " of " + std::to_string(report.drift.failures));
    prop("drift_command", report.drift.command);
  }

  for (const auto& c : report.cases) {
    auto tc = suite.append_child("testcase");
    tc.append_attribute("classname") = text(classname).c_str();
    tc.append_attribute("name") = text(c.id).c_str();
    tc.append_attribute("time") = junit_time(c.duration_ms).c_str();
    if (c.outcome == Outcome::kSkipped) {
      tc.append_child("skipped").append_attribute("message") = text(c.skip_reason).c_str();
    } else if (c.outcome == Outcome::kFailed) {
      auto all = c.failures();
      std::string message;
      std::string body;
      for (const auto& f : all) {
        std::string item = f.check + (f.pointer.empty() ? "" : " " + f.pointer);
        message += (message.empty() ? "" : "; ") + item;
      }
      for (const auto& st : c.steps) {
        if (st.count(Severity::kFailure) == 0) continue;
        body += "step " + std::to_string(st.index + 1) + ": " + st.method + " " + st.url + " (auth " +
                st.auth + ") -> " + (st.status < 0 ? std::string("no response") : std::to_string(st.status)) +
                "\n";
        for (const auto& f : st.failures)
          if (f.severity == Severity::kFailure) body += "  " + failure_detail(f) + "\n";
        body += response_text(st.response, "  ");
      }
      if (!c.reproduce.empty()) {
        body += "reproduce (after the exports below):\n" + c.reproduce;
        for (const auto& line : report.reproduce_exports) body += "  " + line + "\n";
      }
      if (!c.unsettled.empty()) body += "unsettled: " + c.unsettled + "\n";
      auto failure = tc.append_child("failure");
      failure.append_attribute("message") = text(message).c_str();
      failure.append_attribute("type") = text(all.empty() ? "" : all.front().check).c_str();
      failure.append_child(pugi::node_pcdata).set_value(text(body).c_str());
    }
    std::string system_out;
    for (const auto& st : c.steps) {
      for (const auto& note : st.retries)
        system_out += "step " + std::to_string(st.index + 1) + ": " + note + "\n";
      for (const auto& f : st.failures) {
        if (f.severity == Severity::kFailure) continue;
        system_out += std::string(f.severity == Severity::kWarning ? "WARNING" : "note") + " step " +
                      std::to_string(st.index + 1) + ": " + finding_line(f) + "\n";
      }
      if (c.outcome != Outcome::kFailed && st.count(Severity::kWarning) > 0)
        system_out += response_text(st.response, "  ");
    }
    if (!system_out.empty())
      tc.append_child("system-out").append_child(pugi::node_pcdata).set_value(text(system_out).c_str());
  }

  auto tc = suite.append_child("testcase");
  tc.append_attribute("classname") = text(classname + ".cleanup").c_str();
  tc.append_attribute("name") = "cleanup";
  const auto& cl = report.cleanup;
  if (cl.kept) {
    tc.append_child("skipped").append_attribute("message") = "--keep: nothing deleted";
  } else if (cleanup_failed) {
    std::string body;
    for (const auto& l : cl.leftovers)
      body += "LEFT BEHIND: " + leftover_text(l, cl) + ": " + l.reason + "\n";
    for (const auto& l : cl.unverified)
      body += "UNVERIFIED: " + leftover_text(l, cl) + ": " + l.reason + "\n";
    for (const auto& n : cl.notes) body += "note: " + n + "\n";
    if (!cl.ledger.empty()) body += "ledger: " + cl.ledger + " (sipcontract cleanup --ledger FILE)\n";
    std::string message = "cleanup: " + std::to_string(cl.leftovers.size()) + " left behind";
    if (!cl.unverified.empty()) message += ", " + std::to_string(cl.unverified.size()) + " unverified";
    auto failure = tc.append_child("failure");
    failure.append_attribute("message") = text(message).c_str();
    failure.append_attribute("type") = "cleanup";
    failure.append_child(pugi::node_pcdata).set_value(text(body).c_str());
  }
  std::ostringstream xml;
  doc.save(xml, "  ", pugi::format_default, pugi::encoding_utf8);
  // A final pass: no secret may survive whatever path it took into the document.
  out << redacted(report, xml.str());
  out.flush();
}

nlohmann::ordered_json report_to_json(const RunReport& report) {
  using json = nlohmann::ordered_json;
  auto text = [&](const std::string& t) { return redacted(report, t); };
  auto finding = [&](const CheckFailure& f) {
    json item = {{"check", f.check},
                 {"pointer", text(f.pointer)},
                 {"expected", text(f.expected)},
                 {"actual", text(f.actual)},
                 {"message", text(f.message)}};
    if (!f.assumption.empty()) item["assumption"] = f.assumption;
    if (!f.explained_by.empty()) item["explained_by"] = f.explained_by;
    return item;
  };
  json cases = json::array();
  for (const auto& c : report.cases) {
    json steps = json::array();
    for (const auto& st : c.steps) {
      json failures = json::array();
      json warnings = json::array();
      json notes = json::array();
      for (const auto& f : st.failures)
        (f.severity == Severity::kFailure   ? failures
         : f.severity == Severity::kWarning ? warnings
                                            : notes)
            .push_back(finding(f));
      json retries = json::array();
      for (const auto& n : st.retries) retries.push_back(text(n));
      json step = {{"index", st.index},
                   {"method", st.method},
                   {"url", text(st.url)},
                   {"auth", st.auth},
                   {"status", st.status < 0 ? json(nullptr) : json(st.status)},
                   {"duration_ms", round_ms(st.duration_ms)},
                   {"retries", retries},
                   {"failures", failures},
                   {"warnings", warnings},
                   {"notes", notes}};
      if (!st.created_id.empty()) step["created_id"] = text(st.created_id);
      if (!st.curl.empty()) step["curl"] = text(st.curl);
      if (st.response.present()) {
        json headers = json::array();
        for (const auto& [name, value] : st.response.headers) headers.push_back({text(name), text(value)});
        step["response"] = {{"status", st.response.status},
                            {"content_type", text(st.response.content_type)},
                            {"headers", headers},
                            {"body", text(st.response.body)},
                            {"body_bytes", st.response.body_bytes},
                            {"body_truncated", st.response.body_bytes > st.response.body.size()}};
      }
      steps.push_back(std::move(step));
    }
    json item = {{"id", c.id},
                 {"description", text(c.description)},
                 {"tags", c.tags},
                 {"outcome", std::string(to_string(c.outcome))},
                 {"duration_ms", round_ms(c.duration_ms)},
                 {"retries", c.retries()},
                 {"warnings", c.count(Severity::kWarning)},
                 {"steps", steps}};
    item["unsettled"] = c.unsettled.empty() ? json(nullptr) : json(text(c.unsettled));
    if (c.outcome == Outcome::kSkipped) item["skip_reason"] = text(c.skip_reason);
    if (!c.reproduce.empty()) item["reproduce"] = text(c.reproduce);
    cases.push_back(std::move(item));
  }
  auto endpoints = [&](const std::vector<LeftoverItem>& list) {
    json out = json::array();
    for (const auto& l : list)
      out.push_back({{"parent", text(l.parent)},
                     {"id", l.id.empty() ? json(nullptr) : json(text(l.id))},
                     {"name", l.name.empty() ? json(nullptr) : json(text(l.name))},
                     {"reason", text(l.reason)}});
    return out;
  };
  json notes = json::array();
  for (const auto& n : report.cleanup.notes) notes.push_back(text(n));
  json checks = json::array();
  for (const auto& t : report.tally())
    checks.push_back(
        {{"check", t.check}, {"failures", t.failures}, {"warnings", t.warnings}, {"notes", t.notes}});
  json assumptions = json::object();
  for (const auto& [id, what] : report.assumptions) assumptions[id] = what;
  json exports = json::array();
  for (const auto& line : report.reproduce_exports) exports.push_back(line);
  json diagnosis = nullptr;
  if (report.diagnosis)
    diagnosis = {{"problem", text(report.diagnosis.problem)},
                 {"detail", text(report.diagnosis.detail)},
                 {"advice", text(report.diagnosis.advice)}};
  json out = {
      {"tool", "sipcontract"},
      {"version", report.tool_version},
      {"run_id", report.run_id},
      {"operation", report.operation_id},
      {"contract", report.contract},
      {"target",
       {{"base_url", text(report.base_url)},
        {"parent", text(report.parent)},
        {"in_process", report.in_process},
        {"insecure", report.insecure}}},
      {"started_at", report.started_at},
      {"duration_ms", round_ms(report.duration_ms)},
      {"strict", report.strict},
      {"summary",
       {{"cases", report.cases.size()},
        {"passed", report.passed()},
        {"failed", report.failed()},
        {"skipped", report.skipped()},
        {"warnings", report.warnings()},
        {"retries", report.retries()}}},
      {"checks", checks},
      {"diagnosis", diagnosis},
      {"drift", report.drift ? json{{"version", report.drift.version},
                                    {"explained", report.drift.explained},
                                    {"failures", report.drift.failures},
                                    {"command", text(report.drift.command)}}
                             : json(nullptr)},
      {"interrupted_by", report.interrupted_by ? json(signal_name(report.interrupted_by)) : json(nullptr)},
      {"aborted", report.aborted},
      {"generation", report.seed ? json{{"seed", *report.seed}, {"cases", report.generated}} : json(nullptr)},
      {"bounds",
       {{"rate", report.rate > 0 ? json(report.rate) : json(nullptr)},
        {"max_requests", report.max_requests ? json(report.max_requests) : json(nullptr)},
        {"requests", report.requests}}},
      {"unreachable", report.unreachable()},
      {"exit_code", report.exit_code()},
      {"assumptions", assumptions},
      {"reproduce_exports", exports},
      {"cases", cases},
      {"cleanup",
       {{"kept", report.cleanup.kept},
        {"verified", report.cleanup.verified},
        {"verified_by",
         report.cleanup.verified_by.empty() ? json(nullptr) : json(report.cleanup.verified_by)},
        {"created", report.cleanup.created},
        {"deleted", report.cleanup.deleted},
        {"leftovers", endpoints(report.cleanup.leftovers)},
        {"unverified", endpoints(report.cleanup.unverified)},
        {"notes", notes},
        {"ledger", report.cleanup.ledger.empty() ? json(nullptr) : json(text(report.cleanup.ledger))}}},
  };
  if (!report.shard_note.empty()) out["shard_note"] = report.shard_note;
  return out;
}

void write_json_report(const RunReport& report, std::ostream& out) {
  out << redacted(report,
                  report_to_json(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace))
      << '\n';
  out.flush();
}

}  // namespace sipcontract
