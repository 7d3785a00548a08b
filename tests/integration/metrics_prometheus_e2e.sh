#!/usr/bin/env bash
# End to end with a real Prometheus: an agent gets a 60-second certificate from
# a Pebble of its own (PEBBLE_CERTIFICATE_VALIDITY_PERIOD=60); a `prometheus`
# on a free loopback port scrapes it every second and evaluates an expiry
# alert every second. Through Prometheus's HTTP API: the expiry alert fires
# for the certificate as it nears expiry, and stops firing once the agent has
# renewed it (notAfter moved forward). The rules of `acmectl gen alerts` are
# loaded too: the real server accepts them and, with a healthy agent, neither
# "agent down" nor "metrics absent" fires.
#
# Why a hand-written expiry rule: `acmectl gen alerts` thresholds are whole
# days (--warning-days/--critical-days >= 1), and a day-long certificate would
# make this test take a day. The rule below has the generated rule's
# expression shape, `(acmectl_certificate_expiration_timestamp_seconds -
# time()) < THRESHOLD`, with a threshold of 45 seconds and no `for:`.
# Timeline of one certificate: issued with 60 s left; the alert fires at 45 s
# left; the agent renews at 30-33 s left (the window is half the lifetime
# for lifetimes under 10 days, minus up to a tenth of it of jitter, see
# docs/renewal.md); the new certificate has 60 s left, so the alert resolves
# (and would fire again 15 s later). Whole test: about 40 s.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

command -v prometheus >/dev/null || fail "prometheus not installed (scripts/deps.sh installs it)"
command -v jq >/dev/null || fail "jq not installed"

PEBBLE_CERTIFICATE_VALIDITY_PERIOD=60 start_fixture "$TMP/pebble"
log "private Pebble with 60-second certificates at $PEBBLE_DIR_URL"

{
  read -r METRICS_PORT
  read -r PROM_PORT
} < <(free_ports 2)
PROM="http://127.0.0.1:$PROM_PORT"
NAME=e2e

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
renew_before_days = 30   # capped to half of the 60 s lifetime

[[certificate]]
name = "$NAME"
domains = ["e2e.metrics.acmectl.test"]
EOF

"$ACMECTL" agent --config "$TMP/agent.toml" </dev/null >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
_LIB_PIDS+=("$AGENT_PID")
wait_port "$METRICS_PORT" "$AGENT_PID" 15 || {
  cat "$TMP/agent.log" >&2
  fail "the agent did not listen on 127.0.0.1:$METRICS_PORT"
}
log "agent PID $AGENT_PID, metrics on 127.0.0.1:$METRICS_PORT"

mkdir -p "$TMP/prom/data"
expect_rc 0 gen alerts --job acmectl --out "$TMP/prom/acmectl_alerts.yml"
cat >"$TMP/prom/e2e_rules.yml" <<'EOF'
# The generated expiry rule's shape with a seconds threshold (see the test).
groups:
  - name: acmectl-e2e
    interval: 1s
    rules:
      - alert: AcmectlCertificateExpiringSoonE2E
        expr: (acmectl_certificate_expiration_timestamp_seconds - time()) < 45
        labels:
          severity: warning
        annotations:
          summary: "Certificate {{ $labels.name }} expires in {{ $value }} s"
EOF
cat >"$TMP/prom/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $TMP/prom/acmectl_alerts.yml
  - $TMP/prom/e2e_rules.yml
scrape_configs:
  - job_name: acmectl
    static_configs:
      - targets: ["127.0.0.1:$METRICS_PORT"]
EOF
out=$(promtool check config "$TMP/prom/prometheus.yml" 2>&1) || fail "promtool check config: $out"

prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" </dev/null >"$TMP/prom/prometheus.log" 2>&1 &
PROM_PID=$!
_LIB_PIDS+=("$PROM_PID")
deadline=$((SECONDS + 30))
until curl -sf -o /dev/null "$PROM/-/ready"; do
  kill -0 "$PROM_PID" 2>/dev/null || {
    cat "$TMP/prom/prometheus.log" >&2
    fail "prometheus exited during start-up"
  }
  ((SECONDS < deadline)) || fail "prometheus not ready within 30 s"
  sleep 0.2
done
log "prometheus PID $PROM_PID on $PROM"

n=$(curl -s "$PROM/api/v1/rules" | jq '[.data.groups[].rules[]] | length')
assert_eq "$n" 9 "rules loaded by prometheus (8 generated + 1 e2e)"
ok "prometheus loaded the generated rules"

# query EXPR: the first value of an instant query (empty when no result).
query() {
  curl -s --get --data-urlencode "query=$1" "$PROM/api/v1/query" |
    jq -r '.data.result[0].value[1] // empty'
}
# firing ALERTNAME: the firing alerts of that name, one JSON line each.
firing() {
  curl -s "$PROM/api/v1/alerts" |
    jq -c --arg a "$1" '.data.alerts[] | select(.labels.alertname == $a and .state == "firing")'
}

# 1. The scrape works and the certificate shows up in Prometheus.
deadline=$((SECONDS + 30))
until [[ "$(query 'up{job="acmectl"}')" == 1 && -n "$(query "acmectl_certificate_expiration_timestamp_seconds{name=\"$NAME\"}")" ]]; do
  ((SECONDS < deadline)) || {
    tail -n 20 "$TMP/agent.log" >&2
    fail "no expiration metric for $NAME in prometheus within 30 s"
  }
  sleep 0.5
done
first_na=$(query "acmectl_certificate_expiration_timestamp_seconds{name=\"$NAME\"}")
log "first certificate: notAfter $first_na ($((first_na - $(date +%s))) s left)"
ok "prometheus scrapes the agent (up 1) and sees the certificate"

# 2. The expiry alert fires as the certificate nears expiry (before it is renewed).
deadline=$((SECONDS + 40))
while :; do
  alert=$(firing AcmectlCertificateExpiringSoonE2E | jq -c --arg n "$NAME" 'select(.labels.name == $n)')
  [[ -n "$alert" ]] && break
  ((SECONDS < deadline)) || fail "the expiry alert did not fire within 40 s"
  sleep 0.5
done
na_at_fire=$(query "acmectl_certificate_expiration_timestamp_seconds{name=\"$NAME\"}")
left=$(jq -r '.value | tonumber | floor' <<<"$alert")
log "firing: $alert"
assert_eq "$na_at_fire" "$first_na" "notAfter while the alert fires (must be the first certificate)"
ok "the expiry alert fires for $NAME with $left s left"

# 3. The agent renews (notAfter moves forward), and the alert stops firing.
deadline=$((SECONDS + 40))
while :; do
  na=$(query "acmectl_certificate_expiration_timestamp_seconds{name=\"$NAME\"}")
  [[ -n "$na" ]] && ((na > first_na)) && break
  ((SECONDS < deadline)) || {
    tail -n 20 "$TMP/agent.log" >&2
    fail "prometheus saw no renewal of $NAME within 40 s (notAfter still $first_na)"
  }
  sleep 0.5
done
renewed_at=$SECONDS
log "renewed: notAfter $first_na -> $na"
ok "the agent renewed $NAME and prometheus scraped the new notAfter"
deadline=$((SECONDS + 10))
while [[ -n "$(firing AcmectlCertificateExpiringSoonE2E | jq -c --arg n "$NAME" 'select(.labels.name == $n)')" ]]; do
  ((SECONDS < deadline)) || fail "the expiry alert still fires 10 s after the renewal"
  sleep 0.5
done
# It stopped because of the renewal: the certificate it would fire for next has
# over 45 s left (checked before the new one is 15 s old).
((SECONDS - renewed_at < 15)) || fail "the alert stopped too late to tell it apart from the next certificate"
ok "the expiry alert stopped firing after the renewal"

# 4. Nothing else fires for a healthy agent; counters are as expected.
for a in AcmectlAgentDown AcmectlMetricsAbsent AcmectlSchedulerStalled AcmectlRenewalFailing \
  AcmectlHookFailing; do
  [[ -z "$(firing "$a")" ]] || fail "$a fires for a healthy agent"
done
succ=$(query "acmectl_renewals_total{name=\"$NAME\",result=\"success\"}")
((succ >= 2)) || fail "renewals_total success is $succ, expected >= 2"
assert_eq "$(query "acmectl_renewals_total{name=\"$NAME\",result=\"failure\"}")" 0 "renewals failure"
ok "no other alert fires; $succ successful issuances/renewals"
