#!/usr/bin/env bash
# Two writers on one state dir (issue 13, "Faults to inject"): never two orders for
# one certificate. A private Pebble (no nonce rejection, so every POST /order-plz it
# answers 201 is one order) behind tests/support/fault_proxy.py, which counts orders
# and downloads and holds one finalize for 3 s to keep a race window open.
#   1. An agent runs; a second agent on the same state dir refuses to start ("another
#      acmectl agent is running"), and the first keeps its control socket and serves.
#   2. While the agent's order is held at finalize, `acmectl issue --force` and a
#      second `acmectl renew --force` of the same certificate are started: in the
#      proxy's log new orders and certificate downloads alternate (never two orders
#      in flight for the certificate), and every order created ended in an installed
#      certificate reported by one of the commands.
#   3. The same without an agent: `renew --force` and `issue --force` at once.
#   4. Two agents started at the same instant on an empty state dir, 5 times: exactly
#      one keeps running each time.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/fault_lib.sh
source "$(dirname "$0")/../support/fault_lib.sh"
lib_init "$@"

PEBBLE_WFE_NONCEREJECT=0 start_fixture "$TMP/pebble"
start_fault_proxy 75

name=tw
domain=tw.acmectl.test
state=$TMP/state
live=$TMP/live/$name
write_config() { # FILE STATE_DIR SERVER [EXTRA]
  cat >"$1" <<TOML
state_dir = "$2"

[acme]
server = "$3"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "tw@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"

[[certificate]]
name = "$name"
domains = ["$domain"]
out = "$TMP/live"
${4:-}
TOML
}
write_config "$TMP/agent.toml" "$state" "$PROXY_DIR_URL"

# start_agent LOG CONFIG: an agent in the background; sets AGENT_PID.
start_agent() {
  "$ACMECTL" agent --config "$2" </dev/null >"$1" 2>&1 &
  AGENT_PID=$!
  _LIB_PIDS+=("$AGENT_PID")
}

# orders_in_flight_check: in the proxy's log, every new order (POST /order-plz answered
# 201) is followed by its certificate download (POST /certZ/ answered 200) before the
# next new order. Sets ORDERS and DOWNLOADS.
orders_in_flight_check() {
  local seq
  proxy_counts >"$TMP/counts.json"
  seq=$(jq -r '[.log[] | select(.[3] != "stall")
                | if .[1] == "POST" and .[2] == "/order-plz" and .[4] == 201 then "O"
                  elif .[1] == "POST" and (.[2] | startswith("/certZ/")) and .[4] == 200 then "C"
                  else empty end] | join("")' "$TMP/counts.json")
  ORDERS=$(tr -cd O <<<"$seq" | wc -c)
  DOWNLOADS=$(tr -cd C <<<"$seq" | wc -c)
  [[ "$seq" =~ ^(OC)*$ ]] ||
    fail "two orders in flight for one certificate: orders (O) and downloads (C) in the proxy's log: $seq"
}

# ---- 1. a second agent refuses to start -------------------------------------------
start_agent "$TMP/agent1.log" "$TMP/agent.toml"
agent1=$AGENT_PID
for ((i = 0; i < 600; i++)); do
  [[ -S "$state/agent.sock" && -f "$live/cert.pem" ]] && break
  kill -0 "$agent1" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$agent1" 2>/dev/null || {
  cat "$TMP/agent1.log" >&2
  fail "the first agent exited"
}
[[ -S "$state/agent.sock" ]] || fail "no control socket $state/agent.sock after 60 s"
[[ -f "$live/cert.pem" ]] || fail "the agent did not issue $name within 60 s"
assert_mode "$state/agent.sock" 600
verify_chain "$live"
ok "agent 1 (PID $agent1) issued $name and listens on $state/agent.sock (0600)"

rc2=0
timeout 20 "$ACMECTL" agent --config "$TMP/agent.toml" </dev/null >"$TMP/agent2.log" 2>&1 || rc2=$?
((rc2 != 0 && rc2 != 124)) || fail "a second agent on the same state dir: exit $rc2 (124: still running after 20 s)"
grep -q 'another acmectl agent is running' "$TMP/agent2.log" ||
  fail "the second agent did not say another agent is running: $(cat "$TMP/agent2.log")"
kill -0 "$agent1" 2>/dev/null || fail "the first agent died when the second one started"
[[ -S "$state/agent.sock" ]] || fail "the second agent removed the first one's control socket"
expect_rc 0 renew "$name" --state-dir "$state"
grep -q "^$name: not-due" "$OUT_FILE" || fail "renew through the agent: expected not-due"
ok "agent 2 refused to start (exit $rc2: $(grep -m1 'another acmectl agent' "$TMP/agent2.log")); agent 1 still serves"
TOTAL_ORDERS=1

# ---- 2. agent + renew --force + issue --force at the same time ---------------------
# concurrent_writers LABEL: runs `renew --force` (first; its order is held 3 s at
# finalize), then `issue --force` and another `renew --force` of the same certificate
# while that order is in flight; checks the orders.
concurrent_writers() {
  local label=$1 pids=() i rc ok_runs=0 out
  proxy_ctl reset
  inject delay '^/finalize-order/' 1 "" 3000
  # The config gives a renew without an agent the responder address ([agent] http01_listen).
  ACMECTL_CONFIG=$TMP/agent.toml "$ACMECTL" renew --force "$name" --state-dir "$state" \
    </dev/null >"$TMP/w1.out" 2>"$TMP/w1.err" &
  pids+=($!)
  for ((i = 0; i < 300; i++)); do
    (($(proxy_counts | jq -r '.faults.delay // 0') > 0)) && break
    kill -0 "${pids[0]}" 2>/dev/null || break
    sleep 0.1
  done
  (($(proxy_counts | jq -r '.faults.delay // 0') > 0)) ||
    fail "$label: the first order never reached finalize: $(cat "$TMP/w1.out" "$TMP/w1.err")"
  "$ACMECTL" issue --force -d "$domain" --name "$name" "${PROXY_ARGS[@]}" \
    --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --state-dir "$state" --out "$TMP/live" \
    </dev/null >"$TMP/w2.out" 2>"$TMP/w2.err" &
  pids+=($!)
  ACMECTL_CONFIG=$TMP/agent.toml "$ACMECTL" renew --force "$name" --state-dir "$state" \
    </dev/null >"$TMP/w3.out" 2>"$TMP/w3.err" &
  pids+=($!)
  for i in 0 1 2; do
    rc=0
    wait "${pids[$i]}" || rc=$?
    out=$(cat "$TMP/w$((i + 1)).out" "$TMP/w$((i + 1)).err" | grep -v ' info \| warning ' | tr '\n' ' ')
    log "$label writer $((i + 1)): exit $rc: $out"
    if grep -q "^$name: renewed\|^certificate $name issued" "$TMP/w$((i + 1)).out"; then
      ok_runs=$((ok_runs + 1))
    fi
  done
  orders_in_flight_check
  ((ORDERS >= 1)) || fail "$label: no order at all"
  assert_eq "$ORDERS" "$ok_runs" "$label: orders created vs certificates the writers report installed"
  assert_eq "$DOWNLOADS" "$ORDERS" "$label: downloads vs orders"
  verify_chain "$live"
  TOTAL_ORDERS=$((TOTAL_ORDERS + ORDERS))
  ok "$label: $ORDERS order(s), never two in flight; each installed and reported ($ok_runs)"
}
concurrent_writers "agent + renew --force + issue --force + renew --force"
kill -0 "$agent1" 2>/dev/null || fail "the agent died"

# ---- 3. the same without an agent --------------------------------------------------
stop_pid "$agent1"
[[ ! -S "$state/agent.sock" ]] || fail "the agent left its control socket behind after SIGTERM"
concurrent_writers "no agent: renew --force + issue --force + renew --force"

# ---- 4. two agents started at once -------------------------------------------------
# On a fresh state dir each time, with a webroot certificate (no responder port to
# fight over) and a CA that is not there (nothing to order): only the agent-vs-agent
# check can stop the second one.
mapfile -t ports < <(free_ports 1)
mkdir -p "$TMP/www"
for round in 1 2 3 4 5; do
  write_config "$TMP/race.toml" "$TMP/race$round" "https://127.0.0.1:${ports[0]}/dir" \
    "webroot = \"$TMP/www\""
  start_agent "$TMP/race$round-a.log" "$TMP/race.toml"
  a=$AGENT_PID
  start_agent "$TMP/race$round-b.log" "$TMP/race.toml"
  b=$AGENT_PID
  sleep 3
  alive=0
  for pid in "$a" "$b"; do
    kill -0 "$pid" 2>/dev/null && [[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" != Z ]] &&
      alive=$((alive + 1))
  done
  stop_pid "$a"
  stop_pid "$b"
  ((alive == 1)) || {
    tail -n 5 "$TMP/race$round-a.log" "$TMP/race$round-b.log" >&2
    fail "round $round: $alive agents running on one state dir after 3 s (started at once)"
  }
  grep -q 'another acmectl agent is running' "$TMP/race$round-a.log" "$TMP/race$round-b.log" ||
    fail "round $round: the agent that stopped did not say another agent is running"
done
ok "two agents started at once, 5 rounds: exactly one kept running each time"

# Pebble's own count (no nonce is rejected: one "POST /order-plz" line per order).
pebble_orders=$(grep -c 'POST /order-plz' "$PEBBLE_FIXTURE_DIR/pebble.log" || true)
assert_eq "$pebble_orders" "$TOTAL_ORDERS" "orders in Pebble's log vs orders the proxy saw created"
ok "Pebble served $pebble_orders newOrder requests in all, each one an installed certificate"
