// Helpers shared by the validate module's tests.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "sipcontract/contract.hpp"

namespace sipcontract::test {

/// Parses test input that must be valid JSON.
inline nlohmann::json doc(std::string_view text) {
  auto parsed = parse_json(text);
  INFO(parsed.error().to_string());
  REQUIRE(parsed);
  return *parsed;
}

/// Compiles `text` as "test.json", with `others` beside it in the store.
inline Schema schema_of(std::string_view text, const std::map<std::string, std::string>& others = {}) {
  SchemaStore store;
  store.add("test.json", std::string(text));
  for (const auto& [name, other] : others) store.add(name, other);
  return Schema::compile(store, "test.json");
}

/// The SchemaError message `action` throws, or "(no error)".
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const SchemaError& e) {
    return e.what();
  }
  return "(no error)";
}

/// The first finding with this pointer and keyword, or nullptr.
inline const Finding* find_finding(const Result& result, std::string_view pointer, std::string_view keyword) {
  auto it = std::find_if(result.findings.begin(), result.findings.end(),
                         [&](const Finding& f) { return f.pointer == pointer && f.keyword == keyword; });
  return it == result.findings.end() ? nullptr : &*it;
}

/// Every finding as text, for failure messages.
inline std::string describe(const Result& result) {
  std::string out;
  for (const auto& finding : result.findings) out += to_string(finding) + "\n";
  return out.empty() ? "(no findings)" : out;
}

/// A valid request body of the built-in contract, to be varied by tests.
inline nlohmann::json valid_request() {
  return {{"username", "justice-league"},
          {"password", "hack-me-if-you-can"},
          {"password_confirmation", "hack-me-if-you-can"}};
}

/// A valid 201 body of the built-in contract.
inline nlohmann::json valid_response() {
  return {{"id", "0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b"},
          {"username", "justice-league"},
          {"caller_id", "call-id-123"},
          {"send_as", "+14632322867"},
          {"ciphers", {"AEAD_AES_256_GCM_8"}},
          {"codecs", {"OPUS", "G722"}},
          {"encryption", "default"},
          {"call_handler", "default"},
          {"calling_handler_resource_id", "6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"}};
}

}  // namespace sipcontract::test
