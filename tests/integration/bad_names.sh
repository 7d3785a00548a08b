#!/usr/bin/env bash
# Invalid names are refused before any work: exit 1, one line naming the bad
# name, nothing written. No -d at all is a usage error (exit 2). No CA needed:
# --server points at a closed port, so a client that went to the network
# first would fail with a different message.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

read -r closed http01 < <(free_ports 2 | paste -sd' ')
common=(--server "https://127.0.0.1:$closed/dir" --agree-tos --email test@example.com
  --state-dir "$TMP/state" --out "$TMP/live")
label63=$(printf 'a%.0s' {1..63})
label64=${label63}a
# 254 characters: three 63-character labels and one of 62, with dots.
long254=$label63.$label63.$label63.${label63:1}
assert_eq "${#long254}" 254 "length of the long name"

check_bad() { # NAME [extra options...]
  local bad=$1 line
  shift
  expect_one_line_error issue -d "$bad" -d ok.acmectl.test "${common[@]}" \
    --http01-listen "127.0.0.1:$http01" "$@"
  line=$ERR_LINE
  [[ "$line" == "acmectl: error: "* ]] || fail "error line lacks the 'acmectl: error: ' prefix: $line"
  if [[ -n "$bad" ]]; then
    [[ "$line" == *"$bad"* ]] || fail "error line does not name '$bad': $line"
  else
    [[ "$line" =~ (empty|\'\'|\"\") ]] || fail "error line does not say the name is empty: $line"
  fi
  assert_no_files "$TMP/live"
  assert_no_files "$TMP/state"
  ok "rejected '${bad:0:40}$([[ ${#bad} -gt 40 ]] && echo ...)': $line"
}

check_bad ""
check_bad "$label64.acmectl.test"
check_bad "$long254"
check_bad "a b.test"
check_bad "a..b.test"
check_bad "a/b.test"
check_bad "*.x.test"
# Issue 13 finding 8: what a CA would refuse is refused here, before the state dir exists.
check_bad "intranet"
check_bad "999.1.1.1"

expect_rc 2 issue "${common[@]}"
assert_no_files "$TMP/live"
ok "no -d: exit 2"
