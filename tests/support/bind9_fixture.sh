#!/usr/bin/env bash
# A real BIND9 (`named -g`, never the system service) on a free 127.0.0.1 port,
# authoritative for the zones the DNS-01 tests update through RFC 2136 + TSIG.
#
#   bind9_fixture.sh start DIR   write the config and zones, start named, wait
#                                until it answers, write DIR/env
#   bind9_fixture.sh stop DIR    stop exactly the named that start recorded
#
# Zones (every name of example.test and challenges.test has A 127.0.0.1):
#   example.test     update-policy: keys acme-key (hmac-sha256), acme-key-512
#                    (hmac-sha512), acme-key-sha1 (hmac-sha1) may add/delete TXT
#                    under it. _acme-challenge.delegated.example.test is a CNAME
#                    to delegated.challenges.test (CNAME delegation).
#   challenges.test  the delegation target zone: delegate-key (hmac-sha256) may
#                    update TXT; acme-key may not.
#   locked.test      no update policy: every UPDATE is REFUSED.
#   .                a local root zone: every other name is NXDOMAIN, so named
#                    never sends a query beyond 127.0.0.1.
# Recursion is on, for 127.0.0.1 only: Pebble (-dnsserver) asks with RD set and,
# like the resolver of a real CA, needs the CNAME chain followed into the other
# zone; named chases a CNAME into another local zone only when it may recurse.
#
# DIR/env is shell-sourceable:
#   BIND9_PORT, BIND9_SERVER (127.0.0.1:PORT)
#   BIND9_TSIG_NAME, BIND9_TSIG_SECRET                  hmac-sha256, example.test
#   BIND9_TSIG512_NAME, BIND9_TSIG512_SECRET            hmac-sha512, example.test
#   BIND9_TSIGSHA1_NAME, BIND9_TSIGSHA1_SECRET          hmac-sha1, example.test
#   BIND9_DELEGATE_TSIG_NAME, BIND9_DELEGATE_TSIG_SECRET hmac-sha256, challenges.test
#   BIND9_ZONE, BIND9_DELEGATION_ZONE, BIND9_LOCKED_ZONE
#   BIND9_DELEGATED_NAME  (delegated.example.test) and BIND9_DELEGATED_TARGET
#                         (delegated.challenges.test): where its TXT records land
#
# Environment read by start: FREE_PORT_BIN (as pebble_fixture.sh),
# BIND9_FIXTURE_TIMEOUT (seconds to wait for readiness, default 20).
# Needs named (bind9), dig (bind9-dnsutils) and openssl.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly MARKER=.bind9-fixture

die() {
  echo "bind9_fixture: $*" >&2
  exit 1
}

now_ms() { date +%s%3N; }

pick_port() {
  local bin=${FREE_PORT_BIN:-}
  if [[ -z "$bin" && -x "$SCRIPT_DIR/../../build/bin/free_port" ]]; then
    bin="$SCRIPT_DIR/../../build/bin/free_port"
  fi
  if [[ -n "$bin" ]]; then
    "$bin" 1
    return
  fi
  local port tries=0
  while ((tries++ < 1000)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

alive() {
  local pid=$1 stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

# ours PID: still a named process (guards against PID reuse).
ours() {
  local comm
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [[ "$comm" == named* || "$comm" == isc-* ]]
}

stop_fixture() {
  local dir=$1 pid deadline
  [[ -f "$dir/named.pid" ]] || return 0
  pid=$(<"$dir/named.pid")
  if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(now_ms) + 5000))
    while alive "$pid" && (($(now_ms) < deadline)); do sleep 0.05; done
    if alive "$pid"; then
      echo "bind9_fixture: PID $pid ignored SIGTERM, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      local i=0
      while alive "$pid" && ((i++ < 40)); do sleep 0.05; done
    fi
  fi
  rm -f "$dir/named.pid"
}

new_secret() { openssl rand -base64 32; }

# zone_file ORIGIN EXTRA: SOA, NS and A records for the zone apex, ns1 and *.
zone_file() {
  local origin=$1 extra=${2:-}
  cat <<EOF
\$TTL 60
@       IN SOA ns1.$origin. hostmaster.$origin. ( 1 3600 600 86400 60 )
        IN NS  ns1.$origin.
@       IN A   127.0.0.1
ns1     IN A   127.0.0.1
*       IN A   127.0.0.1
$extra
EOF
}

print_log() {
  local dir=$1
  if [[ -f "$dir/named.log" ]]; then
    echo "---- $dir/named.log (last 40 lines)" >&2
    tail -n 40 "$dir/named.log" >&2
  fi
}

START_DIR=""
on_start_failure() {
  print_log "$START_DIR"
  stop_fixture "$START_DIR"
}

start_fixture() {
  local dir=$1 t0
  t0=$(now_ms)
  local named_bin
  named_bin=$(command -v named || true)
  [[ -z "$named_bin" && -x /usr/sbin/named ]] && named_bin=/usr/sbin/named
  [[ -n "$named_bin" ]] || die "named not installed (scripts/deps.sh installs bind9)"
  command -v dig >/dev/null || die "dig not installed (scripts/deps.sh installs bind9-dnsutils)"

  if [[ -e "$dir" ]]; then
    if [[ -e "$dir/$MARKER" ]]; then
      stop_fixture "$dir"
      rm -rf "${dir:?}"/* "${dir:?}/$MARKER"
    elif [[ -n "$(ls -A "$dir")" ]]; then
      die "$dir exists, is not empty and is not a fixture directory"
    fi
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  touch "$dir/$MARKER"
  START_DIR=$dir
  trap on_start_failure EXIT

  local s256 s512 s1 sdel
  s256=$(new_secret) s512=$(new_secret) s1=$(new_secret) sdel=$(new_secret)

  zone_file example.test \
    "_acme-challenge.delegated IN CNAME delegated.challenges.test." >"$dir/example.test.zone"
  zone_file challenges.test >"$dir/challenges.test.zone"
  zone_file locked.test >"$dir/locked.test.zone"
  cat >"$dir/root.zone" <<'EOF'
$TTL 60
@   IN SOA ns. hostmaster. ( 1 3600 600 86400 60 )
    IN NS  ns.
ns. IN A   127.0.0.1
EOF

  local attempt port ready=0
  for attempt in 1 2 3; do
    port=$(pick_port)
    cat >"$dir/named.conf" <<EOF
// Written by tests/support/bind9_fixture.sh: loopback only; recursion for
// 127.0.0.1 but every zone is local (a root zone too): nothing is asked outside.
options {
  directory "$dir";
  pid-file none;
  listen-on port $port { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-recursion { 127.0.0.1; };
  allow-query { 127.0.0.1; };
  dnssec-validation no;
  notify no;
  session-keyfile "$dir/session.key";
  managed-keys-directory "$dir";
};
controls { };

key "acme-key" { algorithm hmac-sha256; secret "$s256"; };
key "acme-key-512" { algorithm hmac-sha512; secret "$s512"; };
key "acme-key-sha1" { algorithm hmac-sha1; secret "$s1"; };
key "delegate-key" { algorithm hmac-sha256; secret "$sdel"; };

zone "example.test" {
  type primary;
  file "$dir/example.test.zone";
  update-policy {
    grant acme-key zonesub TXT;
    grant acme-key-512 zonesub TXT;
    grant acme-key-sha1 zonesub TXT;
  };
};
zone "challenges.test" {
  type primary;
  file "$dir/challenges.test.zone";
  update-policy { grant delegate-key zonesub TXT; };
};
zone "locked.test" {
  type primary;
  file "$dir/locked.test.zone";
};
zone "." {
  type primary;
  file "$dir/root.zone";
};
EOF
    "$named_bin" -g -c "$dir/named.conf" </dev/null >"$dir/named.log" 2>&1 &
    echo "$!" >"$dir/named.pid"

    local deadline pid
    pid=$(<"$dir/named.pid")
    deadline=$(($(now_ms) + ${BIND9_FIXTURE_TIMEOUT:-20} * 1000))
    while (($(now_ms) < deadline)); do
      if ! alive "$pid"; then
        break
      fi
      if dig +short +time=1 +tries=1 @127.0.0.1 -p "$port" example.test SOA 2>/dev/null |
        grep -q 'ns1.example.test'; then
        ready=1
        break
      fi
      sleep 0.05
    done
    ((ready)) && break
    if ((attempt < 3)) && grep -qi 'address in use\|address already in use' "$dir/named.log"; then
      echo "bind9_fixture: port $port was taken meanwhile; trying another" >&2
      stop_fixture "$dir"
      continue
    fi
    alive "$pid" && die "named not ready after ${BIND9_FIXTURE_TIMEOUT:-20} s on 127.0.0.1:$port"
    die "named exited during start-up"
  done
  ((ready)) || die "named did not start"

  {
    printf 'BIND9_FIXTURE_DIR=%q\n' "$dir"
    printf 'BIND9_PORT=%q\n' "$port"
    printf 'BIND9_SERVER=%q\n' "127.0.0.1:$port"
    printf 'BIND9_TSIG_NAME=%q\n' acme-key
    printf 'BIND9_TSIG_SECRET=%q\n' "$s256"
    printf 'BIND9_TSIG512_NAME=%q\n' acme-key-512
    printf 'BIND9_TSIG512_SECRET=%q\n' "$s512"
    printf 'BIND9_TSIGSHA1_NAME=%q\n' acme-key-sha1
    printf 'BIND9_TSIGSHA1_SECRET=%q\n' "$s1"
    printf 'BIND9_DELEGATE_TSIG_NAME=%q\n' delegate-key
    printf 'BIND9_DELEGATE_TSIG_SECRET=%q\n' "$sdel"
    printf 'BIND9_ZONE=%q\n' example.test
    printf 'BIND9_DELEGATION_ZONE=%q\n' challenges.test
    printf 'BIND9_LOCKED_ZONE=%q\n' locked.test
    printf 'BIND9_DELEGATED_NAME=%q\n' delegated.example.test
    printf 'BIND9_DELEGATED_TARGET=%q\n' delegated.challenges.test
  } >"$dir/env"
  trap - EXIT
  echo "bind9_fixture: up in $(($(now_ms) - t0)) ms on 127.0.0.1:$port (named PID $(<"$dir/named.pid"))" >&2
}

main() {
  (($# == 2)) || {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
  }
  case $1 in
    start) start_fixture "$2" ;;
    stop)
      [[ -d "$2" ]] || exit 0
      stop_fixture "$2"
      echo "bind9_fixture: stopped ($2)" >&2
      ;;
    *)
      echo "usage: $0 start|stop DIR" >&2
      exit 2
      ;;
  esac
}

main "$@"
