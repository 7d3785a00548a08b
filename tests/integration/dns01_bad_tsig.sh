#!/usr/bin/env bash
# A TSIG secret BIND9 does not accept: exit 1, one line naming TSIG and the
# server's answer (NOTAUTH/BADSIG); an unknown key name gives BADKEY. Nothing
# was added, nothing written.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
use_bind9

name=badsig.example.test
wrong=$(openssl rand -base64 32)
common=(-d "$name" "${PEBBLE_ARGS[@]}" --challenge dns-01 --dns-provider rfc2136
  --rfc2136-server "$BIND9_SERVER" --dns-resolver "$BIND9_SERVER"
  --state-dir "$TMP/state" --out "$TMP/live")

expect_failure_line issue "${common[@]}" --rfc2136-tsig-name "$BIND9_TSIG_NAME" \
  --rfc2136-tsig-secret "$wrong"
[[ "$ERR_LINE" == *TSIG* && "$ERR_LINE" == *BADSIG* && "$ERR_LINE" == *NOTAUTH* ]] ||
  fail "error line does not name TSIG and the server's NOTAUTH/BADSIG: $ERR_LINE"
[[ "$ERR_LINE" == *"$BIND9_SERVER"* ]] || fail "error line does not name the server: $ERR_LINE"
ok "wrong secret: TSIG NOTAUTH BADSIG"

expect_failure_line issue "${common[@]}" --rfc2136-tsig-name no-such-key \
  --rfc2136-tsig-secret "$wrong"
[[ "$ERR_LINE" == *TSIG* && "$ERR_LINE" == *BADKEY* ]] ||
  fail "error line does not name TSIG and BADKEY: $ERR_LINE"
ok "unknown key: TSIG BADKEY"

assert_eq "$(bind9_count adding "_acme-challenge.$name")" 0 "TXT values added at _acme-challenge.$name"
assert_no_txt "_acme-challenge.$name"
assert_no_files "$TMP/live"
ok "nothing added, nothing written"
