#!/usr/bin/env bash
# Side-by-side benchmark of one-shot certificate issuance against one local
# Pebble ACME CA: acmectl, the floor program (bench/floor.c) and the ACME
# clients Debian 12 packages (lego, certbot, dehydrated, uacme, acme-tiny),
# over HTTP-01 and DNS-01.
#
#   bench/compare.sh [N]        (N timed issuances per client and challenge, default 20)
#
# Install what it needs first: bench/deps.sh. docs/BENCHMARKS.md explains the
# figures and holds measured tables.
#
# One Pebble (tests/support/pebble_fixture.sh, PEBBLE_VA_NOSLEEP=1,
# PEBBLE_AUTHZREUSE=0, PEBBLE_WFE_NONCEREJECT=0, pebble-challtestsrv as its DNS)
# serves every client. Each client and challenge type gets its own fresh state
# directory, one untimed warm-up issuance (account registration), then N timed
# issuances, each for a fresh name; the rounds are interleaved (round 1 of every
# client and challenge, then round 2...) so that a change of machine load hits
# all alike. Every issuance must leave a certificate for its name that verifies
# against Pebble's root; one that does not makes the client "failed".
#
# Per issuance, bench/measure.py records from wait4(2): CPU time (user+sys) of
# the client and of every descendant it waited for (curl, openssl, hooks), the
# largest resident set of any of them, and wall time; the requests Pebble's
# ACME server handled during the run are counted from its log. The floor
# program (one P-256 key, ten ES256 signatures, one verified TLS connection to
# Pebble with eight requests; built statically by bench/build_c.sh) runs in the
# same rounds: its CPU is what no client can go below.
#
# http-01: acmectl, lego and certbot answer with their own server on
# 127.0.0.1:$PEBBLE_HTTP_PORT; dehydrated, uacme and acme-tiny write the token
# into a webroot that an nginx started here serves (nginx's cost not counted).
# dns-01: every client runs bench/dns_hook.sh, which sets the TXT record in
# pebble-challtestsrv with one curl (counted in every client's figures alike).
# acme-tiny has no DNS-01. uacme 1.7.4 has no option to trust another CA: it
# runs in a private mount namespace in which Pebble's CA is bind-mounted over
# /etc/ssl/certs/ca-certificates.crt (needs root; nothing outside changes).
#
# Environment:
#   BENCH_CLIENTS          clients, in order (default: floor acmectl lego certbot
#                          dehydrated uacme acme-tiny)
#   BENCH_CHALLENGES       default "http-01 dns-01"
#   BENCH_TIMEOUT          seconds one issuance may take (default 120)
#   BENCH_CALLGRIND_RUNS   callgrind runs of acmectl and of the floor (default 3; 0 skips)
#   BENCH_KEEP=1           keep the work directory (logs) and print its path
#   ACMECTL_BIN            acmectl binary to measure (default: build-bench/bin/acmectl,
#                          built from this tree in Release with -j2 first)
#   BENCH_PEBBLE_DIR       use the Pebble that pebble_fixture.sh started in that
#                          directory instead of starting one
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
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
readonly MEASURE="$BENCH_DIR/measure.py"
readonly DNS_HOOK="$BENCH_DIR/dns_hook.sh"
readonly EMAIL=bench@example.com
readonly DOMAIN=bench.test

# nginx_start / nginx_stop: serve $WEBROOT on 127.0.0.1:$PEBBLE_HTTP_PORT.
# shellcheck source=bench/lib.sh
source "$BENCH_DIR/lib.sh"

log() { echo "bench: $*" >&2; }
die() {
  log "$*"
  exit 2
}

N=${1:-20}
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [N]   (N = timed issuances per client, >= 1)"
read -r -a CLIENTS <<<"${BENCH_CLIENTS:-floor acmectl lego certbot dehydrated uacme acme-tiny}"
read -r -a CHALLENGES <<<"${BENCH_CHALLENGES:-http-01 dns-01}"
TIMEOUT=${BENCH_TIMEOUT:-120}
CALLGRIND_RUNS=${BENCH_CALLGRIND_RUNS:-3}
[[ "$TIMEOUT" =~ ^[1-9][0-9]*$ ]] || die "BENCH_TIMEOUT must be a number of seconds"
[[ "$CALLGRIND_RUNS" =~ ^[0-9]+$ ]] || die "BENCH_CALLGRIND_RUNS must be a number"
for c in "${CLIENTS[@]}"; do
  case $c in
    floor | acmectl | lego | certbot | dehydrated | uacme | acme-tiny) ;;
    *) die "unknown client '$c' in BENCH_CLIENTS" ;;
  esac
done
for chal in "${CHALLENGES[@]}"; do
  [[ "$chal" == http-01 || "$chal" == dns-01 ]] || die "unknown challenge '$chal'"
done
for tool in pebble pebble-challtestsrv openssl curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || die "$tool missing: run bench/deps.sh"
done
has_client() { [[ " ${CLIENTS[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------- binaries
ACMECTL=${ACMECTL_BIN:-$ROOT/build-bench/bin/acmectl}
if has_client acmectl; then
  if [[ -n "${ACMECTL_BIN:-}" ]]; then
    [[ -x "$ACMECTL" ]] || die "ACMECTL_BIN=$ACMECTL is not executable"
  else
    # Always through the build: a no-op when build-bench is up to date.
    log "building acmectl (Release, -j2) in $ROOT/build-bench"
    if [[ ! -f "$ROOT/build-bench/CMakeCache.txt" ]]; then
      cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release \
        -DACMECTL_BUILD_TESTS=OFF >&2 || die "cmake configure failed"
    fi
    cmake --build "$ROOT/build-bench" -j2 --target acmectl >&2 || die "acmectl does not build"
    [[ -x "$ACMECTL" ]] || die "build did not produce $ACMECTL"
  fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-compare.XXXXXX")
readonly WORK
readonly WEBROOT="$WORK/webroot"
FLOOR="$WORK/bin/floor"
"$BENCH_DIR/build_c.sh" "$WORK/bin" >&2 || die "bench/floor.c or bench/rusage.c does not build"
# measure.py runs every command under bench/rusage (see measure.py: peak RSS).
export MEASURE_RUSAGE_BIN="$WORK/bin/rusage"

# ---------------------------------------------------------------- fixture

OWN_PEBBLE=""
cleanup() {
  local rc=$?
  nginx_stop
  if [[ -n "$OWN_PEBBLE" ]]; then
    "$FIXTURE" stop "$OWN_PEBBLE" 2>/dev/null || true
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

if [[ -n "${BENCH_PEBBLE_DIR:-}" ]]; then
  PEBBLE_HOME=$BENCH_PEBBLE_DIR
else
  log "starting Pebble (PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0)"
  PEBBLE_HOME="$WORK/pebble"
  OWN_PEBBLE=$PEBBLE_HOME
  PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 \
    "$FIXTURE" start "$PEBBLE_HOME"
fi
# shellcheck source=/dev/null
source "$PEBBLE_HOME/env"
: "${PEBBLE_DIR_URL:?}" "${PEBBLE_CA_BUNDLE:?}" "${PEBBLE_HTTP_PORT:?}"
: "${PEBBLE_ROOT_PEM:?}" "${PEBBLE_INTERMEDIATE_PEM:?}" "${PEBBLE_MGMT_URL:?}"
if [[ " ${CHALLENGES[*]} " == *" dns-01 "* ]]; then
  [[ -n "${CHALLTESTSRV_MGMT_URL:-}" ]] || die "this Pebble has no pebble-challtestsrv (dns-01)"
fi
export CHALLTESTSRV_MGMT_URL
readonly PEBBLE_LOG="$PEBBLE_HOME/pebble.log"
PEBBLE_PORT=${PEBBLE_DIR_URL#https://127.0.0.1:}
PEBBLE_PORT=${PEBBLE_PORT%%/*}
mkdir -p "$WEBROOT/.well-known/acme-challenge"

# pebble_requests: how many ACME requests Pebble has handled so far (its log
# has one "-> calling handler()" line per request).
pebble_requests() { grep -c -- '-> calling handler()' "$PEBBLE_LOG" || true; }

# ---------------------------------------------------------------- clients
# Each client has:
#   CLIENT_version           prints its version
#   CLIENT_setup DIR         untimed preparation for challenge $CHAL (config,
#                            account where that is a separate command)
#   CLIENT_cmd DIR NAME      sets CMD (what is timed), CERT (where the
#                            certificate must be afterwards; empty: none is
#                            made), OUT (file for the command's stdout, or "-"),
#                            WRAP (run around the measuring wrapper, e.g. a
#                            namespace; usually empty)
# CHAL is the challenge type of the current row (http-01 or dns-01).

needs_web() { [[ "$CHAL" == http-01 && ("$1" == dehydrated || "$1" == uacme || "$1" == acme-tiny) ]]; }
deb_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }

floor_version() { echo "OpenSSL $(deb_version libssl-dev) static"; }
floor_setup() { :; }
floor_cmd() {
  CMD=("$FLOOR" 127.0.0.1 "$PEBBLE_PORT" "$PEBBLE_CA_BUNDLE")
  CERT="" CERT_ALT="" OUT=- WRAP=()
}

acmectl_version() {
  local v commit=""
  v=$("$ACMECTL" --version 2>/dev/null | awk '{print $NF}')
  [[ -n "${ACMECTL_BIN:-}" ]] || commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)
  echo "${v:-?}${commit:+ ($commit)}"
}
acmectl_setup() { :; }
acmectl_cmd() {
  local dir=$1 name=$2
  CMD=("$ACMECTL" issue -d "$name" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
    --key-type ec256 --state-dir "$dir/state" --out "$dir/out/$name" --agree-tos
    --email "$EMAIL" --log-level error)
  if [[ "$CHAL" == dns-01 ]]; then
    CMD+=(--challenge dns-01 --dns-provider exec --dns-exec "$DNS_HOOK"
      --dns-resolver "$CHALLTESTSRV_DNS")
  else
    CMD+=(--http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT")
  fi
  CERT="$dir/out/$name/$name/cert.pem" CERT_ALT="$dir/out/$name/cert.pem" OUT=- WRAP=()
}

lego_version() { deb_version lego; }
lego_setup() { :; }
lego_cmd() {
  local dir=$1 name=$2
  CMD=(env "LEGO_CA_CERTIFICATES=$PEBBLE_CA_BUNDLE" "EXEC_PATH=$DNS_HOOK" lego
    --server "$PEBBLE_DIR_URL" --accept-tos --email "$EMAIL" --domains "$name"
    --key-type ec256 --path "$dir/lego")
  if [[ "$CHAL" == dns-01 ]]; then
    CMD+=(--dns exec --dns.resolvers "$CHALLTESTSRV_DNS" --dns.disable-cp run)
  else
    CMD+=(--http --http.port "127.0.0.1:$PEBBLE_HTTP_PORT" run)
  fi
  CERT="$dir/lego/certificates/$name.crt" OUT=- WRAP=()
}

certbot_version() { deb_version certbot; }
certbot_setup() { :; }
certbot_cmd() {
  local dir=$1 name=$2
  CMD=(env "REQUESTS_CA_BUNDLE=$PEBBLE_CA_BUNDLE" certbot certonly
    --server "$PEBBLE_DIR_URL" --config-dir "$dir/config" --work-dir "$dir/work"
    --logs-dir "$dir/logs" --agree-tos -m "$EMAIL" --no-eff-email --non-interactive
    --key-type ecdsa --elliptic-curve secp256r1 -d "$name")
  if [[ "$CHAL" == dns-01 ]]; then
    CMD+=(--manual --preferred-challenges dns --manual-auth-hook "$DNS_HOOK certbot-auth"
      --manual-cleanup-hook "$DNS_HOOK certbot-cleanup")
  else
    CMD+=(--standalone --http-01-address 127.0.0.1 --http-01-port "$PEBBLE_HTTP_PORT")
  fi
  CERT="$dir/config/live/$name/cert.pem" OUT=- WRAP=()
}

dehydrated_version() { deb_version dehydrated; }
dehydrated_setup() {
  local dir=$1
  mkdir -p "$dir/base"
  cat >"$dir/config" <<CONF
CA="$PEBBLE_DIR_URL"
CHALLENGETYPE="$CHAL"
BASEDIR="$dir/base"
WELLKNOWN="$WEBROOT/.well-known/acme-challenge"
CURL_OPTS="--cacert $PEBBLE_CA_BUNDLE"
KEY_ALGO=prime256v1
CONTACT_EMAIL="$EMAIL"
CONF
  [[ "$CHAL" != dns-01 ]] || echo "HOOK=\"$DNS_HOOK\"" >>"$dir/config"
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
  if [[ "$CHAL" == dns-01 ]]; then
    ln -sf "$DNS_HOOK" "$dir/hook.sh"
  else
    # uacme's hook contract: METHOD TYPE IDENT TOKEN AUTH.
    cat >"$dir/hook.sh" <<HOOK
#!/bin/sh
[ "\$2" = http-01 ] || exit 1
case "\$1" in
  begin) printf '%s' "\$5" >"$WEBROOT/.well-known/acme-challenge/\$4" ;;
  done | failed) rm -f "$WEBROOT/.well-known/acme-challenge/\$4" ;;
  *) exit 1 ;;
esac
HOOK
    chmod 755 "$dir/hook.sh"
  fi
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
  cat >"$dir/issue.sh" <<'SH'
#!/bin/sh
# issue.sh NAME DIR ACME_DIR DIRECTORY_URL: key + CSR with openssl, then acme-tiny.
set -e
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$2/$1.key" -subj "/CN=$1" -addext "subjectAltName=DNS:$1" \
  -out "$2/$1.csr" 2>/dev/null
exec acme-tiny --account-key "$2/account.key" --csr "$2/$1.csr" --acme-dir "$3" \
  --disable-check --directory-url "$4" --contact "mailto:bench@example.com" --quiet
SH
  chmod 755 "$dir/issue.sh"
}
acme-tiny_cmd() {
  local dir=$1 name=$2
  CMD=(env "SSL_CERT_FILE=$PEBBLE_CA_BUNDLE" "$dir/issue.sh" "$name" "$dir"
    "$WEBROOT/.well-known/acme-challenge" "$PEBBLE_DIR_URL")
  CERT="$dir/$name.crt" OUT="$dir/$name.crt" WRAP=()
}

# supported CLIENT: the client can do challenge $CHAL (the floor has none: it
# runs in the first challenge's rounds only).
supported() {
  case $1 in
    floor) [[ "$CHAL" == "${CHALLENGES[0]}" ]] ;;
    acme-tiny) [[ "$CHAL" == http-01 ]] ;;
    *) true ;;
  esac
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
# Rows are keyed "CLIENT CHAL".
declare -A FAILED=() VERSION=() CPU=() RSS=() WALL=() REQS=()

# run_one CLIENT LABEL: one issuance of a fresh name with challenge $CHAL;
# appends the figures of a timed run (LABEL runI) to the row's lists.
run_one() {
  local c=$1 label=$2 key="$1 $CHAL" dir="$WORK/$1.$CHAL"
  local name="$2.${CHAL%-01}.$1.$DOMAIN" m reason before after
  local CMD=() CERT="" CERT_ALT="" OUT="" WRAP=()
  "${c}_cmd" "$dir" "$name"
  m="$dir/measure.$label"
  before=$(pebble_requests)
  "${WRAP[@]}" /usr/bin/python3 "$MEASURE" "$m" "$TIMEOUT" "$dir/$label.log" "$OUT" -- \
    "${CMD[@]}" || true
  after=$(pebble_requests)
  if [[ ! -s "$m" ]]; then
    FAILED[$key]="$label: not measured (see $label.log)"
    return 1
  fi
  local rc wall_ms user_ms sys_ms cpu_ms maxrss_kib
  # shellcheck disable=SC2046 # word splitting of key=value pairs is intended
  local $(cat "$m")
  if ((rc != 0)); then
    FAILED[$key]="$label: exit status $rc ($(tail -n 1 "$dir/$label.log" | cut -c1-160))"
    return 1
  fi
  if [[ -n "$CERT" ]]; then
    [[ -e "$CERT" || -z "$CERT_ALT" ]] || CERT=$CERT_ALT
    if ! reason=$(verify_cert "$CERT" "$name"); then
      FAILED[$key]="$label: $reason"
      return 1
    fi
  fi
  log "$(printf '%-10s %-7s %-7s wall %8.1f ms  cpu %7.1f ms (user %.1f sys %.1f)  maxrss %6d KiB  requests %d' \
    "$c" "$CHAL" "$label" "$wall_ms" "$cpu_ms" "$user_ms" "$sys_ms" "$maxrss_kib" $((after - before)))"
  if [[ "$label" == run* ]]; then
    WALL[$key]+="$wall_ms "
    CPU[$key]+="$cpu_ms "
    RSS[$key]+="$maxrss_kib "
    REQS[$key]+="$((after - before)) "
  fi
}

# pebble_alive: Pebble still answers, its store included (a dying client once
# left Pebble 2.4.0 answering /dir but hanging on every new order).
pebble_alive() {
  local code
  curl -sf --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$PEBBLE_DIR_URL" || return 1
  code=$(curl -s --max-time 5 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null -w '%{http_code}' \
    "$PEBBLE_MGMT_URL/cert-status-by-serial/1") || true
  [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

after_failure() {
  local key="$1 $CHAL" other
  log "$key failed: ${FAILED[$key]}"
  pebble_alive && return 0
  log "Pebble does not answer any more after $key failed: stopping"
  for other in "${!VERSION[@]}"; do
    [[ -n "${FAILED[$other]:-}" ]] || FAILED[$other]="not finished: Pebble stopped answering after $key failed"
  done
}

# run_round LABEL: one issuance per client and challenge still in the race;
# the clients that need nginx run while it is up, the others while the port is free.
run_round() {
  local label=$1 c web
  for CHAL in "${CHALLENGES[@]}"; do
    for web in no yes; do
      for c in "${CLIENTS[@]}"; do
        supported "$c" || continue
        if needs_web "$c"; then [[ $web == yes ]] || continue; else [[ $web == no ]] || continue; fi
        [[ -z "${FAILED[$c $CHAL]:-}" ]] || continue
        [[ $web == no ]] || nginx_start
        run_one "$c" "$label" || after_failure "$c"
      done
      nginx_stop
    done
  done
}

for CHAL in "${CHALLENGES[@]}"; do
  for c in "${CLIENTS[@]}"; do
    supported "$c" || continue
    VERSION[$c $CHAL]=$("${c}_version")
    case $c in
      floor) bin=$FLOOR ;;
      acmectl) bin=$ACMECTL ;;
      *) bin=$c ;;
    esac
    command -v "$bin" >/dev/null || FAILED[$c $CHAL]="not installed (bench/deps.sh)"
    mkdir -p "$WORK/$c.$CHAL"
    needs_web "$c" && nginx_start
    if [[ -z "${FAILED[$c $CHAL]:-}" ]] && ! "${c}_setup" "$WORK/$c.$CHAL"; then
      FAILED[$c $CHAL]="set-up (account registration) failed"
    fi
    nginx_stop
  done
done

log "warm-up: one untimed issuance per client and challenge (account in place, caches warm)"
run_round warmup
for ((i = 1; i <= N; i++)); do
  log "round $i of $N"
  run_round "run$i"
done

# ---------------------------------------------------------------- callgrind
# callgrind_ir CLIENT: median instructions of CALLGRIND_RUNS runs (http-01).
declare -A IR=()
callgrind_ir() {
  local c=$1 i out name irs=() ir
  local CMD=() CERT="" CERT_ALT="" OUT="" WRAP=()
  for ((i = 1; i <= CALLGRIND_RUNS; i++)); do
    name="cg$i.$c.$DOMAIN"
    out="$WORK/$c.$CHAL/callgrind.out.$i"
    "${c}_cmd" "$WORK/$c.$CHAL" "$name"
    valgrind --tool=callgrind --callgrind-out-file="$out" "${CMD[@]}" \
      </dev/null >>"$WORK/$c.$CHAL/callgrind.log" 2>&1 || true
    [[ -e "$CERT" || -z "$CERT_ALT" ]] || CERT=$CERT_ALT
    if [[ -s "$out" ]] && { [[ -z "$CERT" ]] || verify_cert "$CERT" "$name" >/dev/null; }; then
      ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
      log "callgrind $c run $i: $ir instructions"
      irs+=("$ir")
    else
      log "callgrind $c run $i failed (see $WORK/$c.$CHAL/callgrind.log)"
    fi
  done
  ((${#irs[@]} == 0)) || IR[$c]=$(median "${irs[@]}")
}

# median V...: the middle value (mean of the two middle ones for an even count).
median() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
minmax() { printf '%s\n' "$@" | sort -g | sed -n '1p;$p' | paste -sd' '; }

CHAL=${CHALLENGES[0]}
if ((CALLGRIND_RUNS > 0)) && command -v valgrind >/dev/null; then
  for c in floor acmectl; do
    has_client "$c" && [[ -z "${FAILED[$c $CHAL]:-}" ]] && callgrind_ir "$c"
  done
fi

# ---------------------------------------------------------------- report
# fmt SCALE PRECISION V...: "median (min–max)" of V/SCALE.
fmt() {
  local scale=$1 prec=$2 med lo hi
  shift 2
  med=$(median "$@")
  read -r lo hi <<<"$(minmax "$@")"
  awk -v m="$med" -v l="$lo" -v h="$hi" -v s="$scale" -v p="$prec" \
    'BEGIN { f = "%." p "f"; printf(f " (" f "–" f ")", m / s, l / s, h / s) }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf("%.2f×", a / b); else printf("-") }'; }

any_failed=0
{
  echo "| client | challenge | version | CPU ms (user+sys) | peak RSS MiB | wall ms | requests | CPU ÷ floor | acmectl ÷ client: CPU | RSS | N |"
  echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  floor_cpu=""
  [[ -z "${CPU[floor ${CHALLENGES[0]}]:-}" ]] || read -r -a v <<<"${CPU[floor ${CHALLENGES[0]}]}" && floor_cpu=$(median "${v[@]}")
  for CHAL in "${CHALLENGES[@]}"; do
    a_cpu="" a_rss=""
    if [[ -n "${CPU[acmectl $CHAL]:-}" && -z "${FAILED[acmectl $CHAL]:-}" ]]; then
      read -r -a v <<<"${CPU[acmectl $CHAL]}" && a_cpu=$(median "${v[@]}")
      read -r -a v <<<"${RSS[acmectl $CHAL]}" && a_rss=$(median "${v[@]}")
    fi
    for c in "${CLIENTS[@]}"; do
      key="$c $CHAL"
      if ! supported "$c"; then
        [[ "$c" == floor ]] || echo "| $c | $CHAL | $("${c}_version") | n/a | | | | | | | |"
        continue
      fi
      if [[ -n "${FAILED[$key]:-}" ]]; then
        any_failed=1
        echo "| $c | $CHAL | ${VERSION[$key]} | failed | | | | | | | 0 of $N |"
        continue
      fi
      read -r -a cpu <<<"${CPU[$key]}"
      read -r -a rss <<<"${RSS[$key]}"
      read -r -a wall <<<"${WALL[$key]}"
      read -r -a reqs <<<"${REQS[$key]}"
      cmed=$(median "${cpu[@]}")
      rmed=$(median "${rss[@]}")
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |\n' "$c" \
        "$([[ $c == floor ]] && echo "-" || echo "$CHAL")" "${VERSION[$key]}" \
        "$(fmt 1 1 "${cpu[@]}")" "$(fmt 1024 1 "${rss[@]}")" "$(fmt 1 0 "${wall[@]}")" \
        "$(fmt 1 0 "${reqs[@]}")" \
        "$([[ -n "$floor_cpu" ]] && ratio "$cmed" "$floor_cpu" || echo -)" \
        "$([[ -n "$a_cpu" && $c != acmectl ]] && ratio "$a_cpu" "$cmed" || echo)" \
        "$([[ -n "$a_rss" && $c != acmectl && $c != floor ]] && ratio "$a_rss" "$rmed" || echo)" \
        "${#cpu[@]}"
    done
  done
  echo
  echo "Medians over N runs, (min–max) beside them. CPU = user+sys of the client and"
  echo "every process it waited for; peak RSS = largest single process; requests ="
  echo "ACME requests Pebble handled during the run."
  for key in "${!FAILED[@]}"; do
    echo "- $key FAILED: ${FAILED[$key]}"
  done
  for c in floor acmectl; do
    [[ -z "${IR[$c]:-}" ]] || echo "- $c, one run under callgrind (${CHALLENGES[0]}): median ${IR[$c]} instructions of $CALLGRIND_RUNS runs"
  done
  if [[ -n "${IR[floor]:-}" && -n "${IR[acmectl]:-}" ]]; then
    echo "- acmectl ÷ floor instructions: $(ratio "${IR[acmectl]}" "${IR[floor]}")"
  fi
}
exit "$any_failed"
