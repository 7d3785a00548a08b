#!/usr/bin/env bash
# The shipped example hook (hooks/dns01-exec-example.sh, nsupdate + a TSIG key
# file) through the exec provider against the real BIND9: a wildcard and its
# apex, validated by Pebble through BIND9; both values removed afterwards.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
use_bind9
command -v nsupdate >/dev/null || fail "nsupdate not installed (bind9-dnsutils)"
start_pebble_on_bind9

hook=$LIB_DIR/../../hooks/dns01-exec-example.sh
[[ -x "$hook" ]] || fail "$hook is not executable"
printf 'key "%s" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
  "$BIND9_TSIG_NAME" "$BIND9_TSIG_SECRET" >"$TMP/acme.key"
export DNS01_NSUPDATE_KEYFILE=$TMP/acme.key DNS01_NSUPDATE_SERVER=127.0.0.1
export DNS01_NSUPDATE_PORT=$BIND9_PORT

base=hook.example.test
record=_acme-challenge.$base
expect_rc 0 issue -d "*.$base" -d "$base" "${PEBBLE_ARGS[@]}" --challenge dns-01 \
  --dns-provider exec --dns-exec "$hook" --dns-resolver "$BIND9_SERVER" \
  --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/_wildcard.$base"
assert_sans "$TMP/live/_wildcard.$base/cert.pem" "*.$base" "$base"
assert_eq "$(bind9_count adding "$record")" 2 "values added at $record"
assert_eq "$(bind9_count deleting "$record")" 2 "values deleted at $record"
assert_no_txt "$record"
ok "the example hook issues a wildcard certificate through BIND9 and cleans up"

# Its errors reach the user: a zone it may not update.
expect_failure_line issue -d "x.$BIND9_LOCKED_ZONE" "${PEBBLE_ARGS[@]}" --challenge dns-01 \
  --dns-provider exec --dns-exec "$hook" --dns-resolver "$BIND9_SERVER" \
  --state-dir "$TMP/state" --out "$TMP/live"
[[ "$ERR_LINE" == *"exited with status 2: update failed: REFUSED" ]] ||
  fail "the hook's stderr is not in the error: $ERR_LINE"
ok "the hook's failure is one line ending with nsupdate's message"
