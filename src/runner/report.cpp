// Reports: console progress and summary, JUnit XML (pugixml) and the JSON report. Every text
// goes through the run's Redactor on its way out, whatever the report already holds.
#include <cmath>
#include <csignal>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <pugixml.hpp>
#include <sstream>

#include "internal.hpp"
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
    std::size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(in[i + k]) >> 6) == 0x2;
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += '?';
      ++i;
    }
  }
  return out;
}

std::string failure_detail(const CheckFailure& f) {
  std::string out = "[" + f.check + "] " + pointer_text(f.pointer) + ": " + f.message;
  if (!f.expected.empty() || !f.actual.empty())
    out += "\n      expected: " + f.expected + "\n      actual:   " + f.actual;
  return out;
}

}  // namespace

void ConsoleProgress::on_start(const RunReport& header, std::size_t total) {
  out_ << "sipcontract run " << header.run_id << ": " << plural(total, "case", "cases") << " against "
       << header.base_url << (header.in_process ? " (in-process reference server)" : "") << '\n';
  if (header.insecure) out_ << "WARNING: TLS certificate verification is OFF (--insecure)\n";
  out_.flush();
}

void ConsoleProgress::on_case(const CaseResult& r, std::size_t done, std::size_t total) {
  (r.outcome == Outcome::kPassed ? passed_ : r.outcome == Outcome::kFailed ? failed_ : skipped_)++;
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
    if (done == total) out_ << '\n';
  }
  out_.flush();
}

void ConsoleProgress::on_interrupt(int signal) {
  out_ << (tty_ ? "\r\033[K" : "") << "interrupted (" << signal_name(signal)
       << "): no new cases; finishing requests in flight, then cleaning up (interrupt again to quit at once, "
          "leaving what was created)\n";
  out_.flush();
}

void ConsoleProgress::on_cleanup(std::size_t count) {
  out_ << (tty_ ? "\r\033[K" : "") << "cleanup: deleting " << plural(count, "endpoint", "endpoints")
       << " the run created\n";
  out_.flush();
}

void write_summary(const RunReport& report, std::ostream& out) {
  std::ostringstream s;
  s << "\nSummary: " << plural(report.cases.size(), "case", "cases") << ": " << report.passed() << " passed, "
    << report.failed() << " failed, " << report.skipped() << " skipped; "
    << plural(report.retries(), "retry", "retries") << "; " << seconds(report.duration_ms) << '\n';
  s << "Target: " << report.base_url << (report.in_process ? " (in-process reference server)" : "")
    << ", subscriber " << report.subscriber << ", run id " << report.run_id << '\n';
  if (report.insecure) s << "WARNING: TLS certificate verification was OFF (--insecure)\n";
  if (report.interrupted_by)
    s << "Interrupted by " << signal_name(report.interrupted_by) << ": " << report.skipped()
      << " cases not run or not finished\n";

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
  for (const auto& c : report.cases) {
    if (c.outcome != Outcome::kFailed) continue;
    s << "  " << c.id << (c.unsettled.empty() ? "" : "  (unsettled: " + c.unsettled + ")") << '\n';
    for (const auto& st : c.steps) {
      if (st.failures.empty()) continue;
      s << "    step " << st.index + 1 << " of " << c.steps.size() << ": " << st.method << ' ' << st.url
        << " (auth " << st.auth << ") -> "
        << (st.status < 0 ? std::string("no response") : std::to_string(st.status)) << '\n';
      for (const auto& f : st.failures) s << "    " << failure_detail(f) << '\n';
      if (!st.curl.empty()) s << "    reproduce: " << st.curl << '\n';
    }
  }

  const auto& cl = report.cleanup;
  s << '\n';
  if (cl.kept) {
    s << "Cleanup: --keep: " << plural(cl.leftovers.size(), "endpoint", "endpoints") << " kept\n";
  } else {
    s << "Cleanup: " << cl.created << " created, " << cl.deleted << " deleted, " << cl.leftovers.size()
      << " left behind\n";
  }
  for (const auto& l : cl.leftovers)
    s << (cl.kept ? "  kept: " : "  LEFT BEHIND: ") << "subscriber " << l.subscriber << " endpoint " << l.id
      << (cl.kept ? "" : ": " + l.reason) << '\n';
  for (const auto& n : cl.notes) s << "  note: " << n << '\n';

  int code = report.exit_code();
  s << "Result: "
    << (code == 0   ? "PASSED"
        : code == 1 ? "FAILED"
        : code == 3 ? "TARGET UNREACHABLE"
                    : "INTERRUPTED")
    << " (exit " << code << ")\n";
  out << redacted(report, s.str());
  out.flush();
}

void write_junit(const RunReport& report, std::ostream& out) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version") = "1.0";
  decl.append_attribute("encoding") = "UTF-8";
  auto text = [&](std::string_view t) { return xml_safe(redacted(report, t)); };
  const std::string classname = report.operation_id.empty() ? "operation" : report.operation_id;

  const bool cleanup_failed = !report.cleanup.kept && !report.cleanup.leftovers.empty();
  const std::size_t tests = report.cases.size() + 1;
  const std::size_t failures = report.failed() + (cleanup_failed ? 1 : 0);
  auto suites = doc.append_child("testsuites");
  suites.append_attribute("name") = "sipcontract";
  suites.append_attribute("tests") = static_cast<unsigned long long>(tests);
  suites.append_attribute("failures") = static_cast<unsigned long long>(failures);
  suites.append_attribute("errors") = 0;
  suites.append_attribute("skipped") = static_cast<unsigned long long>(report.skipped());
  suites.append_attribute("time") = junit_time(report.duration_ms).c_str();

  auto suite = suites.append_child("testsuite");
  suite.append_attribute("name") = text("sipcontract." + classname).c_str();
  suite.append_attribute("tests") = static_cast<unsigned long long>(tests);
  suite.append_attribute("failures") = static_cast<unsigned long long>(failures);
  suite.append_attribute("errors") = 0;
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
  prop("base_url", report.base_url);
  prop("subscriber", report.subscriber);
  prop("in_process", report.in_process ? "true" : "false");
  prop("insecure", report.insecure ? "true" : "false");
  prop("retries", std::to_string(report.retries()));
  if (report.interrupted_by) prop("interrupted_by", signal_name(report.interrupted_by));

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
        if (st.failures.empty()) continue;
        body += "step " + std::to_string(st.index + 1) + ": " + st.method + " " + st.url + " (auth " +
                st.auth + ") -> " + (st.status < 0 ? std::string("no response") : std::to_string(st.status)) +
                "\n";
        for (const auto& f : st.failures) body += "  " + failure_detail(f) + "\n";
        if (!st.curl.empty()) body += "  reproduce: " + st.curl + "\n";
      }
      if (!c.unsettled.empty()) body += "unsettled: " + c.unsettled + "\n";
      auto failure = tc.append_child("failure");
      failure.append_attribute("message") = text(message).c_str();
      failure.append_attribute("type") = text(all.empty() ? "" : all.front().check).c_str();
      failure.append_child(pugi::node_pcdata).set_value(text(body).c_str());
    }
    std::string retries;
    for (const auto& st : c.steps)
      for (const auto& note : st.retries)
        retries += "step " + std::to_string(st.index + 1) + ": " + note + "\n";
    if (!retries.empty())
      tc.append_child("system-out").append_child(pugi::node_pcdata).set_value(text(retries).c_str());
  }

  auto tc = suite.append_child("testcase");
  tc.append_attribute("classname") = text(classname + ".cleanup").c_str();
  tc.append_attribute("name") = "cleanup";
  if (report.cleanup.kept) {
    tc.append_child("skipped").append_attribute("message") = "--keep: nothing deleted";
  } else if (cleanup_failed) {
    std::string body;
    for (const auto& l : report.cleanup.leftovers)
      body += "subscriber " + l.subscriber + " endpoint " + l.id + ": " + l.reason + "\n";
    auto failure = tc.append_child("failure");
    failure.append_attribute("message") =
        text("cleanup: " + plural(report.cleanup.leftovers.size(), "endpoint", "endpoints") + " left behind")
            .c_str();
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
  json cases = json::array();
  for (const auto& c : report.cases) {
    json steps = json::array();
    for (const auto& st : c.steps) {
      json failures = json::array();
      for (const auto& f : st.failures)
        failures.push_back({{"check", f.check},
                            {"pointer", text(f.pointer)},
                            {"expected", text(f.expected)},
                            {"actual", text(f.actual)},
                            {"message", text(f.message)}});
      json retries = json::array();
      for (const auto& n : st.retries) retries.push_back(text(n));
      json step = {{"index", st.index},
                   {"method", st.method},
                   {"url", text(st.url)},
                   {"auth", st.auth},
                   {"status", st.status < 0 ? json(nullptr) : json(st.status)},
                   {"duration_ms", round_ms(st.duration_ms)},
                   {"retries", retries},
                   {"failures", failures}};
      if (!st.created_id.empty()) step["created_id"] = text(st.created_id);
      if (!st.curl.empty()) step["curl"] = text(st.curl);
      steps.push_back(std::move(step));
    }
    json item = {{"id", c.id},
                 {"description", text(c.description)},
                 {"tags", c.tags},
                 {"outcome", std::string(to_string(c.outcome))},
                 {"duration_ms", round_ms(c.duration_ms)},
                 {"retries", c.retries()},
                 {"steps", steps}};
    item["unsettled"] = c.unsettled.empty() ? json(nullptr) : json(text(c.unsettled));
    if (c.outcome == Outcome::kSkipped) item["skip_reason"] = text(c.skip_reason);
    cases.push_back(std::move(item));
  }
  json leftovers = json::array();
  for (const auto& l : report.cleanup.leftovers)
    leftovers.push_back({{"subscriber", text(l.subscriber)}, {"id", text(l.id)}, {"reason", text(l.reason)}});
  json notes = json::array();
  for (const auto& n : report.cleanup.notes) notes.push_back(text(n));
  json out = {
      {"tool", "sipcontract"},
      {"version", report.tool_version},
      {"run_id", report.run_id},
      {"operation", report.operation_id},
      {"target",
       {{"base_url", text(report.base_url)},
        {"subscriber", text(report.subscriber)},
        {"in_process", report.in_process},
        {"insecure", report.insecure}}},
      {"started_at", report.started_at},
      {"duration_ms", round_ms(report.duration_ms)},
      {"summary",
       {{"cases", report.cases.size()},
        {"passed", report.passed()},
        {"failed", report.failed()},
        {"skipped", report.skipped()},
        {"retries", report.retries()}}},
      {"interrupted_by", report.interrupted_by ? json(signal_name(report.interrupted_by)) : json(nullptr)},
      {"unreachable", report.unreachable()},
      {"exit_code", report.exit_code()},
      {"cases", cases},
      {"cleanup",
       {{"kept", report.cleanup.kept},
        {"created", report.cleanup.created},
        {"deleted", report.cleanup.deleted},
        {"leftovers", leftovers},
        {"notes", notes}}},
  };
  return out;
}

void write_json_report(const RunReport& report, std::ostream& out) {
  out << redacted(report,
                  report_to_json(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace))
      << '\n';
  out.flush();
}

}  // namespace sipcontract
