# Project-wide options: warnings, sanitizers, tests.
option(ACMECTL_BUILD_TESTS "Build the test suite" ON)
option(ACMECTL_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(ACMECTL_WERROR "Treat warnings as errors" OFF)
# The libcurl HTTP client next to the OpenSSL one (libacme/src/http_curl.cpp). Without it
# acmectl loads no libcurl and none of the ~30 libraries libcurl needs.
option(ACMECTL_WITH_CURL "Build the libcurl HttpClient too (ACMECTL_HTTP_TRANSPORT=curl)" OFF)

add_library(acmectl_warnings INTERFACE)
target_compile_options(acmectl_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                       -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual)
# GCC 12 at -O2/-O3 reports impossible overlaps inside libstdc++'s inlined std::string
# concatenation ("accessing 9223372036854775810 or more bytes", GCC bug 105329): four in
# a Release build, none of them in this code. Fixed in GCC 13.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(acmectl_warnings INTERFACE -Wno-restrict)
endif()
if(ACMECTL_WERROR)
  target_compile_options(acmectl_warnings INTERFACE -Werror)
endif()

if(ACMECTL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # The sanitizers' instrumentation makes GCC's flow analysis report false
  # -Wmaybe-uninitialized inside libstdc++ (std::regex, std::optional); GCC's manual warns
  # that sanitizers may cause them. The regular build keeps the warning.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(acmectl_warnings INTERFACE -Wno-maybe-uninitialized)
  endif()
endif()

# acmectl_setup_target(TARGET): applies the project's warnings and include layout.
function(acmectl_setup_target target)
  target_link_libraries(${target} PRIVATE acmectl_warnings)
endfunction()
