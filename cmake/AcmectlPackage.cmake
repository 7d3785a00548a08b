# The Debian package: `cmake --build build --target package` (or `cpack -G DEB` in the
# build directory) writes build/acmectl_VERSION_ARCH.deb with everything `install()`
# names (binary, systemd units, hooks, docs, man pages, completions) under /usr, and
# the maintainer scripts in packaging/debian (system user, /var/lib/acmectl, /etc/acmectl).
#
# Depends: computed from the binary by dpkg-shlibdeps (dpkg-dev), plus passwd (useradd
# in postinst). Recommends: libpq5, which acmectl loads only for a PostgreSQL store
# (`[store] url`), so a computed Depends does not see it; polkitd, which applies the
# shipped rule (packaging/polkit) that lets the units' user reload the web server.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME acmectl)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ACME client and certificate renewal agent")
set(CPACK_PACKAGE_DESCRIPTION
    "acmectl obtains certificates from an ACME CA (Let's Encrypt, any RFC 8555 server) \
with HTTP-01, DNS-01 (RFC 2136 or a hook) or TLS-ALPN-01, installs them atomically \
and keeps them renewed: once from a systemd timer (acmectl renew) or as an agent \
with metrics, a status page and deploy hooks.")
set(CPACK_PACKAGE_CONTACT "acmectl maintainers <acmectl@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # acmectl_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")  # the computed libraries are added to it
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libpq5, polkitd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/postinst
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/prerm
    ${CMAKE_CURRENT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Only what install() names goes into the package; the build tree's own files do not.
set(CPACK_SOURCE_IGNORE_FILES "/build/;/\\\\.git/")
include(CPack)
