#!/usr/bin/env bash
# Names are lower-cased and duplicates dropped: -d A.x -d a.x gives one SAN.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

expect_rc 0 issue -d A.Norm.acmectl.test -d a.norm.acmectl.test "${PEBBLE_ARGS[@]}" \
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --state-dir "$TMP/state" --out "$TMP/live" --json
live=$TMP/live/a.norm.acmectl.test
verify_chain "$live"
assert_sans "$live/cert.pem" a.norm.acmectl.test
assert_eq "$(jq -c .domains "$OUT_FILE")" '["a.norm.acmectl.test"]' "json .domains"
assert_absent "$TMP/live/A.Norm.acmectl.test"
ok "one SAN, lower-case, in OUT/a.norm.acmectl.test"
