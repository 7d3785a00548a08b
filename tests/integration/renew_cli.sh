#!/usr/bin/env bash
# `acmectl renew` as cron or a timer runs it, against a Pebble of its own with
# 20-second certificates: not due → exit 0 and nothing changes; inside the
# window → renewed and the deploy hook ran; a failing deploy hook → exit 1,
# `show` reports it, the next `renew` retries it; --force renews now;
# `list --json` parses.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

PEBBLE_CERTIFICATE_VALIDITY_PERIOD=20 start_fixture "$TMP/pebble"
log "private Pebble at $PEBBLE_DIR_URL (20-second certificates)"

name=renew.acmectl.test
state=$TMP/state
live=$TMP/live/$name
export HOOK_LOG=$TMP/hook.log FAIL_FLAG=$TMP/hook-fails
cat >"$TMP/hook.sh" <<'HOOK'
#!/bin/sh
if [ -e "$FAIL_FLAG" ]; then
  echo "deploy failed on purpose" >&2
  exit 3
fi
echo "$ACMECTL_EVENT $ACMECTL_CERT_NAME $(openssl x509 -in "$ACMECTL_CERT_PATH" -noout -serial)" >>"$HOOK_LOG"
HOOK
chmod +x "$TMP/hook.sh"

expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$state" --out "$TMP/live" --deploy-hook "$TMP/hook.sh"
verify_chain "$live"
serial0=$(cert_serial "$live/cert.pem")
ok "issued $name (serial $serial0)"

# Not due yet: exit 0, nothing renewed.
expect_rc 0 renew --state-dir "$state"
grep -q "^$name: not-due" "$OUT_FILE" || fail "expected '$name: not-due' on stdout"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial0" "serial after a renew that was not due"
ok "renew before the window: not-due, exit 0"

# Inside the window (half the lifetime for certificates under 10 days).
expect_rc 0 show "$name" --json --state-dir "$state"
at=$(date -u -d "$(jq -r .next_renewal "$OUT_FILE")" +%s)
na=$(cert_not_after "$live/cert.pem")
((at < na)) || fail "next renewal $at is not before notAfter $na"
wait_s=$((at - $(date +%s) + 1))
((wait_s > 0)) && sleep "$wait_s"
expect_rc 0 renew --state-dir "$state"
grep -q "^$name: renewed" "$OUT_FILE" || fail "expected '$name: renewed' on stdout"
verify_chain "$live"
serial1=$(cert_serial "$live/cert.pem")
[[ "$serial1" != "$serial0" ]] || fail "serial unchanged after the renewal"
(($(date +%s) < na)) || fail "renewed only after the old certificate expired"
grep -q "^renewed $name serial=" "$HOOK_LOG" || fail "deploy hook did not run with ACMECTL_EVENT=renewed"
ok "renew inside the window: renewed before expiry, deploy hook ran (event renewed)"

# A failing deploy hook: installed, but renew exits 1 and show says so.
touch "$FAIL_FLAG"
expect_rc 1 renew --force --state-dir "$state"
error_line
assert_match "$ERR_LINE" "$name.*hook.*deploy failed on purpose" "error line of a failed hook"
serial2=$(cert_serial "$live/cert.pem")
[[ "$serial2" != "$serial1" ]] || fail "renew --force did not install a new certificate"
expect_rc 0 show "$name" --state-dir "$state"
grep -q 'hook failed' "$OUT_FILE" || fail "show does not report the hook failure"
grep -q 'hook_failed' "$OUT_FILE" || fail "show lists no hook_failed event"
ok "failing deploy hook: renew exit 1, show reports 'hook failed'"

# The next renew retries the hook (still failing: exit 1, no new certificate).
expect_rc 1 renew --state-dir "$state"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial2" "serial after retrying the hook"
rm -f "$FAIL_FLAG"
expect_rc 0 renew --state-dir "$state"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial2" "serial after the hook succeeded on retry"
tail -n 1 "$HOOK_LOG" | grep -q "serial=" || fail "the retried hook did not run"
expect_rc 0 show "$name" --json --state-dir "$state"
assert_eq "$(jq -r '.events[0].kind' "$OUT_FILE")" hook_ran "latest event after the retry"
ok "the hook is retried on the next renew; succeeds once fixed"

# --force renews now.
expect_rc 0 renew --force "$name" --state-dir "$state"
grep -q "^$name: renewed" "$OUT_FILE" || fail "expected '$name: renewed' on stdout"
verify_chain "$live"
[[ "$(cert_serial "$live/cert.pem")" != "$serial2" ]] || fail "renew --force did not renew"
ok "renew --force renewed at once"

expect_rc 0 list --json --state-dir "$state"
jq -e . "$OUT_FILE" >/dev/null || fail "list --json does not parse"
assert_eq "$(jq -r '.[0].name' "$OUT_FILE")" "$name" "list --json .name"
assert_eq "$(jq -r '.[0].last_result' "$OUT_FILE")" ok "list --json .last_result"
assert_eq "$(norm_serial "$(jq -r '.[0].serial' "$OUT_FILE")")" "$(cert_serial "$live/cert.pem")" "list --json .serial"
expect_rc 0 list --state-dir "$state"
grep -q "$name" "$OUT_FILE" || fail "list does not show $name"
ok "list and list --json"

expect_rc 1 renew no-such-cert --state-dir "$state"
error_line
assert_match "$ERR_LINE" "no-such-cert" "error for an unknown name"
ok "renew of an unknown name: exit 1"
