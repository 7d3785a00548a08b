#!/usr/bin/env bash
# Issue 12, dns-persist-01 (experimental) at the command line against the shared Pebble,
# which does not offer it (no meta.issuerDomainNames, no caaIdentities): persist-record
# says so in one line (exit 1) and writes nothing; bad --policy, --persist-until, an IP or
# a wildcard without --policy wildcard are usage errors (exit 2), before any request.
# The record format and the order flow are checked against the fake CA (issue12_test).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

state=$TMP/state
expect_one_line_error persist-record -d p.acmectl.test "${PEBBLE_ARGS[@]}" --state-dir "$state"
assert_match "$ERR_LINE" 'does not offer dns-persist-01' "refusal names the challenge"
[[ ! -e "$state" ]] || fail "persist-record wrote $state for a CA without dns-persist-01"
ok "a CA without dns-persist-01: one line, exit 1, nothing written"

for args in "--policy subdomains" "--persist-until soon" "--persist-until 2027-13-40"; do
  # shellcheck disable=SC2086 # two words on purpose
  expect_rc 2 persist-record -d p.acmectl.test $args "${PEBBLE_ARGS[@]}" --state-dir "$state"
done
expect_rc 2 persist-record -d 192.0.2.1 "${PEBBLE_ARGS[@]}" --state-dir "$state"
expect_rc 2 persist-record -d '*.p.acmectl.test' "${PEBBLE_ARGS[@]}" --state-dir "$state"
grep -q -- '--policy wildcard' "$ERR_FILE" || fail "the wildcard error does not name --policy wildcard"
expect_rc 1 persist-record -d p.acmectl.test --persist-until 1000 "${PEBBLE_ARGS[@]}" --state-dir "$state"
expect_rc 2 issue -d p.acmectl.test --persist-until 2027-01-01 "${PEBBLE_ARGS[@]}" --state-dir "$state"
[[ ! -e "$state" ]] || fail "a refused command wrote $state"
ok "bad --policy / --persist-until / IP / wildcard without policy: refused, nothing written"
