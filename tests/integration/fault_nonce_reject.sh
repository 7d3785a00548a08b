#!/usr/bin/env bash
# Half of the nonces rejected (issue 13, "Faults to inject"; the long version of
# issue_nonce_reject.sh): a private Pebble with PEBBLE_WFE_NONCEREJECT=50 behind
# tests/support/fault_proxy.py (no faults of its own: it only counts what Pebble
# answers). 20 issuances in a row, each a new certificate (new order, authorization,
# challenge, finalize, download), all succeed; the badNonce retries are counted
# from Pebble's answers and stay bounded: at least a quarter of the accepted POSTs
# (the fault was really there: 50% rejection gives one retry per POST on average)
# and at most twice as many (a retry loop would show); no other error answer.
# FAULT_NONCE_ROUNDS=N runs N issuances instead of 20 (a long variant for bench/).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/fault_lib.sh
source "$(dirname "$0")/../support/fault_lib.sh"
lib_init "$@"

PEBBLE_WFE_NONCEREJECT=50 start_fixture "$TMP/pebble"
start_fault_proxy 75
log "private Pebble with PEBBLE_WFE_NONCEREJECT=50 behind the fault proxy"

rounds=${FAULT_NONCE_ROUNDS:-20}
[[ "$rounds" =~ ^[1-9][0-9]{0,3}$ ]] || fail "FAULT_NONCE_ROUNDS must be 1..9999, got '$rounds'"
t0=$(date +%s)
for ((i = 1; i <= rounds; i++)); do
  name=n$i.nonce.acmectl.test
  expect_rc 0 issue -d "$name" "${PROXY_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
    --state-dir "$TMP/state" --out "$TMP/live"
  verify_chain "$TMP/live/$name"
  assert_sans "$TMP/live/$name/cert.pem" "$name"
done
took=$(($(date +%s) - t0))
ok "$rounds issuances in a row succeeded in $took s with half of the nonces rejected"

proxy_counts >"$TMP/counts.json"
bad=$(jq -r '.problems.badNonce // 0' "$TMP/counts.json")
posts=$(jq -r '[.by_method_prefix | to_entries[] | select(.key | startswith("POST ")) | .value] | add' "$TMP/counts.json")
accepted=$(jq -r '[.answers | to_entries[] | select(.key | test("^POST .* 2[0-9][0-9]$")) | .value] | add' "$TMP/counts.json")
others=$(jq -r '[.answers | to_entries[] | select(.key | test(" [2][0-9][0-9]$") | not) | .value] | add // 0' "$TMP/counts.json")
# (Pebble 2.4 does not log its badNonce answers: the proxy counts them.)
log "POSTs: $posts sent, $accepted accepted, $bad answered badNonce; non-2xx answers in all: $others"
assert_eq "$((accepted + bad))" "$posts" "POSTs sent = accepted + badNonce (no other failure)"
assert_eq "$others" "$bad" "non-2xx answers other than badNonce"
((accepted >= rounds * 6)) || fail "only $accepted POSTs accepted for $rounds issuances"
((bad * 4 >= accepted)) || fail "$bad badNonce for $accepted POSTs: was the fault there?"
((bad <= 2 * accepted)) || fail "$bad badNonce retries for $accepted POSTs: unbounded retrying"
ok "badNonce retries: $bad for $accepted accepted POSTs ($((bad * 100 / accepted)) per 100), bounded"
