#!/usr/bin/env bash
# Bulk issuance: the agent issuing many certificates from one config, at several
# concurrencies, against several lego processes in parallel, on one Pebble.
#
#   bench/bulk.sh [CERTS]        (default 200 certificates per run)
#
# acmectl: one config with CERTS [[certificate]] entries (one name each, http-01
# through the agent's own responder on Pebble's http-01 port), `[agent] concurrency
# = K`, `acmectl agent --config FILE --once` (it issues every certificate, then exits)
# for K in AGENT_K (default "1 2 4 8 16"). The account is registered once, untimed,
# and every run starts from a copy of that state.
# lego: P processes at once (P in LEGO_P, default "1 2 4 8 16 32"), each issuing its
# share of the CERTS names one after the other (`lego run`, one name per run), http-01
# through --http.webroot and one nginx on Pebble's http-01 port (P lego processes
# cannot all listen on it); the account is registered once and copied to each.
# Pebble 2.4.0 deadlocks at about 64 concurrent clients: K and P stay at <= 32.
#
# Figures per run: wall time, certificates per second, CPU (user+sys of the process
# tree, from bench/rusage), and for the agent its peak RSS. Every certificate must
# verify against Pebble's root. A Markdown table on stdout; the best lego throughput
# and each acmectl run's share of it.
#
# Environment: ACMECTL_BIN (default build-bench/bin/acmectl, built here), AGENT_K,
# LEGO_P, BENCH_TIMEOUT (seconds per run, default 900), BENCH_KEEP=1.
# Exit status 0 when every run issued every certificate, 1 otherwise, 2 on set-up errors.
# cleanup runs from a trap:
# shellcheck disable=SC2317
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
readonly BENCH_DIR ROOT
readonly FIXTURE="$ROOT/tests/support/pebble_fixture.sh"
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"
log() { echo "bulk: $*" >&2; }
die() {
  log "$*"
  exit 2
}

CERTS=${1:-200}
read -r -a AGENT_K <<<"${AGENT_K:-1 2 4 8 16}"
read -r -a LEGO_P <<<"${LEGO_P:-1 2 4 8 16 32}"
TIMEOUT=${BENCH_TIMEOUT:-900}
for v in "$CERTS" "${AGENT_K[@]}" "${LEGO_P[@]}" "$TIMEOUT"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [CERTS] (AGENT_K, LEGO_P: positive numbers)"
done
for v in "${AGENT_K[@]}" "${LEGO_P[@]}"; do ((v <= 32)) || die "stay at <= 32 clients (Pebble 2.4.0)"; done
for tool in pebble lego nginx openssl python3; do
  command -v "$tool" >/dev/null || die "$tool missing: run bench/deps.sh"
done

ACMECTL=${ACMECTL_BIN:-$ROOT/build-bench/bin/acmectl}
if [[ -z "${ACMECTL_BIN:-}" ]]; then
  if [[ ! -f "$ROOT/build-bench/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release \
      -DACMECTL_BUILD_TESTS=OFF >&2 || die "cmake configure failed"
  fi
  cmake --build "$ROOT/build-bench" -j2 --target acmectl >&2 || die "acmectl does not build"
fi
[[ -x "$ACMECTL" ]] || die "no acmectl at $ACMECTL"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-bulk.XXXXXX")
readonly WORK
readonly WEBROOT="$WORK/webroot"
OWN_PEBBLE=""
cleanup() {
  local rc=$?
  nginx_stop
  [[ -z "$OWN_PEBBLE" ]] || "$FIXTURE" stop "$OWN_PEBBLE" 2>/dev/null || true
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BENCH_DIR/build_c.sh" "$WORK/bin" >&2 || die "bench/rusage.c does not build"
RUSAGE="$WORK/bin/rusage"
OWN_PEBBLE="$WORK/pebble"
PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 "$FIXTURE" start "$OWN_PEBBLE" >&2
# shellcheck source=/dev/null
source "$OWN_PEBBLE/env"
mkdir -p "$WEBROOT/.well-known/acme-challenge"

now_ms() { date +%s%3N; }
# verify_all DIR_PATTERN...: every NAME has a certificate that verifies; prints failures.
verify() {
  local file=$1 name=$2
  openssl x509 -noout -checkhost "$name" -in "$file" 2>/dev/null | grep -q "does match" &&
    openssl verify -CAfile "$PEBBLE_ROOT_PEM" -untrusted "$PEBBLE_INTERMEDIATE_PEM" \
      "$file" >/dev/null 2>&1
}

declare -a ROWS=()
any_failed=0
user_ms=0 sys_ms=0 maxrss_kib=0
export status=0 # set by the rusage files too
# record WHO CONC WALL_MS CPU_MS RSS_KIB OK
record() {
  local rate
  rate=$(awk -v n="$CERTS" -v w="$3" 'BEGIN { printf "%.2f", n * 1000 / w }')
  ROWS+=("$1|$2|$3|$rate|$4|$5|$6")
  log "$1 x$2: $CERTS certificates in $3 ms ($rate/s), CPU $4 ms, peak RSS $5 KiB, verified: $6"
}

# ---------------------------------------------------------------- acmectl agent
"$ACMECTL" account register --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
  --agree-tos --email bench@example.com --state-dir "$WORK/acmectl-template" \
  >"$WORK/register.log" 2>&1 || die "acmectl account register failed: $(tail -n 5 "$WORK/register.log")"
for k in "${AGENT_K[@]}"; do
  state="$WORK/agent.$k"
  rm -rf "$state"
  cp -a "$WORK/acmectl-template" "$state"
  {
    printf 'state_dir = "%s"\n\n[acme]\nserver = "%s"\nca_bundle = "%s"\n' "$state" \
      "$PEBBLE_DIR_URL" "$PEBBLE_CA_BUNDLE"
    printf 'email = "bench@example.com"\nagree_tos = true\n\n[agent]\n'
    printf 'metrics_listen = "off"\nhttp01_listen = "127.0.0.1:%s"\nconcurrency = %d\n\n' \
      "$PEBBLE_HTTP_PORT" "$k"
    printf '[defaults]\nout = "%s/live"\nkey_type = "ec256"\n' "$state"
    for ((i = 1; i <= CERTS; i++)); do
      printf '\n[[certificate]]\nname = "a%d-%d"\ndomains = ["a%d-%d.bulk.test"]\n' "$k" "$i" "$k" "$i"
    done
  } >"$WORK/agent.$k.toml"
  t0=$(now_ms)
  rc=0
  timeout "$TIMEOUT" "$RUSAGE" "$WORK/agent.$k.rusage" "$ACMECTL" agent \
    --config "$WORK/agent.$k.toml" --once </dev/null >"$WORK/agent.$k.log" 2>&1 || rc=$?
  wall=$(($(now_ms) - t0))
  ok=yes
  ((rc == 0)) || ok="no (exit $rc)"
  for ((i = 1; i <= CERTS; i++)); do
    verify "$state/live/a$k-$i/cert.pem" "a$k-$i.bulk.test" || {
      ok="no (a$k-$i)"
      break
    }
  done
  [[ "$ok" == yes ]] || any_failed=1
  # shellcheck disable=SC2046
  declare $(cat "$WORK/agent.$k.rusage" 2>/dev/null || echo "user_ms=0 sys_ms=0 maxrss_kib=0")
  record acmectl-agent "$k" "$wall" "$(awk -v u="$user_ms" -v s="$sys_ms" 'BEGIN { printf "%.0f", u + s }')" \
    "$maxrss_kib" "$ok"
  rm -rf "$state"
done

# ---------------------------------------------------------------- lego
LEGO_ENV=(env "LEGO_CA_CERTIFICATES=$PEBBLE_CA_BUNDLE")
LEGO_ARGS=(--server "$PEBBLE_DIR_URL" --accept-tos --email bench@example.com --key-type ec256)
nginx_start
"${LEGO_ENV[@]}" lego "${LEGO_ARGS[@]}" --path "$WORK/lego-template" --domains warmup.bulk.test \
  --http --http.webroot "$WEBROOT" run >"$WORK/lego-warmup.log" 2>&1 ||
  die "lego warm-up failed: $(tail -n 5 "$WORK/lego-warmup.log")"
rm -rf "$WORK/lego-template/certificates"
# lego_worker DIR FIRST STEP: names FIRST, FIRST+STEP... <= CERTS, one lego run each.
lego_worker() {
  local dir=$1 i
  for ((i = $2; i <= CERTS; i += $3)); do
    "${LEGO_ENV[@]}" lego "${LEGO_ARGS[@]}" --path "$dir" --domains "l$P-$i.bulk.test" \
      --http --http.webroot "$WEBROOT" run >>"$dir.log" 2>&1 || return 1
  done
}
for P in "${LEGO_P[@]}"; do
  for ((w = 1; w <= P; w++)); do
    rm -rf "$WORK/lego.$P.$w"
    cp -a "$WORK/lego-template" "$WORK/lego.$P.$w"
  done
  # The workers run under one bash whose rusage (bench/rusage) covers every lego.
  export -f lego_worker
  export CERTS P WEBROOT WORK_DIR=$WORK
  t0=$(now_ms)
  rc=0
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout "$TIMEOUT" "$RUSAGE" "$WORK/lego.$P.rusage" bash -c '
    LEGO_ENV=("${@:1:2}"); LEGO_ARGS=("${@:3}")
    pids=()
    for ((w = 1; w <= P; w++)); do lego_worker "$WORK_DIR/lego.$P.$w" "$w" "$P" & pids+=($!); done
    rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc' \
    _ "${LEGO_ENV[@]}" "${LEGO_ARGS[@]}" </dev/null >"$WORK/lego.$P.out" 2>&1 || rc=$?
  wall=$(($(now_ms) - t0))
  ok=yes
  ((rc == 0)) || ok="no (exit $rc)"
  for ((i = 1; i <= CERTS; i++)); do
    w=$(((i - 1) % P + 1))
    verify "$WORK/lego.$P.$w/certificates/l$P-$i.bulk.test.crt" "l$P-$i.bulk.test" || {
      ok="no (l$P-$i)"
      break
    }
  done
  [[ "$ok" == yes ]] || any_failed=1
  # shellcheck disable=SC2046
  declare $(cat "$WORK/lego.$P.rusage" 2>/dev/null || echo "user_ms=0 sys_ms=0 maxrss_kib=0")
  record lego "$P" "$wall" "$(awk -v u="$user_ms" -v s="$sys_ms" 'BEGIN { printf "%.0f", u + s }')" \
    "$maxrss_kib" "$ok"
done
nginx_stop

# ---------------------------------------------------------------- report
best_lego=0
for row in "${ROWS[@]}"; do
  IFS='|' read -r who _ _ rate _ _ ok <<<"$row"
  [[ "$who" == lego && "$ok" == yes ]] || continue
  best_lego=$(awk -v a="$best_lego" -v b="$rate" 'BEGIN { print (b > a) ? b : a }')
done
echo "| client | concurrency | wall s | certificates/s | % of best lego | CPU ms per certificate | peak RSS MiB (largest process) | all verified |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for row in "${ROWS[@]}"; do
  IFS='|' read -r who conc wall rate cpu rss ok <<<"$row"
  awk -v w="$who" -v c="$conc" -v wall="$wall" -v r="$rate" -v b="$best_lego" -v cpu="$cpu" \
    -v n="$CERTS" -v rss="$rss" -v ok="$ok" 'BEGIN {
      printf "| %s | %d | %.1f | %.2f | %s | %.1f | %.1f | %s |\n", w, c, wall / 1000, r,
        (b > 0 ? sprintf("%.0f %%", 100 * r / b) : "-"), cpu / n, rss / 1024, ok }'
done
log "$CERTS certificates per run; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$any_failed"
