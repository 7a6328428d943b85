# cmake -DBINARY=path/to/sipcontract [-DMIMALLOC=ON] -P needed_libraries.cmake
# Fails when the sipcontract executable names a network library among the shared libraries it
# needs (its ELF DT_NEEDED entries, read with objdump): serve, run and cleanup live in
# sipcontract-net so that validate and diff do not load them at every start. With MIMALLOC, also
# when mimalloc is missing from the list (the linker dropped the allocator).
find_program(OBJDUMP objdump REQUIRED)
execute_process(COMMAND ${OBJDUMP} -p ${BINARY} OUTPUT_VARIABLE headers RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "objdump -p ${BINARY} failed: ${rc}")
endif()
string(REGEX MATCHALL "NEEDED +[^\n]+" needed "${headers}")
if(NOT needed)
  message(FATAL_ERROR "${BINARY}: objdump listed no NEEDED entry; cannot check its libraries")
endif()
foreach(entry IN LISTS needed)
  if(entry MATCHES "libssl|libcrypto|httplib|libbrotli|libz\\.|pugixml")
    message(FATAL_ERROR "${BINARY} loads a library only serve, run and cleanup need: ${entry}")
  endif()
endforeach()
if(MIMALLOC AND NOT needed MATCHES "libmimalloc")
  message(FATAL_ERROR "${BINARY} was linked with mimalloc but does not load it: ${needed}")
endif()
message(STATUS "${BINARY}: ${needed}")
