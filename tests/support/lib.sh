# shellcheck shell=bash
# Helpers for the integration tests (tests/integration/*.sh). Source it, then
# call `lib_init "$@"` with the test's arguments: ACMECTL [FIXTURE_DIR].
#
#   ACMECTL       the acmectl binary under test
#   FIXTURE_DIR   a running pebble_fixture.sh directory (tests that need Pebble)
#   TMP           a fresh temporary directory, removed on exit (kept when
#                 ACMECTL_TEST_KEEP=1)
#   FREE_PORT_BIN the free_port program (from the environment; CTest sets it)
#
# Every helper that checks something calls `fail` with a message that says
# what was expected and what was seen, and exits 1.

set -euo pipefail
shopt -s inherit_errexit

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FIXTURE_SCRIPT="$LIB_DIR/pebble_fixture.sh"
ACMECTL=""
FIXTURE_DIR=""
TMP=""
RC=0
OUT_FILE=""
ERR_FILE=""
LAST_CMD=""
ERR_LINE=""
_LIB_PIDS=()
_LIB_FIXTURES=()

log() { echo "# $*" >&2; }
ok() { echo "ok - $*" >&2; }

fail() {
  echo "FAIL: $*" >&2
  if [[ -n "$LAST_CMD" ]]; then
    echo "  last command: $LAST_CMD (exit $RC)" >&2
    if [[ -s "$OUT_FILE" ]]; then
      echo "  ---- stdout" >&2
      sed 's/^/  | /' "$OUT_FILE" >&2
    fi
    if [[ -s "$ERR_FILE" ]]; then
      echo "  ---- stderr" >&2
      sed 's/^/  | /' "$ERR_FILE" >&2
    fi
  fi
  exit 1
}

_lib_cleanup() {
  local rc=$? pid dir
  set +e
  for pid in "${_LIB_PIDS[@]}"; do
    stop_pid "$pid"
  done
  for dir in "${_LIB_FIXTURES[@]}"; do
    "$FIXTURE_SCRIPT" stop "$dir"
  done
  if [[ -n "$TMP" && -d "$TMP" ]]; then
    if [[ "${ACMECTL_TEST_KEEP:-0}" == 1 ]]; then
      echo "# kept $TMP" >&2
    else
      rm -rf "$TMP"
    fi
  fi
  if ((rc == 0)); then
    echo "PASS: $(basename "$0")" >&2
  else
    echo "FAILED: $(basename "$0") (exit $rc)" >&2
  fi
  exit "$rc"
}

lib_init() {
  (($# >= 1)) || {
    echo "usage: $0 ACMECTL [FIXTURE_DIR]" >&2
    exit 2
  }
  ACMECTL=$1
  FIXTURE_DIR=${2:-}
  [[ -x "$ACMECTL" ]] || {
    echo "FAIL: acmectl binary not found at $ACMECTL" >&2
    exit 1
  }
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-test.XXXXXX")
  OUT_FILE="$TMP/.stdout"
  ERR_FILE="$TMP/.stderr"
  trap _lib_cleanup EXIT
  if [[ -n "$FIXTURE_DIR" ]]; then
    use_pebble "$FIXTURE_DIR"
  fi
}

# use_pebble DIR: loads the fixture's env (PEBBLE_DIR_URL, PEBBLE_CA_BUNDLE, ...)
# and sets PEBBLE_ARGS, the options every issue against it needs.
use_pebble() {
  [[ -f "$1/env" ]] || fail "no Pebble fixture at $1 (is the setup test running?)"
  PEBBLE_FIXTURE_DIR=$1
  # shellcheck source=/dev/null
  source "$1/env"
  # shellcheck disable=SC2034 # used by the tests
  PEBBLE_ARGS=(--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
    --agree-tos --email test@example.com)
}

# start_fixture DIR: a second, private Pebble (the caller's environment, e.g.
# PEBBLE_WFE_NONCEREJECT, reaches it), stopped on exit. Loads its env.
start_fixture() {
  _LIB_FIXTURES+=("$1")
  "$FIXTURE_SCRIPT" start "$1" || fail "could not start a Pebble fixture in $1"
  use_pebble "$1"
}

# pebble_new_orders: how many orders the Pebble in use has created so far (its log has one
# 'Added order "ID" to the db' line per order; a request retried after a rejected nonce
# creates none).
pebble_new_orders() {
  grep -c '^Pebble .* Added order ".*" to the db' "$PEBBLE_FIXTURE_DIR/pebble.log" || true
}

# free_ports N: prints N free loopback ports.
free_ports() {
  if [[ -n "${FREE_PORT_BIN:-}" ]]; then
    "$FREE_PORT_BIN" "$1"
  else
    local i port
    for ((i = 0; i < $1; i++)); do
      while :; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
      done
      echo "$port"
    done
  fi
}

# run_acmectl ARGS...: runs acmectl, never fails itself; sets RC, and leaves
# stdout in $OUT_FILE and stderr in $ERR_FILE.
run_acmectl() {
  LAST_CMD="acmectl $*"
  log "$LAST_CMD"
  RC=0
  "$ACMECTL" "$@" >"$OUT_FILE" 2>"$ERR_FILE" </dev/null || RC=$?
}

# expect_rc N ARGS...: runs acmectl and fails unless it exits N.
expect_rc() {
  local want=$1
  shift
  run_acmectl "$@"
  ((RC == want)) || fail "expected exit $want, got $RC"
}

# error_line: sets ERR_LINE to the one "acmectl: error: " line of the last run
# (fails unless there is exactly one, with text after the prefix).
error_line() {
  local n
  n=$(grep -c '^acmectl: error: ' "$ERR_FILE" || true)
  ((n == 1)) || fail "expected exactly one 'acmectl: error: ' line on stderr, found $n"
  ERR_LINE=$(grep '^acmectl: error: ' "$ERR_FILE")
  [[ -n "${ERR_LINE#acmectl: error: }" ]] || fail "the error line is empty"
}

# expect_one_line_error ARGS...: acmectl exits 1 and stderr is exactly one
# error line (for input rejected before any work starts); sets ERR_LINE.
expect_one_line_error() {
  expect_rc 1 "$@"
  local lines
  lines=$(wc -l <"$ERR_FILE")
  ((lines == 1)) || fail "expected one line on stderr, got $lines"
  error_line
}

assert_eq() {
  [[ "$1" == "$2" ]] || fail "${3:-values differ}: expected '$2', got '$1'"
}

assert_match() { # STRING ERE [what]
  [[ "$1" =~ $2 ]] || fail "${3:-value} '$1' does not match /$2/"
}

assert_file() {
  [[ -f "$1" && -s "$1" ]] || fail "expected a non-empty file $1"
}

assert_absent() {
  [[ ! -e "$1" ]] || fail "expected $1 not to exist"
}

assert_mode() { # FILE OCTAL
  local mode
  mode=$(stat -c %a "$1")
  [[ "$mode" == "$2" ]] || fail "$1 has mode $mode, expected $2"
}

# assert_no_files DIR: DIR does not exist or holds no file at any depth.
assert_no_files() {
  [[ -e "$1" ]] || return 0
  local found
  found=$(find "$1" -type f | head -n 5)
  [[ -z "$found" ]] || fail "expected no files under $1, found: $found"
}

# cert_sans CERT: the certificate's DNS/IP SANs, one a line, sorted.
cert_sans() {
  openssl x509 -in "$1" -noout -ext subjectAltName |
    tail -n +2 | tr ',' '\n' | sed -e 's/^ *//' -e 's/^DNS://' -e 's/^IP Address://' |
    grep -v '^$' | LC_ALL=C sort
}

# assert_sans CERT NAME...: the SANs are exactly these names.
assert_sans() {
  local cert=$1 got want
  shift
  got=$(cert_sans "$cert" | paste -sd' ')
  want=$(printf '%s\n' "$@" | LC_ALL=C sort | paste -sd' ')
  assert_eq "$got" "$want" "SANs of $cert"
}

# verify_chain DIR [any-time]: DIR/cert.pem chains to Pebble's root through DIR/chain.pem,
# fullchain.pem is cert.pem then chain.pem, privkey.pem (0600) matches cert.pem.
# With "any-time" the validity period is not checked (for tests whose short-lived
# certificates may expire while the test looks at them).
verify_chain() {
  local d=$1 f time_opt=()
  [[ "${2:-}" == any-time ]] && time_opt=(-no_check_time)
  for f in cert.pem chain.pem fullchain.pem privkey.pem; do
    assert_file "$d/$f"
  done
  assert_mode "$d/privkey.pem" 600
  local out
  out=$(openssl verify "${time_opt[@]}" -CAfile "$PEBBLE_ROOT_PEM" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1) ||
    fail "chain does not verify against Pebble's root: $out"
  diff <(cat "$d/cert.pem" "$d/chain.pem" | grep -v '^[[:space:]]*$') \
    <(grep -v '^[[:space:]]*$' "$d/fullchain.pem") >/dev/null ||
    fail "$d/fullchain.pem is not cert.pem followed by chain.pem"
  local cert_pub key_pub
  cert_pub=$(openssl x509 -in "$d/cert.pem" -noout -pubkey)
  key_pub=$(openssl pkey -in "$d/privkey.pem" -pubout)
  [[ "$cert_pub" == "$key_pub" ]] || fail "$d/privkey.pem does not match $d/cert.pem"
}

# cert_serial CERT: the serial as lower-case hex without leading zeros.
cert_serial() {
  local s
  s=$(openssl x509 -in "$1" -noout -serial)
  s=${s#serial=}
  norm_serial "$s"
}

norm_serial() {
  local s=${1//:/}
  s=${s,,}
  s=${s#0x}
  while [[ "$s" == 0?* ]]; do s=${s#0}; done
  printf '%s\n' "$s"
}

# cert_not_after CERT: notAfter as seconds since the epoch.
cert_not_after() {
  local s
  s=$(openssl x509 -in "$1" -noout -enddate)
  date -u -d "${s#notAfter=}" +%s
}

# state_keys STATE: checksum lines of every private key file under the state
# dir (the SQLite files aside).
state_keys() {
  find "$1" -type f ! -name '*.db' ! -name '*.db-*' -print0 |
    xargs -0 -r grep -l -- '-----BEGIN .*PRIVATE KEY-----' | LC_ALL=C sort |
    while read -r f; do sha256sum "$f"; done
}

# wait_port PORT PID [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local port=$1 pid=$2 i
  for ((i = 0; i < ${3:-10} * 20; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# stop_pid PID: SIGTERM, then SIGKILL after 5 s; reaps it when it is our child.
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    [[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" == Z ]] && break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# expect_gen_refused GENERATOR TEXT ARGS...: `acmectl gen GENERATOR ARGS --out F`
# exits 2 with one usage error line containing TEXT (a flag-parsing error adds
# the "run 'acmectl --help'" hint line), prints nothing on stdout, creates no F,
# and leaves an existing --out file byte for byte as it was.
expect_gen_refused() {
  local gen=$1 want=$2 new="$TMP/.refused-new" keep="$TMP/.refused-existing" before
  shift 2
  expect_rc 2 gen "$gen" "$@" --out "$new"
  assert_absent "$new"
  [[ ! -s "$OUT_FILE" ]] || fail "something was printed on stdout"
  (($(grep -vc "^run 'acmectl --help' for usage" "$ERR_FILE") == 1)) ||
    fail "expected one error line on stderr: $(cat "$ERR_FILE")"
  grep -qF "acmectl: usage error: " "$ERR_FILE" || fail "no usage error line"
  grep -qF -- "$want" "$ERR_FILE" || fail "stderr does not mention '$want': $(cat "$ERR_FILE")"
  echo keep >"$keep"
  before=$(sha256sum <"$keep")
  expect_rc 2 gen "$gen" "$@" --out "$keep"
  [[ "$(sha256sum <"$keep")" == "$before" ]] || fail "an existing --out file was changed"
  ok "refused: gen $gen $* -> $(head -n 1 "$ERR_FILE")"
}

# nginx_conf PREFIX HTTP_BODY: writes PREFIX/nginx.conf, a main config that keeps
# everything (pid, logs, temp paths) under PREFIX, reads /etc/nginx/mime.types
# and nothing else from /etc/nginx, with HTTP_BODY inside http {}.
nginx_conf() {
  local prefix=$1 body=$2
  mkdir -p "$prefix/tmp"
  cat >"$prefix/nginx.conf" <<EOF
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log info;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log $prefix/access.log;
  client_body_temp_path $prefix/tmp/client_body;
  proxy_temp_path $prefix/tmp/proxy;
  fastcgi_temp_path $prefix/tmp/fastcgi;
  uwsgi_temp_path $prefix/tmp/uwsgi;
  scgi_temp_path $prefix/tmp/scgi;
$body
}
EOF
}

# nginx_test PREFIX: `nginx -t` on PREFIX/nginx.conf; prints nginx's complaint and
# returns non-zero when it fails.
nginx_test() {
  nginx -t -q -p "$1" -c "$1/nginx.conf" -e "$1/error.log" 2>&1
}

# nginx_run PREFIX PORT: runs the Debian nginx on PREFIX/nginx.conf in the
# foreground (a background job of this test, stopped on exit) and waits until
# 127.0.0.1:PORT accepts. Sets NGINX_PID.
nginx_run() {
  local prefix=$1 port=$2
  command -v nginx >/dev/null || fail "nginx not installed (scripts/deps.sh installs it)"
  nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" -g 'daemon off;' \
    </dev/null >"$prefix/stdout.log" 2>&1 &
  NGINX_PID=$!
  _LIB_PIDS+=("$NGINX_PID")
  if ! wait_port "$port" "$NGINX_PID" 10; then
    cat "$prefix/stdout.log" "$prefix/error.log" >&2 2>/dev/null || true
    fail "nginx did not start on 127.0.0.1:$port"
  fi
  log "nginx PID $NGINX_PID on 127.0.0.1:$port"
}

# start_nginx PREFIX PORT SERVER_BODY: nginx_conf with one server block
# listening on 127.0.0.1:PORT, then nginx_run. Sets NGINX_PID.
start_nginx() {
  local prefix=$1 port=$2 body=$3
  nginx_conf "$prefix" "  server {
    server_name _;
$body
  }"
  nginx_run "$prefix" "$port"
}
