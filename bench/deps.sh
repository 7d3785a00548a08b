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
  time
  valgrind
  # checking the scripts
  shellcheck
)

# acmectl's own build and test packages (pebble, nginx, curl, openssl, cmake...).
"$BENCH_DIR/../scripts/deps.sh"

missing=()
for pkg in "${BENCH_DEB_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "bench deps: all ${#BENCH_DEB_PACKAGES[@]} benchmark packages present" >&2
  exit 0
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "bench deps: missing packages (${missing[*]}) and not root, no sudo: install them as root" >&2
    exit 1
  fi
fi

echo "bench deps: installing ${missing[*]}" >&2
policy=/usr/sbin/policy-rc.d
own_policy=0
rc=0
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
  echo "bench deps: apt-get failed (exit $rc)" >&2
fi
exit "$rc"
