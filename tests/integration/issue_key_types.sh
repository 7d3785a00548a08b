#!/usr/bin/env bash
# Each --key-type gives a certificate key of that algorithm and size.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

declare -A want=(
  [ec256]="EC prime256v1"
  [ec384]="EC secp384r1"
  [rsa2048]="RSA 2048"
  [rsa3072]="RSA 3072"
  [rsa4096]="RSA 4096"
)
# key_desc FILE: "EC <curve>" or "RSA <bits>".
key_desc() {
  local text
  text=$(openssl pkey -in "$1" -noout -text)
  if grep -q '^ASN1 OID:' <<<"$text"; then
    echo "EC $(sed -n 's/^ASN1 OID: *//p' <<<"$text")"
  elif grep -q '^modulus:' <<<"$text"; then
    echo "RSA $(sed -n 's/^Private-Key: (\([0-9]*\) bit.*/\1/p' <<<"$text")"
  else
    echo "unknown: $(head -n 1 <<<"$text")"
  fi
}

for kt in ec256 ec384 rsa2048 rsa3072 rsa4096; do
  name=$kt.keys.acmectl.test
  expect_rc 0 issue -d "$name" --key-type "$kt" "${PEBBLE_ARGS[@]}" \
    --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --state-dir "$TMP/state" --out "$TMP/live"
  verify_chain "$TMP/live/$name"
  assert_eq "$(key_desc "$TMP/live/$name/privkey.pem")" "${want[$kt]}" "key of --key-type $kt"
  assert_sans "$TMP/live/$name/cert.pem" "$name"
  ok "--key-type $kt: ${want[$kt]}, chain verifies"
done
