#!/usr/bin/env bash
# Builds the benchmark's two C programs into DIR, outside the product build:
#   DIR/floor   bench/floor.c, statically linked with Debian's OpenSSL archives
#               (libssl-dev ships libssl.a and libcrypto.a) and glibc
#   DIR/rusage  bench/rusage.c, the measuring wrapper of bench/measure.py
#
#   bench/build_c.sh DIR
#
# floor.c resolves no names, so glibc's link-time warnings about getaddrinfo and
# dlopen inside OpenSSL's archive do not concern it (they are filtered out).
set -euo pipefail
out=${1:?usage: bench/build_c.sh DIR}
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p "$out"
if [[ ! -x "$out/floor" || "$src/floor.c" -nt "$out/floor" ]]; then
  gcc -O2 -Wall -Wextra -static -o "$out/floor" "$src/floor.c" -lssl -lcrypto -lpthread \
    2> >(grep -v -e "requires at runtime the shared libraries" -e "in function \`" >&2)
fi
if [[ ! -x "$out/rusage" || "$src/rusage.c" -nt "$out/rusage" ]]; then
  gcc -O2 -Wall -Wextra -o "$out/rusage" "$src/rusage.c"
fi
