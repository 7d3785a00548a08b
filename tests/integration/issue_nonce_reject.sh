#!/usr/bin/env bash
# A Pebble of its own that rejects half of all good nonces
# (PEBBLE_WFE_NONCEREJECT=50): issuance must still succeed (badNonce retry).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

PEBBLE_WFE_NONCEREJECT=50 start_fixture "$TMP/pebble"
log "private Pebble at $PEBBLE_DIR_URL with PEBBLE_WFE_NONCEREJECT=50"

names=(nonce.acmectl.test www.nonce.acmectl.test)
for round in 1 2; do
  expect_rc 0 issue --force -d "${names[0]}" -d "${names[1]}" "${PEBBLE_ARGS[@]}" \
    --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --state-dir "$TMP/state" --out "$TMP/live"
  verify_chain "$TMP/live/${names[0]}"
  assert_sans "$TMP/live/${names[0]}/cert.pem" "${names[@]}"
  ok "issue $round succeeded with half of the nonces rejected"
done
rejected=$(grep -c 'badNonce' "$TMP/pebble/pebble.log" || true)
log "Pebble logged $rejected badNonce lines"
