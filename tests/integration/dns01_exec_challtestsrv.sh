#!/usr/bin/env bash
# The exec provider: acmectl runs a hook (tests/support/dns01_challtestsrv_hook.sh)
# as HOOK present|cleanup FQDN VALUE, without a shell; the hook drives
# pebble-challtestsrv's /set-txt and /clear-txt, which the shared Pebble
# resolves through. Wildcard and apex: two presents and two cleanups with the
# same values; nothing is left in challtestsrv afterwards.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
[[ -n "${CHALLTESTSRV_MGMT_URL:-}" ]] || fail "the shared Pebble fixture has no pebble-challtestsrv"
export CHALLTESTSRV_MGMT_URL
export DNS01_HOOK_LOG=$TMP/hook.log

base=exec.dns01.acmectl.test
expect_rc 0 issue -d "*.$base" -d "$base" "${PEBBLE_ARGS[@]}" --challenge dns-01 \
  --dns-provider exec --dns-exec "$LIB_DIR/dns01_challtestsrv_hook.sh" \
  --dns-resolver "$CHALLTESTSRV_DNS" --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/_wildcard.$base"
assert_sans "$TMP/live/_wildcard.$base/cert.pem" "*.$base" "$base"
ok "issued *.$base and $base through the exec hook"

fqdn=_acme-challenge.$base.
mapfile -t presents < <(grep "^present " "$DNS01_HOOK_LOG" | LC_ALL=C sort)
mapfile -t cleanups < <(grep "^cleanup " "$DNS01_HOOK_LOG" | LC_ALL=C sort)
assert_eq "${#presents[@]}" 2 "present calls"
assert_eq "${#cleanups[@]}" 2 "cleanup calls"
for i in 0 1; do
  read -r _ f v <<<"${presents[$i]}"
  assert_eq "$f" "$fqdn" "FQDN given to the hook"
  assert_match "$v" '^[A-Za-z0-9_-]{43}$' "VALUE given to the hook (RFC 8555 §8.4 base64url SHA-256)"
  assert_eq "${cleanups[$i]#cleanup }" "${presents[$i]#present }" "cleanup arguments"
done
[[ "${presents[0]}" != "${presents[1]}" ]] || fail "wildcard and apex got the same value"
ok "present and cleanup called with the same FQDN and values"

assert_no_txt "$fqdn" "$CHALLTESTSRV_DNS"
ok "no TXT left in pebble-challtestsrv"
