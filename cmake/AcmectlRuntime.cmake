# How acmectl links its libraries (issue 11): each shared library costs every start the
# dynamic loader's mapping and relocation (a fifth of a one-shot issuance's instructions
# with 16 libraries) and resident pages of its own.
#
# ACMECTL_HEADER_ONLY_DEPS: spdlog, fmt and toml++ compiled into acmectl from their
# headers (all three support it) instead of loading libspdlog.so, libfmt.so and
# libtomlplusplus.so. toml++ is only included by agent/config/config.cpp, spdlog only
# through agent/log/log.hpp, so the extra compile time stays in a few files.
#
# ACMECTL_STATIC_RUNTIME: OpenSSL (libssl.a, libcrypto.a) and the C++ runtime
# (-static-libstdc++ -static-libgcc) linked statically; glibc stays shared (NSS, dlopen
# of libpq for the fleet store). This is only sound because no shared library acmectl
# links loads OpenSSL or libstdc++ itself (libcpp-httplib did: it is gone). libpq,
# loaded with dlopen by a fleet store only, brings its own shared OpenSSL; the static
# copy is not exported from the executable, so the two never meet. Off under the
# sanitizers (they want the shared C++ runtime).
option(ACMECTL_HEADER_ONLY_DEPS "Compile spdlog, fmt and toml++ in from their headers" ON)
option(ACMECTL_STATIC_RUNTIME "Link OpenSSL and the C++ runtime statically" ON)

# The sanitizer build links the shared libraries (below) and keeps them for these three
# too: compiling spdlog and fmt into every file that logs would only slow that build down
# (its job is to check acmectl's code, not the libraries').
if(ACMECTL_HEADER_ONLY_DEPS AND ACMECTL_SANITIZE)
  message(STATUS "ACMECTL_HEADER_ONLY_DEPS: off under ACMECTL_SANITIZE")
  set(ACMECTL_HEADER_ONLY_DEPS OFF)
endif()

add_library(acmectl_logging INTERFACE)
add_library(acmectl_toml INTERFACE)
if(ACMECTL_HEADER_ONLY_DEPS)
  target_compile_definitions(acmectl_logging INTERFACE SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY=1)
  target_link_libraries(acmectl_logging INTERFACE Threads::Threads)
  target_compile_definitions(acmectl_toml INTERFACE TOML_HEADER_ONLY=1)
else()
  find_package(tomlplusplus REQUIRED)
  target_link_libraries(acmectl_logging INTERFACE spdlog::spdlog)
  target_link_libraries(acmectl_toml INTERFACE tomlplusplus::tomlplusplus)
endif()

if(ACMECTL_STATIC_RUNTIME AND ACMECTL_SANITIZE)
  message(STATUS "ACMECTL_STATIC_RUNTIME: off under ACMECTL_SANITIZE")
  set(ACMECTL_STATIC_RUNTIME OFF)
endif()
if(ACMECTL_STATIC_RUNTIME)
  # Before find_package(OpenSSL): FindOpenSSL then picks libssl.a and libcrypto.a.
  set(OPENSSL_USE_STATIC_LIBS TRUE)
  add_link_options(-static-libstdc++ -static-libgcc)
endif()

# Each function and object in a section of its own, and the linker drops those nothing
# references: 1.4 MB less text in a Release acmectl (12.2 -> 10.8 MB), whose pages the
# kernel maps around every fault (~1 MB less resident per run, measured).
option(ACMECTL_GC_SECTIONS "Drop unreferenced functions and data at link time" ON)
if(ACMECTL_GC_SECTIONS)
  add_compile_options(-ffunction-sections -fdata-sections)
  add_link_options(-Wl,--gc-sections)
endif()
