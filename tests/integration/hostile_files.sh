#!/usr/bin/env bash
# A hostile neighbour plants links and loosens modes in the output directory and
# the webroot (issue 13 findings 2 and 9): acmectl issue/renew refuse with one
# error naming the path, and no file outside acmectl's own tree is written or
# removed; the installed certificate stays served.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

name=hostile.acmectl.test
state=$TMP/state
out=$TMP/live
live=$out/$name
common=("${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --state-dir "$state"
  --out "$out")

# Someone else's directory of files, which a planted link points at.
victim=$TMP/victim
mkdir -p "$victim"
for f in index.html important.conf v1; do echo "keep $f" >"$victim/$f"; done
assert_victim_intact() {
  local f n
  for f in index.html important.conf v1; do
    [[ -f "$victim/$f" ]] || fail "$victim/$f was removed ($1)"
    assert_eq "$(cat "$victim/$f")" "keep $f" "content of $victim/$f ($1)"
  done
  n=$(find "$victim" -mindepth 1 | wc -l)
  assert_eq "$n" 3 "entries in $victim ($1)"
}

expect_rc 0 issue -d "$name" "${common[@]}"
expect_rc 0 renew --force "$name" --state-dir "$state"
verify_chain "$live"
serial=$(cert_serial "$live/cert.pem")
assert_eq "$(readlink "$live")" ".$name.d/v2" "link after issue + renew"
ok "issued and renewed: $live -> .$name.d/v2 (v1 kept as previous)"

# 1. A link in .NAME.d named like an old version: acmectl used to remove "v0"
#    with everything in the directory it points at.
ln -s "$victim" "$out/.$name.d/v0"
expect_rc 1 renew --force "$name" --state-dir "$state"
grep -q "refusing $out/.$name.d/v0: it is a symbolic link" "$OUT_FILE" "$ERR_FILE" ||
  fail "renew does not name the planted link"
assert_victim_intact "renew with a link in .NAME.d"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial" "served serial after the refused renew"
[[ -L "$out/.$name.d/v0" ]] || fail "the planted link was removed"
# issue with a state dir of its own: after an install failure, `issue` leaves its order
# in the store, which the next `renew` would resume with another key (reported to the
# pipeline's owner); that is not what this test is about.
expect_rc 1 issue -d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$TMP/state-issue" --out "$out"
error_line
assert_match "$ERR_LINE" "refusing $out/\.$name\.d/v0: it is a symbolic link .*mode 0777, owner uid $(id -u)" \
  "issue's error line"
assert_victim_intact "issue with a link in .NAME.d"
verify_chain "$live"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial" "served serial after the refused issue"
ok "a link in .NAME.d: renew and issue refuse naming it, $victim intact, old certificate served"
rm "$out/.$name.d/v0"

# 2. A .NAME.d others can write.
chmod 0777 "$out/.$name.d"
expect_rc 1 renew --force "$name" --state-dir "$state"
grep -q "refusing $out/.$name.d: it is writable by others (mode 0777, owner uid $(id -u))" \
  "$OUT_FILE" "$ERR_FILE" || fail "renew does not refuse a world-writable .NAME.d"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial" "served serial after the refused renew"
expect_rc 0 show "$name" --json --state-dir "$state"
assert_match "$(jq -r .last_error "$OUT_FILE")" "writable by others" "show .last_error"
ok "a world-writable .NAME.d is refused and the failure recorded"
chmod 0755 "$out/.$name.d"
expect_rc 0 renew --force "$name" --state-dir "$state"
verify_chain "$live"
[[ "$(cert_serial "$live/cert.pem")" != "$serial" ]] || fail "renew after the fix did not renew"
ok "once the mode is fixed, renew succeeds"

# 3. .NAME.d itself a link, for a new certificate: nothing is written through it.
other=other.acmectl.test
ln -s "$victim" "$out/.$other.d"
expect_rc 1 issue -d "$other" "${common[@]}"
error_line
assert_match "$ERR_LINE" "refusing $out/\.$other\.d: it is a symbolic link" "issue's error line"
assert_victim_intact "issue with .NAME.d a link"
assert_absent "$out/$other"
ok "a .NAME.d that is a link: issue refuses, nothing written into $victim"

# 4. Webroot: .well-known/acme-challenge planted as a link to elsewhere.
webroot=$TMP/www
elsewhere=$TMP/elsewhere
mkdir -p "$webroot/.well-known" "$elsewhere"
ln -s "$elsewhere" "$webroot/.well-known/acme-challenge"
expect_rc 1 issue -d web.acmectl.test "${PEBBLE_ARGS[@]}" --webroot "$webroot" \
  --state-dir "$state" --out "$out"
grep -q "webroot: $webroot/.well-known/acme-challenge is a symbolic link" "$OUT_FILE" \
  "$ERR_FILE" || fail "issue --webroot does not name the planted link"
n=$(find "$elsewhere" -mindepth 1 | wc -l)
assert_eq "$n" 0 "files written into $elsewhere through the planted link"
ok "webroot: a linked acme-challenge is refused, nothing written in $elsewhere"

rm "$webroot/.well-known/acme-challenge"
rmdir "$webroot/.well-known"
ln -s "$elsewhere" "$webroot/.well-known"
expect_rc 1 issue -d web.acmectl.test "${PEBBLE_ARGS[@]}" --webroot "$webroot" \
  --state-dir "$state" --out "$out"
grep -q "webroot: $webroot/.well-known is a symbolic link" "$OUT_FILE" "$ERR_FILE" ||
  fail "issue --webroot does not name the planted .well-known link"
n=$(find "$elsewhere" -mindepth 1 | wc -l)
assert_eq "$n" 0 "files or directories created in $elsewhere through .well-known"
ok "webroot: a linked .well-known is refused, nothing created in $elsewhere"
