# sipcontract_add_library(<module> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# One static library per module: target sipcontract_<module>, alias sipcontract::<module>,
# headers in src/<module>/include/sipcontract/, exported as sipcontract::<module>.
function(sipcontract_add_library module)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target sipcontract_${module})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(sipcontract::${module} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${module} OUTPUT_NAME sipcontract_${module})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic $<$<BOOL:${SIPCONTRACT_WERROR}>:-Werror>
    # GCC's manual: sanitizers raise the rate of false -Wmaybe-uninitialized warnings. Under ASan
    # at -O1 GCC 12 reports one inside libstdc++'s std::regex (valijson's URI helpers), none of ours.
    $<$<AND:$<BOOL:${SIPCONTRACT_SANITIZE}>,$<CXX_COMPILER_ID:GNU>>:-Wno-maybe-uninitialized>)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  install(TARGETS ${target} EXPORT sipcontractTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# sipcontract_embed(<output.cpp> <function> [BASE dir] FILES ...): a C++ source defining
#   std::vector<std::pair<std::string_view, std::string_view>> <function>()
# that returns (file name, or path relative to BASE; file text) for each file, regenerated when a
# file changes.
function(sipcontract_embed output function)
  cmake_parse_arguments(ARG "" "BASE" "FILES" ${ARGN})
  add_custom_command(OUTPUT ${output}
    COMMAND ${CMAKE_COMMAND} -DOUTPUT=${output} -DFUNCTION=${function} "-DFILES=${ARG_FILES}" "-DBASE=${ARG_BASE}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${ARG_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${function}"
    VERBATIM)
endfunction()
