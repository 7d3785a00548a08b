#!/usr/bin/env bash
# Issue 12, key reuse and CSR input against a real Pebble of its own (no lock):
# - `issue --reuse-key`, then `renew --force` twice: the same public key every time
#   (openssl pkey -pubout); without --reuse-key a renewal makes a new key.
# - `issue --csr FILE` (made with openssl req): names from the CSR, the certificate
#   carries the CSR's key, no privkey.pem; `renew --force` works from the stored CSR.
# - bad input: --reuse-key with --csr (exit 2), an unparseable CSR, -d that does not
#   match the CSR (exit 1), one line each, nothing written.
# - a CSR whose key type Pebble refuses: Pebble's error, exit 1.
# - `show --json` gives the chain's depth and size.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

start_fixture "$TMP/pebble"
state=$TMP/state
out=$TMP/live
common=("${PEBBLE_ARGS[@]}" --state-dir "$state" --out "$out"
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT")
pub() { openssl pkey -in "$1" -pubout; }
cert_pub() { openssl x509 -in "$1" -noout -pubkey; }

# --- --reuse-key --------------------------------------------------------------
expect_rc 0 issue -d reuse.acmectl.test --reuse-key "${common[@]}"
live=$out/reuse.acmectl.test
verify_chain "$live"
key0=$(pub "$live/privkey.pem")
serials=("$(cert_serial "$live/cert.pem")")
for i in 1 2; do
  expect_rc 0 renew --force reuse.acmectl.test --state-dir "$state"
  verify_chain "$live"
  assert_eq "$(pub "$live/privkey.pem")" "$key0" "public key after renewal $i"
  assert_eq "$(cert_pub "$live/cert.pem")" "$key0" "certificate key after renewal $i"
  serials+=("$(cert_serial "$live/cert.pem")")
done
[[ "${serials[0]}" != "${serials[1]}" && "${serials[1]}" != "${serials[2]}" ]] ||
  fail "renew --force did not replace the certificate: ${serials[*]}"
assert_mode "$live/privkey.pem" 600
ok "--reuse-key: two renewals, three serials, one public key"

# The control: without --reuse-key each renewal has a new key.
expect_rc 0 issue -d fresh.acmectl.test "${common[@]}"
fresh0=$(pub "$out/fresh.acmectl.test/privkey.pem")
expect_rc 0 renew --force fresh.acmectl.test --state-dir "$state"
[[ "$(pub "$out/fresh.acmectl.test/privkey.pem")" != "$fresh0" ]] ||
  fail "a renewal without --reuse-key kept the key"
ok "without --reuse-key a renewal makes a new key"

# --- --csr ----------------------------------------------------------------------
csr_key=$TMP/csr.key
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$csr_key" \
  -subj /CN=csr.acmectl.test -addext "subjectAltName=DNS:csr.acmectl.test,DNS:www.csr.acmectl.test" \
  -out "$TMP/req.csr" 2>/dev/null || fail "openssl req failed"
expect_rc 0 issue --csr "$TMP/req.csr" "${common[@]}" --json
live=$out/csr.acmectl.test
assert_sans "$live/cert.pem" csr.acmectl.test www.csr.acmectl.test
assert_eq "$(cert_pub "$live/cert.pem")" "$(pub "$csr_key")" "certificate key vs the CSR key"
assert_absent "$live/privkey.pem"
openssl verify -CAfile "$PEBBLE_ROOT_PEM" -untrusted "$live/chain.pem" "$live/cert.pem" >/dev/null ||
  fail "CSR certificate does not verify"
assert_eq "$(jq -c .domains "$OUT_FILE")" '["csr.acmectl.test","www.csr.acmectl.test"]' "json .domains"
ok "--csr: names from the CSR, its key in the certificate, no privkey.pem"
before=$(cert_serial "$live/cert.pem")
expect_rc 0 renew --force csr.acmectl.test --state-dir "$state"
[[ "$(cert_serial "$live/cert.pem")" != "$before" ]] || fail "renew --force kept the serial"
assert_eq "$(cert_pub "$live/cert.pem")" "$(pub "$csr_key")" "renewed certificate key vs the CSR"
assert_absent "$live/privkey.pem"
ok "renew --force finalizes with the stored CSR"
# -d naming the CSR's names (any order) is accepted.
expect_rc 0 issue --csr "$TMP/req.csr" -d www.csr.acmectl.test,csr.acmectl.test "${common[@]}"

# --- chain facts -------------------------------------------------------------------
expect_rc 0 show reuse.acmectl.test --state-dir "$state" --json
depth=$(grep -c 'BEGIN CERTIFICATE' "$out/reuse.acmectl.test/fullchain.pem")
bytes=0
while read -r n; do bytes=$((bytes + n)); done < <(
  awk '/BEGIN CERT/{c=""} {c=c $0 "\n"} /END CERT/{printf "%s", c > (FILENAME "." ++i)}' \
    "$out/reuse.acmectl.test/fullchain.pem"
  for f in "$out"/reuse.acmectl.test/fullchain.pem.*; do
    openssl x509 -in "$f" -outform DER | wc -c
    rm -f "$f"
  done
)
assert_eq "$(jq -r .chain_depth "$OUT_FILE")" "$depth" "show --json .chain_depth"
assert_eq "$(jq -r .chain_bytes "$OUT_FILE")" "$bytes" "show --json .chain_bytes"
expect_rc 0 list --state-dir "$state" --json
assert_eq "$(jq -r '.[] | select(.name=="reuse.acmectl.test") | .chain_bytes' "$OUT_FILE")" "$bytes" \
  "list --json .chain_bytes"
expect_rc 0 show reuse.acmectl.test --state-dir "$state"
grep -q "^chain: *$depth certificates, $bytes bytes" "$OUT_FILE" || fail "show prints no chain line"
ok "show/list: chain of $depth certificates, $bytes bytes (DER)"

# --- bad input: one line, nothing written --------------------------------------------
fresh=$TMP/fresh-state
expect_rc 2 issue --csr "$TMP/req.csr" --reuse-key "${PEBBLE_ARGS[@]}" --state-dir "$fresh" --out "$TMP/o2"
grep -q -- '--reuse-key and --csr' "$ERR_FILE" || fail "no usage line naming --reuse-key and --csr"
printf 'not a csr\n' >"$TMP/junk.csr"
expect_one_line_error issue --csr "$TMP/junk.csr" "${PEBBLE_ARGS[@]}" --state-dir "$fresh" --out "$TMP/o2"
assert_match "$ERR_LINE" 'junk.csr' "error names the file"
expect_one_line_error issue --csr "$TMP/req.csr" -d other.acmectl.test "${PEBBLE_ARGS[@]}" \
  --state-dir "$fresh" --out "$TMP/o2"
assert_match "$ERR_LINE" 'not what -d gave' "mismatch message"
expect_rc 2 issue -d x.acmectl.test --preferred-chain shortst "${PEBBLE_ARGS[@]}" --state-dir "$fresh" --out "$TMP/o2"
grep -q 'unknown value' "$ERR_FILE" || fail "no line for an unknown --preferred-chain"
[[ ! -e "$fresh" && ! -e "$TMP/o2" ]] || fail "bad input wrote something"
ok "bad input refused in one line, nothing written"

# A key type the CA cannot sign: Pebble 2.4 takes the CSR at finalize and leaves the
# order "processing" for ever (Go has no Ed448), so its error is the order that never
# becomes valid: exit 1 within --timeout, one line, nothing installed.
openssl req -new -newkey ed448 -nodes -keyout "$TMP/weak.key" -subj /CN=weak.acmectl.test \
  -addext "subjectAltName=DNS:weak.acmectl.test" -out "$TMP/weak.csr" 2>/dev/null ||
  fail "openssl req (ed448) failed"
expect_rc 1 issue --csr "$TMP/weak.csr" "${common[@]}" --timeout 5
error_line
assert_match "$ERR_LINE" 'not ready after|badCSR' "the CA's answer"
assert_absent "$out/weak.acmectl.test"
ok "a CSR key the CA does not sign: exit 1 ($ERR_LINE)"
