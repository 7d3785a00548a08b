#!/usr/bin/env bash
# Propagation never completes: the record is added to BIND9, but propagation
# is checked at a server that never has it (the shared fixture's
# pebble-challtestsrv). After --propagation-timeout: exit 1, one line saying
# what is missing where, and the record was deleted again (cleanup ran).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
use_bind9
[[ -n "${CHALLTESTSRV_DNS:-}" ]] || fail "the shared Pebble fixture has no pebble-challtestsrv"

name=timeout.example.test
record=_acme-challenge.$name
adds0=$(bind9_count adding "$record")
dels0=$(bind9_count deleting "$record")
t0=$(date +%s)
expect_failure_line issue -d "$name" "${PEBBLE_ARGS[@]}" --challenge dns-01 \
  --dns-provider rfc2136 --rfc2136-server "$BIND9_SERVER" \
  --rfc2136-tsig-name "$BIND9_TSIG_NAME" --rfc2136-tsig-secret "$BIND9_TSIG_SECRET" \
  --dns-resolver "$CHALLTESTSRV_DNS" --propagation-timeout 3 --propagation-interval 1 \
  --state-dir "$TMP/state" --out "$TMP/live"
took=$(($(date +%s) - t0))
((took >= 3 && took < 30)) || fail "the run took ${took}s, expected about 3s"
[[ "$ERR_LINE" == *"propagation timed out after 3s"* ]] ||
  fail "error line does not say propagation timed out: $ERR_LINE"
[[ "$ERR_LINE" == *"$CHALLTESTSRV_DNS does not serve TXT"*"$record."* ]] ||
  fail "error line does not name the server and the record: $ERR_LINE"
ok "timed out after ${took}s with a clear error"

assert_eq "$(($(bind9_count adding "$record") - adds0))" 1 "TXT values added at $record"
assert_eq "$(($(bind9_count deleting "$record") - dels0))" 1 "TXT values deleted at $record"
assert_no_txt "$record"
assert_no_files "$TMP/live"
ok "cleanup ran: the value was added, then deleted"
