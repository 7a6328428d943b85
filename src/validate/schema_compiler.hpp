// The schema compiler's entry point (see compiler.cpp).
#pragma once

#include <memory>
#include <string>

#include "sipcontract/validate.hpp"

namespace sipcontract::detail {
struct CompiledSchema;
}

namespace sipcontract::detail::validation {

/// Compiles the document `name` of `store`; throws SchemaError naming the file,
/// the location and the problem.
std::shared_ptr<const CompiledSchema> compile_schema(const SchemaStore& store, const std::string& name);

}  // namespace sipcontract::detail::validation
