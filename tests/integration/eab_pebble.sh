#!/usr/bin/env bash
# External Account Binding (RFC 8555 §7.3.4) against a private Pebble started with
# externalAccountBindingRequired and one MAC key: no EAB (refused before newAccount, the
# message says which options to pass), a malformed key (usage error), a wrong key (the CA's
# refusal names EAB), then success from the command line, from the environment and from
# the config file. The MAC key is never in the database or the logs.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

kid="kid-1"
key=zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W
wrong=b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH
PEBBLE_EAB_KID=$kid PEBBLE_EAB_HMAC_KEY=$key start_fixture "$TMP/pebble"
jq -e '.meta.externalAccountRequired == true' <(curl -fsS --cacert "$PEBBLE_CA_BUNDLE" "$PEBBLE_DIR_URL") >/dev/null ||
  fail "the private Pebble does not require EAB"

name=eab.acmectl.test
common=(-d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT")


# 1. No EAB: refused before newAccount, naming the options.
before=$(grep -c 'POST /sign-me-up' "$PEBBLE_FIXTURE_DIR/pebble.log" || true)
expect_rc 1 issue "${common[@]}" --state-dir "$TMP/s1" --out "$TMP/live1"
error_line
assert_match "$ERR_LINE" 'External Account Binding.*--eab-kid.*--eab-hmac-key' "no-EAB error"
assert_eq "$(grep -c 'POST /sign-me-up' "$PEBBLE_FIXTURE_DIR/pebble.log" || true)" "$before" \
  "newAccount requests after the refusal"
assert_no_files "$TMP/live1"
ok "no EAB: exit 1 before newAccount: $ERR_LINE"

# 2. A MAC key that is not base64url: a usage error, nothing sent.
expect_rc 2 issue "${common[@]}" --state-dir "$TMP/s2" --out "$TMP/live2" \
  --eab-kid "$kid" --eab-hmac-key 'not/base64url+'
grep -q 'External Account Binding.*not base64url' "$ERR_FILE" || fail "malformed key: no clear message"
assert_no_files "$TMP/live2"
ok "malformed MAC key: exit 2, says it is not base64url"

# 3. A wrong key: the CA refuses; the error names EAB.
expect_rc 1 issue "${common[@]}" --state-dir "$TMP/s3" --out "$TMP/live3" \
  --eab-kid "$kid" --eab-hmac-key "$wrong"
error_line
assert_match "$ERR_LINE" 'External Account Binding \(kid kid-1\) refused by the CA' "wrong-key error"
[[ "$ERR_LINE" != *"$wrong"* ]] || fail "the error line shows the MAC key"
assert_no_files "$TMP/live3"
ok "wrong MAC key: exit 1: $ERR_LINE"

# 4. The right key on the command line (debug logs, to check they never show it).
expect_rc 0 issue "${common[@]}" --state-dir "$TMP/s4" --out "$TMP/live4" \
  --eab-kid "$kid" --eab-hmac-key "$key" --log-level debug
verify_chain "$TMP/live4/$name"
! grep -q "$key" "$ERR_FILE" "$OUT_FILE" || fail "the MAC key appears in the output or logs"
for f in "$TMP/s4"/acmectl.db*; do
  ! grep -q "$key" "$f" || fail "the MAC key is in $f"
done
! sqlite3 "$TMP/s4/acmectl.db" .dump | grep -q "$key" || fail "the MAC key is in the database"
ok "--eab-kid/--eab-hmac-key: issued; the key is in neither the database nor the logs"

# A renewal of the registered account needs no EAB any more.
expect_rc 0 renew --state-dir "$TMP/s4" "${PEBBLE_ARGS[@]}" --force
ok "renew --force on the EAB-registered account without EAB options"

# 5. From the environment, HS256 spelled out.
LAST_CMD="ACMECTL_EAB_KID=… ACMECTL_EAB_HMAC_KEY=… acmectl issue"
RC=0
ACMECTL_EAB_KID=$kid ACMECTL_EAB_HMAC_KEY=$key "$ACMECTL" issue "${common[@]}" --eab-alg HS256 \
  --state-dir "$TMP/s5" --out "$TMP/live5" >"$OUT_FILE" 2>"$ERR_FILE" </dev/null || RC=$?
((RC == 0)) || fail "issue with ACMECTL_EAB_* exited $RC"
verify_chain "$TMP/live5/$name"
ok "ACMECTL_EAB_KID/ACMECTL_EAB_HMAC_KEY: issued"

# 6. From the config file: eab_kid and eab_hmac_key_file in [acme].
printf '%s\n' "$key" >"$TMP/eab.key"
chmod 600 "$TMP/eab.key"
cat >"$TMP/acmectl.toml" <<TOML
[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "test@example.com"
agree_tos = true
eab_kid = "$kid"
eab_hmac_key_file = "$TMP/eab.key"
TOML
expect_rc 0 issue -d "$name" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --config "$TMP/acmectl.toml" --state-dir "$TMP/s6" --out "$TMP/live6"
verify_chain "$TMP/live6/$name"
ok "[acme] eab_kid + eab_hmac_key_file: issued"
