#!/usr/bin/env bash
# CA unreachable: `acmectl agent --once` fails (exit 1) and records the backoff
# in the store (1 min after the first failure); a restart inside the backoff
# makes no new attempt; once it has expired the next failure backs off 10 min.
# The backoff grows and survives restarts.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

mapfile -t ports < <(free_ports 2)
closed=${ports[0]} http01=${ports[1]}
state=$TMP/state
db=$state/acmectl.db
cat >"$TMP/acmectl.toml" <<TOML
state_dir = "$state"

[acme]
server = "https://127.0.0.1:$closed/dir"
email = "backoff@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$http01"
metrics_listen = "off"

[[certificate]]
name = "down"
domains = ["down.acmectl.test"]
out = "$TMP/live"
TOML

q() { sqlite3 "$db" "select $1 from certificates where name = 'down'"; }

# assert_near VALUE WANT TOLERANCE WHAT
assert_near() {
  (($1 >= $2 - $3 && $1 <= $2 + $3)) || fail "$4: $1 is not within $3 of $2"
}

t0=$(date +%s)
expect_rc 1 agent --once --config "$TMP/acmectl.toml"
t1=$(date +%s)
assert_eq "$(q consecutive_failures)" 1 "consecutive_failures after the first run"
next1=$(q next_attempt)
assert_near "$next1" $(((t0 + t1) / 2 + 60)) $(((t1 - t0) / 2 + 3)) "next_attempt after the first failure (now+60)"
[[ -n "$(q last_error)" ]] || fail "last_error is empty"
grep -q "127.0.0.1:$closed" <<<"$(q last_error)" || fail "last_error does not name the CA: $(q last_error)"
assert_absent "$TMP/live/down"
ok "first failure: consecutive_failures=1, next_attempt=now+60, last_error names the CA"

# A restart inside the backoff: no new attempt.
run_acmectl agent --once --config "$TMP/acmectl.toml"
((RC == 0 || RC == 1)) || fail "expected exit 0 or 1, got $RC"
assert_eq "$(q consecutive_failures)" 1 "consecutive_failures after a restart inside the backoff"
assert_eq "$(q next_attempt)" "$next1" "next_attempt after a restart inside the backoff"
ok "restart inside the backoff: no new attempt (exit $RC)"

expect_rc 0 list --json --state-dir "$state"
assert_eq "$(jq -r '.[0].consecutive_failures' "$OUT_FILE")" 1 "list --json consecutive_failures"
assert_match "$(jq -r '.[0].last_result' "$OUT_FILE")" '^failing' "list --json last_result"

# Backoff expired: the next failure doubles down (10 min).
sqlite3 "$db" "update certificates set next_attempt = strftime('%s','now') - 1, next_check = strftime('%s','now') - 1 where name = 'down'"
t0=$(date +%s)
expect_rc 1 agent --once --config "$TMP/acmectl.toml"
t1=$(date +%s)
assert_eq "$(q consecutive_failures)" 2 "consecutive_failures after the second failure"
assert_near "$(q next_attempt)" $(((t0 + t1) / 2 + 600)) $(((t1 - t0) / 2 + 3)) "next_attempt after the second failure (now+600)"
ok "second failure after a restart: consecutive_failures=2, next_attempt=now+600"

sqlite3 "$db" "update certificates set next_attempt = strftime('%s','now') - 1, next_check = strftime('%s','now') - 1 where name = 'down'"
t0=$(date +%s)
expect_rc 1 agent --once --config "$TMP/acmectl.toml"
t1=$(date +%s)
assert_eq "$(q consecutive_failures)" 3 "consecutive_failures after the third failure"
assert_near "$(q next_attempt)" $(((t0 + t1) / 2 + 6000)) $(((t1 - t0) / 2 + 3)) "next_attempt after the third failure (now+6000)"
nfailed=$(sqlite3 "$db" "select count(*) from events where cert_name = 'down' and kind = 'failed'")
assert_eq "$nfailed" 3 "failed events recorded"
ok "third failure: next_attempt=now+6000; 3 failed events"
