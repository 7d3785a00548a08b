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
if(ACMECTL_WERROR)
  target_compile_options(acmectl_warnings INTERFACE -Werror)
endif()

if(ACMECTL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# acmectl_setup_target(TARGET): applies the project's warnings and include layout.
function(acmectl_setup_target target)
  target_link_libraries(${target} PRIVATE acmectl_warnings)
endfunction()
