#!/usr/bin/env bash
# Issue 13 findings 6 and 7 end to end: programs acmectl starts see only
# descriptors 0, 1 and 2 (no TLS socket to the CA, no curl socketpair, no
# database), and what they print reaches acmectl's stderr with control
# characters escaped. acmectl runs with an inherited descriptor 7 that is not
# close-on-exec. One dns-01 issuance through the exec provider (a wrapper
# around tests/support/dns01_challtestsrv_hook.sh) with a deploy hook; both write
# `ls /proc/self/fd`, where ls's own directory descriptor is the one extra (3).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
[[ -n "${CHALLTESTSRV_MGMT_URL:-}" ]] || fail "the shared Pebble fixture has no pebble-challtestsrv"
export CHALLTESTSRV_MGMT_URL FD_DIR=$TMP/fds REAL_HOOK=$LIB_DIR/dns01_challtestsrv_hook.sh
mkdir -p "$FD_DIR"

cat >"$TMP/dns-hook.sh" <<'HOOK'
#!/bin/sh
ls /proc/self/fd >"$FD_DIR/dns-$1-$$.names"
ls -l /proc/self/fd >"$FD_DIR/dns-$1-$$.long"
exec "$REAL_HOOK" "$@"
HOOK
cat >"$TMP/deploy-hook.sh" <<'HOOK'
#!/bin/sh
ls /proc/self/fd >"$FD_DIR/deploy-$$.names"
ls -l /proc/self/fd >"$FD_DIR/deploy-$$.long"
printf 'deployed \033[31mred\033]0;title\007 done\n'
HOOK
chmod +x "$TMP/dns-hook.sh" "$TMP/deploy-hook.sh"

# acmectl itself inherits a descriptor that is not close-on-exec (as from a service
# manager or a careless parent): it must not reach the programs acmectl starts either.
exec 7<"$TMP/dns-hook.sh"
name=fds.dns01.acmectl.test
expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --challenge dns-01 \
  --dns-provider exec --dns-exec "$TMP/dns-hook.sh" --dns-resolver "$CHALLTESTSRV_DNS" \
  --deploy-hook "$TMP/deploy-hook.sh" --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/$name"
exec 7<&-

shopt -s nullglob
lists=("$FD_DIR"/*.names)
((${#lists[@]} >= 3)) || fail "expected listings from present, cleanup and the deploy hook, got ${#lists[@]}"
for f in "${lists[@]}"; do
  seen=$(tr '\n' ' ' <"$f")
  [[ "$seen" == "0 1 2 3 " ]] ||
    fail "$(basename "$f" .names) saw descriptors: $seen(want 0 1 2 3, 3 being ls's own):
$(cat "${f%.names}.long")"
done
ok "${#lists[@]} programs (dns-01 present/cleanup, deploy hook) saw only 0 1 2 (+ ls's own 3)"

# Finding 7: the deploy hook's terminal escapes are logged as \xNN, never raw.
grep -qF 'deployed \x1b[31mred\x1b]0;title\x07 done' "$ERR_FILE" ||
  fail "the hook's output line is not in acmectl's stderr, escaped"
if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$ERR_FILE"; then
  fail "a raw control character reached acmectl's stderr"
fi
ok "the hook's ANSI escapes reached stderr escaped"
