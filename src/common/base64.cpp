#include "sipcontract/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>

namespace sipcontract {
namespace {

// EVP_EncodeBlock and EVP_DecodeBlock take an int length: longer inputs go in chunks of whole groups
// (3 bytes in, 4 characters out).
constexpr std::size_t kChunkBytes = 3u << 20;

bool in_alphabet(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::string block;
  while (!data.empty()) {
    const std::size_t n = std::min(data.size(), kChunkBytes);
    block.resize((n + 2) / 3 * 4 + 1);  // and the NUL EVP_EncodeBlock writes
    const int written = ::EVP_EncodeBlock(reinterpret_cast<unsigned char*>(block.data()),
                                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(n));
    out.append(block.data(), static_cast<std::size_t>(written));
    data.remove_prefix(n);
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock trims whitespace, needs a multiple of 4 characters and decodes padding as zero
  // bytes: the checks below give it only a well-formed, padded text and count the padding off.
  std::size_t padding = 0;
  while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  if (padding > 2) return std::nullopt;
  if (padding > 0 && text.size() % 4 != 0) return std::nullopt;
  std::string_view body = text.substr(0, text.size() - padding);
  if (!std::all_of(body.begin(), body.end(), in_alphabet)) return std::nullopt;
  if (body.size() % 4 == 1) return std::nullopt;
  const std::size_t pad = (4 - body.size() % 4) % 4;  // what the text has or should have had
  std::string out;
  out.reserve(body.size() / 4 * 3 + 3);
  std::string block;
  for (std::size_t at = 0; at < body.size(); at += kChunkBytes / 3 * 4) {
    std::string_view part = body.substr(at, kChunkBytes / 3 * 4);
    const bool last = at + part.size() == body.size();
    block.assign(part);
    if (last) block.append(pad, '=');
    std::string bytes(block.size() / 4 * 3, '\0');
    const int n = ::EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                                    reinterpret_cast<const unsigned char*>(block.data()), static_cast<int>(block.size()));
    if (n < 0) return std::nullopt;
    bytes.resize(static_cast<std::size_t>(n) - (last ? pad : 0));
    out += bytes;
  }
  return out;
}

}  // namespace sipcontract
