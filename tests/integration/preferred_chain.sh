#!/usr/bin/env bash
# --preferred-chain with a Pebble that offers alternate chains
# (PEBBLE_ALTERNATE_ROOTS=1): `acmectl issue --preferred-chain CN` installs the
# chain that ends at that root, and `acmectl renew --force` keeps asking for it
# (the choice is recorded with the certificate); without the option the default
# chain is installed.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

PEBBLE_ALTERNATE_ROOTS=1 start_fixture "$TMP/pebble"
root_cn() {
  curl -sS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT_URL/roots/$1" |
    openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'
}
default_cn=$(root_cn 0)
alt_cn=$(root_cn 1)
[[ -n "$default_cn" && -n "$alt_cn" && "$default_cn" != "$alt_cn" ]] ||
  fail "Pebble offers no alternate root ('$default_cn', '$alt_cn')"
# top_issuer DIR: the issuer CN of the last certificate in DIR/chain.pem.
top_issuer() {
  local last
  last=$(awk '/BEGIN CERT/{c=""} {c=c $0 "\n"} /END CERT/{last=c} END{printf "%s", last}' "$1/chain.pem")
  openssl x509 -noout -issuer -nameopt multiline <<<"$last" | sed -n 's/^ *commonName *= *//p'
}

state=$TMP/state
common=("${PEBBLE_ARGS[@]}" --state-dir "$state" --out "$TMP/live"
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT")
expect_rc 0 issue -d alt.acmectl.test "${common[@]}" --preferred-chain "$alt_cn"
assert_eq "$(top_issuer "$TMP/live/alt.acmectl.test")" "$alt_cn" "chain root after issue"
expect_rc 0 issue -d default.acmectl.test "${common[@]}"
assert_eq "$(top_issuer "$TMP/live/default.acmectl.test")" "$default_cn" "default chain root"
ok "issue: --preferred-chain '$alt_cn' picks the alternate chain, none gives '$default_cn'"

before=$(cert_serial "$TMP/live/alt.acmectl.test/cert.pem")
expect_rc 0 renew --force alt.acmectl.test --state-dir "$state"
after=$(cert_serial "$TMP/live/alt.acmectl.test/cert.pem")
[[ "$after" != "$before" ]] || fail "renew --force did not replace the certificate"
assert_eq "$(top_issuer "$TMP/live/alt.acmectl.test")" "$alt_cn" "chain root after renewal"
ok "renew keeps the preferred chain"

# A mistyped keyword is a usage error before anything is written or ordered.
expect_rc 2 issue -d typo.acmectl.test "${common[@]}" --preferred-chain shortst
grep -q 'unknown value' "$ERR_FILE" || fail "no usage line for --preferred-chain shortst"
assert_absent "$TMP/live/typo.acmectl.test"
# shortest: installs one of the offered chains, and the chain verifies.
expect_rc 0 issue -d short.acmectl.test "${common[@]}" --preferred-chain shortest
openssl verify -partial_chain -untrusted "$TMP/live/short.acmectl.test/chain.pem" \
  -CAfile "$TMP/live/short.acmectl.test/chain.pem" "$TMP/live/short.acmectl.test/cert.pem" >/dev/null ||
  fail "the shortest chain does not verify"
ok "--preferred-chain: a mistyped keyword exits 2; shortest installs a verifying chain"
