// Fuzz target: compiling an arbitrary document as a draft-7 schema (`validate --schema`), then
// validating a fixed set of instances against it. Any outcome but a crash, hang or leak is fine.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sipcontract/contract.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  sipcontract::SchemaStore store =
      sipcontract::Contract::builtin().schema_store();  // lets the fuzzed schema $ref common.json
  store.add("fuzzed.json", text);
  try {
    const auto schema = sipcontract::Schema::compile(store, "fuzzed.json");
    static const char* const kInstances[] = {
        "null",
        "0",
        "1.5",
        "\"x\"",
        "[]",
        "{}",
        "[1,\"a\",{\"b\":[null]}]",
        R"({"username":"u","password":"p","password_confirmation":"p","codecs":["OPUS"],"calling_handler_resource_id":"0b3f1a7e-8c4d-4f6e-9a2b-1c3d5e7f9a0b"})"};
    for (const char* instance : kInstances) {
      auto parsed = sipcontract::parse_json(instance);
      const auto result = schema.validate(*parsed);
      if (schema.is_valid(*parsed) != result.valid()) __builtin_trap();  // both paths must agree
    }
  } catch (const sipcontract::SchemaError&) {
    // an unusable schema is a reported error, not a crash
  }
  return 0;
}
