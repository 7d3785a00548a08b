#!/usr/bin/env bash
# CNAME delegation: _acme-challenge.delegated.example.test is a CNAME to
# delegated.challenges.test, so the value goes into the challenges.test zone,
# updated with a key that may update only that zone. Pebble follows the CNAME
# through BIND9. Afterwards the record is gone from the target zone.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
use_bind9
start_pebble_on_bind9

name=$BIND9_DELEGATED_NAME
target=$BIND9_DELEGATED_TARGET
adds0=$(bind9_count adding "$target")
dels0=$(bind9_count deleting "$target")

expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --challenge dns-01 --dns-provider rfc2136 \
  --rfc2136-server "$BIND9_SERVER" --rfc2136-tsig-name "$BIND9_DELEGATE_TSIG_NAME" \
  --rfc2136-tsig-secret "$BIND9_DELEGATE_TSIG_SECRET" --dns-resolver "$BIND9_SERVER" \
  --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/$name"
assert_sans "$TMP/live/$name/cert.pem" "$name"
grep -qF "add TXT $target. (CNAME from _acme-challenge.$name.)" "$ERR_FILE" ||
  fail "the log does not say the value went to $target through the CNAME"
ok "issued for $name through the CNAME to $target"

assert_eq "$(($(bind9_count adding "$target") - adds0))" 1 "TXT values added at $target"
assert_eq "$(($(bind9_count deleting "$target") - dels0))" 1 "TXT values deleted at $target"
assert_no_txt "$target"
assert_no_txt "_acme-challenge.$name"
ok "the value was added in $BIND9_DELEGATION_ZONE and removed again"
