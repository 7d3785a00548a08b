#!/usr/bin/env bash
# A real Pebble ACME CA (and pebble-challtestsrv as its DNS, answering every A
# query with 127.0.0.1) on free loopback ports, for tests and the demo.
#
#   pebble_fixture.sh start DIR   start both, wait until the CA answers, write DIR/env
#   pebble_fixture.sh stop DIR    stop exactly the processes that start recorded in DIR
#
# DIR/env is shell-sourceable:
#   PEBBLE_DIR_URL        ACME directory URL (https://127.0.0.1:P/dir)
#   PEBBLE_CA_BUNDLE      CA of Pebble's TLS listener certificate (made here, per start)
#   PEBBLE_TLS_CERT/_KEY  that listener certificate and key (SAN localhost, 127.0.0.1)
#   PEBBLE_MGMT_URL       Pebble's management API (https://127.0.0.1:M)
#   PEBBLE_ROOT_PEM       the root that issued certificates chain to (from /roots/0)
#   PEBBLE_HTTP_PORT      where Pebble's validator connects for http-01 (on 127.0.0.1)
#   PEBBLE_TLS_PORT       where it connects for tls-alpn-01
#   CHALLTESTSRV_MGMT_URL pebble-challtestsrv's management API (http://127.0.0.1:CM)
#   CHALLTESTSRV_DNS      its DNS server, 127.0.0.1:D
#
# Environment read by start:
#   FREE_PORT_BIN         the free_port program (default: build/bin/free_port of
#                         this tree when built, else ports probed with bash)
#   PEBBLE_CERTIFICATE_VALIDITY_PERIOD  seconds, written to certificateValidityPeriod
#   PEBBLE_EAB_KID, PEBBLE_EAB_HMAC_KEY  both set: externalAccountBindingRequired with
#                         this one MAC key (base64url) under this key ID (RFC 8555 §7.3.4)
#   PEBBLE_FIXTURE_TIMEOUT              seconds to wait for readiness (default 20)
#   PEBBLE_VA_NOSLEEP (default 1), PEBBLE_WFE_NONCEREJECT, PEBBLE_AUTHZREUSE,
#   PEBBLE_VA_ALWAYS_VALID, PEBBLE_CHAIN_LENGTH, ...  passed to Pebble as they are.
#   PEBBLE_DNS_SERVER     HOST:PORT of a DNS server of your own (e.g. a BIND9 from
#                         bind9_fixture.sh) for Pebble's -dnsserver: then no
#                         pebble-challtestsrv is started and CHALLTESTSRV_MGMT_URL
#                         and CHALLTESTSRV_DNS are empty in DIR/env. Unset: the
#                         default above.
#
# Only 127.0.0.1 is used; no system service is touched; no python needed.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly MARKER=.pebble-fixture

die() {
  echo "pebble_fixture: $*" >&2
  exit 1
}

now_ms() { date +%s%3N; }

# pick_ports N: prints N distinct free loopback ports, one a line.
pick_ports() {
  local n=$1 bin=${FREE_PORT_BIN:-}
  if [[ -z "$bin" && -x "$SCRIPT_DIR/../../build/bin/free_port" ]]; then
    bin="$SCRIPT_DIR/../../build/bin/free_port"
  fi
  if [[ -n "$bin" ]]; then
    "$bin" "$n"
    return
  fi
  # Fallback: random ports above the usual ephemeral range's start that nothing
  # accepts TCP connections on.
  local -A seen=()
  local port count=0 tries=0
  while ((count < n)); do
    ((++tries > 1000)) && die "no free port found"
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    [[ -n "${seen[$port]:-}" ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      seen[$port]=1
      echo "$port"
      count=$((count + 1))
    fi
  done
}

# alive PID: true while PID runs (a zombie counts as gone).
alive() {
  local pid=$1 stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

# ours PID: the process is still a Pebble binary (guards against PID reuse).
ours() {
  local comm
  comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
  [[ "$comm" == pebble* ]]
}

gen_certs() {
  local dir=$1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 7 \
    -subj "/CN=acmectl test fixture CA $(basename "$dir")" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/listener.key" -out "$dir/listener.csr" -subj "/CN=localhost" 2>/dev/null
  printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$dir/listener.ext"
  openssl x509 -req -in "$dir/listener.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 12)" -days 7 -extfile "$dir/listener.ext" \
    -out "$dir/listener.pem" 2>/dev/null
  rm -f "$dir/listener.csr" "$dir/listener.ext"
  chmod 600 "$dir/ca.key" "$dir/listener.key"
}

print_logs() {
  local dir=$1 log
  for log in "$dir"/challtestsrv.log "$dir"/pebble.log; do
    [[ -f "$log" ]] || continue
    echo "---- $log (last 50 lines)" >&2
    tail -n 50 "$log" >&2
  done
}

stop_fixture() {
  local dir=$1 pidfile pid pids=() deadline
  shopt -s nullglob
  for pidfile in "$dir"/*.pid; do
    pid=$(<"$pidfile")
    if [[ "$pid" =~ ^[0-9]+$ ]] && alive "$pid" && ours "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  deadline=$(($(now_ms) + 5000))
  for pid in "${pids[@]}"; do
    while alive "$pid" && (($(now_ms) < deadline)); do sleep 0.05; done
    if alive "$pid"; then
      echo "pebble_fixture: PID $pid ignored SIGTERM, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      local i=0
      while alive "$pid" && ((i++ < 40)); do sleep 0.05; done
    fi
  done
  rm -f "$dir"/*.pid
  shopt -u nullglob
}

# wait_ready DIR DIR_URL CTS_URL DNS_PORT: until Pebble serves its directory and
# pebble-challtestsrv its management API and DNS port (CTS_URL empty: Pebble
# only). Returns 1, with WAIT_FAILURE set, when either exits; dies after
# PEBBLE_FIXTURE_TIMEOUT s.
WAIT_FAILURE=""
wait_ready() {
  local dir=$1 dir_url=$2 cts_url=$3 dns=$4 deadline name pid names=(pebble)
  [[ -n "$cts_url" ]] && names+=(challtestsrv)
  deadline=$(($(now_ms) + ${PEBBLE_FIXTURE_TIMEOUT:-20} * 1000))
  until curl -sf --max-time 2 --cacert "$dir/ca.pem" -o /dev/null "$dir_url" &&
    { [[ -z "$cts_url" ]] || {
      curl -s --max-time 2 -o /dev/null "$cts_url/" &&
        (exec 3<>"/dev/tcp/127.0.0.1/$dns") 2>/dev/null
    }; }; do
    for name in "${names[@]}"; do
      pid=$(<"$dir/$name.pid")
      if ! alive "$pid"; then
        WAIT_FAILURE="$name exited during start-up"
        return 1
      fi
    done
    (($(now_ms) < deadline)) || die "not ready after ${PEBBLE_FIXTURE_TIMEOUT:-20} s ($dir_url)"
    sleep 0.05
  done
}

START_DIR=""
on_start_failure() {
  print_logs "$START_DIR"
  stop_fixture "$START_DIR"
}

start_fixture() {
  local dir=$1 t0
  t0=$(now_ms)
  command -v pebble >/dev/null || die "pebble not installed (scripts/deps.sh installs it)"
  local own_dns=${PEBBLE_DNS_SERVER:-}
  if [[ -n "$own_dns" ]]; then
    [[ "$own_dns" =~ ^[^:]+:[0-9]+$ ]] || die "PEBBLE_DNS_SERVER must be HOST:PORT, got '$own_dns'"
  else
    command -v pebble-challtestsrv >/dev/null || die "pebble-challtestsrv not installed"
  fi

  if [[ -e "$dir" ]]; then
    if [[ -e "$dir/$MARKER" ]]; then
      stop_fixture "$dir" # a previous run's leftovers
      rm -rf "${dir:?}"/* "${dir:?}/$MARKER"
    elif [[ -n "$(ls -A "$dir")" ]]; then
      die "$dir exists, is not empty and is not a fixture directory"
    fi
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  touch "$dir/$MARKER"

  # On any failure from here on, stop what was started and show the logs.
  START_DIR=$dir
  trap on_start_failure EXIT

  local validity=""
  if [[ -n "${PEBBLE_CERTIFICATE_VALIDITY_PERIOD:-}" ]]; then
    [[ "$PEBBLE_CERTIFICATE_VALIDITY_PERIOD" =~ ^[0-9]+$ ]] ||
      die "PEBBLE_CERTIFICATE_VALIDITY_PERIOD must be a number of seconds"
    validity=",
    \"certificateValidityPeriod\": $PEBBLE_CERTIFICATE_VALIDITY_PERIOD"
  fi

  local eab="false"
  if [[ -n "${PEBBLE_EAB_KID:-}" || -n "${PEBBLE_EAB_HMAC_KEY:-}" ]]; then
    [[ "${PEBBLE_EAB_KID:-}" =~ ^[A-Za-z0-9._-]+$ && "${PEBBLE_EAB_HMAC_KEY:-}" =~ ^[A-Za-z0-9_-]+$ ]] ||
      die "PEBBLE_EAB_KID and PEBBLE_EAB_HMAC_KEY must both be set (key ID, base64url key)"
    eab="true,
    \"externalAccountMACKeys\": {\"$PEBBLE_EAB_KID\": \"$PEBBLE_EAB_HMAC_KEY\"}"
  fi

  # A port picked free can be taken by someone else before our server binds
  # it: then start again on new ports (at most 3 attempts).
  local attempt ports acme mgmt http tls dns ctsmgmt dir_url mgmt_url cts_url
  for attempt in 1 2 3; do
    mapfile -t ports < <(pick_ports 6)
    ((${#ports[@]} == 6)) || die "could not pick 6 free ports"
    acme=${ports[0]} mgmt=${ports[1]} http=${ports[2]} tls=${ports[3]}
    dns=${ports[4]} ctsmgmt=${ports[5]}
    dir_url="https://127.0.0.1:$acme/dir" mgmt_url="https://127.0.0.1:$mgmt"
    cts_url="http://127.0.0.1:$ctsmgmt"
    [[ -n "$own_dns" ]] && cts_url=""
    cat >"$dir/pebble-config.json" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$acme",
    "managementListenAddress": "127.0.0.1:$mgmt",
    "certificate": "$dir/listener.pem",
    "privateKey": "$dir/listener.key",
    "httpPort": $http,
    "tlsPort": $tls,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": $eab$validity
  }
}
EOF

    if [[ -z "$own_dns" ]]; then
      pebble-challtestsrv -dns01 "127.0.0.1:$dns" -management "127.0.0.1:$ctsmgmt" \
        -http01 "" -https01 "" -tlsalpn01 "" \
        -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
        </dev/null >"$dir/challtestsrv.log" 2>&1 &
      echo "$!" >"$dir/challtestsrv.pid"
    fi

    # The listener certificate is made (once) while pebble-challtestsrv starts.
    [[ -f "$dir/listener.pem" ]] || gen_certs "$dir"

    PEBBLE_VA_NOSLEEP="${PEBBLE_VA_NOSLEEP:-1}" \
      pebble -config "$dir/pebble-config.json" -dnsserver "${own_dns:-127.0.0.1:$dns}" \
      </dev/null >"$dir/pebble.log" 2>&1 &
    echo "$!" >"$dir/pebble.pid"

    if wait_ready "$dir" "$dir_url" "$cts_url" "$dns"; then
      break
    fi
    if ((attempt < 3)) && grep -qi 'address already in use' "$dir"/*.log; then
      echo "pebble_fixture: a port was taken meanwhile; starting again on other ports" >&2
      stop_fixture "$dir"
      continue
    fi
    die "$WAIT_FAILURE"
  done

  curl -sf --max-time 5 --cacert "$dir/ca.pem" -o "$dir/root.pem" "$mgmt_url/roots/0" ||
    die "could not fetch $mgmt_url/roots/0"
  curl -sf --max-time 5 --cacert "$dir/ca.pem" -o "$dir/intermediate.pem" \
    "$mgmt_url/intermediates/0" || die "could not fetch $mgmt_url/intermediates/0"
  openssl x509 -noout -in "$dir/root.pem" 2>/dev/null || die "$mgmt_url/roots/0 is not a PEM certificate"

  {
    printf 'PEBBLE_FIXTURE_DIR=%q\n' "$dir"
    printf 'PEBBLE_DIR_URL=%q\n' "$dir_url"
    printf 'PEBBLE_CA_BUNDLE=%q\n' "$dir/ca.pem"
    printf 'PEBBLE_TLS_CERT=%q\n' "$dir/listener.pem"
    printf 'PEBBLE_TLS_KEY=%q\n' "$dir/listener.key"
    printf 'PEBBLE_MGMT_URL=%q\n' "$mgmt_url"
    printf 'PEBBLE_ROOT_PEM=%q\n' "$dir/root.pem"
    printf 'PEBBLE_INTERMEDIATE_PEM=%q\n' "$dir/intermediate.pem"
    printf 'PEBBLE_HTTP_PORT=%q\n' "$http"
    printf 'PEBBLE_TLS_PORT=%q\n' "$tls"
    printf 'CHALLTESTSRV_MGMT_URL=%q\n' "$cts_url"
    if [[ -n "$own_dns" ]]; then
      printf 'CHALLTESTSRV_DNS=%q\n' ""
      printf 'PEBBLE_DNS_SERVER=%q\n' "$own_dns"
    else
      printf 'CHALLTESTSRV_DNS=%q\n' "127.0.0.1:$dns"
    fi
  } >"$dir/env"
  trap - EXIT
  local dns_note="DNS $own_dns"
  [[ -z "$own_dns" ]] && dns_note="challtestsrv PID $(<"$dir/challtestsrv.pid")"
  echo "pebble_fixture: up in $(($(now_ms) - t0)) ms: $dir_url (pebble PID $(<"$dir/pebble.pid"), $dns_note, http-01 port $http)" >&2
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
      echo "pebble_fixture: stopped ($2)" >&2
      ;;
    *)
      echo "usage: $0 start|stop DIR" >&2
      exit 2
      ;;
  esac
}

main "$@"
