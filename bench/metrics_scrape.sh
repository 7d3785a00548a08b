#!/usr/bin/env bash
# Benchmark of GET /metrics with a large store (issue 5: 100,000 certificates,
# under 250 ms per scrape, and a scrape must not block renewals).
#
#   bench/metrics_scrape.sh [CERTS]        (default 100000)
#
# 1. A Pebble of its own (tests/support/pebble_fixture.sh); `acmectl issue`
#    of one real certificate ("real") creates the store with its schema.
# 2. sqlite3 adds CERTS rows (a recursive CTE) copied from that row with their
#    own names, out dirs, notBefore/notAfter spread over a year and non-zero
#    counters; next_check is 10 years ahead, so none is due.
# 3. `acmectl agent` with an empty certificate list and metrics_listen on a free
#    port (its http-01 responder on another free port, not Pebble's).
# 4. SCRAPES (10) timed scrapes with curl (time_total): median and max, plain
#    and with `Accept-Encoding: gzip` (what Prometheus sends); the exposition
#    must pass `promtool check metrics` (no lint finding).
# 5. Not blocked: `acmectl renew --force real` (a real renewal against Pebble,
#    writing the same SQLite store) alone, then again while a loop scrapes
#    /metrics back to back; both must succeed and the second must not take
#    longer than one extra scrape.
#
# Environment: ACMECTL_BIN (default build-metrics/bin/acmectl, then
# build/bin/acmectl), SCRAPES (10), BENCH_KEEP=1 keeps the work directory.
# Prints a Markdown summary on stdout (docs/BENCHMARKS.md holds a copy).
# Exit status 0 when every check passed, 1 otherwise.
# Only 127.0.0.1; everything started is stopped by PID on exit.
# cleanup runs from a trap:
# shellcheck disable=SC2317
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
readonly BENCH_DIR ROOT
readonly FIXTURE="$ROOT/tests/support/pebble_fixture.sh"
CERTS=${1:-100000}
SCRAPES=${SCRAPES:-10}
[[ "$CERTS" =~ ^[0-9]+$ ]] || {
  echo "usage: $0 [CERTS]" >&2
  exit 2
}
ACMECTL=${ACMECTL_BIN:-}
if [[ -z "$ACMECTL" ]]; then
  for c in "$ROOT/build-metrics/bin/acmectl" "$ROOT/build/bin/acmectl"; do
    [[ -x "$c" ]] && {
      ACMECTL=$c
      break
    }
  done
fi
[[ -x "$ACMECTL" ]] || {
  echo "no acmectl binary (build it, or set ACMECTL_BIN)" >&2
  exit 2
}
for p in sqlite3 curl promtool pebble; do
  command -v "$p" >/dev/null || {
    echo "$p not installed (scripts/deps.sh)" >&2
    exit 2
  }
done
if [[ -z "${FREE_PORT_BIN:-}" ]]; then
  for c in "$(dirname "$ACMECTL")/free_port" "$ROOT/build/bin/free_port"; do
    [[ -x "$c" ]] && {
      export FREE_PORT_BIN=$c
      break
    }
  done
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-bench-metrics.XXXXXX")
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
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    echo "# kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT

log() { echo "# $*" >&2; }
die() {
  echo "bench: $*" >&2
  exit 1
}

free_ports() {
  if [[ -n "${FREE_PORT_BIN:-}" ]]; then
    "$FREE_PORT_BIN" "$1"
  else
    local i port
    for ((i = 0; i < $1; i++)); do
      while :; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
      done
      echo "$port"
    done
  fi
}

now_ms() { date +%s%3N; }

# stats: reads numbers (one a line), prints "median max".
stats() {
  sort -n | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.0f %.0f\n", m, v[NR] }'
}

# 1. Pebble and one real certificate.
FIXTURE_STARTED=1
"$FIXTURE" start "$WORK/pebble" >&2 || die "could not start Pebble"
# shellcheck source=/dev/null
source "$WORK/pebble/env"
STATE="$WORK/state"
ISSUE_ARGS=(--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" --agree-tos
  --email bench@example.com --state-dir "$STATE")
"$ACMECTL" issue -d real.metrics-bench.test "${ISSUE_ARGS[@]}" \
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --out "$STATE/live" >"$WORK/issue.log" 2>&1 ||
  die "issue failed: $(cat "$WORK/issue.log")"
DB="$STATE/acmectl.db"
REAL=$(sqlite3 "$DB" "SELECT name FROM certificates LIMIT 1")
log "real certificate '$REAL' issued; store $DB"

# 2. CERTS copies of that row (every column but the ones set here).
cols=$(sqlite3 "$DB" "SELECT group_concat(name, ', ') FROM pragma_table_info('certificates')
  WHERE name NOT IN ('name', 'out_dir', 'not_before', 'not_after', 'next_check',
  'renewals_success', 'renewals_failure', 'hooks_success', 'hooks_failure',
  'consecutive_failures', 'last_success')")
t0=$(now_ms)
sqlite3 "$DB" <<EOF
.timeout 10000
BEGIN;
WITH RECURSIVE seq(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM seq WHERE x < $CERTS)
INSERT INTO certificates (name, out_dir, not_before, not_after, next_check,
  renewals_success, renewals_failure, hooks_success, hooks_failure,
  consecutive_failures, last_success, $cols)
SELECT printf('bench%06d', x), '$STATE/live/' || printf('bench%06d', x),
  strftime('%s', 'now') - 86400 * (x % 60), strftime('%s', 'now') + 86400 * (30 + x % 330),
  strftime('%s', 'now') + 86400 * 3650,
  1 + x % 7, x % 3, x % 5, x % 2, 0, strftime('%s', 'now') - 86400 * (x % 60), $cols
FROM seq, certificates WHERE certificates.name = '$REAL';
COMMIT;
EOF
n=$(sqlite3 "$DB" "SELECT count(*) FROM certificates")
((n == CERTS + 1)) || die "expected $((CERTS + 1)) certificates in the store, found $n"
log "store filled: $n certificates in $(($(now_ms) - t0)) ms ($(du -h "$DB" | cut -f1))"

# 3. The agent: nothing due, metrics on a free port.
{
  read -r METRICS_PORT
  read -r RESPONDER_PORT
} < <(free_ports 2)
cat >"$WORK/agent.toml" <<EOF
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
"$ACMECTL" agent --config "$WORK/agent.toml" </dev/null >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
URL="http://127.0.0.1:$METRICS_PORT/metrics"
for ((i = 0; i < 600; i++)); do
  curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/healthz" && break
  kill -0 "$AGENT_PID" 2>/dev/null || die "the agent exited: $(cat "$WORK/agent.log")"
  sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$METRICS_PORT/healthz" || die "/healthz not 200 within 60 s"
log "agent PID $AGENT_PID, metrics on $URL"

# 4. Timed scrapes.
# Warm-up (page cache, first connection). To /dev/null: writing 65 MB to a file here
# left the kernel flushing it during the first timed scrapes (+120 ms each).
curl -s -o /dev/null "$URL"
plain=()
gzip=()
for ((i = 0; i < SCRAPES; i++)); do
  t=$(curl -s -o /dev/null -w '%{time_total}' "$URL")
  plain+=("$(awk -v t="$t" 'BEGIN { printf "%.0f", t * 1000 }')")
  t=$(curl -s --compressed -o /dev/null -w '%{time_total}' "$URL")
  gzip+=("$(awk -v t="$t" 'BEGIN { printf "%.0f", t * 1000 }')")
done
read -r plain_med plain_max < <(printf '%s\n' "${plain[@]}" | stats)
read -r gzip_med gzip_max < <(printf '%s\n' "${gzip[@]}" | stats)
curl -s -o "$WORK/metrics.txt" "$URL" # for promtool and the counts below
bytes=$(stat -c %s "$WORK/metrics.txt")
gz_bytes=$(curl -s -H 'Accept-Encoding: gzip' "$URL" | wc -c)
samples=$(grep -vc '^#' "$WORK/metrics.txt")
log "plain: ${plain[*]} ms; gzip: ${gzip[*]} ms"

promtool_rc=0
promtool_out=$(promtool check metrics <"$WORK/metrics.txt" 2>&1) || promtool_rc=$?
promtool_ok=yes
((promtool_rc == 0)) && [[ -z "$promtool_out" ]] || promtool_ok="no (exit $promtool_rc: ${promtool_out:0:300})"
got=$(grep -c '^acmectl_certificate_expiration_timestamp_seconds{' "$WORK/metrics.txt")
((got == CERTS + 1)) || die "expected $((CERTS + 1)) expiration series, got $got"

# 5. A real renewal alone, then while /metrics is scraped back to back.
renew_ms() {
  local t
  t=$(now_ms)
  "$ACMECTL" renew --force "$REAL" --state-dir "$STATE" >>"$WORK/renew.log" 2>&1 ||
    die "renew --force $REAL failed: $(tail -n 20 "$WORK/renew.log")"
  echo $(($(now_ms) - t))
}
serial_before=$(sqlite3 "$DB" "SELECT serial FROM certificates WHERE name = '$REAL'")
renew_alone=$(renew_ms)
(
  trap 'exit 0' TERM
  while :; do curl -s -o /dev/null "$URL"; done
) &
LOOP_PID=$!
PIDS+=("$LOOP_PID")
sleep 0.3
renew_loaded=$(renew_ms)
kill -TERM "$LOOP_PID" 2>/dev/null || true
wait "$LOOP_PID" 2>/dev/null || true
serial_after=$(sqlite3 "$DB" "SELECT serial FROM certificates WHERE name = '$REAL'")
[[ "$serial_after" != "$serial_before" ]] || die "the serial of $REAL did not change"
grep -qx "acmectl_renewals_total{name=\"$REAL\",result=\"success\"} 3" <(curl -s "$URL") ||
  die "/metrics does not show 3 successes for $REAL"

status=0
((plain_max < 250)) || status=1
[[ "$promtool_ok" == yes ]] || status=1
((renew_loaded <= renew_alone + plain_max + 250)) || status=1

cat <<EOF
| store | scrape (plain) median / max | scrape (gzip) median / max | exposition | promtool check metrics | renew --force alone / during scrapes |
|---|---|---|---|---|---|
| $CERTS + 1 certificates | $plain_med / $plain_max ms | $gzip_med / $gzip_max ms | $samples samples, $((bytes / 1048576)) MiB ($((gz_bytes / 1048576)) MiB gzip) | $promtool_ok | $renew_alone / $renew_loaded ms |
EOF
log "$SCRAPES scrapes each; machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
