#!/usr/bin/env bash
# The fleet lease heartbeat (issue 15): a renewal that runs longer than lease_seconds
# keeps its lease, so no other agent orders the same certificate meanwhile.
#   agent A renews c01 over DNS-01 with an exec hook that takes 12 s to "publish" the
#   record, with lease_seconds = 5; 8 s into that renewal (the lease would have lapsed
#   3 s before without a heartbeat) host B runs `acmectl agent --once`: it must be
#   refused ("another agent of the fleet holds the lease"), the lease still A's first
#   generation; A publishes version 1, Pebble saw exactly one order, and B's plain
#   `renew` then installs A's version without ordering.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/pg_lib.sh
source "$(dirname "$0")/../support/pg_lib.sh"
lib_init "$@"
pg_stop_on_exit

export PEBBLE_VA_NOSLEEP=1
start_fixture "$TMP/pebble"
[[ -n "${CHALLTESTSRV_DNS:-}" ]] || fail "this Pebble fixture has no pebble-challtestsrv"
pg_start

kek=$TMP/kek
openssl rand -hex 32 >"$kek"
chmod 600 "$kek"

# The slow DNS provider: the record appears in pebble-challtestsrv 12 s after present.
cat >"$TMP/slow-dns.sh" <<HOOK
#!/bin/sh
set -eu
case "\$1" in
  present)
    sleep 12
    curl -sf --max-time 5 -X POST -d "{\"host\":\"\$2\",\"value\":\"\$3\"}" "$CHALLTESTSRV_MGMT_URL/set-txt" >/dev/null ;;
  cleanup)
    curl -sf --max-time 5 -X POST -d "{\"host\":\"\$2\"}" "$CHALLTESTSRV_MGMT_URL/clear-txt" >/dev/null ;;
esac
HOOK
chmod +x "$TMP/slow-dns.sh"

read -r met_a met_b < <(free_ports 2 | paste -sd' ')
write_config() {
  local h=$1 met=$2 d=$TMP/$1
  mkdir -p "$d"
  cat >"$d/acmectl.toml" <<TOML
state_dir = "$d/state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "fleet@example.com"
agree_tos = true

[agent]
metrics_listen = "127.0.0.1:$met"

[store]
url = "$PG_URL"
password_file = "$PG_PASSWORD_FILE"
kek_file = "$kek"
agent_id = "$h"
lease_seconds = 5
poll_seconds = 60

[defaults]
out = "$d/live"

[[certificate]]
name = "c01"
domains = ["hb.fleet.test"]
challenge = "dns-01"
dns_provider = "exec"
dns_exec = "$TMP/slow-dns.sh"
dns_resolvers = ["$CHALLTESTSRV_DNS"]
TOML
}
write_config A "$met_a"
write_config B "$met_b"

"$ACMECTL" --config "$TMP/A/acmectl.toml" --log-level debug agent </dev/null >"$TMP/A/agent.log" 2>&1 &
pid_a=$!
_LIB_PIDS+=("$pid_a")
wait_port "$met_a" "$pid_a" 20 || {
  cat "$TMP/A/agent.log" >&2
  fail "agent A did not start"
}

# Wait for A's lease, then let more than lease_seconds pass inside the renewal.
deadline=$((SECONDS + 30))
until [[ "$(pg_sql "SELECT holder FROM leases WHERE cert_name = 'c01' AND expires_at > now()")" == A ]]; do
  ((SECONDS < deadline)) || {
    tail -n 20 "$TMP/A/agent.log" >&2
    fail "agent A never took the lease on c01"
  }
  sleep 0.1
done
taken=$SECONDS
sleep 8
pg_sql "SELECT holder, generation, expires_at > now(), extract(epoch from expires_at - taken_at)::int FROM leases WHERE cert_name = 'c01'" >"$TMP/lease.row"
log "lease after 8 s: $(cat "$TMP/lease.row") (holder|generation|live|seconds held for)"

run_acmectl --config "$TMP/B/acmectl.toml" agent --once
grep -q 'another agent of the fleet holds the lease on c01' "$ERR_FILE" ||
  fail "B's agent --once does not say A holds the lease (exit $RC): $(cat "$ERR_FILE")"
IFS='|' read -r holder generation live held_for <"$TMP/lease.row"
assert_eq "$holder|$generation|$live" "A|1|t" "the lease 8 s into a 12 s renewal (lease_seconds 5)"
((held_for > 5)) || fail "the lease was never extended (expires $held_for s after it was taken)"
ok "8 s into A's renewal the lease is still A's (extended to $held_for s), B was refused"

# A finishes: one version, one order.
deadline=$((SECONDS + 40))
until [[ "$(pg_sql "SELECT count(*) FROM versions WHERE cert_name = 'c01'")" == 1 ]]; do
  ((SECONDS < deadline)) || {
    tail -n 30 "$TMP/A/agent.log" >&2
    fail "agent A did not publish c01"
  }
  sleep 0.2
done
log "A published c01 $((SECONDS - taken)) s after taking the lease"
assert_eq "$(pebble_new_orders)" 1 "orders for c01"
if grep -q 'was lost to another agent' "$TMP/A/agent.log"; then fail "A says it lost the lease"; fi
grep -q 'fleet lease extended' "$TMP/A/agent.log" || fail "A's log shows no heartbeat"
# A's metrics say what it installed at once (the fleet store is polled only every 60 s).
for _ in $(seq 1 20); do
  curl -fsS "http://127.0.0.1:$met_a/metrics" >"$TMP/metrics.a" || fail "no metrics from A"
  grep -q '^acmectl_certificate_installed_version{name="c01"} 1$' "$TMP/metrics.a" && break
  sleep 0.1
done
grep -q '^acmectl_certificate_installed_version{name="c01"} 1$' "$TMP/metrics.a" ||
  fail "A's metrics do not show version 1 installed: $(grep -E 'installed_version|fleet' "$TMP/metrics.a")"

# B installs A's version without ordering.
run_acmectl --config "$TMP/B/acmectl.toml" renew c01
((RC == 0)) || fail "B's renew after A published exited $RC: $(cat "$ERR_FILE")"
want=$(pg_sql "SELECT serial FROM versions WHERE cert_name = 'c01'")
got=$(openssl x509 -in "$TMP/B/live/c01/cert.pem" -noout -serial | cut -d= -f2)
assert_eq "$(norm_serial "$got")" "$(norm_serial "$want")" "serial installed on B"
assert_eq "$(pebble_new_orders)" 1 "orders after B's install"
ok "B installed A's version; one order in all"
