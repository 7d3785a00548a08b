#!/usr/bin/env bash
# Issue 12, --dry-run against a real Pebble of its own (no lock): the whole flow goes
# to the CA (Pebble logs one more order each time) and nothing is written locally.
# - `issue --dry-run` with no state dir at all: none is created, no out dir, exit 0
#   (a temporary account lives in memory only).
# - after a real issue with a deploy hook: `issue --dry-run` and `renew --dry-run`
#   leave the state dir and the out dir byte-identical (names, modes, contents),
#   run no hook, and `renew --dry-run` reports every certificate even when not due.
# - a dry run the CA fails (validation with no responder): exit 1, nothing written.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

start_fixture "$TMP/pebble"
state=$TMP/state
out=$TMP/live
listen=(--http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT")

# snapshot DIR...: every path below the dirs with its type, mode and checksum.
snapshot() {
  local d
  for d in "$@"; do
    [[ -e "$d" ]] || {
      echo "absent $d"
      continue
    }
    find "$d" -printf '%y %m %p %l\n' | LC_ALL=C sort
    find "$d" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  done
}

# 1. No state at all.
orders=$(pebble_new_orders)
expect_rc 0 issue --dry-run -d first.acmectl.test "${PEBBLE_ARGS[@]}" "${listen[@]}" \
  --state-dir "$state" --out "$out" --json
[[ ! -e "$state" && ! -e "$out" ]] || fail "a dry run created $state or $out"
assert_eq "$(jq -r .dry_run "$OUT_FILE")" true "json .dry_run"
assert_match "$(jq -r .message "$OUT_FILE")" 'nothing was written' "json .message"
assert_eq "$(pebble_new_orders)" "$((orders + 1))" "Pebble orders after the first dry run"
grep -q 'temporary' "$ERR_FILE" || fail "the log does not say the account was temporary"
ok "issue --dry-run without a state dir: Pebble saw the order, nothing was created"

# 2. A real certificate with a deploy hook, then dry runs beside it.
hook_log=$TMP/hook.log
cat >"$TMP/hook.sh" <<EOF
#!/bin/sh
echo "\$ACMECTL_CERT_NAME" >>"$hook_log"
EOF
chmod 755 "$TMP/hook.sh"
expect_rc 0 issue -d real.acmectl.test "${PEBBLE_ARGS[@]}" "${listen[@]}" --state-dir "$state" \
  --out "$out" --deploy-hook "$TMP/hook.sh"
assert_eq "$(wc -l <"$hook_log")" 1 "hook runs after the real issue"
before=$(snapshot "$state" "$out" "$hook_log")
orders=$(pebble_new_orders)

expect_rc 0 issue --dry-run -d real.acmectl.test "${PEBBLE_ARGS[@]}" "${listen[@]}" \
  --state-dir "$state" --out "$out" --deploy-hook "$TMP/hook.sh"
grep -q 'dry run: the CA issued serial' "$OUT_FILE" || fail "issue --dry-run printed no result"
grep -q '(stored)' "$ERR_FILE" || fail "the dry run did not use the stored account"
assert_eq "$(pebble_new_orders)" "$((orders + 1))" "Pebble orders after issue --dry-run"
expect_rc 0 issue --dry-run -d other.acmectl.test "${PEBBLE_ARGS[@]}" "${listen[@]}" \
  --state-dir "$state" --out "$out"
assert_eq "$(pebble_new_orders)" "$((orders + 2))" "Pebble orders after a second issue --dry-run"

# The real certificate is not due (Pebble's are valid for years): renew --dry-run still
# goes to the CA for it.
expect_rc 0 renew --dry-run --state-dir "$state" --json
assert_eq "$(jq -r '.[0].name' "$OUT_FILE")" real.acmectl.test "renew --dry-run .name"
assert_eq "$(jq -r '.[0].outcome' "$OUT_FILE")" dry-run "renew --dry-run .outcome"
assert_eq "$(jq -r '.[0].installed' "$OUT_FILE")" false "renew --dry-run .installed"
assert_eq "$(pebble_new_orders)" "$((orders + 3))" "Pebble orders after renew --dry-run"
after=$(snapshot "$state" "$out" "$hook_log")
[[ "$before" == "$after" ]] || fail "a dry run changed local files: $(diff <(echo "$before") <(echo "$after"))"
expect_rc 0 show real.acmectl.test --state-dir "$state" --json
[[ "$(jq -r '[.events[] | select(.kind != "obtained" and .kind != "ordered" and .kind != "hook_ran")] | length' "$OUT_FILE")" == 0 ]] ||
  fail "unexpected events recorded: $(jq -c .events "$OUT_FILE")"
ok "issue/renew --dry-run: 3 more orders at Pebble, state and out dirs byte-identical, no hook"

# 3. A dry run that fails at the CA: nothing written either (no responder listens on the
# port Pebble validates, so the challenge fails).
before=$(snapshot "$state" "$out")
spare=$(free_ports 1)
expect_rc 1 issue --dry-run -d fails.acmectl.test "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$spare" \
  --state-dir "$state" --out "$out" --timeout 20
error_line
after=$(snapshot "$state" "$out")
[[ "$before" == "$after" ]] || fail "a failed dry run changed local files"
ok "a failed dry run: exit 1 ($ERR_LINE), nothing written"
