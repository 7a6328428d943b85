// URI resolution for "$id" and "$ref" (uriparser does the RFC 3986 work: merging paths and
// removing dot segments). Fragments are kept as written: a JSON Pointer fragment may hold
// characters a strict URI parser refuses, and it is percent-decoded by the caller.
#include "uri.hpp"

#include <uriparser/Uri.h>

#include <cctype>
#include <memory>
#include <utility>

namespace sipcontract::detail::validation {
namespace {

/// A parsed URI, freed when it goes. uriparser's ranges point into the text, which it keeps.
struct ParsedUri {
  std::string text;
  UriUriA uri{};
  bool ok = false;
  explicit ParsedUri(std::string source) : text(std::move(source)) {
    const char* error = nullptr;
    ok = uriParseSingleUriA(&uri, text.c_str(), &error) == URI_SUCCESS;
  }
  ParsedUri() = default;
  ParsedUri(const ParsedUri&) = delete;
  ParsedUri& operator=(const ParsedUri&) = delete;
  ~ParsedUri() { uriFreeUriMembersA(&uri); }
};

std::optional<std::string> to_text(const UriUriA& uri) {
  int chars = 0;
  if (uriToStringCharsRequiredA(&uri, &chars) != URI_SUCCESS) return std::nullopt;
  std::string text(static_cast<std::size_t>(chars) + 1, '\0');
  if (uriToStringA(text.data(), &uri, chars + 1, nullptr) != URI_SUCCESS) return std::nullopt;
  text.resize(static_cast<std::size_t>(chars));
  return text;
}

}  // namespace

std::string_view without_fragment(std::string_view uri) { return uri.substr(0, uri.find('#')); }

std::string_view fragment_of(std::string_view uri) {
  const std::size_t hash = uri.find('#');
  return hash == std::string_view::npos ? std::string_view() : uri.substr(hash + 1);
}

bool has_scheme(std::string_view text) {
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text[0]))) return false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == ':') return true;
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

std::optional<std::string> resolve_uri(std::string_view base, std::string_view reference) {
  const std::string_view document = without_fragment(reference);
  const std::size_t hash = reference.find('#');
  const std::string fragment =
      hash == std::string_view::npos ? std::string() : std::string(reference.substr(hash));
  if (document.empty()) return std::string(without_fragment(base)) + fragment;
  ParsedUri relative{std::string(document)};
  if (!relative.ok) return std::nullopt;
  if (has_scheme(document)) {
    auto text = to_text(relative.uri);
    if (!text) return std::nullopt;
    return *text + fragment;
  }
  ParsedUri absolute{std::string(without_fragment(base))};
  if (!absolute.ok) return std::nullopt;
  ParsedUri resolved;
  if (uriAddBaseUriExA(&resolved.uri, &relative.uri, &absolute.uri, URI_RESOLVE_STRICTLY) != URI_SUCCESS)
    return std::nullopt;
  auto text = to_text(resolved.uri);
  if (!text) return std::nullopt;
  return *text + fragment;
}

}  // namespace sipcontract::detail::validation
