#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (ASan + UBSan + libFuzzer) in
# build-fuzz/ and runs each one for SECONDS on a copy of its seed corpus
# (tests/fuzz/corpus/TARGET/), so runs never grow the repository. Prints the executions per
# target and exits non-zero when any target finds a crash, a leak, UB, a timeout or an
# out-of-memory; the reproducer is kept and its path printed. Inputs in
# tests/fuzz/regressions/TARGET/ (too big for a seed) are replayed before fuzzing.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      default: 60 seconds, every target
#
# Environment:
#   ACMECTL_FUZZ_BUILD   build directory (default build-fuzz)
#   ACMECTL_FUZZ_WORK    where corpora, logs and crashes go (default: a new temp dir;
#                        removed after a clean run, kept when something was found)
#   ACMECTL_FUZZ_PARALLEL  targets run at once (default 1)
#   ACMECTL_FUZZ_SKIP    targets left out when none are named (space-separated)
#   ACMECTL_JOBS         build parallelism (default 2)
#   ACMECTL_FUZZ_CC, ACMECTL_FUZZ_CXX   compilers (default clang-14 / clang++-14, else
#                        clang / clang++; CC and CXX are ignored: they may name gcc)
# Reproduce a finding:  build-fuzz/bin/fuzz_TARGET CRASH_FILE
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi

build=${ACMECTL_FUZZ_BUILD:-build-fuzz}
jobs=${ACMECTL_JOBS:-2}
parallel=${ACMECTL_FUZZ_PARALLEL:-1}

pick() {
  local c
  for c in "$@"; do
    if command -v "$c" >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}
cc=${ACMECTL_FUZZ_CC:-$(pick clang-14 clang || true)}
cxx=${ACMECTL_FUZZ_CXX:-$(pick clang++-14 clang++ || true)}
if [[ -z "$cc" || -z "$cxx" ]]; then
  echo "fuzz.sh: clang not found: install clang-14 and libclang-rt-14-dev (scripts/deps.sh)" >&2
  exit 1
fi

# Every target with a corpus directory; the CMake file registers the same names.
all_targets=()
for dir in tests/fuzz/corpus/*/; do
  all_targets+=("$(basename "$dir")")
done
targets=("$@")
if ((${#targets[@]} == 0)); then
  for t in "${all_targets[@]}"; do
    if [[ " ${ACMECTL_FUZZ_SKIP:-} " == *" $t "* ]]; then
      echo "fuzz.sh: skipping $t (ACMECTL_FUZZ_SKIP)" >&2
      continue
    fi
    targets+=("$t")
  done
fi

echo "== configure + build: $build/ ($cxx, libFuzzer + ASan + UBSan)" >&2
# RelWithDebInfo without NDEBUG: the library's assertions stay on while fuzzing.
CC=$cc CXX=$cxx cmake -S . -B "$build" -DACMECTL_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" >/dev/null
# A target whose sources this tree lacks is not defined (tests/fuzz/CMakeLists.txt): skipped
# when every target was asked for, an error when it was named.
defined=" $(cmake --build "$build" --target help | sed -n 's/^\.\.\. \(fuzz_[a-z0-9_]*\).*/\1/p' |
  tr '\n' ' ') "
named=$#
build_targets=()
kept=()
for t in "${targets[@]}"; do
  if [[ "$defined" != *" fuzz_$t "* ]]; then
    if ((named > 0)); then
      echo "fuzz.sh: no target fuzz_$t in $build (known: ${all_targets[*]})" >&2
      exit 2
    fi
    echo "fuzz.sh: fuzz_$t is not defined in this tree, skipped" >&2
    continue
  fi
  kept+=("$t")
  build_targets+=("fuzz_$t")
done
targets=("${kept[@]}")
cmake --build "$build" -j"$jobs" --target "${build_targets[@]}"

if [[ -n "${ACMECTL_FUZZ_WORK:-}" ]]; then
  work=$ACMECTL_FUZZ_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-fuzz.XXXXXX")
fi
# Symbolized stacks in reports (llvm-14 ships the symbolizer outside PATH).
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" && -x /usr/lib/llvm-14/bin/llvm-symbolizer ]] &&
  ! command -v llvm-symbolizer >/dev/null 2>&1; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_one TARGET: fuzzes TARGET for $seconds in $work/TARGET; writes its exit status.
run_one() {
  local t=$1 dir=$work/$1 rc=0
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "tests/fuzz/corpus/$t/." "$dir/corpus/"
  # Reproducers too big to seed the fuzzer (libFuzzer would raise -max_len to their size)
  # are replayed once, whole, first.
  local replay=()
  if [[ -d "tests/fuzz/regressions/$t" ]]; then
    mapfile -t replay < <(find "tests/fuzz/regressions/$t" -type f | sort)
  fi
  if ((${#replay[@]} > 0)) && ! "$build/bin/fuzz_$t" "${replay[@]}" >"$dir/replay.log" 2>&1; then
    cp "$dir/replay.log" "$dir/log"
    echo 1 >"$dir/rc"
    return 0
  fi
  "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" \
    >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

echo "== fuzzing ${#targets[@]} targets, ${seconds}s each (work dir $work)" >&2
running=0
for t in "${targets[@]}"; do
  if [[ ! -x "$build/bin/fuzz_$t" ]]; then
    echo "fuzz.sh: no target fuzz_$t (known: ${all_targets[*]})" >&2
    exit 2
  fi
  run_one "$t" &
  running=$((running + 1))
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-14s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
  dir=$work/$t
  rc=$(cat "$dir/rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -n1)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  result=ok
  if [[ "$rc" != 0 ]]; then
    result="FAILED (exit $rc)"
    status=1
  fi
  printf '%-14s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "$corpus" "$result"
done

if ((status != 0)); then
  for t in "${targets[@]}"; do
    dir=$work/$t
    [[ "$(cat "$dir/rc")" == 0 ]] && continue
    echo "== fuzz_$t: last lines of $dir/log" >&2
    tail -n 60 "$dir/log" >&2
    find "$dir/artifacts" -type f -exec echo "reproducer: {}  (run: $build/bin/fuzz_$t {})" \; >&2
  done
  echo "fuzz.sh: FAILED; everything is kept in $work" >&2
  exit 1
fi
if [[ -z "${ACMECTL_FUZZ_WORK:-}" ]]; then
  rm -rf "$work"
fi
echo "fuzz.sh: no crash, leak or UB in ${#targets[@]} targets" >&2
