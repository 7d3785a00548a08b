#!/usr/bin/env bash
# A user's days with one state dir and one config, against a Pebble of its own, the
# way docs/deploy.md sets it up (the agent's shared HTTP-01 responder on
# [agent] http01_listen, nothing on the certificates):
#   day 1  the agent's first start with three certificates on an empty state dir:
#          one account (newAccount once), three certificates (repeated on fresh state
#          dirs: the account race was intermittent);
#   day 2  stopped and started again: nothing ordered; `acmectl renew --force NAME`
#          while it runs goes through agent.sock: exactly one new order, no second
#          responder;
#   day 3  the agent stopped, the timer's `acmectl renew --force` (several rounds)
#          answers on [agent] http01_listen and reuses the one account; the post hook
#          gets ACMECTL_RENEWED_NAMES;
#   day 4  `acmectl issue` twice: the second contacts no CA; dropping names needs
#          --force; `acmectl delete`;
#   day 5  a certificate dropped from the config + SIGHUP: unmanaged, not renewed.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

start_fixture "$TMP/pebble"
log "private Pebble at $PEBBLE_DIR_URL"

out=$TMP/live
export DEPLOY_LOG=$TMP/deploy.log POST_LOG=$TMP/post.log
cat >"$TMP/deploy-hook.sh" <<'HOOK'
#!/bin/sh
echo "$ACMECTL_EVENT $ACMECTL_CERT_NAME" >>"$DEPLOY_LOG"
HOOK
cat >"$TMP/post-hook.sh" <<'HOOK'
#!/bin/sh
echo "renewed=[$ACMECTL_RENEWED_NAMES] failed=[$ACMECTL_FAILED_NAMES]" >>"$POST_LOG"
HOOK
chmod +x "$TMP/deploy-hook.sh" "$TMP/post-hook.sh"

# write_config STATE NAMES...: the config of docs/deploy.md with these certificates
# (files in $out).
write_config() {
  local state=$1 n
  shift
  {
    cat <<TOML
state_dir = "$state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "days@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"
concurrency = 3
post_hook = "$TMP/post-hook.sh"

[defaults]
out = "$out"
deploy_hook = "$TMP/deploy-hook.sh"
TOML
    for n in "$@"; do
      printf '\n[[certificate]]\nname = "%s"\ndomains = ["%s.days.test"]\n' "$n" "$n"
    done
  } >"$TMP/acmectl.toml"
}

# wakeups PID: context switches of all its threads so far (every wake-up is one).
wakeups() {
  local f total=0 v n
  for f in /proc/"$1"/task/*/status; do
    v=$(awk '/^voluntary_ctxt_switches/ {print $2}' "$f" 2>/dev/null || echo 0)
    n=$(awk '/^nonvoluntary_ctxt_switches/ {print $2}' "$f" 2>/dev/null || echo 0)
    total=$((total + ${v:-0} + ${n:-0}))
  done
  echo "$total"
}

# Accounts Pebble created (a lookup of an existing key or a retried request creates none).
new_accounts() { grep -c 'There are now [0-9]* accounts in memory' "$PEBBLE_FIXTURE_DIR/pebble.log" || true; }

AGENT_PID=""
start_agent() {
  "$ACMECTL" agent --config "$TMP/acmectl.toml" </dev/null >>"$TMP/agent.out" 2>>"$TMP/agent.log" &
  AGENT_PID=$!
  _LIB_PIDS+=("$AGENT_PID")
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -S "$1/agent.sock" ]] && return 0
    kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent exited at start: $(tail -n 5 "$TMP/agent.log")"
    sleep 0.05
  done
  fail "the agent did not open $1/agent.sock"
}

stop_agent() {
  local t0=$SECONDS
  kill -TERM "$AGENT_PID"
  wait "$AGENT_PID" || fail "the agent exited non-zero on SIGTERM"
  ((SECONDS - t0 <= 3)) || fail "the agent took $((SECONDS - t0)) s to stop"
  AGENT_PID=""
}

# wait_issued STATE NAMES...: until every name has a serial in the store (60 s).
wait_issued() {
  local state=$1 i n missing
  shift
  for ((i = 0; i < 600; i++)); do
    missing=0
    for n in "$@"; do
      [[ -n "$(sqlite3 "$state/acmectl.db" "select serial from certificates where name='$n'" 2>/dev/null)" ]] ||
        missing=1
    done
    ((missing == 0)) && return 0
    sleep 0.1
  done
  fail "not every certificate was issued within 60 s: $(tail -n 5 "$TMP/agent.log")"
}

# ---- day 1: first start, three certificates, an empty state dir (three times) ----------
for round in 1 2 3; do
  state=$TMP/state-$round
  out=$TMP/live-$round
  write_config "$state" one two three
  accounts0=$(new_accounts)
  start_agent "$state"
  wait_issued "$state" one two three
  assert_eq "$(($(new_accounts) - accounts0))" 1 "accounts created on the first start (round $round)"
  assert_eq "$(sqlite3 "$state/acmectl.db" 'select count(*) from accounts')" 1 "accounts recorded"
  mapfile -t keys < <(state_keys "$state")
  assert_eq "${#keys[@]}" 1 "private keys in the state dir (the account key)"
  for n in one two three; do verify_chain "$out/$n"; done
  stop_agent
  ok "round $round: first start with three certificates: one account, three certificates"
done
state=$TMP/state-3
account_key=$(state_keys "$state")

# ---- day 2: restart orders nothing; renew beside the agent goes through agent.sock ----
orders0=$(pebble_new_orders)
start_agent "$state"
assert_mode "$state/agent.sock" 600
sleep 2
assert_eq "$(pebble_new_orders)" "$orders0" "orders after a restart with nothing due"
# Idle, it sleeps until the next due time: a handful of wake-ups in 5 s, not one per
# thread per second (the old loop made ~95 in 10 s).
w0=$(wakeups "$AGENT_PID")
sleep 5
idle_wakeups=$(($(wakeups "$AGENT_PID") - w0))
threads=(/proc/"$AGENT_PID"/task/*)
log "idle agent: $idle_wakeups wake-ups in 5 s across ${#threads[@]} threads"
((idle_wakeups <= 10)) || fail "an idle agent woke $idle_wakeups times in 5 s"
serial_one=$(cert_serial "$out/one/cert.pem")
expect_rc 0 renew --force one --config "$TMP/acmectl.toml"
grep -q '^one: renewed' "$OUT_FILE" || fail "renew beside the agent did not report 'one: renewed'"
assert_eq "$(pebble_new_orders)" "$((orders0 + 1))" "orders for one renew --force beside the agent"
[[ "$(cert_serial "$out/one/cert.pem")" != "$serial_one" ]] || fail "one was not renewed"
grep -q 'control request' "$TMP/agent.log" || fail "the agent did not log the control request"
expect_rc 0 renew --config "$TMP/acmectl.toml" --json
assert_eq "$(jq -r '[.[] | .outcome] | unique | join(",")' "$OUT_FILE")" not-due "renew --json outcomes"
assert_eq "$(pebble_new_orders)" "$((orders0 + 1))" "orders after a renew with nothing due"
stop_agent
[[ ! -e "$state/agent.sock" ]] || fail "the agent left agent.sock behind"
ok "restart orders nothing; renew beside the agent: one order, through agent.sock"

# ---- day 3: the timer's renew without an agent, several rounds ---------------------------
: >"$POST_LOG"
for round in 1 2 3; do
  before=$(cert_serial "$out/two/cert.pem")
  expect_rc 0 renew --force --config "$TMP/acmectl.toml"
  for n in one two three; do
    grep -q "^$n: renewed" "$OUT_FILE" || fail "round $round: $n not renewed by renew --force"
    verify_chain "$out/$n"
  done
  [[ "$(cert_serial "$out/two/cert.pem")" != "$before" ]] || fail "round $round: serial unchanged"
  ! grep -qi 'JWS verification' "$ERR_FILE" || fail "round $round: JWS verification error"
done
assert_eq "$(state_keys "$state")" "$account_key" "account key after three rounds of renew"
assert_eq "$(wc -l <"$POST_LOG")" 3 "post hook runs (one per renew)"
grep -q '^renewed=\[one three two\] failed=\[\]$' "$POST_LOG" ||
  fail "post hook environment: $(cat "$POST_LOG")"
ok "renew --force x3 without the agent answers on [agent] http01_listen; one account; post hook names"

# ---- day 4: issue twice; dropping names; delete --------------------------------------------
orders0=$(pebble_new_orders)
expect_rc 0 issue -d four.days.test --name four --config "$TMP/acmectl.toml" --out "$out"
verify_chain "$out/four"
assert_eq "$(pebble_new_orders)" "$((orders0 + 1))" "orders for the first issue"
expect_rc 0 issue -d four.days.test --name four --config "$TMP/acmectl.toml" --out "$out"
grep -q 'not due' "$OUT_FILE" || fail "the second issue does not say it is not due"
assert_eq "$(pebble_new_orders)" "$((orders0 + 1))" "orders after the second issue"
expect_rc 0 issue -d four.days.test -d www.four.days.test --name four --config "$TMP/acmectl.toml" --out "$out"
assert_sans "$out/four/cert.pem" four.days.test www.four.days.test
expect_rc 1 issue -d four.days.test --name four --config "$TMP/acmectl.toml" --out "$out"
error_line
assert_match "$ERR_LINE" "www.four.days.test.*--force" "dropping a name without --force"
expect_rc 0 issue -d four.days.test --name four --force --config "$TMP/acmectl.toml" --out "$out"
assert_sans "$out/four/cert.pem" four.days.test
expect_rc 0 delete four --config "$TMP/acmectl.toml"
expect_rc 0 list --json --config "$TMP/acmectl.toml"
assert_eq "$(jq -r '[.[].name] | index("four")' "$OUT_FILE")" null "four in list after delete"
assert_file "$out/four/cert.pem"
ok "issue twice contacts the CA once; adding names reissues; dropping needs --force; delete keeps files"

# ---- day 5: a certificate dropped from the config, SIGHUP ---------------------------------
start_agent "$state"
write_config "$state" one two
kill -HUP "$AGENT_PID"
for ((i = 0; i < 100; i++)); do
  grep -q 'reload: config' "$TMP/agent.log" && break
  sleep 0.05
done
expect_rc 0 list --json --config "$TMP/acmectl.toml"
assert_eq "$(jq -r '.[] | select(.name == "three") | .last_result' "$OUT_FILE")" unmanaged "three after SIGHUP"
serial_three=$(cert_serial "$out/three/cert.pem")
expect_rc 0 renew --force --config "$TMP/acmectl.toml"
! grep -q '^three:' "$OUT_FILE" || fail "renew touched three, which the config no longer has"
assert_eq "$(cert_serial "$out/three/cert.pem")" "$serial_three" "serial of the unmanaged certificate"
stop_agent
ok "a certificate dropped from the config is unmanaged and no longer renewed"
