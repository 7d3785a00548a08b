#!/usr/bin/env bash
# How the agent grows with the number of certificates in its store.
#
#   bench/scale.sh [SIZE...]        (default: 1000 10000 100000)
#
# 1. A Pebble of its own; `acmectl issue` of one real certificate makes the store.
# 2. For each SIZE, a copy of that store is filled to SIZE certificates through the
#    real Store API (bench_store_fill, built by CMake from bench/store_fill.cpp) on
#    tmpfs (the store fsyncs every commit; on tmpfs that is free), then copied to disk.
#    Nothing is due: next_check is ten years ahead.
# 3. `acmectl agent` on that store (no certificate in its config, metrics on a free
#    port): start time (exec to the first 200 from /healthz), RSS and threads once
#    started, CPU used while idle over IDLE_S seconds (default 60), the store queries
#    of one scheduler pass (due_certificates + next_check_after, median and max of 20,
#    timed by bench_store_fill against the same file), then SCRAPES (20) timed GET
#    /metrics after one warm-up scrape (curl time_total, median and max), the RSS
#    (VmRSS) and the peak RSS (VmHWM) after them.
# 4. A Markdown table on stdout, a CSV and a PNG plot (python3-matplotlib) of each
#    figure against the store size in OUT_DIR (default: the work directory; the
#    plot is copied to $PLOT when that is set).
#
# Environment: BENCH_BUILD_DIR (default build-bench; acmectl and bench_store_fill are
# built there, Release, -j2), ACMECTL_BIN (skip building acmectl), IDLE_S, SCRAPES,
# PLOT (where to copy the PNG), BENCH_KEEP=1 (keep the work directory).
# Exit status 0 when every run worked; the targets are reported, not enforced.
# Only 127.0.0.1; everything started is stopped by PID on exit.
# cleanup runs from a trap:
# shellcheck disable=SC2317
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
readonly BENCH_DIR ROOT
readonly FIXTURE="$ROOT/tests/support/pebble_fixture.sh"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
read -r -a SIZES <<<"${*:-1000 10000 100000}"
IDLE_S=${IDLE_S:-60}
SCRAPES=${SCRAPES:-20}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
for s in "${SIZES[@]}" "$IDLE_S" "$SCRAPES"; do
  [[ "$s" =~ ^[1-9][0-9]*$ ]] || {
    echo "usage: $0 [SIZE...] (positive numbers; IDLE_S and SCRAPES too)" >&2
    exit 2
  }
done
log() { echo "scale: $*" >&2; }
die() {
  log "$*"
  exit 1
}
for p in curl pebble python3; do command -v "$p" >/dev/null || die "$p missing: bench/deps.sh"; done

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DACMECTL_BUILD_TESTS=OFF >&2
fi
targets=(bench_store_fill)
[[ -n "${ACMECTL_BIN:-}" ]] || targets+=(acmectl)
cmake --build "$BUILD" -j2 --target "${targets[@]}" >&2 || die "build failed"
ACMECTL=${ACMECTL_BIN:-$BUILD/bin/acmectl}
FILL=$BUILD/bin/bench_store_fill

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-scale.XXXXXX")
SHM=$(mktemp -d /dev/shm/acmectl-scale.XXXXXX)
OUT_DIR=${OUT_DIR:-$WORK}
PIDS=()
FIXTURE_STARTED=0
cleanup() {
  local rc=$? pid i
  set +e
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  ((FIXTURE_STARTED)) && "$FIXTURE" stop "$WORK/pebble"
  rm -rf "$SHM"
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
# stats: numbers one a line -> "median max"
stats() {
  sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.1f %.1f\n", m, v[NR] }'
}
free_ports() {
  local i port
  for ((i = 0; i < $1; i++)); do
    while :; do
      port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    done
    echo "$port"
  done
}
# cpu_ms PID: user+sys CPU of the process so far, in ms.
cpu_ms() {
  local stat tck
  stat=$(cat "/proc/$1/stat")
  stat=${stat##*) }
  tck=$(getconf CLK_TCK)
  awk -v t="$tck" '{ printf "%.0f", ($12 + $13) * 1000 / t }' <<<"$stat"
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# 1. Pebble and one real certificate.
FIXTURE_STARTED=1
"$FIXTURE" start "$WORK/pebble" >&2 || die "could not start Pebble"
# shellcheck source=/dev/null
source "$WORK/pebble/env"
TEMPLATE_STATE="$SHM/template"
"$ACMECTL" issue -d real.scale.test --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
  --agree-tos --email bench@example.com --state-dir "$TEMPLATE_STATE" \
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --out "$TEMPLATE_STATE/live" \
  >"$WORK/issue.log" 2>&1 || die "issue failed: $(cat "$WORK/issue.log")"

echo "certificates,start_ms,rss_kib,threads,idle_cpu_ms_per_min,pass_median_ms,pass_max_ms,scrape_median_ms,scrape_max_ms,peak_rss_kib,rss_after_kib" \
  >"$OUT_DIR/scale.csv"
for size in "${SIZES[@]}"; do
  # 2. The store, filled on tmpfs, then on disk.
  rm -rf "$SHM/fill"
  cp -a "$TEMPLATE_STATE" "$SHM/fill"
  t0=$(now_ms)
  "$FILL" fill "$SHM/fill/acmectl.db" real.scale.test $((size - 1)) || die "filling failed"
  log "$size certificates inserted through the Store API in $(($(now_ms) - t0)) ms"
  STATE="$WORK/state.$size"
  rm -rf "$STATE"
  cp -a "$SHM/fill" "$STATE"
  rm -rf "$SHM/fill"

  # 3. The agent.
  read -r -d '' METRICS_PORT RESPONDER_PORT < <(free_ports 2 && printf '\0') || true
  cat >"$WORK/agent.$size.toml" <<EOF
state_dir = "$STATE"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "bench@example.com"
agree_tos = true

[agent]
metrics_listen = "127.0.0.1:$METRICS_PORT"
http01_listen = "127.0.0.1:$RESPONDER_PORT"
EOF
  sync
  t0=$(now_ms)
  "$ACMECTL" agent --config "$WORK/agent.$size.toml" </dev/null >"$WORK/agent.$size.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 3000; i++)); do
    curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/healthz" && break
    kill -0 "$pid" 2>/dev/null || die "the agent exited: $(cat "$WORK/agent.$size.log")"
    sleep 0.01
  done
  start_ms=$(($(now_ms) - t0))
  sleep 1
  rss=$(status_kib "$pid" VmRSS)
  threads=$(status_kib "$pid" Threads)
  c0=$(cpu_ms "$pid")
  sleep "$IDLE_S"
  c1=$(cpu_ms "$pid")
  idle=$(awk -v a="$c0" -v b="$c1" -v s="$IDLE_S" 'BEGIN { printf "%.1f", (b - a) * 60 / s }')
  read -r pass_med pass_max < <("$FILL" pass "$STATE/acmectl.db" 20)
  url="http://127.0.0.1:$METRICS_PORT/metrics"
  curl -s -o /dev/null "$url"
  scrapes=()
  for ((i = 0; i < SCRAPES; i++)); do
    t=$(curl -s -o /dev/null -w '%{time_total}' "$url")
    scrapes+=("$(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }')")
  done
  read -r scrape_med scrape_max < <(printf '%s\n' "${scrapes[@]}" | stats)
  got=$(curl -s "$url" | grep -c '^acmectl_certificate_expiration_timestamp_seconds{' || true)
  ((got == size)) || die "expected $size expiration series in /metrics, got $got"
  hwm=$(status_kib "$pid" VmHWM)
  rss_after=$(status_kib "$pid" VmRSS)
  log "$size: start $start_ms ms, RSS $rss KiB, $threads threads, idle CPU $idle ms/min," \
    "pass $pass_med/$pass_max ms, scrapes ${scrapes[*]} ms, peak RSS $hwm KiB," \
    "RSS after the scrapes $rss_after KiB"
  echo "$size,$start_ms,$rss,$threads,$idle,$pass_med,$pass_max,$scrape_med,$scrape_max,$hwm,$rss_after" \
    >>"$OUT_DIR/scale.csv"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  PIDS=()
  rm -rf "$STATE"
done

# 4. Table and plot.
echo "| certificates | agent start ms | RSS MiB (idle) | threads | idle CPU ms/min | scheduler pass ms median / max | /metrics scrape ms median / max (of $SCRAPES) | peak RSS MiB | RSS MiB after the scrapes |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
tail -n +2 "$OUT_DIR/scale.csv" | while IFS=, read -r n st rss th idle pm px sm sx hwm ra; do
  printf '| %s | %s | %.1f | %s | %s | %s / %s | %s / %s | %.1f | %.1f |\n' "$n" "$st" \
    "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$th" "$idle" "$pm" "$px" "$sm" "$sx" \
    "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "$(awk -v k="$ra" 'BEGIN { print k / 1024 }')"
done
/usr/bin/python3 "$BENCH_DIR/scale_plot.py" "$OUT_DIR/scale.csv" "$OUT_DIR/scale.png" ||
  log "no plot (python3-matplotlib missing? bench/deps.sh)"
if [[ -n "${PLOT:-}" && -f "$OUT_DIR/scale.png" ]]; then cp "$OUT_DIR/scale.png" "$PLOT"; fi
log "CSV $OUT_DIR/scale.csv, plot $OUT_DIR/scale.png; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
