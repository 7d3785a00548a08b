#!/usr/bin/env bash
# `acmectl revoke --cert-file F --key-file K` (RFC 8555 §7.6, a lost account) against the
# shared Pebble: the request is signed by the certificate's own key, with no account and
# no state dir at all; Pebble's management API (/cert-status-by-serial) says Revoked; a
# second revocation reports already_revoked; a key that is not the certificate's is
# refused before the CA is asked; usage errors exit 2; a certificate recorded in the state
# dir passed is marked revoked (list shows it).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

state=$TMP/state
out=$TMP/live
issue_one() { # NAME
  expect_rc 0 issue -d "$1" "${PEBBLE_ARGS[@]}" --state-dir "$state" --out "$out" \
    --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
  verify_chain "$out/$1"
}
pebble_status() { # SERIAL (hex, no leading zeros)
  curl -sf --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_MGMT_URL/cert-status-by-serial/$1" |
    jq -r .Status
}

a=lost.revoke.acmectl.test
b=kept.revoke.acmectl.test
issue_one "$a"
issue_one "$b"
serial_a=$(cert_serial "$out/$a/cert.pem")
serial_b=$(cert_serial "$out/$b/cert.pem")
assert_eq "$(pebble_status "$serial_a")" Valid "Pebble's status of $a before revocation"

# The account is lost: another machine with nothing but the two files.
nostate=$TMP/nostate
cp "$out/$a/cert.pem" "$TMP/a-cert.pem"
cp "$out/$a/privkey.pem" "$TMP/a-key.pem"
expect_rc 0 revoke --cert-file "$TMP/a-cert.pem" --key-file "$TMP/a-key.pem" --reason keyCompromise \
  --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$nostate" --json
assert_eq "$(norm_serial "$(jq -r .serial "$OUT_FILE")")" "$serial_a" "json .serial"  # even-length hex: a leading 0 norm_serial drops
assert_eq "$(jq -r .already_revoked "$OUT_FILE")" false "json .already_revoked"
assert_eq "$(jq -r .signed_by "$OUT_FILE")" "certificate key" "json .signed_by"
assert_eq "$(jq -r .reason "$OUT_FILE")" keyCompromise "json .reason"
assert_absent "$nostate"
assert_eq "$(pebble_status "$serial_a")" Revoked "Pebble's status of $a after revocation"
assert_eq "$(pebble_status "$serial_b")" Valid "Pebble's status of $b (untouched)"
ok "revoked $a (serial $serial_a) with its own key, no account, no state dir: Pebble says Revoked"

expect_rc 0 revoke --cert-file "$TMP/a-cert.pem" --key-file "$TMP/a-key.pem" \
  --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" --state-dir "$nostate"
grep -q "was already revoked" "$OUT_FILE" || fail "second revocation: $(cat "$OUT_FILE")"
ok "second revocation: exit 0, 'was already revoked'"

# A key that is not the certificate's: refused before the CA is asked (a closed port as
# the server proves no request is needed to say so).
closed=$(free_ports 1)
expect_one_line_error revoke --cert-file "$out/$b/cert.pem" --key-file "$TMP/a-key.pem" \
  --server "https://127.0.0.1:$closed/dir" --state-dir "$nostate"
[[ "$ERR_LINE" == *"is not the key of"* ]] || fail "unexpected error: $ERR_LINE"
assert_eq "$(pebble_status "$serial_b")" Valid "Pebble's status of $b after a refused revocation"
ok "mismatched key refused: $ERR_LINE"

for args in "--cert-file $TMP/a-cert.pem" "--key-file $TMP/a-key.pem" \
  "$a --cert-file $TMP/a-cert.pem --key-file $TMP/a-key.pem" ""; do
  # shellcheck disable=SC2086 # word splitting of the argument sets is intended
  expect_rc 2 revoke $args --server "https://127.0.0.1:$closed/dir" --state-dir "$nostate"
  grep -q '^acmectl: usage error: ' "$ERR_FILE" || fail "no usage error line for 'revoke $args'"
done
assert_absent "$nostate"
ok "--cert-file without --key-file, the reverse, NAME with --cert-file, nothing at all: usage errors (exit 2)"

# A certificate recorded in the state dir given: marked revoked, so it is replaced.
expect_rc 0 revoke --cert-file "$out/$b/cert.pem" --key-file "$out/$b/privkey.pem" --reason superseded \
  "${PEBBLE_ARGS[@]}" --state-dir "$state" --json
assert_eq "$(jq -r .name "$OUT_FILE")" "$b" "json .name of a recorded certificate"
assert_eq "$(pebble_status "$serial_b")" Revoked "Pebble's status of $b"
expect_rc 0 list --state-dir "$state" --json
assert_eq "$(jq -r --arg n "$b" '.[] | select(.name == $n) | .last_result' "$OUT_FILE")" revoked "list last_result of $b"
ok "recorded certificate $b revoked by its key: marked revoked in the store"
