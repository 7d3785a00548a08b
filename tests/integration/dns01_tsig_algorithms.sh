#!/usr/bin/env bash
# The other TSIG algorithms and ways to give the key: hmac-sha512 with the
# secret in a file (bare base64), hmac-sha1 entirely from ACMECTL_RFC2136_*
# environment variables with a BIND key file (as tsig-keygen writes it).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
use_bind9
start_pebble_on_bind9

printf '%s\n' "$BIND9_TSIG512_SECRET" >"$TMP/sha512.secret"
chmod 600 "$TMP/sha512.secret"
name=sha512.example.test
expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --challenge dns-01 --dns-provider rfc2136 \
  --rfc2136-server "$BIND9_SERVER" --rfc2136-tsig-name "$BIND9_TSIG512_NAME" \
  --rfc2136-tsig-algorithm hmac-sha512 --rfc2136-tsig-secret-file "$TMP/sha512.secret" \
  --dns-resolver "$BIND9_SERVER" --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/$name"
assert_eq "$(bind9_count deleting "_acme-challenge.$name")" 1 "deleted values at _acme-challenge.$name"
assert_no_txt "_acme-challenge.$name"
ok "hmac-sha512, secret from a file"

cat >"$TMP/sha1.key" <<KEY
key "$BIND9_TSIGSHA1_NAME" {
	algorithm hmac-sha1;
	secret "$BIND9_TSIGSHA1_SECRET";
};
KEY
name=sha1.example.test
ACMECTL_RFC2136_SERVER=$BIND9_SERVER ACMECTL_RFC2136_TSIG_NAME=$BIND9_TSIGSHA1_NAME \
  ACMECTL_RFC2136_TSIG_SECRET_FILE=$TMP/sha1.key ACMECTL_RFC2136_TSIG_ALGORITHM=hmac-sha1 \
  expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --challenge dns-01 --dns-provider rfc2136 \
  --dns-resolver "$BIND9_SERVER" --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/$name"
assert_eq "$(bind9_count deleting "_acme-challenge.$name")" 1 "deleted values at _acme-challenge.$name"
assert_no_txt "_acme-challenge.$name"
ok "hmac-sha1, everything from ACMECTL_RFC2136_*, a BIND key file"
