# shellcheck shell=bash
# Helpers for the fault-injection tests (tests/integration/fault_*.sh): the fault
# proxy (tests/support/fault_proxy.py) in front of a private Pebble. Source after
# lib.sh, call start_fixture, then start_fault_proxy.
#
#   PROXY_DIR_URL  the ACME directory URL through the proxy (https://127.0.0.1:P/dir)
#   PROXY_ARGS     the options every acmectl issue through the proxy needs
#   PROXY_CTL      the proxy's control endpoint (http://127.0.0.1:C)

PROXY_DIR_URL=""
PROXY_CTL=""
PROXY_PID=""
PROXY_ARGS=()

# start_fault_proxy [STALL_SECONDS]: the proxy in front of the Pebble in use (its TLS
# certificate and CA: acmectl's --ca-bundle stays $PEBBLE_CA_BUNDLE), stopped on exit.
start_fault_proxy() {
  command -v python3 >/dev/null || fail "python3 not installed (scripts/deps.sh installs it)"
  local ports upstream i
  mapfile -t ports < <(free_ports 2)
  upstream=${PEBBLE_DIR_URL#https://127.0.0.1:}
  upstream=${upstream%%/*}
  python3 "$LIB_DIR/fault_proxy.py" --port "${ports[0]}" --control-port "${ports[1]}" \
    --upstream-port "$upstream" --cert "$PEBBLE_TLS_CERT" --key "$PEBBLE_TLS_KEY" \
    --upstream-ca "$PEBBLE_CA_BUNDLE" --stall-seconds "${1:-75}" \
    </dev/null >"$TMP/fault_proxy.log" 2>&1 &
  PROXY_PID=$!
  _LIB_PIDS+=("$PROXY_PID")
  PROXY_CTL=http://127.0.0.1:${ports[1]}
  for ((i = 0; i < 200; i++)); do
    curl -sf --max-time 2 -o /dev/null "$PROXY_CTL/healthz" &&
      (exec 3<>"/dev/tcp/127.0.0.1/${ports[0]}") 2>/dev/null && break
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.05
  done
  curl -sf --max-time 2 -o /dev/null "$PROXY_CTL/healthz" || {
    cat "$TMP/fault_proxy.log" >&2
    fail "the fault proxy did not start on 127.0.0.1:${ports[0]}"
  }
  PROXY_DIR_URL=https://127.0.0.1:${ports[0]}/dir
  # shellcheck disable=SC2034 # used by the tests
  PROXY_ARGS=(--server "$PROXY_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
    --agree-tos --email test@example.com)
  log "fault proxy PID $PROXY_PID at $PROXY_DIR_URL -> Pebble port $upstream (control $PROXY_CTL)"
}

# proxy_ctl clear|reset: drop the fault rules (reset: and zero the counts).
proxy_ctl() {
  curl -sf --max-time 5 -X POST -o /dev/null "$PROXY_CTL/$1" || fail "fault proxy: POST /$1 failed"
}

# inject KIND PATH_RE [COUNT] [RETRY_AFTER] [DELAY_MS] [BODY_FILE]: the next COUNT
# (default: every, -1) requests whose path matches PATH_RE get fault KIND (500 503 429
# drop stall delay replace; see fault_proxy.py).
inject() {
  curl -sf --max-time 5 -X POST -G -o /dev/null "$PROXY_CTL/fault" \
    --data-urlencode "kind=$1" --data-urlencode "path=$2" --data-urlencode "count=${3:--1}" \
    --data-urlencode "retry_after=${4:-}" --data-urlencode "delay_ms=${5:-0}" \
    --data-urlencode "body_file=${6:-}" ||
    fail "fault proxy: could not add rule $*"
}

# proxy_counts: the proxy's counters as JSON (see fault_proxy.py).
proxy_counts() {
  curl -sf --max-time 5 "$PROXY_CTL/counts" || fail "fault proxy: GET /counts failed"
}

# proxy_requests: how many requests the proxy has seen since the last reset.
proxy_requests() { proxy_counts | jq -r .requests; }

# proxy_answers KEY: how many forwarded requests got this answer, e.g. "POST /order-plz 201".
proxy_answers() { proxy_counts | jq -r --arg k "$1" '.answers[$k] // 0'; }
