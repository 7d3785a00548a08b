#!/usr/bin/env bash
# One name with the built-in HTTP-01 responder: files, modes, chain, SANs,
# --json output, SQLite record; a second issue reuses the account.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

name=a.acmectl.test
state=$TMP/state
out=$TMP/live
common=(-d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
  --state-dir "$state" --out "$out")

expect_rc 0 issue "${common[@]}" --json
live=$out/$name
verify_chain "$live"
ok "files written, privkey.pem 0600, chain verifies against Pebble's root"
assert_sans "$live/cert.pem" "$name"
ok "SAN is $name"
openssl pkey -in "$live/privkey.pem" -noout -text | grep -q 'prime256v1\|P-256' ||
  fail "default key type is not ec256"
ok "default key type ec256"
[[ -s "$ERR_FILE" ]] || fail "expected progress lines on stderr"

# --json: one object on stdout naming serial, not_after and the paths.
jq -e . "$OUT_FILE" >/dev/null || fail "--json output does not parse"
assert_eq "$(jq -r .name "$OUT_FILE")" "$name" "json .name"
assert_eq "$(jq -c .domains "$OUT_FILE")" "[\"$name\"]" "json .domains"
assert_eq "$(norm_serial "$(jq -r .serial "$OUT_FILE")")" "$(cert_serial "$live/cert.pem")" "json .serial"
not_after=$(jq -r .not_after "$OUT_FILE")
assert_match "$not_after" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$' "json .not_after (RFC 3339)"
assert_eq "$(date -u -d "$not_after" +%s)" "$(cert_not_after "$live/cert.pem")" "json .not_after vs the certificate"
for k in cert chain fullchain privkey; do
  p=$(jq -r ".paths.$k" "$OUT_FILE")
  [[ -f "$p" ]] || fail "json .paths.$k ($p) is not a file"
  assert_eq "$(realpath "$p")" "$(realpath "$live/$k.pem")" "json .paths.$k"
done
ok "--json names name, domains, serial, not_after and paths"

# State: one account key (0600), the certificate recorded in SQLite.
assert_file "$state/acmectl.db"
mapfile -t keys < <(state_keys "$state")
assert_eq "${#keys[@]}" 1 "private keys under $state"
assert_mode "${keys[0]##* }" 600
sqlite3 "$state/acmectl.db" 'select name from certificates' | grep -qx "$name" ||
  fail "certificates table does not list $name"
ok "account key 0600 in the state dir; $name recorded in acmectl.db"

serial1=$(cert_serial "$live/cert.pem")
orders_before=$(pebble_new_orders)
expect_rc 0 issue "${common[@]}"
grep -q "not due" "$OUT_FILE" || fail "a second issue of unchanged names should say it is not due"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial1" "serial after a second issue that was not due"
assert_eq "$(pebble_new_orders)" "$orders_before" "Pebble newOrder requests after a second issue"
ok "second issue of the same names: not due, exit 0, no order at the CA"

expect_rc 0 issue "${common[@]}" --force
verify_chain "$live"
assert_sans "$live/cert.pem" "$name"
[[ "$(cert_serial "$live/cert.pem")" != "$serial1" ]] || fail "issue --force did not replace the certificate"
mapfile -t keys2 < <(state_keys "$state")
assert_eq "${keys2[*]}" "${keys[*]}" "account keys after the second issue"
sqlite3 "$state/acmectl.db" 'select name from certificates' | grep -qx "$name" ||
  fail "certificates table does not list $name after the second issue"
ok "issue --force: new certificate, same account key"
