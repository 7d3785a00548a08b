#!/usr/bin/env bash
# The built-in HTTP-01 responder under 200 idle connections and slow-drip clients
# (issue 13 finding 1), against the shared Pebble's validator:
#  A. `acmectl issue --http01-listen`: the flood starts the moment the responder
#     listens; the issuance still validates and acmectl exits promptly.
#  B. `acmectl agent` (the listener that stays open for days): the flood is in
#     place first, then SIGHUP adds a certificate, which still validates; the
#     slow-drip clients are cut at the request deadline; SIGTERM stops it at once.
# The clients: tests/support/hostile_clients.py (loopback only, bounded).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

HOSTILE="$LIB_DIR/hostile_clients.py"
now_ms() { date +%s%3N; }

# start_hostile TAG DURATION: the clients in the background; HOSTILE_PID.
start_hostile() {
  "$HOSTILE" --port "$PEBBLE_HTTP_PORT" --idle 200 --drip 2 --wait-port 30 \
    --duration "$2" --ready "$TMP/$1.ready" --stats "$TMP/$1.stats" 2>"$TMP/$1.err" &
  HOSTILE_PID=$!
  _LIB_PIDS+=("$HOSTILE_PID")
}
# wait_stats TAG: waits for the clients to stop and write their statistics.
wait_stats() {
  local i
  for ((i = 0; i < 150; i++)); do
    [[ -s "$TMP/$1.stats" ]] && return 0
    sleep 0.1
  done
  cat "$TMP/$1.err" >&2
  fail "the hostile clients wrote no statistics ($1)"
}
stat_of() { jq -r "$2" "$TMP/$1.stats"; }

# ---- A: acmectl issue ------------------------------------------------------------------
# Pebble answers in milliseconds: the whole issue takes ~0.4 s, less than the clients need
# to connect. A relay that delays each request by 250 ms (a slow network, TLS untouched)
# gives them time; the check below proves they were all connected before validation.
pebble_port=${PEBBLE_DIR_URL#https://127.0.0.1:}
pebble_port=${pebble_port%%/*}
proxy_port=$(free_ports 1)
"$LIB_DIR/delay_proxy.py" "$proxy_port" "$pebble_port" 250 2>"$TMP/proxy.err" &
_LIB_PIDS+=("$!")
wait_port "$proxy_port" "$!" 10 || fail "the delaying relay did not start: $(cat "$TMP/proxy.err")"
slow_args=("${PEBBLE_ARGS[@]}")
slow_args[1]="https://127.0.0.1:$proxy_port/dir"

name=hostile.acmectl.test
start_hostile issue 60
t0=$(now_ms)
expect_rc 0 issue -d "$name" "${slow_args[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$TMP/state" --out "$TMP/live"
took=$(($(now_ms) - t0))
verify_chain "$TMP/live/$name"
assert_sans "$TMP/live/$name/cert.pem" "$name"
[[ -s "$TMP/issue.ready" ]] || fail "the hostile clients never connected (see $TMP/issue.err)"
read -r held ready_s ready_ms <"$TMP/issue.ready"
assert_eq "$held" 202 "connections held open against the responder"
# "2026-11-30T14:58:21.557Z info renew: cert=NAME validation took_ms=152 ...": when validation began.
line=$(grep -m1 ' validation took_ms=' "$ERR_FILE") ||
  fail "acmectl logged no 'validation took_ms=' line: cannot tell when validation began"
validated_ms=$(date -u -d "$(cut -d' ' -f1 <<<"$line")" +%s%3N)
validation_ms=${line#* took_ms=}
validation_ms=${validation_ms%% *}
begun_ms=$((validated_ms - validation_ms))
((ready_ms < begun_ms)) ||
  fail "the clients were connected $((ready_ms - begun_ms)) ms after validation began: not a test of the flood"
# The responder is gone once acmectl exits: the clients see the port close and stop.
wait_stats issue
[[ "$(stat_of issue .port_closed)" == true ]] || fail "the port stayed open after acmectl exited"
((took < 20000)) || fail "acmectl issue took $took ms under 200 idle connections"
ok "issue under 200 idle + 2 slow-drip connections (all open ${ready_s}s after the port opened, $((begun_ms - ready_ms)) ms before validation began): valid, acmectl done in $took ms"

# ---- B: acmectl agent ------------------------------------------------------------------
state=$TMP/agent-state
out=$TMP/agent-live
cat >"$TMP/acmectl.toml" <<TOML
state_dir = "$state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "hostile@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"

[defaults]
out = "$out"

[[certificate]]
name = "one"
domains = ["one.hostile.acmectl.test"]
TOML
"$ACMECTL" agent --config "$TMP/acmectl.toml" </dev/null >"$TMP/agent.out" 2>"$TMP/agent.log" &
agent=$!
_LIB_PIDS+=("$agent")
wait_cert() { # NAME SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -s "$out/$1/cert.pem" ]] && return 0
    kill -0 "$agent" 2>/dev/null || {
      tail -n 30 "$TMP/agent.log" >&2
      fail "the agent exited while waiting for certificate $1"
    }
    sleep 0.1
  done
  tail -n 30 "$TMP/agent.log" >&2
  fail "certificate $1 not issued within $2 s"
}
wait_cert one 30
ok "agent issued 'one' (no flood yet)"

start_hostile agent 40
for ((i = 0; i < 100; i++)); do
  [[ -s "$TMP/agent.ready" ]] && break
  sleep 0.1
done
[[ -s "$TMP/agent.ready" ]] || fail "the hostile clients never connected to the agent's responder"
read -r held _ <"$TMP/agent.ready"
assert_eq "$held" 202 "connections held open against the agent's responder"

printf '\n[[certificate]]\nname = "two"\ndomains = ["two.hostile.acmectl.test"]\n' >>"$TMP/acmectl.toml"
t0=$(now_ms)
kill -HUP "$agent"
wait_cert two 30
took=$(($(now_ms) - t0))
verify_chain "$out/two"
assert_sans "$out/two/cert.pem" two.hostile.acmectl.test
ok "SIGHUP under the flood: 'two' validated and issued in $took ms"

# Let the slow-drip clients run past the request deadline (5 s) before stopping.
sleep 6
kill -0 "$HOSTILE_PID" 2>/dev/null || fail "the hostile clients stopped early: $(cat "$TMP/agent.err")"
t0=$(now_ms)
kill -TERM "$agent"
rc=0
wait "$agent" || rc=$?
took=$(($(now_ms) - t0))
assert_eq "$rc" 0 "agent exit status after SIGTERM"
((took < 3000)) || fail "the agent took $took ms to stop after SIGTERM with 200 idle connections open"
wait_stats agent
drips=$(stat_of agent '.drip_lifetimes_s | length')
((drips >= 2)) || fail "the slow-drip clients were never cut (stats: $(cat "$TMP/agent.stats"))"
longest=$(stat_of agent '.drip_lifetimes_s | max')
awk -v l="$longest" 'BEGIN { exit !(l >= 4.5 && l < 7) }' ||
  fail "a slow-drip client lived ${longest}s; the request deadline is 5 s"
idle_cut=$(stat_of agent .idle_closed_by_server)
((idle_cut >= 200)) || fail "only $idle_cut idle connections were cut at the deadline"
ok "slow-drip clients cut after at most ${longest}s ($drips cuts), $idle_cut idle connections cut; SIGTERM: exit 0 in $took ms"
