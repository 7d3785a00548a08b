#!/usr/bin/env bash
# Three names in one certificate.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

names=(three.acmectl.test www.three.acmectl.test api.three.acmectl.test)
expect_rc 0 issue -d "${names[0]}" -d "${names[1]}" -d "${names[2]}" "${PEBBLE_ARGS[@]}" \
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --state-dir "$TMP/state" --out "$TMP/live" --json
live=$TMP/live/${names[0]}
verify_chain "$live"
assert_sans "$live/cert.pem" "${names[@]}"
ok "one certificate for ${names[*]}, chain verifies"
assert_eq "$(jq -r '.domains | sort | join(" ")' "$OUT_FILE")" \
  "$(printf '%s\n' "${names[@]}" | LC_ALL=C sort | paste -sd' ')" "json .domains"
ok "--json lists the three names"
