# ACMECTL_STATIC_DEPS: link the libraries Debian ships as static archives and that no
# other shared library of acmectl also loads - SQLite, c-ares, ldns - from those
# archives, so the dynamic loader has fewer objects to map and relocate at every start.
#
# OpenSSL and the C++ runtime are linked statically by ACMECTL_STATIC_RUNTIME
# (cmake/AcmectlRuntime.cmake), which also covers why that is sound.
#
# include() after the pkg_check_modules of SQLITE3, LDNS and CARES (root CMakeLists,
# after add_subdirectory(libacme)).
option(ACMECTL_STATIC_DEPS "Link SQLite, c-ares and ldns from their static archives" ON)

# acmectl_use_static_archive(TARGET LIBNAME [EXTRA...]): TARGET (an IMPORTED pkg-config
# target) links libLIBNAME.a and EXTRA instead of the shared library, when the archive
# exists. Returns quietly otherwise (the shared library stays).
function(acmectl_use_static_archive target libname)
  if(NOT TARGET ${target})
    return()
  endif()
  find_library(ACMECTL_STATIC_${libname} NAMES lib${libname}.a NO_CACHE)
  if(NOT ACMECTL_STATIC_${libname})
    message(STATUS "ACMECTL_STATIC_DEPS: no lib${libname}.a, ${target} stays shared")
    return()
  endif()
  set_target_properties(${target} PROPERTIES
    INTERFACE_LINK_LIBRARIES "${ACMECTL_STATIC_${libname}};${ARGN}"
    INTERFACE_LINK_DIRECTORIES "")
  message(STATUS "ACMECTL_STATIC_DEPS: ${target} from ${ACMECTL_STATIC_${libname}}")
endfunction()

if(ACMECTL_STATIC_DEPS)
  acmectl_use_static_archive(PkgConfig::SQLITE3 sqlite3 m dl Threads::Threads)
  acmectl_use_static_archive(PkgConfig::CARES cares)
  acmectl_use_static_archive(PkgConfig::LDNS ldns OpenSSL::Crypto)
endif()
