#!/usr/bin/env bash
# Short-lived certificates (issue 12) end to end: a Pebble of its own issues
# 30-second certificates (certificateValidityPeriod); the agent keeps two of
# them renewed over several cycles. Checked every half second: the installed
# certificate is never expired, and each renewal happens at the planned time
# (about half the lifetime left, docs/renewal.md), not at the last moment. A
# real Prometheus scrapes the agent every second with the rules of
# `acmectl gen alerts`: the expiry rules' expressions are never true over the
# whole run (no alert, not even pending), while the fixed-days expressions
# they replaced would have been true at every scrape.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

command -v prometheus >/dev/null || fail "prometheus not installed (scripts/deps.sh installs it)"
command -v jq >/dev/null || fail "jq not installed"

LIFETIME=30
PEBBLE_CERTIFICATE_VALIDITY_PERIOD=$LIFETIME start_fixture "$TMP/pebble"
log "private Pebble with $LIFETIME-second certificates at $PEBBLE_DIR_URL"

{
  read -r METRICS_PORT
  read -r PROM_PORT
} < <(free_ports 2)
PROM="http://127.0.0.1:$PROM_PORT"
out=$TMP/live

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

[defaults]
out = "$out"

[[certificate]]
name = "a"
domains = ["a.short.test"]

[[certificate]]
name = "b"
domains = ["b.short.test"]
key_type = "ec384"
EOF

mkdir -p "$TMP/prom/data"
expect_rc 0 gen alerts --out "$TMP/prom/acmectl_alerts.yml"
cat >"$TMP/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $TMP/prom/acmectl_alerts.yml
scrape_configs:
  - job_name: acmectl
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
EOF
prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" </dev/null >"$TMP/prom/prometheus.log" 2>&1 &
prom=$!
_LIB_PIDS+=("$prom")

"$ACMECTL" agent --config "$TMP/agent.toml" </dev/null >"$TMP/agent.out" 2>"$TMP/agent.log" &
agent=$!
_LIB_PIDS+=("$agent")

# Watch both certificates for 50 s (the first issue, then a renewal every ~15 s).
declare -A serial=() not_after=() renewals=()
t0=$(date +%s)
while (($(date +%s) - t0 < 50)); do
  kill -0 "$agent" 2>/dev/null || {
    tail -n 30 "$TMP/agent.log" >&2
    fail "the agent exited"
  }
  now=$(date +%s)
  for n in a b; do
    [[ -f "$out/$n/cert.pem" ]] || continue
    s=$(cert_serial "$out/$n/cert.pem") || continue
    na=$(cert_not_after "$out/$n/cert.pem")
    if [[ "$s" != "${serial[$n]:-}" ]]; then
      if [[ -n "${serial[$n]:-}" ]]; then
        left=$((not_after[$n] - now))
        log "$n renewed with $left s left of $LIFETIME (serial ${serial[$n]} -> $s)"
        echo "$left" >>"$TMP/left-$n"
        renewals[$n]=$((${renewals[$n]:-0} + 1))
      fi
      serial[$n]=$s
      not_after[$n]=$na
    fi
    ((now < not_after[$n])) || fail "$n: the installed certificate expired at ${not_after[$n]} (now $now)"
  done
  sleep 0.5
done
for n in a b; do
  ((${renewals[$n]:-0} >= 2)) || {
    tail -n 30 "$TMP/agent.log" >&2
    fail "$n: ${renewals[$n]:-0} renewals in 50 s of $LIFETIME-second certificates (want >= 2)"
  }
  # Planned at half the lifetime (15 s) minus up to 1.5 s of jitter; the watch loop
  # sees it up to ~1 s late. Never near the end of the lifetime.
  while read -r left; do
    ((left >= 11 && left <= 18)) || fail "$n renewed with $left s left (planned: about 15 s)"
  done <"$TMP/left-$n"
done
ok "a: ${renewals[a]} renewals, b: ${renewals[b]}, each with $(sort -n "$TMP"/left-* | head -n 1)-$(sort -n "$TMP"/left-* | tail -n 1) s of $LIFETIME left; never expired"

curl -sf -o /dev/null "$PROM/-/ready" || fail "prometheus is not ready: $(tail -n 5 "$TMP/prom/prometheus.log")"
query() { # EXPR: the result vector as JSON
  curl -s --get --data-urlencode "query=$1" "$PROM/api/v1/query" | jq -c '.data.result'
}
samples=$(query 'count_over_time(acmectl_certificate_expiration_timestamp_seconds{name="a"}[1m])' |
  jq -r '.[0].value[1] // 0')
((samples >= 20)) || fail "prometheus scraped only $samples samples of a's expiry"
# The generated rules' expressions, evaluated at every second of the last minute.
for alert in AcmectlCertificateExpiringSoon AcmectlCertificateExpiryCritical; do
  expr=$(grep -A1 "alert: $alert\$" "$TMP/prom/acmectl_alerts.yml" | sed -n 's/^ *expr: //p')
  [[ -n "$expr" ]] || fail "no expression for $alert in the generated rules"
  got=$(query "count_over_time(($expr)[1m:1s])")
  assert_eq "$got" "[]" "$alert's expression over the last minute"
done
assert_eq "$(query 'ALERTS{alertname=~"AcmectlCertificateExpir.*"}')" "[]" "expiry alerts (pending or firing)"
# What fixed thresholds would have said: 3 days left, true at every scrape.
got=$(query 'count_over_time(((acmectl_certificate_expiration_timestamp_seconds - time()) < 3 * 86400)[1m:1s])' |
  jq 'length')
assert_eq "$got" 2 "certificates a fixed 3-day threshold would alert on"
ok "Prometheus ($samples scrapes/min): the lifetime-relative expiry rules never held; a fixed 3-day rule held throughout"
