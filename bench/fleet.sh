#!/usr/bin/env bash
# How many lease cycles and renewals' worth of database work one PostgreSQL serves.
#
#   bench/fleet.sh [SECONDS]          (default 10 per run)
#
# A PostgreSQL 15 of its own (initdb + pg_ctl as the postgres user, a temporary
# directory, a free loopback port, synchronous_commit on as shipped), then
# bench_fleet_lease (bench/fleet_lease.cpp: the agents' own FleetStore queries) with
# 1, 4 and 16 connections over 10,000 certificate names:
#   lease+release                  what every due check of a fleet agent costs
#   lease+publish+install+release  the database work of one renewal (a ~2 KB certificate
#                                  chain and a key sealed with AES-256-GCM)
# Prints a Markdown table. BENCH_BUILD_DIR (default build) holds bench_fleet_lease
# (built here, -j2). Everything started is stopped on exit.
# cleanup runs from a trap:
# shellcheck disable=SC2317
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BENCH_BUILD_DIR:-$root/build}
pg_bin=/usr/lib/postgresql/15/bin
cmake --build "$build" -j2 --target bench_fleet_lease >/dev/null
bench=$build/bench/bench_fleet_lease
[[ -x "$bench" ]] || bench=$(find "$build" -name bench_fleet_lease -type f | head -n 1)

dir=$(mktemp -d /tmp/acmectl-fleet-bench.XXXXXX)
chown postgres: "$dir"
cleanup() {
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl rand -hex 16 >"$dir/pw"
chown postgres: "$dir/pw"
runuser -u postgres -- "$pg_bin/initdb" -D "$dir/data" -U acme --auth-local=trust \
  --auth-host=scram-sha-256 --pwfile="$dir/pw" >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=100" >/dev/null
runuser -u postgres -- "$pg_bin/createdb" -h "$dir" -p "$port" -U acme fleet
cp "$dir/pw" "$dir/pw.client"
chmod 600 "$dir/pw.client"
openssl rand -hex 32 >"$dir/kek"
chmod 600 "$dir/kek"
url="postgresql://acme@127.0.0.1:$port/fleet"

echo "| connections | work | cycles/s | p50 ms | p99 ms |"
echo "|---:|---|---:|---:|---:|"
for mode in lease publish; do
  for threads in 1 4 16; do
    line=$("$bench" "$url" "$dir/kek" "$dir/pw.client" "$threads" "$secs" 10000 \
      "$([[ $mode == publish ]] && echo publish || echo none)")
    cps=$(sed -E 's/.*cycles_per_s=([0-9.]+).*/\1/' <<<"$line")
    p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
    p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
    work=$(sed -E 's/.*mode=([^ ]+).*/\1/' <<<"$line")
    echo "| $threads | $work | $cps | $p50 | $p99 |"
  done
done
echo
echo "(PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), $(nproc) cores, ${secs} s per run)"
