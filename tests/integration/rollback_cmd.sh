#!/usr/bin/env bash
# `acmectl rollback NAME` against a Pebble of its own with 20-second certificates:
# after a renewal the previous version comes back with one switch of OUT/NAME, the
# store and `show` say so, the deploy hook runs (ACMECTL_EVENT=rolled_back) and --json
# reports both serials; a second rollback in a row, an unknown name, a certificate with
# one version and an expired previous certificate are refused with one line, exit 1,
# nothing changed; `renew --force` renews after a rollback.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

PEBBLE_CERTIFICATE_VALIDITY_PERIOD=20 start_fixture "$TMP/pebble"
name=rollback.acmectl.test
state=$TMP/state
live=$TMP/live/$name
export HOOK_LOG=$TMP/hook.log
cat >"$TMP/hook.sh" <<'HOOK'
#!/bin/sh
echo "$ACMECTL_EVENT $ACMECTL_CERT_NAME $(openssl x509 -in "$ACMECTL_CERT_PATH" -noout -serial)" >>"$HOOK_LOG"
HOOK
chmod +x "$TMP/hook.sh"
issue() {
  expect_rc 0 issue -d "$1" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
    --state-dir "$state" --out "$TMP/live" --deploy-hook "$TMP/hook.sh"
}
# snapshot DIR: what OUT/NAME points at and the serial it holds.
snapshot() { echo "$(readlink "$1") $(cert_serial "$1/cert.pem")"; }

issue "$name"
serial1=$(cert_serial "$live/cert.pem")
expect_rc 0 renew --force "$name" --state-dir "$state"
serial2=$(cert_serial "$live/cert.pem")
[[ "$serial2" != "$serial1" ]] || fail "renew --force did not replace the certificate"
link2=$(readlink "$live")

expect_rc 0 rollback "$name" --json --state-dir "$state"
assert_eq "$(norm_serial "$(jq -r .from_serial "$OUT_FILE")")" "$serial2" "rollback --json from_serial"
assert_eq "$(norm_serial "$(jq -r .serial "$OUT_FILE")")" "$serial1" "rollback --json serial"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial1" "installed serial after the rollback"
[[ "$(readlink "$live")" != "$link2" ]] || fail "OUT/NAME still points at $link2"
assert_mode "$live/privkey.pem" 600
openssl x509 -in "$live/cert.pem" -noout -pubkey >"$TMP/cert.pub"
openssl pkey -in "$live/privkey.pem" -pubout >"$TMP/key.pub"
cmp -s "$TMP/cert.pub" "$TMP/key.pub" || fail "privkey.pem does not match cert.pem after the rollback"
grep -q "^rolled_back $name serial=" "$HOOK_LOG" || fail "deploy hook did not run with ACMECTL_EVENT=rolled_back"
expect_rc 0 show "$name" --json --state-dir "$state"
assert_eq "$(norm_serial "$(jq -r .serial "$OUT_FILE")")" "$serial1" "serial in the store after the rollback"
jq -e '.events | map(select(.kind == "rolled_back")) | length == 1' "$OUT_FILE" >/dev/null ||
  fail "show has no rolled_back event"
ok "rollback: serial $serial2 -> $serial1, one switch of OUT/NAME, key matches, hook ran, recorded"

# Twice in a row: the version before serial1 is gone (two are kept): refused, unchanged.
before=$(snapshot "$live")
expect_one_line_error rollback "$name" --state-dir "$state"
assert_match "$ERR_LINE" "nothing to roll back to" "second rollback"
assert_eq "$(snapshot "$live")" "$before" "OUT/NAME after a refused rollback"
ok "a second rollback in a row: refused (nothing to roll back to), nothing changed"

expect_one_line_error rollback no-such.acmectl.test --state-dir "$state"
assert_match "$ERR_LINE" "no certificate named no-such.acmectl.test" "unknown name"
expect_rc 2 rollback --state-dir "$state"
ok "unknown name: exit 1, one line; no name: usage error"

# A certificate with one version only.
one=one.acmectl.test
issue "$one"
before=$(snapshot "$TMP/live/$one")
expect_one_line_error rollback "$one" --state-dir "$state"
assert_match "$ERR_LINE" "nothing to roll back to" "rollback of a first issue"
assert_eq "$(snapshot "$TMP/live/$one")" "$before" "OUT/NAME after a refused rollback"
ok "a certificate never renewed: refused, nothing changed"

# After a rollback, renewal is paused (a plain renew leaves it) but --force renews.
expect_rc 0 renew "$name" --state-dir "$state"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial1" "serial after a renew during the pause"
expect_rc 0 renew --force "$name" --state-dir "$state"
serial3=$(cert_serial "$live/cert.pem")
[[ "$serial3" != "$serial1" && "$serial3" != "$serial2" ]] || fail "renew --force after the rollback did not renew"
ok "renewal paused after the rollback; renew --force renewed (serial $serial3)"

# The previous certificate has expired (20-second certificates): refused.
expired=$(cert_not_after "$TMP/live/$one/cert.pem")
expect_rc 0 renew --force "$one" --state-dir "$state"
wait_s=$((expired - $(date +%s) + 1))
((wait_s > 0)) && sleep "$wait_s"
before=$(snapshot "$TMP/live/$one")
expect_one_line_error rollback "$one" --state-dir "$state"
assert_match "$ERR_LINE" "previous certificate .* expired" "rollback to an expired certificate"
assert_eq "$(snapshot "$TMP/live/$one")" "$before" "OUT/NAME after a refused rollback"
ok "the previous certificate expired: refused, nothing changed"
