#!/usr/bin/env bash
# The CA stalls (issue 13, "Faults to inject"): tests/support/fault_proxy.py in front
# of a private Pebble reads POST /order-plz and never answers. `acmectl renew --force`
# gives up at its HTTP timeout (60 s, HttpOptions::total_timeout; not configurable, so
# this test takes a minute) with exit 1 and one error line naming the URL; the request
# was sent once (no retry of a stalled request); the failure is recorded with a 60 s
# backoff; a plain `renew` right after sends no request; once the CA answers again
# `renew --force` succeeds.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/fault_lib.sh
source "$(dirname "$0")/../support/fault_lib.sh"
lib_init "$@"

start_fixture "$TMP/pebble"
start_fault_proxy 90

name=stall.acmectl.test
state=$TMP/state
live=$TMP/live/$name
expect_rc 0 issue -d "$name" "${PROXY_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$state" --out "$TMP/live"
verify_chain "$live"
serial0=$(cert_serial "$live/cert.pem")
ok "issued $name through the fault proxy"

proxy_ctl reset
inject stall '^/order-plz$' -1
t0=$(date +%s)
expect_rc 1 renew --force "$name" --state-dir "$state"
t1=$(date +%s)
error_line
assert_match "$ERR_LINE" 'order-plz' "error line of a stalled newOrder"
took=$((t1 - t0))
((took >= 55 && took <= 80)) || fail "renew gave up after $took s, expected the 60 s HTTP timeout"
stalls=$(proxy_counts | jq -r '.faults.stall // 0')
assert_eq "$stalls" 1 "stalled newOrder requests (a stalled request must not be retried)"
requests=$(proxy_requests)
assert_eq "$(cert_serial "$live/cert.pem")" "$serial0" "installed serial after the stall"
ok "stall: exit 1 after $took s, $requests requests, the stalled one sent once: $ERR_LINE"

expect_rc 0 show "$name" --json --state-dir "$state"
assert_eq "$(jq -r .consecutive_failures "$OUT_FILE")" 1 "show --json .consecutive_failures"
assert_match "$(jq -r .last_error "$OUT_FILE")" 'order-plz' "show --json .last_error"
assert_eq "$(jq -r '.events[0].kind' "$OUT_FILE")" failed "show --json latest event"

before=$(proxy_requests)
run_acmectl renew "$name" --state-dir "$state"
((RC == 0 || RC == 1)) || fail "renew inside the backoff: exit $RC"
next=$(grep -o "^$name: backoff: retrying after [0-9T:Z-]*" "$OUT_FILE") ||
  fail "renew did not report the backoff"
next=${next##* }
next=$(date -u -d "${next%:}" +%s)
((next >= t1 + 58 && next <= t1 + 62)) || fail "next attempt $next is not 60 s after the failure at $t1"
assert_eq "$(($(proxy_requests) - before))" 0 "requests to the CA from a renew inside the backoff"
ok "recorded; backoff 60 s persisted; a renew inside it sent no request"

proxy_ctl clear
expect_rc 0 renew --force "$name" --state-dir "$state"
grep -q "^$name: renewed" "$OUT_FILE" || fail "expected '$name: renewed' once the CA answers"
verify_chain "$live"
[[ "$(cert_serial "$live/cert.pem")" != "$serial0" ]] || fail "no new certificate once the CA answers"
ok "the CA answers again: renew --force renewed"
