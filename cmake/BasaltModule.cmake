# basalt_module(): declares one module from its folder layout with one call.
#
#   basalt_module(<name> [DEPS <targets>...] [PRIVATE_DEPS <targets>...])
#
# in <module>/CMakeLists.txt creates, from the files that exist:
#   basalt_<name>            library (alias basalt::<name>) from src/**/*.cpp,
#                            public headers in include/basalt/<name>/
#   basalt_<name>_test       GoogleTest executable from src/**/*_test.cpp,
#                            each test registered with CTest, labelled <name>
#   basalt_<name>_benchmark  Google Benchmark executable from src/**/*_benchmark.cpp
# Files are picked up by glob (re-checked at build time), so adding foo.cpp,
# foo_test.cpp or foo_benchmark.cpp next to each other needs no CMake edit.

include(GoogleTest OPTIONAL)

# One precompiled header shared by every target: Asio, JSON and spdlog cost
# ~30 s per translation unit on a 2-core machine without it.
# A precompiled header is only used when the compile definitions match, so
# every target links the same usage requirements (basalt_pch_deps).
if(NOT TARGET basalt_pch_deps)
  add_library(basalt_pch_deps INTERFACE)
  target_link_libraries(basalt_pch_deps INTERFACE Boost::headers Boost::json spdlog::spdlog fmt::fmt OpenSSL::SSL)
  if(BASALT_PCH)
    add_library(basalt_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/pch/pch.cpp)
    target_link_libraries(basalt_pch PUBLIC basalt_pch_deps)
    target_precompile_headers(basalt_pch PRIVATE ${CMAKE_CURRENT_LIST_DIR}/pch/pch.hpp)
  endif()
endif()

function(basalt_use_pch target)
  target_link_libraries(${target} PRIVATE basalt_pch_deps)
  if(BASALT_PCH)
    target_precompile_headers(${target} REUSE_FROM basalt_pch)
  endif()
endfunction()

function(basalt_module name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR})
  file(GLOB_RECURSE all_sources CONFIGURE_DEPENDS ${dir}/src/*.cpp)
  set(lib_sources "")
  set(test_sources "")
  set(bench_sources "")
  foreach(f IN LISTS all_sources)
    if(f MATCHES "_test\\.cpp$")
      list(APPEND test_sources ${f})
    elseif(f MATCHES "_benchmark\\.cpp$")
      list(APPEND bench_sources ${f})
    else()
      list(APPEND lib_sources ${f})
    endif()
  endforeach()

  set(lib basalt_${name})
  add_library(${lib} STATIC ${lib_sources})
  add_library(basalt::${name} ALIAS ${lib})
  target_include_directories(${lib} PUBLIC ${dir}/include PRIVATE ${dir}/src)
  target_link_libraries(${lib} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  basalt_use_pch(${lib})

  if(BASALT_TESTS AND test_sources)
    add_executable(${lib}_test ${test_sources})
    target_include_directories(${lib}_test PRIVATE ${dir}/src)
    target_link_libraries(${lib}_test PRIVATE ${lib} ${ARG_PRIVATE_DEPS} GTest::gtest_main GTest::gmock)
    basalt_use_pch(${lib}_test)
    gtest_discover_tests(${lib}_test
      DISCOVERY_MODE PRE_TEST
      PROPERTIES LABELS ${name}
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  endif()

  if(BASALT_BENCHMARKS AND bench_sources)
    add_executable(${lib}_benchmark ${bench_sources})
    target_include_directories(${lib}_benchmark PRIVATE ${dir}/src)
    target_link_libraries(${lib}_benchmark PRIVATE ${lib} ${ARG_PRIVATE_DEPS} benchmark::benchmark_main)
    basalt_use_pch(${lib}_benchmark)
  endif()
endfunction()

# basalt_integration_test(<module> <name> SOURCES ... [DEPS ...] [NEEDS <targets>...])
# An integration test: a GoogleTest executable in tests/integration/<module>/
# that starts real binaries (NEEDS: built first; found in BASALT_BIN_DIR, where
# apps/ and tests/ put their executables) and real peers on loopback. Its tests carry the one
# label "<module>-integration", so `ctest -L <module>` and `ctest -L integration`
# both select them. Tests run in the source tree.
function(basalt_integration_test module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;NEEDS" ${ARGN})
  set(target basalt_${module}_${name}_itest)
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE basalt_test_support ${ARG_DEPS} GTest::gtest_main)
  basalt_use_pch(${target})
  if(ARG_NEEDS)
    add_dependencies(${target} ${ARG_NEEDS})
  endif()
  gtest_discover_tests(${target}
    DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${module}-integration ENVIRONMENT BASALT_BIN_DIR=${BASALT_BIN_DIR}
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
endfunction()
