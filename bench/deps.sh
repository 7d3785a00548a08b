#!/usr/bin/env bash
# Installs what bench/issue_side_by_side.sh needs, and only what is missing:
# the build and test packages of acmectl (through scripts/deps.sh) plus the
# other ACME clients it is compared with and the measuring tools.
#
# These packages are for the benchmark only: no test, no CI step and no build
# of acmectl needs them, so they are listed here and not in scripts/deps.sh.
#
#   bench/deps.sh
#
# Works as root on Debian 12; as another user it uses sudo when sudo exists.
# Installing a server package must not start a system service: a policy-rc.d
# that says so is put in place for the install when there is none, and only
# that one is removed again.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly BENCH_DIR

BENCH_DEB_PACKAGES=(
  # the clients compared with acmectl
  lego
  certbot
  dehydrated
  uacme
  acme-tiny
  # the web server that serves http-01 tokens for dehydrated, uacme, acme-tiny
  nginx
  # measuring (bench/measure.py runs under Debian's python3; certbot pulls it in too)
  python3
  # bench/scale.sh draws its plot with matplotlib
  python3-matplotlib
  # bench/floor.c is linked statically against these archives (libssl-dev has them)
  libssl-dev
  time
  valgrind
  # checking the scripts
  shellcheck
)

# acmectl's own build and test packages (pebble, nginx, curl, openssl, cmake...),
# then the benchmark's, with the same installer.
# shellcheck source=scripts/deps.sh
source "$BENCH_DIR/../scripts/deps.sh"
acmectl_deps_install "${BENCH_DEB_PACKAGES[@]}"
