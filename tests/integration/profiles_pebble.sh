#!/usr/bin/env bash
# ACME profiles (draft-ietf-acme-profiles) against Debian's Pebble, which advertises none:
# `acmectl profiles` says so (text and --json), and `issue --profile shortlived` is refused
# before any order with exit 1 and one line naming the profile and the CA; nothing is
# written or recorded. (The positive path runs against the fake CA in pipeline_test.)
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

expect_rc 0 profiles "${PEBBLE_ARGS[@]}"
grep -q 'advertises no profiles' "$OUT_FILE" || fail "profiles: expected 'advertises no profiles'"
ok "acmectl profiles: $(head -1 "$OUT_FILE")"
expect_rc 0 profiles "${PEBBLE_ARGS[@]}" --json
assert_eq "$(jq -c .profiles "$OUT_FILE")" "[]" "profiles --json .profiles"
assert_eq "$(jq -r .server "$OUT_FILE")" "$PEBBLE_DIR_URL" "profiles --json .server"
ok "acmectl profiles --json: no profiles"

orders=$(pebble_new_orders)
read -r http01 < <(free_ports 1)
expect_rc 1 issue -d prof.acmectl.test "${PEBBLE_ARGS[@]}" --profile shortlived \
  --http01-listen "127.0.0.1:$http01" --state-dir "$TMP/state" --out "$TMP/live"
error_line
assert_match "$ERR_LINE" 'profile "shortlived"' "error names the profile"
[[ "$ERR_LINE" == *"$PEBBLE_DIR_URL"* ]] || fail "the error does not name the CA: $ERR_LINE"
assert_eq "$(pebble_new_orders)" "$orders" "Pebble orders after the refusal"
assert_no_files "$TMP/live"
assert_eq "$(sqlite3 "$TMP/state/acmectl.db" 'select count(*) from certificates')" 0 \
  "certificates recorded after the refusal"
ok "issue --profile shortlived: exit 1 before any order: $ERR_LINE"
