#!/usr/bin/env bash
# A full and a read-only output directory (issue 13 finding 10), on a small tmpfs
# this test mounts (root only; skipped otherwise): the renewal fails with exit 1
# and an error naming the path that could not be written, the previous files stay
# a complete matching set, the failure is recorded, and a renewal after space is
# freed succeeds. Then the same with the state directory full: the error names
# the database or key file, not only "disk I/O error".
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"

skip() {
  echo "# SKIP disk_full: $*" >&2
  exit 0
}
((EUID == 0)) || skip "needs root to mount a tmpfs"
lib_init "$@"

MOUNTS=()
# Unmount before lib.sh's cleanup removes $TMP, and hand it the test's exit status.
unmount_all() {
  local m
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" || true; done
}
trap 'rc=$?; set +e; unmount_all; (exit "$rc"); _lib_cleanup' EXIT

mount_tmpfs() { # DIR SIZE
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0755" acmectl-test "$1" 2>"$TMP/mount.err" ||
    skip "cannot mount a tmpfs on $1: $(cat "$TMP/mount.err")"
  MOUNTS+=("$1")
}

# fill DIR: writes one file until the file system is full.
fill() {
  dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null || true
  [[ -s "$1/filler" ]] || fail "could not fill $1"
}

# assert_matching_set DIR SERIAL: the set in DIR is complete, the chain verifies,
# the key matches the certificate, and the serial is SERIAL.
assert_matching_set() {
  verify_chain "$1"
  assert_eq "$(openssl x509 -in "$1/cert.pem" -noout -pubkey)" \
    "$(openssl pkey -in "$1/privkey.pem" -pubout)" "public key of cert.pem vs privkey.pem in $1"
  assert_eq "$(cert_serial "$1/cert.pem")" "$2" "serial in $1"
}

assert_no_temp_files() {
  local left
  left=$(find "$1" -name '*.tmp-*' | head -n 5)
  [[ -z "$left" ]] || fail "temporary files left: $left"
}

name=full.acmectl.test
state=$TMP/state
out=$TMP/out
live=$out/$name
mount_tmpfs "$out" 64k
log "tmpfs of 64 KiB at $out"

expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$state" --out "$out"
serial=$(cert_serial "$live/cert.pem")
assert_matching_set "$live" "$serial"
ok "issued into the 64 KiB tmpfs"

# 1. Full output directory.
fill "$out"
expect_rc 1 renew --force "$name" --state-dir "$state"
error_line
log "$ERR_LINE"
grep -q "no space left on device writing $out/\.$name\.d/v2/" "$OUT_FILE" "$ERR_FILE" ||
  fail "the error does not name the full path under $out/.$name.d/v2/"
assert_matching_set "$live" "$serial"
assert_no_temp_files "$out"
assert_absent "$out/.$name.d/v2"
expect_rc 0 show "$name" --json --state-dir "$state"
assert_match "$(jq -r .last_error "$OUT_FILE")" "no space left on device writing $out/" \
  "show .last_error"
assert_eq "$(jq -r '.events[0].kind' "$OUT_FILE")" failed "latest event"
assert_match "$(jq -r '.events[0].detail' "$OUT_FILE")" "no space left on device" "event detail"
ok "full disk: exit 1 naming the path, previous set intact and matching, failure recorded"

rm "$out/filler"
expect_rc 0 renew --force "$name" --state-dir "$state"
serial2=$(cert_serial "$live/cert.pem")
[[ "$serial2" != "$serial" ]] || fail "renew after freeing space did not renew"
assert_matching_set "$live" "$serial2"
expect_rc 0 show "$name" --json --state-dir "$state"
assert_eq "$(jq -r .last_error "$OUT_FILE")" "" "last_error after the successful renewal"
ok "after freeing space, renew succeeds"

# 2. Read-only output directory.
mount -o remount,ro "$out" || fail "cannot remount $out read-only"
expect_rc 1 renew --force "$name" --state-dir "$state"
error_line
log "$ERR_LINE"
grep -q "read-only file system: cannot .* $out/" "$OUT_FILE" "$ERR_FILE" ||
  fail "the error does not say $out is read-only"
mount -o remount,rw "$out" || fail "cannot remount $out read-write"
assert_matching_set "$live" "$serial2"
assert_no_temp_files "$out"
ok "read-only output directory: exit 1 naming it, previous set intact"

# 3. Full state directory: the database or the key file is named.
state2=$TMP/state2
mount_tmpfs "$state2" 2m
name2=state.acmectl.test
expect_rc 0 issue -d "$name2" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$state2" --out "$TMP/out2"
serial3=$(cert_serial "$TMP/out2/$name2/cert.pem")
fill "$state2"
expect_rc 1 renew --force "$name2" --state-dir "$state2"
error_line
log "$ERR_LINE"
grep -q "no space left on device writing $state2/" "$OUT_FILE" "$ERR_FILE" ||
  fail "the error does not name the full path under $state2"
if grep -q "disk I/O error" "$OUT_FILE" "$ERR_FILE"; then
  fail "a bare 'disk I/O error' without the path"
fi
assert_matching_set "$TMP/out2/$name2" "$serial3"
rm "$state2/filler"
expect_rc 0 renew --force "$name2" --state-dir "$state2"
assert_matching_set "$TMP/out2/$name2" "$(cert_serial "$TMP/out2/$name2/cert.pem")"
ok "full state directory: exit 1 naming the path; renew succeeds once there is room"
