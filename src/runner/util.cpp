// Small helpers of the runner: URLs, quoting, credentials (randomness, UUIDs, base64 and the
// Redactor are src/common's).
#include <linux/tcp.h>  // the kernel's tcp_info, with tcpi_bytes_received (glibc's lacks it)
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <ctime>
#include <filesystem>

#include "internal.hpp"
#include "sipcontract/ascii.hpp"
#include "sipcontract/base64.hpp"
#include "sipcontract/random.hpp"
#include "sipcontract/runner.hpp"

namespace sipcontract {
namespace detail {

std::string random_secret() {
  static constexpr std::string_view kAlnum = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  while (out.size() < 20) {
    unsigned char byte = 0;
    random_bytes(&byte, 1);
    // Bytes past the largest multiple of the alphabet's size are drawn again: no character is likelier.
    if (byte < 256 / kAlnum.size() * kAlnum.size()) out += kAlnum[byte % kAlnum.size()];
  }
  // A fixed tail guarantees every character class a password policy might ask for.
  out += "-Q7x";
  return out;
}

std::optional<std::uint64_t> tcp_bytes_received(int fd) {
  if (fd < 0) return std::nullopt;
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  // Older kernels fill a shorter struct: the field must lie inside what was written.
  if (len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received) return std::nullopt;
  return info.tcpi_bytes_received;
}

std::string BaseUrl::origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

bool BaseUrl::loopback() const {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8
  if (host.rfind("127.", 0) == 0) {
    return std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
  }
  return false;
}

BaseUrl BaseUrl::parse(const std::string& url) {
  auto fail = [&](const std::string& why) -> BaseUrl { throw ConfigError("--base-url " + url + ": " + why); };
  BaseUrl out;
  auto sep = url.find("://");
  if (sep == std::string::npos) return fail("expected http://HOST[:PORT]/PATH or https://...");
  out.scheme = url.substr(0, sep);
  out.scheme = ascii_lowercase(out.scheme);
  if (out.scheme != "http" && out.scheme != "https") return fail("the scheme must be http or https");
  std::string rest = url.substr(sep + 3);
  auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (path.find_first_of("?#") != std::string::npos) return fail("a base URL has no query or fragment");
  if (authority.find('@') != std::string::npos)
    return fail("credentials do not belong in the URL (they come from the environment)");
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return fail("unclosed '[' in the host");
    out.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail("unexpected text after the IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty()) return fail("no host");
  out.host = ascii_lowercase(out.host);
  out.port = out.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || p < 1 || p > 65535)
      return fail("bad port \"" + port_text + "\"");
    out.port = p;
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  out.prefix = path;
  return out;
}

std::string encode_path_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string fill_path(const std::string& path_template, const std::map<std::string, std::string>& values) {
  std::string out;
  std::size_t i = 0;
  while (i < path_template.size()) {
    auto open = path_template.find('{', i);
    if (open == std::string::npos) {
      out += path_template.substr(i);
      break;
    }
    auto close = path_template.find('}', open);
    if (close == std::string::npos) throw ConfigError("manifest path " + path_template + ": unclosed '{'");
    out += path_template.substr(i, open - i);
    auto name = path_template.substr(open + 1, close - open - 1);
    auto it = values.find(name);
    if (it == values.end())
      throw ConfigError("no value for path parameter {" + name + "} of " + path_template);
    out += encode_path_segment(it->second);
    i = close + 1;
  }
  return out;
}

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  out += "'";
  return out;
}

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::string> ca_file_problem(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return "not a readable file";
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (!bio) {
    ERR_clear_error();
    return "cannot be read";
  }
  int certificates = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    ++certificates;
    X509_free(cert);
  }
  // The loop ends at the end of the file (or at text that is not a certificate): not an error.
  ERR_clear_error();
  BIO_free(bio);
  if (certificates == 0)
    return "holds no PEM certificate (a CA bundle is \"-----BEGIN CERTIFICATE-----\" blocks)";
  return std::nullopt;
}

std::optional<std::string> authorization_for(AuthVariant auth, const Target& target) {
  switch (auth) {
    case AuthVariant::kValid:
      return "Basic " + base64_encode(target.user + ":" + target.token);
    case AuthVariant::kNone:
      return std::nullopt;
    case AuthVariant::kWrongToken:
      return "Basic " + base64_encode(target.user + ":" + std::string(kWrongToken));
    case AuthVariant::kWrongProject:
      return "Basic " + base64_encode(std::string(kWrongProject) + ":" + target.token);
    case AuthVariant::kMalformedHeader:
      return std::string(kMalformedAuthorization);
  }
  return std::nullopt;
}

}  // namespace detail

}  // namespace sipcontract
