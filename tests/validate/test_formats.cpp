// Draft-7 formats: what each accepts and refuses.
#include <string>
#include <utility>
#include <vector>

#include "helpers.hpp"

using namespace sipcontract;
using sipcontract::test::schema_of;

namespace {

void check_format(const std::string& format, const std::vector<std::string>& good,
                  const std::vector<std::string>& bad) {
  const Schema schema = schema_of(R"({"format": ")" + format + R"("})");
  for (const auto& text : good) {
    INFO(format << " should accept " << text);
    CHECK(schema.is_valid(nlohmann::json(text)));
  }
  for (const auto& text : bad) {
    INFO(format << " should refuse " << text);
    const Result result = schema.validate(nlohmann::json(text));
    REQUIRE(result.findings.size() == 1);
    CHECK(result.findings[0].keyword == "format");
    CHECK(result.findings[0].message.find("is not a valid " + format) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("uuid is the 8-4-4-4-12 hex form in either case", "[validate][format]") {
  check_format("uuid",
               {"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", "0B3F1A7E-8C4D-4F6E-9A2B-1C3D5E7F9A0B",
                "00000000-0000-0000-0000-000000000000", "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"},
               {"abc", "", "0b3f1a7e8c4d4f6e9a2b1c3d5e7f9a0b", "{0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b}",
                "urn:uuid:0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b", " 0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b",
                "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b\n", "0b3f1a7g-8c4d-4f6e-9a2b-1c3d5e7f9a0b",
                "0b3f1a7e-8c4d4-f6e-9a2b-1c3d5e7f9a0b"});
}

TEST_CASE("date, time and date-time follow RFC 3339 with real calendars", "[validate][format]") {
  check_format("date", {"2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01"},
               {"2023-02-29", "1900-02-29", "2024-04-31", "2024-13-01", "2024-00-10", "2024-1-01", "24-01-01",
                "2024/01/01", "2024-01-01T00:00:00Z"});
  check_format(
      "time",
      {"23:59:59Z", "00:00:00+02:00", "12:30:45.123456-05:30", "23:59:60Z", "22:59:60-01:00", "08:30:00z"},
      {"24:00:00Z", "12:60:00Z", "12:00:00", "12:00Z", "12:00:00+2:00", "12:00:00.Z", "12:00:60Z",
       "12:00:00+24:00"});
  check_format(
      "date-time", {"2024-02-29T16:52:45Z", "2024-02-29t16:52:45.5+01:00", "1990-12-31T23:59:60Z"},
      {"2023-02-29T16:52:45Z", "2024-02-29 16:52:45Z", "2024-02-29T16:52:45", "2024-02-29T25:00:00Z"});
}

TEST_CASE("email, hostname, ipv4 and ipv6", "[validate][format]") {
  check_format("email",
               {"joe@example.com", "a.b+c@sub.example.org", "\"odd name\"@example.com", "x@[127.0.0.1]",
                "x@[IPv6:::1]", "user@localhost"},
               {"joe", "@example.com", "joe@", ".joe@example.com", "jo..e@example.com", "joe@exa_mple.com",
                "joe@-example.com", "jo e@example.com"});
  check_format("hostname",
               {"example.com", "a", "xn--bcher-kva.example", "a-b.c-d.e", std::string(63, 'a') + ".com"},
               {"", "-a.com", "a-.com", "a_b.com", "a..b", std::string(64, 'a') + ".com", "example.com.",
                std::string(254, 'a')});
  check_format("ipv4", {"0.0.0.0", "192.168.1.255", "255.255.255.255"},
               {"256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.a", "1.2.3.4 ", ""});
  check_format("ipv6",
               {"::1", "::", "2001:db8::8a2e:370:7334", "::ffff:192.0.2.128",
                "2001:0db8:0000:0000:0000:0000:0000:0001"},
               {"12345::", "1:2:3:4:5:6:7:8:9", "::1%eth0", "2001:db8::g", "1.2.3.4", ":::"});
}

TEST_CASE("uri, uri-reference and json-pointer follow their RFCs", "[validate][format]") {
  check_format("uri",
               {"https://example.com/a/b?c=d#e", "urn:isbn:0451450523", "mailto:joe@example.com",
                "http://[2001:db8::1]:8080/", "http://user:pw@host:80/p%20q", "file:///etc/hosts"},
               {"example.com/a", "/relative", "http://exa mple.com", "http://example.com/%zz", "1http://x",
                "http://[::g]/", "http://host:80a/", "https://example.com/a#b#c"});
  check_format("uri-reference", {"/relative/path", "../up?x=1", "#frag", "", "https://example.com"},
               {"a:b:c d", "/has space", "%", "//[::g]/"});
  check_format("json-pointer", {"", "/a/b", "/a~0b~1c", "/"}, {"a/b", "/a~2", "/a~"});
}
