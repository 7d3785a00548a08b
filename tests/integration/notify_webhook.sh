#!/usr/bin/env bash
# [notify] without Prometheus (issue 14), against a Pebble of its own with 40-second
# certificates and a local webhook receiver (tests/support/notify_receiver.py):
# a failed renewal (the http-01 port taken by another program) POSTs JSON with the
# certificate, names, error, attempt, next retry, not-after and a Slack `text`, and runs
# the notify command with ACMECTL_* and the same JSON on stdin; the next success sends
# one recovery; a certificate inside expiry_fraction of its lifetime is notified once
# per version; a receiver that answers 500 or hangs delays nothing beyond its timeout
# and never fails the renewal.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

PEBBLE_CERTIFICATE_VALIDITY_PERIOD=40 start_fixture "$TMP/pebble"
name=notify.acmectl.test
state=$TMP/state
live=$TMP/live/$name
mapfile -t ports < <(free_ports 1)
rport=${ports[0]}
hooks=$TMP/hooks.jsonl mode=$TMP/mode cmdlog=$TMP/command.log
echo ok >"$mode"
python3 "$(dirname "$0")/../support/notify_receiver.py" "$rport" "$hooks" "$mode" \
  </dev/null >"$TMP/receiver.log" 2>&1 &
_LIB_PIDS+=("$!")
wait_port "$rport" "$!" 10 || fail "the webhook receiver did not start"
cat >"$TMP/notify.sh" <<'CMD'
#!/bin/sh
{ printf '%s|%s|%s|%s|' "$ACMECTL_NOTIFY_EVENT" "$ACMECTL_CERT_NAME" "$ACMECTL_ATTEMPT" "$ACMECTL_DOMAINS"
  tr -d '\n'; echo; } >>"$CMDLOG"
CMD
chmod +x "$TMP/notify.sh"
export CMDLOG=$cmdlog

cat >"$TMP/acmectl.toml" <<TOML
state_dir = "$state"
[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "notify@example.com"
agree_tos = true
[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
[notify]
webhook = "http://127.0.0.1:$rport/hooks/acmectl"
command = "$TMP/notify.sh"
expiry_fraction = 0.9
timeout = 2
retries = 1
TOML
cfg=(--config "$TMP/acmectl.toml")

expect_rc 0 issue -d "$name" "${cfg[@]}" --out "$TMP/live"
lines() { if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi; }
# wait_lines FILE N: until FILE has N lines (5 s at most).
wait_lines() {
  local i
  for ((i = 0; i < 100; i++)); do (($(lines "$1") >= $2)) && return 0; sleep 0.05; done
  fail "$1 has $(lines "$1") lines, expected $2"
}

# 1. A failure: something else holds the http-01 port.
python3 -m http.server --bind 127.0.0.1 "$PEBBLE_HTTP_PORT" >/dev/null 2>&1 &
blocker=$!
_LIB_PIDS+=("$blocker")
wait_port "$PEBBLE_HTTP_PORT" "$blocker" 10 || fail "the port blocker did not start"
expect_rc 1 renew --force "$name" "${cfg[@]}"
wait_lines "$hooks" 1
wait_lines "$cmdlog" 1
last=$(tail -n 1 "$hooks")
assert_eq "$(jq -r .event <<<"$last")" failure "webhook event"
assert_eq "$(jq -r .certificate <<<"$last")" "$name" "webhook certificate"
assert_eq "$(jq -r '.names | join(",")' <<<"$last")" "$name" "webhook names"
assert_eq "$(jq -r .attempt <<<"$last")" 1 "webhook attempt"
assert_match "$(jq -r .error <<<"$last")" "[Aa]ddress already in use" "webhook error"
assert_match "$(jq -r .next_retry <<<"$last")" '^20[0-9-]+T[0-9:]+Z$' "webhook next_retry"
assert_eq "$(jq -r .not_after <<<"$last")" "$(date -u -d "@$(cert_not_after "$live/cert.pem")" +%Y-%m-%dT%H:%M:%SZ)" "webhook not_after"
assert_match "$(jq -r .text <<<"$last")" "renewal of certificate $name .* failed \\(attempt 1\\)" "webhook text"
IFS='|' read -r ev cn att doms json <"$cmdlog"
assert_eq "$ev|$cn|$att|$doms" "failure|$name|1|$name" "notify command environment"
assert_eq "$(jq -r .event <<<"$json")" failure "notify command stdin JSON"
ok "failure: webhook JSON (event, names, error, attempt, next_retry, not_after, text) and command (env + stdin)"

# 2. Recovery: the port is free again.
stop_pid "$blocker"
expect_rc 0 renew --force "$name" "${cfg[@]}"
wait_lines "$hooks" 2
last=$(tail -n 1 "$hooks")
assert_eq "$(jq -r .event <<<"$last")" recovery "webhook event after the next success"
assert_eq "$(jq -r .attempt <<<"$last")" 1 "failed attempts before the recovery"
expect_rc 0 renew --force "$name" "${cfg[@]}"
sleep 0.3
assert_eq "$(jq -r .event "$hooks" | grep -c recovery)" 1 "recovery notifications after two successes"
ok "recovery: one notification for the first success after failures, none after that"

# 3. Near expiry (expiry_fraction 0.9 of 40 s: 4 s after the issue): once per version.
sleep 5
before=$(lines "$hooks")
expect_rc 0 renew "$name" "${cfg[@]}"
wait_lines "$hooks" $((before + 1))
assert_eq "$(jq -r .event <<<"$(tail -n 1 "$hooks")")" expiry "webhook event near expiry"
expect_rc 0 renew "$name" "${cfg[@]}"
sleep 0.5
assert_eq "$(lines "$hooks")" $((before + 1)) "webhook posts after a second check of the same version"
ok "expiry: notified once for this certificate version"

# 4. A receiver that answers 500, then one that hangs: the renewal is not failed, and
#    the command returns within the notifier's bound (timeout 2 s, one retry).
echo 500 >"$mode"
python3 -m http.server --bind 127.0.0.1 "$PEBBLE_HTTP_PORT" >/dev/null 2>&1 &
blocker=$!
_LIB_PIDS+=("$blocker")
wait_port "$PEBBLE_HTTP_PORT" "$blocker" 10 || fail "the port blocker did not start"
before=$(lines "$hooks")
expect_rc 1 renew --force "$name" "${cfg[@]}"
wait_lines "$hooks" $((before + 2))
grep -q "webhook http://127.0.0.1:$rport failed: HTTP 500" "$ERR_FILE" ||
  fail "the failed webhook is not logged"
ok "a receiver answering 500: retried once, logged as failed"
stop_pid "$blocker"
echo hang >"$mode"
serial_before=$(cert_serial "$live/cert.pem")
start=$(date +%s%N)
expect_rc 0 renew --force "$name" "${cfg[@]}"
took_ms=$((($(date +%s%N) - start) / 1000000))
[[ "$(cert_serial "$live/cert.pem")" != "$serial_before" ]] || fail "no renewal with a hanging receiver"
grep -q "^renewed\\|: renewed" "$OUT_FILE" || fail "renew does not report the renewal"
((took_ms < 9000)) || fail "renew with a hanging receiver took ${took_ms} ms"
grep -q "webhook http://127.0.0.1:$rport failed" "$ERR_FILE" || fail "the hanging webhook is not logged"
# The webhook's path is its secret (Slack, ntfy): never in a log line, not even in the
# transport's error text.
! grep -n "/hooks/acmectl" "$ERR_FILE" || fail "the webhook's path was logged"
ok "a hanging receiver: renewed, exit 0, returned in ${took_ms} ms (bounded by the timeout)"
