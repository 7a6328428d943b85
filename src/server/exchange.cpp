#include "exchange.hpp"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "sipcontract/json_text.hpp"

namespace sipcontract::detail::refserver {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

const std::string* Headers::find(std::string_view name) const {
  for (const auto& field : fields_) {
    if (iequals(field.name, name)) return &field.value;
  }
  return nullptr;
}

std::string_view Headers::get(std::string_view name) const {
  const std::string* value = find(name);
  return value ? std::string_view(*value) : std::string_view();
}

std::size_t Headers::count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      fields_.begin(), fields_.end(), [&](const Field& field) { return iequals(field.name, name); }));
}

void Headers::set(std::string_view name, std::string value) {
  auto it =
      std::find_if(fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.name, name); });
  if (it == fields_.end()) {
    fields_.push_back({std::string(name), std::move(value)});
    return;
  }
  it->value = std::move(value);
  fields_.erase(
      std::remove_if(std::next(it), fields_.end(), [&](const Field& f) { return iequals(f.name, name); }),
      fields_.end());
}

void Headers::erase(std::string_view name) {
  fields_.erase(
      std::remove_if(fields_.begin(), fields_.end(), [&](const Field& f) { return iequals(f.name, name); }),
      fields_.end());
}

const std::string* Request::query_value(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return &value;
  }
  return nullptr;
}

void Request::set_query_value(std::string_view name, std::string value) {
  query.erase(std::remove_if(query.begin(), query.end(), [&](const auto& p) { return p.first == name; }),
              query.end());
  query.emplace_back(std::string(name), std::move(value));
}

BodyRead Request::read_body(std::size_t max_bytes) {
  if (body_source == nullptr) return BodyRead::kOk;
  BodySource* source = std::exchange(body_source, nullptr);
  body.clear();
  return source->read(body, max_bytes);
}

Request Request::derived(std::string new_method, std::string new_path) const {
  Request out;
  out.method = std::move(new_method);
  out.path = std::move(new_path);
  out.version = version;
  out.headers = headers;
  out.headers.erase("Content-Length");
  out.headers.erase("Transfer-Encoding");
  out.headers.erase("Content-Type");
  out.headers.erase("Expect");
  out.remote_addr = remote_addr;
  return out;
}

void Response::set_json(int new_status, std::string json) {
  status = new_status;
  body = std::move(json);
  stream.reset();
  headers.set("Content-Type", "application/json");
}

void Response::set_error(int new_status, std::string_view error, std::string_view message) {
  std::string json = "{\"error\":";
  append_json_string(json, error);
  if (!message.empty()) {
    json += ",\"message\":";
    append_json_string(json, message);
  }
  json += '}';
  set_json(new_status, std::move(json));
}

bool Response::is_json() const {
  std::string_view type = trim(headers.get("Content-Type"));
  type = trim(type.substr(0, type.find(';')));
  if (iequals(type, "application/json")) return true;
  return type.size() > 5 && iequals(type.substr(type.size() - 5), "+json");
}

bool is_json_content_type(std::string_view value) {
  const auto semicolon = value.find(';');
  if (!iequals(trim(value.substr(0, semicolon)), "application/json")) return false;
  while (semicolon != std::string_view::npos && !value.empty()) {
    value.remove_prefix(std::min(value.size(), value.find(';') + 1));
    const auto next = value.find(';');
    const std::string_view param = trim(value.substr(0, next));
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && iequals(trim(param.substr(0, eq)), "charset")) {
      std::string_view charset = trim(param.substr(eq + 1));
      if (charset.size() >= 2 && charset.front() == '"' && charset.back() == '"') {
        charset = charset.substr(1, charset.size() - 2);
      }
      if (!iequals(charset, "utf-8") && !iequals(charset, "utf8")) return false;
    }
    if (next == std::string_view::npos) break;
  }
  return true;
}

bool accepts_gzip(std::string_view accept_encoding) {
  // Accept-Encoding = #( codings [ weight ] ), weight = OWS ";" OWS "q=" qvalue (RFC 9110 12.5.3).
  bool gzip_named = false, gzip_ok = false, star_ok = false;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding.remove_prefix(comma == std::string_view::npos ? accept_encoding.size() : comma + 1);
    const auto semicolon = item.find(';');
    const std::string_view coding = trim(item.substr(0, semicolon));
    bool allowed = true;
    if (semicolon != std::string_view::npos) {
      std::string_view weight = trim(item.substr(semicolon + 1));
      if (weight.size() >= 2 && lower(weight[0]) == 'q' && weight[1] == '=') {
        weight = trim(weight.substr(2));
        // Any nonzero digit makes the weight positive ("0", "0.0", "0.000" are the zero forms).
        allowed = std::any_of(weight.begin(), weight.end(), [](char c) { return c >= '1' && c <= '9'; });
      }
    }
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      gzip_named = true;
      gzip_ok = gzip_ok || allowed;
    } else if (coding == "*") {
      star_ok = allowed;
    }
  }
  return gzip_named ? gzip_ok : star_ok;
}

std::string gzip(std::string_view data) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const std::size_t written = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(written);
  return out;
}

}  // namespace sipcontract::detail::refserver
