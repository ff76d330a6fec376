# SPDX-License-Identifier: BSD-3-Clause
# rigpose_library(NAME SRCS a.cc ... DEPS target ...): one static library per folder.
# Includes resolve from the repository root ("core/camera.h").
set(RIGPOSE_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wno-unused-parameter)
# GCC >= 13 (the GPU machine's): -Wdangling-reference flags `const Skeleton& s = GetSkeleton("x")`
# because the argument is a temporary std::string, but the reference is to a static registry entry
# (a known false positive of the heuristic). Off where the compiler has it, so -Werror holds there.
include(CheckCXXCompilerFlag)
check_cxx_compiler_flag(-Wdangling-reference RIGPOSE_HAVE_WDANGLING_REFERENCE)
if(RIGPOSE_HAVE_WDANGLING_REFERENCE)
  list(APPEND RIGPOSE_WARNINGS -Wno-dangling-reference)
endif()
if(RIGPOSE_WERROR)
  list(APPEND RIGPOSE_WARNINGS -Werror)
endif()

function(rigpose_target_defaults target)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${RIGPOSE_WARNINGS}>)
endfunction()

function(rigpose_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  rigpose_target_defaults(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# rigpose_test(NAME SRCS ... DEPS ...): a GoogleTest binary registered test-by-test with ctest.
function(rigpose_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  rigpose_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    RIGPOSE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    RIGPOSE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT "RIGPOSE_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
