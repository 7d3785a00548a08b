#!/usr/bin/env bash
# A running agent (certificates from a real Pebble of its own) serves /metrics
# that the real `promtool check metrics` accepts with no lint finding, and
# /healthz 200. Every metric of ../shared/INTERFACE.md and issue 5 is there;
# every per-certificate counter of a certificate that never failed is exported
# at 0 (so increase() fires on the first failure); the values come from the
# store, so they survive a restart of the agent.
# (Label escaping of odd values is covered by tests/unit/metrics_test.cpp:
# certificate names are validated, so none can reach /metrics from here.)
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

command -v promtool >/dev/null || fail "promtool not installed (scripts/deps.sh installs prometheus)"
start_fixture "$TMP/pebble"

read -r METRICS_PORT < <(free_ports 1)
METRICS="http://127.0.0.1:$METRICS_PORT"
cat >"$TMP/agent.toml" <<EOF
state_dir = "$TMP/state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "test@example.com"
agree_tos = true

[agent]
metrics_listen = "127.0.0.1:$METRICS_PORT"
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
check_interval_seconds = 3600

[[certificate]]
name = "web"
domains = ["web.metrics.acmectl.test", "www.metrics.acmectl.test"]
deploy_hook = "true"

[[certificate]]
name = "api"
domains = ["api.metrics.acmectl.test"]
EOF

AGENT_PID=""
start_agent() {
  "$ACMECTL" agent --config "$TMP/agent.toml" </dev/null >>"$TMP/agent.log" 2>&1 &
  AGENT_PID=$!
  _LIB_PIDS+=("$AGENT_PID")
  wait_port "$METRICS_PORT" "$AGENT_PID" 15 || {
    cat "$TMP/agent.log" >&2
    fail "the agent did not listen on 127.0.0.1:$METRICS_PORT"
  }
  log "agent PID $AGENT_PID, metrics on $METRICS"
}

# scrape FILE: GET /metrics into FILE; fails unless 200.
scrape() {
  local code
  code=$(curl -s --max-time 10 -o "$1" -w '%{http_code}' "$METRICS/metrics") || code=000
  [[ "$code" == 200 ]] || fail "GET /metrics answered $code"
}

# value FILE SERIES: the value of exactly this series (name{labels} as exported).
value() {
  awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) exit 1 }' "$1" ||
    fail "series $2 not in the exposition"
}

start_agent

# Until both certificates are issued and installed (ready 1).
deadline=$((SECONDS + 60))
while :; do
  scraped_at=$(date +%s)
  scrape "$TMP/metrics.txt"
  # The certificate is recorded before its deploy hook runs (so a crash during the hook
  # does not order again): wait for web's hook too.
  if grep -qx 'acmectl_certificate_ready{name="web"} 1' "$TMP/metrics.txt" &&
    grep -qx 'acmectl_certificate_ready{name="api"} 1' "$TMP/metrics.txt" &&
    grep -qx 'acmectl_hook_runs_total{name="web",result="success"} 1' "$TMP/metrics.txt"; then
    break
  fi
  ((SECONDS < deadline)) || {
    cat "$TMP/agent.log" >&2
    fail "certificates not ready within 60 s"
  }
  sleep 0.5
done
ok "both certificates issued by the agent"
verify_chain "$TMP/state/live/web"

# Content-Type is the text format 0.0.4.
ctype=$(curl -s -o /dev/null -w '%{content_type}' "$METRICS/metrics")
assert_match "$ctype" '^text/plain; version=0\.0\.4' "Content-Type of /metrics"

# promtool: exit 0 and nothing to say (exit 3 would be lint findings).
rc=0
lint=$(promtool check metrics <"$TMP/metrics.txt" 2>&1) || rc=$?
((rc == 0)) || fail "promtool check metrics exited $rc: $lint"
[[ -z "$lint" ]] || fail "promtool check metrics has findings: $lint"
ok "promtool check metrics: no errors, no lint findings"

# /healthz: 200 with a one-line body.
code=$(curl -s --max-time 5 -o "$TMP/healthz.txt" -w '%{http_code}' "$METRICS/healthz") || code=000
assert_eq "$code" 200 "GET /healthz status"
assert_eq "$(wc -l <"$TMP/healthz.txt")" 1 "lines of the /healthz body"
ok "/healthz 200: $(cat "$TMP/healthz.txt")"

# Every metric family, with its TYPE.
declare -A types=(
  [acmectl_certificate_expiration_timestamp_seconds]=gauge
  [acmectl_certificate_renewal_timestamp_seconds]=gauge
  [acmectl_certificate_ready]=gauge
  [acmectl_renewals_total]=counter
  [acmectl_hook_runs_total]=counter
  [acmectl_build_info]=gauge
  [acmectl_certificate_not_before_timestamp_seconds]=gauge
  [acmectl_certificate_last_renewal_success_timestamp_seconds]=gauge
  [acmectl_certificate_consecutive_failures]=gauge
  [acmectl_acme_requests_total]=counter
  [acmectl_acme_request_duration_seconds]=histogram
  [acmectl_acme_bad_nonce_retries_total]=counter
  [acmectl_acme_rate_limited_total]=counter
  [acmectl_renewal_duration_seconds]=histogram
  [acmectl_scheduler_last_tick_timestamp_seconds]=gauge
  [process_cpu_seconds_total]=counter
  [process_resident_memory_bytes]=gauge
  [process_virtual_memory_bytes]=gauge
  [process_start_time_seconds]=gauge
  [process_open_fds]=gauge
  [process_max_fds]=gauge
)
for m in "${!types[@]}"; do
  grep -qx "# TYPE $m ${types[$m]}" "$TMP/metrics.txt" || fail "no '# TYPE $m ${types[$m]}'"
  grep -q "^# HELP $m " "$TMP/metrics.txt" || fail "no HELP for $m"
  case ${types[$m]} in
  histogram)
    grep -q "^${m}_bucket{.*le=\"+Inf\"} " "$TMP/metrics.txt" || fail "$m has no +Inf bucket"
    grep -q "^${m}_sum " "$TMP/metrics.txt" || fail "$m has no _sum"
    grep -q "^${m}_count " "$TMP/metrics.txt" || fail "$m has no _count"
    ;;
  *) grep -Eq "^$m(\{| )" "$TMP/metrics.txt" || fail "$m has no sample" ;;
  esac
done
ok "all ${#types[@]} metric families present with the right TYPE"

# Values that follow from what happened: two issuances, one hook run, no failure.
now=$(date +%s)
for name in web api; do
  assert_eq "$(value "$TMP/metrics.txt" "acmectl_renewals_total{name=\"$name\",result=\"success\"}")" 1 \
    "renewals success of $name"
  assert_eq "$(value "$TMP/metrics.txt" "acmectl_renewals_total{name=\"$name\",result=\"failure\"}")" 0 \
    "renewals failure of $name"
  assert_eq "$(value "$TMP/metrics.txt" "acmectl_hook_runs_total{name=\"$name\",result=\"failure\"}")" 0 \
    "hook failures of $name"
  assert_eq "$(value "$TMP/metrics.txt" "acmectl_certificate_consecutive_failures{name=\"$name\"}")" 0 \
    "consecutive failures of $name"
  na=$(value "$TMP/metrics.txt" "acmectl_certificate_expiration_timestamp_seconds{name=\"$name\"}")
  assert_eq "$na" "$(cert_not_after "$TMP/state/live/$name/cert.pem")" "expiration of $name (cert.pem notAfter)"
  nb=$(value "$TMP/metrics.txt" "acmectl_certificate_not_before_timestamp_seconds{name=\"$name\"}")
  ((nb < na)) || fail "$name: not_before $nb is not before not_after $na"
  rt=$(value "$TMP/metrics.txt" "acmectl_certificate_renewal_timestamp_seconds{name=\"$name\"}")
  ((rt > now && rt < na)) || fail "$name: planned renewal $rt is not between now ($now) and notAfter ($na)"
  ls=$(value "$TMP/metrics.txt" "acmectl_certificate_last_renewal_success_timestamp_seconds{name=\"$name\"}")
  ((ls > now - 120 && ls <= now + 1)) || fail "$name: last success $ls is not within the last 2 minutes"
done
assert_eq "$(value "$TMP/metrics.txt" 'acmectl_hook_runs_total{name="web",result="success"}')" 1 "hook successes of web"
assert_eq "$(value "$TMP/metrics.txt" 'acmectl_hook_runs_total{name="api",result="success"}')" 0 "hook successes of api (no hook)"
# The agent's own ACME traffic: new-order requests answered 201, a histogram count.
no=$(value "$TMP/metrics.txt" 'acmectl_acme_requests_total{endpoint="newOrder",status="201"}')
((no >= 2)) || fail "expected >= 2 newOrder 201 requests, got $no"
rc_count=$(value "$TMP/metrics.txt" acmectl_renewal_duration_seconds_count)
((rc_count >= 2)) || fail "expected >= 2 renewal durations observed, got $rc_count"
assert_eq "$(value "$TMP/metrics.txt" acmectl_acme_rate_limited_total)" 0 "rate limited"
tick=$(value "$TMP/metrics.txt" acmectl_scheduler_last_tick_timestamp_seconds)
# The scheduler ticks every second: at most a few seconds old when scraped.
((tick >= scraped_at - 3)) || fail "scheduler last tick $tick is over 3 s older than the scrape ($scraped_at)"
assert_match "$(grep '^acmectl_build_info{' "$TMP/metrics.txt")" '^acmectl_build_info\{version="[^"]+"\} 1$' "build_info"
ok "per-certificate values match the certificates; counters of what never failed are 0"

# A restart keeps the per-certificate counters (they live in the store).
stop_pid "$AGENT_PID"
start_agent
deadline=$((SECONDS + 15))
until curl -sf -o /dev/null "$METRICS/healthz"; do
  ((SECONDS < deadline)) || fail "/healthz not 200 within 15 s of the restart"
  sleep 0.2
done
scrape "$TMP/metrics2.txt"
assert_eq "$(value "$TMP/metrics2.txt" 'acmectl_renewals_total{name="web",result="success"}')" 1 \
  "renewals success of web after a restart"
assert_eq "$(value "$TMP/metrics2.txt" 'acmectl_hook_runs_total{name="web",result="success"}')" 1 \
  "hook successes of web after a restart"
promtool check metrics <"$TMP/metrics2.txt" >/dev/null 2>&1 || fail "promtool check metrics fails after the restart"
ok "counters survive a restart of the agent"
