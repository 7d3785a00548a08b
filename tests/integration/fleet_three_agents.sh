#!/usr/bin/env bash
# A fleet on one PostgreSQL (issue 15): three agents (own state and output dirs, one
# database, one KEK) and 30 certificates against a private Pebble issuing 90-second
# certificates (so renewals come every ~45 s) whose http-01 validator only ever reaches
# agent B's responder:
#   wave 1  every certificate is ordered exactly once, one ACME account for the fleet,
#           each appears on all three hosts (key matches certificate); orders placed by
#           A and C were answered by B's responder from the database;
#   wave 2  renewed exactly once each, installed everywhere;
#   wave W  agent A is killed (-9) while it holds leases mid-renewal: the others finish
#           within the lease time, no order beyond the ones cut off, no host with a key
#           that does not match its certificate;
#   then    A restarts and catches up without ordering; PostgreSQL is restarted under
#           the running agents: they reconnect and wave W+1 completes; a fourth agent with
#           a wrong KEK refuses to install and says so, the others are unaffected;
#           `acmectl list` shows lease holders and installs; metrics per agent.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/pg_lib.sh
source "$(dirname "$0")/../support/pg_lib.sh"
lib_init "$@"
pg_stop_on_exit

N=${FLEET_CERTS:-30}
export PEBBLE_CERTIFICATE_VALIDITY_PERIOD=90 PEBBLE_VA_NOSLEEP=1
start_fixture "$TMP/pebble"
pg_start

kek=$TMP/kek
openssl rand -hex 32 >"$kek"
chmod 600 "$kek"

read -r port_a port_c met_a met_b met_c met_d port_d < <(free_ports 7 | paste -sd' ')
declare -A HTTP=([A]=$port_a [B]=$PEBBLE_HTTP_PORT [C]=$port_c [D]=$port_d)
declare -A METRICS=([A]=$met_a [B]=$met_b [C]=$met_c [D]=$met_d)
declare -A PID=()

# write_config HOST KEKFILE
write_config() {
  local h=$1 k=$2 i d=$TMP/$1
  mkdir -p "$d"
  {
    cat <<TOML
state_dir = "$d/state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "fleet@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:${HTTP[$h]}"
metrics_listen = "127.0.0.1:${METRICS[$h]}"
concurrency = 4

[store]
url = "$PG_URL"
password_file = "$PG_PASSWORD_FILE"
kek_file = "$k"
agent_id = "$h"
lease_seconds = 8
poll_seconds = 3

[defaults]
out = "$d/live"
deploy_hook = "$TMP/deploy-hook.sh"
TOML
    for ((i = 1; i <= N; i++)); do
      printf '\n[[certificate]]\nname = "c%02d"\ndomains = ["c%02d.fleet.test"]\n' "$i" "$i"
    done
  } >"$d/acmectl.toml"
}
cat >"$TMP/deploy-hook.sh" <<'HOOK'
#!/bin/sh
echo "$ACMECTL_CERT_NAME" >>"$(dirname "$(dirname "$ACMECTL_FULLCHAIN_PATH")")/../deploy.log"
HOOK
chmod +x "$TMP/deploy-hook.sh"

start_agent() {
  local h=$1
  "$ACMECTL" --config "$TMP/$h/acmectl.toml" agent </dev/null >>"$TMP/$h/agent.log" 2>&1 &
  PID[$h]=$!
  _LIB_PIDS+=("${PID[$h]}")
  wait_port "${METRICS[$h]}" "${PID[$h]}" 20 || {
    cat "$TMP/$h/agent.log" >&2
    fail "agent $h did not start"
  }
  log "agent $h PID ${PID[$h]} (http-01 on ${HTTP[$h]})"
}

# wait_wave V SECONDS: until every certificate has a version >= V in the database and
# every running host in HOSTS installed it (installs table and files).
wait_wave() {
  local v=$1 secs=$2 deadline h done_n
  deadline=$((SECONDS + secs))
  while :; do
    done_n=$(pg_sql "SELECT count(*) FROM (SELECT cert_name FROM versions GROUP BY cert_name HAVING max(version) >= $v) x")
    if ((done_n == N)); then
      local ok_all=1
      for h in $HOSTS; do
        local inst
        inst=$(pg_sql "SELECT count(*) FROM installs i WHERE host = '$h' AND version = (SELECT max(version) FROM versions v WHERE v.cert_name = i.cert_name)")
        ((inst == N)) || ok_all=0
      done
      ((ok_all)) && return 0
    fi
    ((SECONDS < deadline)) || {
      pg_sql "SELECT cert_name, max(version) FROM versions GROUP BY cert_name ORDER BY 1" >&2
      pg_sql "SELECT * FROM installs ORDER BY 1, 2" >&2
      pg_sql "SELECT * FROM leases ORDER BY 1" >&2
      tail -n 30 "$TMP"/*/agent.log >&2
      fail "wave $v: not complete on {$HOSTS} after $secs s ($done_n of $N versions)"
    }
    sleep 0.2
  done
}

# check_hosts V: on every host in HOSTS each certificate's files are version V or a newer
# one (the next renewal wave may be under way) and the key matches; c01's chain verifies
# against Pebble's root. (Light on openssl runs: the next wave comes within ~45 s.)
check_hosts() {
  local v=$1 h name serial
  declare -A want=()
  while IFS='|' read -r name serial; do
    want[$name]+=" $(norm_serial "$serial") "
  done < <(pg_sql "SELECT cert_name, serial FROM versions WHERE version >= $v")
  assert_eq "${#want[@]}" "$N" "certificates with a version >= $v"
  for h in $HOSTS; do
    verify_chain "$(readlink -f "$TMP/$h/live/c01")"
    for name in "${!want[@]}"; do
      serial=$(cert_serial "$TMP/$h/live/$name/cert.pem")
      if [[ "${want[$name]}" != *" $serial "* ]]; then
        # Published and installed since the list was read?
        want[$name]=" $(pg_sql "SELECT serial FROM versions WHERE cert_name = '$name' AND version >= $v" |
          while read -r x; do norm_serial "$x"; done | paste -sd' ') "
        [[ "${want[$name]}" == *" $serial "* ]] ||
          fail "$name on $h has serial $serial, not one of version >= $v:${want[$name]}"
      fi
    done
    key_cert_consistent "$h"
  done
}

# key_cert_consistent HOST: every installed key matches its certificate (files may be old).
key_cert_consistent() {
  local d cert_pub key_pub
  for d in "$TMP/$1"/live/c*; do
    # OUT/NAME is a link swapped to a whole new version directory at once: read both
    # files from one version.
    d=$(readlink -f "$d")
    [[ -f "$d/cert.pem" ]] || continue
    cert_pub=$(openssl x509 -in "$d/cert.pem" -noout -pubkey)
    key_pub=$(openssl pkey -in "$d/privkey.pem" -pubout)
    [[ "$cert_pub" == "$key_pub" ]] || fail "$d: privkey.pem does not match cert.pem on $1"
  done
}

for h in A B C; do write_config "$h" "$kek"; done
t0=$SECONDS
for h in B A C; do start_agent "$h"; done

# ---- wave 1: issue
HOSTS="A B C"
wait_wave 1 60
orders1=$(pebble_new_orders)
log "wave 1 complete in $((SECONDS - t0)) s"
check_hosts 1
assert_eq "$orders1" "$N" "orders for $N certificates issued by three agents"
accounts=$(grep -c 'There are now [0-9]* accounts in memory' "$PEBBLE_FIXTURE_DIR/pebble.log" || true)
assert_eq "$accounts" 1 "ACME accounts created by the fleet"
by_ac=$(pg_sql "SELECT count(*) FROM versions WHERE version = 1 AND published_by IN ('A', 'C')")
((by_ac > 0)) || fail "no certificate was ordered by A or C (B did all $N)"
ok "wave 1: $N orders, 1 account; $by_ac orders placed by A/C were validated through B's responder"
tokens=$(pg_sql "SELECT count(*) FROM http01_tokens")
assert_eq "$tokens" 0 "http-01 tokens left in the database"

# ---- wave 2: every certificate renewed exactly once
wait_wave 2 60
orders2=$(pebble_new_orders)
assert_eq "$orders2" "$((2 * N))" "orders after one renewal of each certificate"
check_hosts 2
ok "wave 2: each certificate renewed once, on all hosts"

# ---- wave W (the next one A takes part in): kill -9 agent A while it holds leases
held=0
deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  held=$(pg_sql "SELECT count(*) FROM leases WHERE holder = 'A' AND expires_at > now()")
  ((held > 0)) && break
  sleep 0.02
done
((held > 0)) || fail "agent A never held a lease in a renewal wave"
kill -KILL "${PID[A]}"
killed_at=$SECONDS
held_after=$(pg_sql "SELECT count(*) FROM leases WHERE holder = 'A' AND expires_at > now()")
# The wave A was renewing in: one past the version of a certificate it held the lease of.
W=$(pg_sql "SELECT 1 + coalesce(max(v.version), 0) FROM leases l JOIN versions v USING (cert_name) WHERE l.holder = 'A' AND l.generation = (SELECT max(generation) FROM leases l2 WHERE l2.cert_name = l.cert_name)")
((W >= 3)) || W=3
log "killed agent A holding $held lease(s) ($held_after still live just after the kill) in wave $W"
HOSTS="B C"
wait_wave "$W" 60
ordersW=$(pebble_new_orders)
took=$((SECONDS - killed_at))
cut=$((held > held_after ? held : held_after))
((ordersW >= W * N && ordersW <= W * N + cut)) ||
  fail "wave $W: $ordersW orders; expected between $((W * N)) and $((W * N + cut)) ($cut cut off)"
check_hosts "$W"
key_cert_consistent A
ok "wave $W: B and C finished in ${took} s after A died (lease 8 s); $((ordersW - W * N)) extra order(s) for $cut cut off"

# ---- A comes back: installs what it missed without ordering
restart_line=$(wc -l <"$TMP/A/agent.log")
start_agent A
HOSTS="A B C"
wait_wave "$W" 30
check_hosts "$W"
if tail -n +"$restart_line" "$TMP/A/agent.log" | grep -q 'resuming order'; then
  fail "agent A resumed an order cut off by its death although the fleet had renewed"
fi
ok "agent A caught up after its restart (no cut-off order resumed)"

# `acmectl list` on B names the fleet: lease holders and installs per host
run_acmectl --config "$TMP/B/acmectl.toml" list
((RC == 0)) || fail "list failed"
grep -q 'INSTALLED' "$OUT_FILE" || fail "list shows no fleet installs"
grep -Eq 'c01 .*A=v[0-9]+.*B=v[0-9]+.*C=v[0-9]+' "$OUT_FILE" || fail "list does not show c01 installed on A, B and C"
run_acmectl --config "$TMP/B/acmectl.toml" list --json
jq -e '.[0].fleet.installs | length == 3' "$OUT_FILE" >/dev/null || fail "list --json has no fleet installs"

# ---- a fourth agent with a wrong KEK refuses to install, says so
openssl rand -hex 32 >"$TMP/wrong-kek"
chmod 600 "$TMP/wrong-kek"
write_config D "$TMP/wrong-kek"
start_agent D

# ---- PostgreSQL restarted under the running agents
pg_restart
log "PostgreSQL restarted"
HOSTS="A B C"
wait_wave $((W + 1)) 60
check_hosts $((W + 1))
ok "wave $((W + 1)) complete after a PostgreSQL restart"
grep -q 'is not the fleet' "$TMP/D/agent.log" || fail "agent D does not say its KEK is wrong"
found=$({ find "$TMP/D/live" -name privkey.pem 2>/dev/null || true; } | wc -l)
assert_eq "$found" 0 "keys installed by the agent with the wrong KEK"
d_leases=$(pg_sql "SELECT count(*) FROM leases WHERE holder = 'D'")
assert_eq "$d_leases" 0 "leases taken by the agent with the wrong KEK"
ok "agent D (wrong KEK) installed nothing, took no lease, and says why"

# metrics per agent
curl -fsS "http://127.0.0.1:$met_b/metrics" >"$TMP/metrics.b" || fail "no metrics from B"
grep -q '^acmectl_certificate_installed_version{name="c01"} [1-9]' "$TMP/metrics.b" ||
  fail "no acmectl_certificate_installed_version for c01: $(grep fleet "$TMP/metrics.b" | head)"
grep -q '^acmectl_fleet_lease_held{name="c01"} [01]' "$TMP/metrics.b" || fail "no acmectl_fleet_lease_held"
grep -q '^acmectl_fleet_store_up 1' "$TMP/metrics.b" || fail "B's metrics say the store is down"
if command -v promtool >/dev/null; then
  promtool check metrics <"$TMP/metrics.b" >/dev/null 2>&1 || fail "promtool rejects B's metrics"
fi
ok "fleet metrics on B"

# Each agent's own records (schedule, history, counters) are in PostgreSQL under its
# agent_id, one row per certificate and host: no SQLite store, nothing mixed.
for h in A B C; do
  [[ ! -e "$TMP/$h/state/acmectl.db" ]] || fail "agent $h wrote $TMP/$h/state/acmectl.db although [store] url is set"
  assert_eq "$(pg_sql "SELECT count(*) FROM host_certificates WHERE host = '$h'")" "$N" \
    "agent $h's certificate records"
  assert_eq "$(pg_sql "SELECT count(*) FROM host_certificates WHERE host = '$h'
    AND out_dir NOT LIKE '$TMP/$h/live/%'")" 0 "agent $h's records naming another host's output"
done
ok "per-host records of A, B and C in PostgreSQL, one per certificate each"
log "total $((SECONDS - t0)) s, $(pebble_new_orders) orders"
