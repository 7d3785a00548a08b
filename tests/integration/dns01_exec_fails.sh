#!/usr/bin/env bash
# An exec hook that exits 1: exit 1, one line naming the program, the call and
# the last line of its stderr. A hook that fails at cleanup after a successful
# issuance only warns.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
[[ -n "${CHALLTESTSRV_MGMT_URL:-}" ]] || fail "the shared Pebble fixture has no pebble-challtestsrv"
export CHALLTESTSRV_MGMT_URL
hook=$LIB_DIR/dns01_challtestsrv_hook.sh

name=hookfail.dns01.acmectl.test
DNS01_HOOK_FAIL=present expect_failure_line issue -d "$name" "${PEBBLE_ARGS[@]}" \
  --challenge dns-01 --dns-provider exec --dns-exec "$hook" \
  --dns-resolver "$CHALLTESTSRV_DNS" --state-dir "$TMP/state" --out "$TMP/live"
assert_match "$ERR_LINE" \
  "dns exec hook $hook present _acme-challenge\\.$name\\. [A-Za-z0-9_-]{43} exited with status 1: challtestsrv hook: present refused on purpose for _acme-challenge\\.$name\\.\$" \
  "error line"
assert_no_files "$TMP/live"
ok "hook exit 1: one line with the program, its arguments and its stderr"

expect_failure_line issue -d "$name" "${PEBBLE_ARGS[@]}" --challenge dns-01 \
  --dns-provider exec --dns-exec "$TMP/missing-hook" --state-dir "$TMP/state" --out "$TMP/live"
[[ "$ERR_LINE" == *"--dns-exec $TMP/missing-hook: No such file or directory"* ]] ||
  fail "a missing hook is not reported as such: $ERR_LINE"
ok "missing hook: refused before any order"

# Cleanup failing after a valid order: the certificate is still issued.
name2=cleanupfail.dns01.acmectl.test
DNS01_HOOK_FAIL=cleanup expect_rc 0 issue -d "$name2" "${PEBBLE_ARGS[@]}" --challenge dns-01 \
  --dns-provider exec --dns-exec "$hook" --dns-resolver "$CHALLTESTSRV_DNS" \
  --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/$name2"
grep -q "warn.*dns-01 cleanup: dns exec hook $hook cleanup" "$ERR_FILE" ||
  fail "a failed cleanup was not logged as a warning"
ok "a failing cleanup is a warning, the certificate is issued"
curl -sf --max-time 5 -X POST -d "{\"host\":\"_acme-challenge.$name2.\"}" \
  "$CHALLTESTSRV_MGMT_URL/clear-txt" >/dev/null || true
