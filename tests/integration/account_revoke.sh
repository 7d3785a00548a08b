#!/usr/bin/env bash
# `acmectl account register|show|rollover|deactivate` and `acmectl revoke` against
# Pebble:
#   - show reports the stored account as the CA sees it
#   - rollover replaces the key at the CA (RFC 8555 §7.3.5); the old key is kept,
#     the account keeps working; an interrupted rollover is finished (or undone)
#     by the next command, whichever way the CA went
#   - revoke: Pebble reports the serial revoked, the record says so, and the next
#     `acmectl renew` replaces the certificate without --force
#   - deactivate needs --yes; afterwards the key is kept aside and the next issue --force
#     registers a new account
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

name=acct.acmectl.test
state=$TMP/state
common=("${PEBBLE_ARGS[@]}" --state-dir "$state")
expect_rc 0 issue -d "$name" "${common[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --out "$TMP/live"

# account_field FIELD: from `account show --json`.
account_field() {
  expect_rc 0 account show "${common[@]}" --json
  jq -r ".$1" "$OUT_FILE"
}
url=$(account_field url)
assert_match "$url" '^https://127\.0\.0\.1:[0-9]+/my-account/' "account URL"
assert_eq "$(account_field status)" valid "account status"
key=$(account_field key_path)
assert_mode "$key" 600
thumb1=$(account_field key_thumbprint)
ok "account show: $url valid, key $key"

expect_rc 0 account rollover "${common[@]}" --key-type ec384
assert_eq "$(account_field url)" "$url" "account URL after rollover"
thumb2=$(account_field key_thumbprint)
[[ "$thumb2" != "$thumb1" ]] || fail "the key thumbprint did not change"
grep -q 'BEGIN PRIVATE KEY' "$key" || fail "no key at $key"
prev=$(compgen -G "$key.prev-*" | head -n 1) || true
[[ -n "$prev" ]] || fail "the old key was not kept as $key.prev-*"
assert_mode "$prev" 600
assert_mode "$key" 600
[[ "$(openssl pkey -in "$key" -noout -text 2>/dev/null | grep -c 'NIST CURVE: P-384')" == 1 ]] ||
  fail "the new key is not ec384"
expect_rc 0 renew --force "$name" --state-dir "$state"
ok "rollover: new ec384 key at the CA, old key kept, renew works with the new key"

# Interrupted rollover, CA side done: the CA knows the .next key, the store still
# points at the old file. Simulate by putting the keys back the way a crash leaves them.
mv "$key" "$key.next"
cp -p "$prev" "$key"
expect_rc 0 account show "${common[@]}" --json
assert_eq "$(jq -r .key_thumbprint "$OUT_FILE")" "$thumb2" "thumbprint after recovery"
assert_absent "$key.next"
grep -q 'key rollover completed' "$ERR_FILE" || fail "the recovery was not logged"
# Interrupted rollover, CA side not done: a .next key the CA never saw is set aside.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key.next" 2>/dev/null
chmod 600 "$key.next"
expect_rc 0 account show "${common[@]}" --json
assert_eq "$(jq -r .key_thumbprint "$OUT_FILE")" "$thumb2" "thumbprint after an abandoned rollover"
assert_absent "$key.next"
compgen -G "$key.next.abandoned-*" >/dev/null || fail "the abandoned key was not kept aside"
ok "an interrupted rollover is completed or set aside by the next command"

# Revocation.
serial=$(cert_serial "$TMP/live/$name/cert.pem")
expect_rc 2 revoke "$name" --reason nonsense --state-dir "$state"
expect_rc 1 revoke no-such-cert --state-dir "$state"
expect_rc 0 revoke "$name" --reason keyCompromise --state-dir "$state"
status=$(curl -sS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT_URL/cert-status-by-serial/$serial" | jq -r .Status)
assert_eq "$status" Revoked "Pebble's status of serial $serial"
expect_rc 0 list --state-dir "$state" --json
assert_eq "$(jq -r '.[0].last_result' "$OUT_FILE")" revoked "list's last result"
expect_rc 0 show "$name" --state-dir "$state"
grep -q 'revoked' "$OUT_FILE" || fail "show does not list the revocation event"
expect_rc 0 revoke "$name" --state-dir "$state"
grep -q 'already revoked' "$OUT_FILE" || fail "a second revoke does not say 'already revoked'"
expect_rc 0 renew --state-dir "$state"
new=$(cert_serial "$TMP/live/$name/cert.pem")
[[ "$new" != "$serial" ]] || fail "renew (not forced) did not replace the revoked certificate"
expect_rc 0 list --state-dir "$state" --json
assert_eq "$(jq -r '.[0].last_result' "$OUT_FILE")" ok "last result after the replacement"
ok "revoke: Pebble says Revoked, list says revoked, the next renew replaced it ($serial -> $new)"

# Deactivation.
expect_rc 2 account deactivate "${common[@]}"
expect_rc 0 account deactivate "${common[@]}" --yes
grep -q 'deactivated' "$OUT_FILE" || fail "deactivate did not report the deactivated status"
compgen -G "$key.deactivated-*" >/dev/null || fail "the deactivated key was not kept"
assert_absent "$key"
expect_rc 1 account show "${common[@]}"
grep -q 'account register' "$ERR_FILE" || fail "show without an account does not point to register"
expect_rc 0 issue --force -d "$name" "${common[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --out "$TMP/live"
url2=$(account_field url)
[[ "$url2" != "$url" ]] || fail "issue after deactivation reused the deactivated account"
ok "deactivate --yes: key kept aside, store forgets it, the next issue registers $url2"
