#!/usr/bin/env bash
# Side-by-side benchmark of one-shot certificate issuance against a local
# Pebble ACME CA: acmectl versus the ACME clients Debian packages (lego,
# certbot, dehydrated, uacme, acme-tiny).
#
#   bench/issue_side_by_side.sh [N]        (N timed issuances per client, default 5)
#
# Install what it needs first: bench/deps.sh. docs/BENCHMARKS.md explains the
# figures and holds a measured table.
#
# One Pebble (tests/support/pebble_fixture.sh, PEBBLE_VA_NOSLEEP=1,
# PEBBLE_AUTHZREUSE=0, PEBBLE_WFE_NONCEREJECT=0) serves every client: no
# validation delay, no reused authorization and no randomly rejected nonce, so
# every client does the same protocol work for every certificate. Each client gets its own state
# directory, does one untimed warm-up issuance (account registration) and then
# N timed issuances, each for a fresh name (runI.CLIENT.bench.test) so that no
# authorization is reused. The rounds are interleaved (round 1 of every client,
# then round 2...) so that a change of machine load hits all clients alike.
# Every issuance must leave a certificate for its name that verifies against
# Pebble's root; a client that fails is reported as failed in the table.
#
# Per issuance, bench/measure.py records from wait4(2): CPU time (user+sys) of
# the client process and of every descendant it waited for (curl, openssl,
# hooks), the largest resident set of any of them, and wall time. The table
# printed to stdout has the median of each over the N runs. For acmectl it also
# prints the instruction count (callgrind total Ir) of one steady-state
# issuance, which does not depend on machine load.
#
# http-01: acmectl, lego and certbot answer with their own built-in server on
# 127.0.0.1:$PEBBLE_HTTP_PORT; dehydrated, uacme and acme-tiny write the token
# into a webroot that an nginx started here serves on that port (nginx's own
# cost is not counted). uacme 1.7.4 has no option to trust another CA: it runs
# in a private mount namespace in which Pebble's CA is bind-mounted over
# /etc/ssl/certs/ca-certificates.crt (needs root; nothing outside changes).
#
# Environment:
#   BENCH_CLIENTS          clients to run, in order (default: all six)
#   BENCH_TIMEOUT          seconds one issuance may take (default 120)
#   BENCH_CALLGRIND_RUNS   callgrind runs of acmectl (default 3; 0 skips)
#   BENCH_KEEP=1           keep the work directory (logs) and print its path
#   ACMECTL_BIN            acmectl binary to measure (default: build-bench/bin/acmectl,
#                          built from this tree in Release with -j2 first)
#
# Every client runs with PATH=/usr/sbin:/usr/bin:/sbin:/bin.
#
# Exit status: 0 when every client issued every certificate, 1 when one failed
# (the table is printed all the same), 2 on a usage or set-up error.
# Only 127.0.0.1 is used; ports are the fixture's free ports.
# The per-client functions are called by name ("${c}_cmd"), cleanup from a trap:
# shellcheck disable=SC2317
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
readonly BENCH_DIR ROOT
readonly FIXTURE="$ROOT/tests/support/pebble_fixture.sh"
# Debian's programs only, whatever the caller's PATH holds (a pyenv python3 or
# a grep from ~/.cargo/bin would change what the shell clients cost).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
readonly MEASURE="$BENCH_DIR/measure.py"
readonly EMAIL=bench@example.com
readonly DOMAIN=bench.test

log() { echo "bench: $*" >&2; }
die() {
  log "$*"
  exit 2
}

N=${1:-5}
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [N]   (N = timed issuances per client, >= 1)"
read -r -a CLIENTS <<<"${BENCH_CLIENTS:-acmectl lego certbot dehydrated uacme acme-tiny}"
TIMEOUT=${BENCH_TIMEOUT:-120}
CALLGRIND_RUNS=${BENCH_CALLGRIND_RUNS:-3}
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_TIMEOUT must be a number of seconds"
[[ "$CALLGRIND_RUNS" =~ ^[0-9]+$ ]] || die "BENCH_CALLGRIND_RUNS must be a number"

for c in "${CLIENTS[@]}"; do
  case $c in
    acmectl | lego | certbot | dehydrated | uacme | acme-tiny) ;;
    *) die "unknown client '$c' in BENCH_CLIENTS" ;;
  esac
done
for tool in pebble pebble-challtestsrv openssl curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || die "$tool missing: run bench/deps.sh"
done

# ---------------------------------------------------------------- acmectl binary
ACMECTL=${ACMECTL_BIN:-$ROOT/build-bench/bin/acmectl}
if [[ " ${CLIENTS[*]} " == *" acmectl "* ]]; then
  if [[ -n "${ACMECTL_BIN:-}" ]]; then
    [[ -x "$ACMECTL" ]] || die "ACMECTL_BIN=$ACMECTL is not executable"
  else
    # Always through the build: a no-op when build-bench is up to date, and
    # the binary measured is the one of this tree, never a stale one.
    log "building acmectl (Release, -j2) in $ROOT/build-bench"
    if [[ ! -f "$ROOT/build-bench/CMakeCache.txt" ]]; then
      cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release \
        -DACMECTL_BUILD_TESTS=OFF >&2 || die "cmake configure failed"
    fi
    cmake --build "$ROOT/build-bench" -j2 --target acmectl >&2 || die "acmectl does not build"
    [[ -x "$ACMECTL" ]] || die "build did not produce $ACMECTL"
  fi
fi

# ---------------------------------------------------------------- work dir, fixture
WORK=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-bench.XXXXXX")
readonly WORK
readonly WEBROOT="$WORK/webroot"
NGINX_PID=""

nginx_stop() {
  [[ -n "$NGINX_PID" ]] || return 0
  kill -TERM "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
}

cleanup() {
  local rc=$?
  nginx_stop
  if [[ -f "$WORK/pebble/env" || -d "$WORK/pebble" ]]; then
    "$FIXTURE" stop "$WORK/pebble" 2>/dev/null || true
  fi
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
    log "work directory kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "starting Pebble (PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0)"
PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 \
  "$FIXTURE" start "$WORK/pebble"
# shellcheck source=/dev/null
source "$WORK/pebble/env"
: "${PEBBLE_DIR_URL:?}" "${PEBBLE_CA_BUNDLE:?}" "${PEBBLE_HTTP_PORT:?}"
: "${PEBBLE_ROOT_PEM:?}" "${PEBBLE_INTERMEDIATE_PEM:?}" "${PEBBLE_MGMT_URL:?}"
mkdir -p "$WEBROOT/.well-known/acme-challenge"

# ---------------------------------------------------------------- web server
# nginx in the foreground (no daemon, no master: one process, ours to stop by
# PID), every path under $WORK/nginx, nothing in /etc/nginx touched.
nginx_start() {
  [[ -z "$NGINX_PID" ]] || return 0
  local prefix="$WORK/nginx" t
  if [[ ! -f "$prefix/nginx.conf" ]]; then
    mkdir -p "$prefix/logs" "$prefix/tmp"
    cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log $prefix/logs/access.log;
  client_body_temp_path $prefix/tmp/body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$PEBBLE_HTTP_PORT;
    server_name _;
    root $WEBROOT;
    location /.well-known/acme-challenge/ { try_files \$uri =404; }
    location / { return 404; }
  }
}
EOF
  fi
  nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
    </dev/null >>"$prefix/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  for ((t = 0; t < 200; t++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PEBBLE_HTTP_PORT") 2>/dev/null; then
      return 0
    fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.05
  done
  tail -n 20 "$prefix/logs/error.log" "$prefix/logs/stdout.log" >&2 || true
  die "nginx did not start on 127.0.0.1:$PEBBLE_HTTP_PORT"
}

# ---------------------------------------------------------------- clients
# Each client has:
#   CLIENT_version           prints its version
#   CLIENT_setup DIR         untimed preparation (config, account where separate)
#   CLIENT_cmd DIR NAME      sets CMD (what is timed), CERT (where the
#                            certificate must be afterwards), OUT (file for the
#                            command's stdout, or "-"), WRAP (run around the
#                            measuring wrapper, e.g. a namespace; usually empty)
#   needs_web CLIENT         true when nginx must serve the webroot

needs_web() { [[ "$1" == dehydrated || "$1" == uacme || "$1" == acme-tiny ]]; }
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

acmectl_version() {
  local v commit=""
  v=$("$ACMECTL" --version 2>/dev/null | awk '{print $NF}')
  # The commit of this tree describes the binary only when it was built here.
  [[ -n "${ACMECTL_BIN:-}" ]] || commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)
  echo "${v:-?}${commit:+ ($commit)}"
}
acmectl_setup() { :; }
acmectl_cmd() {
  local dir=$1 name=$2
  CMD=("$ACMECTL" issue -d "$name" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
    --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --key-type ec256
    --state-dir "$dir/state" --out "$dir/out/$name" --agree-tos --email "$EMAIL"
    --log-level error)
  # --out DIR puts the files in DIR/NAME/ (a symlink to the current version);
  # older builds wrote them to DIR itself.
  CERT="$dir/out/$name/$name/cert.pem" CERT_ALT="$dir/out/$name/cert.pem" OUT=- WRAP=()
}

lego_version() { deb_version lego; }
lego_setup() { :; }
lego_cmd() {
  local dir=$1 name=$2
  CMD=(env "LEGO_CA_CERTIFICATES=$PEBBLE_CA_BUNDLE" lego --server "$PEBBLE_DIR_URL"
    --accept-tos --email "$EMAIL" --domains "$name" --key-type ec256
    --http --http.port "127.0.0.1:$PEBBLE_HTTP_PORT" --path "$dir/lego" run)
  CERT="$dir/lego/certificates/$name.crt" OUT=- WRAP=()
}

certbot_version() { deb_version certbot; }
certbot_setup() { :; }
certbot_cmd() {
  local dir=$1 name=$2
  CMD=(env "REQUESTS_CA_BUNDLE=$PEBBLE_CA_BUNDLE" certbot certonly --standalone
    --http-01-address 127.0.0.1 --http-01-port "$PEBBLE_HTTP_PORT"
    --server "$PEBBLE_DIR_URL" --config-dir "$dir/config" --work-dir "$dir/work"
    --logs-dir "$dir/logs" --agree-tos -m "$EMAIL" --no-eff-email --non-interactive
    --key-type ecdsa --elliptic-curve secp256r1 -d "$name")
  CERT="$dir/config/live/$name/cert.pem" OUT=- WRAP=()
}

dehydrated_version() { deb_version dehydrated; }
dehydrated_setup() {
  local dir=$1
  mkdir -p "$dir/base"
  cat >"$dir/config" <<EOF
CA="$PEBBLE_DIR_URL"
CHALLENGETYPE="http-01"
BASEDIR="$dir/base"
WELLKNOWN="$WEBROOT/.well-known/acme-challenge"
CURL_OPTS="--cacert $PEBBLE_CA_BUNDLE"
KEY_ALGO=prime256v1
CONTACT_EMAIL="$EMAIL"
EOF
  nginx_start
  dehydrated --config "$dir/config" --register --accept-terms \
    </dev/null >>"$dir/setup.log" 2>&1 || {
    tail -n 20 "$dir/setup.log" >&2
    return 1
  }
}
dehydrated_cmd() {
  local dir=$1 name=$2
  CMD=(dehydrated --config "$dir/config" --cron --domain "$name")
  CERT="$dir/base/certs/$name/cert.pem" OUT=- WRAP=()
}

uacme_version() { deb_version uacme; }
# shellcheck disable=SC2016 # "$0" and "$@" are for the inner sh
UACME_WRAP=(unshare -m --propagation private
  sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"')
uacme_setup() {
  local dir=$1
  mkdir -p "$dir/conf"
  # uacme's hook contract: METHOD TYPE IDENT TOKEN AUTH.
  cat >"$dir/hook.sh" <<EOF
#!/bin/sh
[ "\$2" = http-01 ] || exit 1
case "\$1" in
  begin) printf '%s' "\$5" >"$WEBROOT/.well-known/acme-challenge/\$4" ;;
  done | failed) rm -f "$WEBROOT/.well-known/acme-challenge/\$4" ;;
  *) exit 1 ;;
esac
EOF
  chmod 755 "$dir/hook.sh"
  "${UACME_WRAP[@]}" "$PEBBLE_CA_BUNDLE" uacme -y -c "$dir/conf" -a "$PEBBLE_DIR_URL" -t EC \
    -v new "$EMAIL" </dev/null >>"$dir/setup.log" 2>&1 || {
    tail -n 20 "$dir/setup.log" >&2
    return 1
  }
}
uacme_cmd() {
  local dir=$1 name=$2
  CMD=(uacme -c "$dir/conf" -a "$PEBBLE_DIR_URL" -t EC -h "$dir/hook.sh" issue "$name")
  CERT="$dir/conf/$name/cert.pem" OUT=- WRAP=("${UACME_WRAP[@]}" "$PEBBLE_CA_BUNDLE")
}

acme-tiny_version() { deb_version acme-tiny; }
acme-tiny_setup() {
  local dir=$1
  # acme-tiny takes an RSA account key and a CSR made by the user: the key
  # pair and CSR of each certificate are made inside the timed command.
  openssl genrsa -out "$dir/account.key" 2048 2>/dev/null
  cat >"$dir/issue.sh" <<'EOF'
#!/bin/sh
# issue.sh NAME DIR ACME_DIR DIRECTORY_URL: key + CSR with openssl, then acme-tiny.
set -e
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$2/$1.key" -subj "/CN=$1" -addext "subjectAltName=DNS:$1" \
  -out "$2/$1.csr" 2>/dev/null
exec acme-tiny --account-key "$2/account.key" --csr "$2/$1.csr" --acme-dir "$3" \
  --disable-check --directory-url "$4" --contact "mailto:bench@example.com" --quiet
EOF
  chmod 755 "$dir/issue.sh"
}
acme-tiny_cmd() {
  local dir=$1 name=$2
  CMD=(env "SSL_CERT_FILE=$PEBBLE_CA_BUNDLE" "$dir/issue.sh" "$name" "$dir"
    "$WEBROOT/.well-known/acme-challenge" "$PEBBLE_DIR_URL")
  CERT="$dir/$name.crt" OUT="$dir/$name.crt" WRAP=()
}

# verify_cert FILE NAME: a certificate for NAME issued by this Pebble.
verify_cert() {
  local file=$1 name=$2
  [[ -s "$file" ]] || {
    echo "no certificate at $file"
    return 1
  }
  openssl x509 -noout -checkhost "$name" -in "$file" 2>/dev/null | grep -q "does match" || {
    echo "$file is not a certificate for $name"
    return 1
  }
  openssl verify -CAfile "$PEBBLE_ROOT_PEM" -untrusted "$PEBBLE_INTERMEDIATE_PEM" \
    "$file" >/dev/null 2>&1 || {
    echo "$file does not verify against Pebble's root"
    return 1
  }
}

# ---------------------------------------------------------------- running
declare -A FAILED=() VERSION=() CPU=() RSS=() WALL=() USER_MS=() SYS_MS=()

# run_one CLIENT LABEL: one issuance of a fresh name; appends the figures of a
# timed run (LABEL runI) to the client's lists; marks the client failed on error.
run_one() {
  local c=$1 label=$2 dir="$WORK/$1" name="$2.$1.$DOMAIN" m reason
  local CMD=() CERT="" CERT_ALT="" OUT="" WRAP=()
  "${c}_cmd" "$dir" "$name"
  m="$dir/measure.$label"
  "${WRAP[@]}" /usr/bin/python3 "$MEASURE" "$m" "$TIMEOUT" "$dir/$label.log" "$OUT" -- \
    "${CMD[@]}" || true
  if [[ ! -s "$m" ]]; then
    FAILED[$c]="$label: not measured (see $label.log)"
    return 1
  fi
  local rc wall_ms user_ms sys_ms cpu_ms maxrss_kib
  # shellcheck disable=SC2046 # word splitting of key=value pairs is intended
  local $(cat "$m")
  if ((rc != 0)); then
    FAILED[$c]="$label: exit status $rc ($(tail -n 1 "$dir/$label.log" | cut -c1-160))"
    return 1
  fi
  [[ -e "$CERT" || -z "$CERT_ALT" ]] || CERT=$CERT_ALT
  if ! reason=$(verify_cert "$CERT" "$name"); then
    FAILED[$c]="$label: $reason"
    return 1
  fi
  log "$(printf '%-10s %-8s wall %8.1f ms  cpu %8.1f ms (user %.1f sys %.1f)  maxrss %6d KiB' \
    "$c" "$label" "$wall_ms" "$cpu_ms" "$user_ms" "$sys_ms" "$maxrss_kib")"
  if [[ "$label" == run* ]]; then
    WALL[$c]+="$wall_ms "
    CPU[$c]+="$cpu_ms "
    USER_MS[$c]+="$user_ms "
    SYS_MS[$c]+="$sys_ms "
    RSS[$c]+="$maxrss_kib "
  fi
}

# pebble_alive: Pebble still answers, its store included. A client that died
# in the middle of a validation once left Pebble 2.4.0 answering /dir but
# hanging on every new order; the clients after it would then fail for
# Pebble's sake, so the run stops. The management API's certificate look-up
# takes the store's lock: any HTTP status (404 here) within 5 s is healthy.
pebble_alive() {
  local code
  curl -sf --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$PEBBLE_DIR_URL" || return 1
  code=$(curl -s --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null -w '%{http_code}' \
    "$PEBBLE_MGMT_URL/cert-status-by-serial/1") || true
  [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

# after_failure CLIENT: log the failure; give up on every client if Pebble hangs.
after_failure() {
  local c=$1 other
  log "$c failed: ${FAILED[$c]}"
  pebble_alive && return 0
  log "Pebble does not answer any more after $c failed: stopping"
  for other in "${CLIENTS[@]}"; do
    [[ -n "${FAILED[$other]:-}" ]] ||
      FAILED[$other]="not finished: Pebble stopped answering after $c failed"
  done
}

# run_round LABEL: one issuance per client still in the race; the clients that
# need nginx run while it is up, the others while the port is free.
run_round() {
  local label=$1 c
  for c in "${CLIENTS[@]}"; do
    needs_web "$c" && continue
    [[ -z "${FAILED[$c]:-}" ]] || continue
    run_one "$c" "$label" || after_failure "$c"
  done
  for c in "${CLIENTS[@]}"; do
    needs_web "$c" || continue
    [[ -z "${FAILED[$c]:-}" ]] || continue
    nginx_start
    run_one "$c" "$label" || after_failure "$c"
  done
  nginx_stop
}

for c in "${CLIENTS[@]}"; do
  VERSION[$c]=$("${c}_version")
  command -v "$([[ $c == acmectl ]] && echo "$ACMECTL" || echo "$c")" >/dev/null ||
    FAILED[$c]="not installed (bench/deps.sh)"
  mkdir -p "$WORK/$c"
  if [[ -z "${FAILED[$c]:-}" ]] && ! "${c}_setup" "$WORK/$c"; then
    FAILED[$c]="set-up (account registration) failed"
  fi
  nginx_stop
done

log "warm-up: one untimed issuance per client (account in place, caches warm)"
run_round warmup
for ((i = 1; i <= N; i++)); do
  log "round $i of $N"
  run_round "run$i"
done

# ---------------------------------------------------------------- callgrind
CALLGRIND_IR=()
if ((CALLGRIND_RUNS > 0)) && [[ " ${CLIENTS[*]} " == *" acmectl "* && -z "${FAILED[acmectl]:-}" ]]; then
  if command -v valgrind >/dev/null; then
    for ((i = 1; i <= CALLGRIND_RUNS; i++)); do
      name="cg$i.acmectl.$DOMAIN"
      out="$WORK/acmectl/callgrind.out.$i"
      CMD=() CERT="" CERT_ALT="" OUT="" WRAP=()
      acmectl_cmd "$WORK/acmectl" "$name"
      if valgrind --tool=callgrind --callgrind-out-file="$out" "${CMD[@]}" \
        </dev/null >>"$WORK/acmectl/callgrind.log" 2>&1; then
        [[ -e "$CERT" ]] || CERT=$CERT_ALT
      fi
      if [[ -s "$out" ]] && verify_cert "$CERT" "$name" >/dev/null; then
        ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
        log "callgrind run $i: $ir instructions (Ir)"
        CALLGRIND_IR+=("$ir")
      else
        log "callgrind run $i failed (see callgrind.log)"
      fi
    done
  else
    log "valgrind not installed: no instruction count (bench/deps.sh)"
  fi
fi

# ---------------------------------------------------------------- report
# median V...: the middle value (mean of the two middle ones for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

any_failed=0
{
  echo "| client | version | median CPU ms (user+sys) | median max RSS MiB | median wall ms | N |"
  echo "|---|---|---:|---:|---:|---:|"
  for c in "${CLIENTS[@]}"; do
    if [[ -n "${FAILED[$c]:-}" ]]; then
      any_failed=1
      echo "| $c | ${VERSION[$c]} | failed | failed | failed | 0 of $N |"
      continue
    fi
    read -r -a cpu <<<"${CPU[$c]}"
    read -r -a rss <<<"${RSS[$c]}"
    read -r -a wall <<<"${WALL[$c]}"
    printf '| %s | %s | %.0f | %.1f | %.0f | %d |\n' "$c" "${VERSION[$c]}" \
      "$(median "${cpu[@]}")" "$(awk -v k="$(median "${rss[@]}")" 'BEGIN {print k / 1024}')" \
      "$(median "${wall[@]}")" "${#cpu[@]}"
  done
  echo
  echo "Per run, CPU ms (user+sys) / wall ms:"
  echo
  for c in "${CLIENTS[@]}"; do
    [[ -z "${FAILED[$c]:-}" ]] || continue
    read -r -a cpu <<<"${CPU[$c]}"
    read -r -a wall <<<"${WALL[$c]}"
    line="- $c:"
    for ((i = 0; i < ${#cpu[@]}; i++)); do
      line+=" $(printf '%.0f/%.0f' "${cpu[$i]}" "${wall[$i]}")"
    done
    echo "$line"
  done
  for c in "${CLIENTS[@]}"; do
    [[ -n "${FAILED[$c]:-}" ]] && echo "- $c FAILED: ${FAILED[$c]}"
  done
  if ((${#CALLGRIND_IR[@]} > 0)); then
    echo
    echo "acmectl, one steady-state issuance under callgrind: median $(median "${CALLGRIND_IR[@]}") instructions (Ir); runs: ${CALLGRIND_IR[*]}"
  fi
}
exit "$any_failed"
