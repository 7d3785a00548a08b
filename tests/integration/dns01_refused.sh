#!/usr/bin/env bash
# A zone the key may not update (locked.test has no update-policy): BIND9
# answers REFUSED; exit 1 with one line saying so.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
use_bind9

name=www.$BIND9_LOCKED_ZONE
expect_failure_line issue -d "$name" "${PEBBLE_ARGS[@]}" "${RFC2136_ARGS[@]}" \
  --state-dir "$TMP/state" --out "$TMP/live"
[[ "$ERR_LINE" == *REFUSED* ]] || fail "error line does not say REFUSED: $ERR_LINE"
[[ "$ERR_LINE" == *"zone $BIND9_LOCKED_ZONE."* ]] || fail "error line does not name the zone: $ERR_LINE"
assert_no_txt "_acme-challenge.$name"
assert_no_files "$TMP/live"
ok "REFUSED for a zone without update policy"
