#!/usr/bin/env bash
# The CA misbehaves (issue 13, "Faults to inject"): a private Pebble with 10-second
# certificates behind tests/support/fault_proxy.py, which answers chosen requests
# itself. For each fault:
#   500 (serverInternal) on POST /order-plz         -> backoff 60 s (the ladder)
#   503 + Retry-After: 900 on GET /dir              -> backoff 900 s (Retry-After wins)
#   503 + Retry-After: HTTP-date (+2 h) on HEAD /nonce-plz -> backoff 7200 s
#   429 rateLimited + Retry-After: 3600 on POST /order-plz  -> backoff 3600 s
#   connection dropped mid-response on POST /finalize-order (Pebble did finalize)
#                                                   -> backoff 60 s
# `acmectl renew --force NAME` fails (exit 1, one error line naming the step and the
# URL); `show --json` records it (consecutive_failures 1, last_error, a "failed"
# event); the next plain `renew` reports the backoff with its time (now + the delay
# above, so Retry-After is respected) while the certificate IS due, and neither it, a
# second renew, `acmectl issue` of the same name without --force, nor an agent running
# for 2 s on the same state dir sends a single request to the CA
# (the proxy's count: no hot loop, the backoff is persisted across processes); once
# the fault is gone `renew --force` succeeds and resets the failure count. For the
# first fault the backoff is instead made to expire (next_attempt moved into the
# past in the store, as agent_backoff.sh does): a plain `renew` then renews.
# A hostile answer too: the certificate download replaced by a valid chain for another
# key is refused ("does not match the CSR key"), nothing installed. The 500's detail
# carries ESC[31m: it reaches stdout, stderr and the events escaped (\x1b). No private
# key is in the database or the agent's log; the keys are 0600.
# The stall past the HTTP timeout is fault_ca_stall.sh (60 s by itself).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../support/fault_lib.sh
source "$(dirname "$0")/../support/fault_lib.sh"
lib_init "$@"

PEBBLE_CERTIFICATE_VALIDITY_PERIOD=10 start_fixture "$TMP/pebble"
start_fault_proxy 75

name=fault.acmectl.test
state=$TMP/state
live=$TMP/live/$name
mapfile -t ports < <(free_ports 1)
agent_http01=${ports[0]}
cat >"$TMP/agent.toml" <<TOML
state_dir = "$state"

[acme]
server = "$PROXY_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "fault@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$agent_http01"
metrics_listen = "off"
TOML

expect_rc 0 issue -d "$name" "${PROXY_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$state" --out "$TMP/live"
verify_chain "$live"
ok "issued $name through the fault proxy ($(proxy_requests) requests)"

show_json() {
  expect_rc 0 show "$name" --json --state-dir "$state"
  cp "$OUT_FILE" "$TMP/show.json"
}

# wait_due: until the certificate's next renewal has passed (10-second certificates
# are due after 5 s), so that only the backoff can keep a plain renew from ordering.
wait_due() {
  local at i
  show_json
  # The planned renewal, not next_renewal (which is the retry time while backing off).
  at=$(date -u -d "$(jq -r .planned_renewal "$TMP/show.json")" +%s)
  for ((i = 0; i < 200 && $(date +%s) <= at; i++)); do sleep 0.1; done
  (($(date +%s) > at)) || fail "the certificate did not become due (next_renewal $at)"
}

TOTAL_FAULTS=0
# fault_case KIND PATH_RE RETRY_AFTER BACKOFF ERROR_ERE [force|expire [BODY_FILE]]:
# BACKOFF is the delay in seconds from the failure, or @EPOCH for the time a Retry-After
# date names; BODY_FILE is the body of a "replace" fault.
fault_case() {
  local kind=$1 path=$2 retry_after=$3 backoff=$4 want=$5 how=${6:-force} body_file=${7:-}
  local t0 t1 before after next fired serial_before
  proxy_ctl reset
  inject "$kind" "$path" -1 "$retry_after" 0 "$body_file"
  serial_before=$(cert_serial "$live/cert.pem")

  t0=$(date +%s)
  expect_rc 1 renew --force "$name" --state-dir "$state"
  t1=$(date +%s)
  error_line
  assert_match "$ERR_LINE" "$want" "error line for fault $kind on $path"
  # Whatever the CA says reaches the terminal escaped (the 500's detail carries ESC[31m).
  ! grep -q $'\x1b' "$ERR_FILE" "$OUT_FILE" || fail "a raw ESC from the CA reached acmectl's output"
  fired=$(proxy_counts | jq -r --arg k "$kind" '.faults[$k] // 0')
  ((fired >= 1)) || fail "the proxy injected no $kind fault"
  TOTAL_FAULTS=$((TOTAL_FAULTS + fired))
  local during
  during=$(proxy_requests)
  ((during <= 12)) || fail "$during requests for one failing renew (a retry loop?)"
  assert_eq "$(cert_serial "$live/cert.pem")" "$serial_before" "installed serial after the failure"

  show_json
  assert_eq "$(jq -r .consecutive_failures "$TMP/show.json")" 1 "show --json .consecutive_failures"
  assert_match "$(jq -r .last_error "$TMP/show.json")" "$want" "show --json .last_error"
  assert_eq "$(jq -r '.events[0].kind' "$TMP/show.json")" failed "show --json latest event"

  # The ladder's first step (60 s) is capped at a tenth of the lifetime left, at least
  # 10 s, while the certificate is still valid (short-lived certificates; these live 10 s).
  # A Retry-After longer than that wins, as before.
  if [[ "$backoff" == 60 ]]; then
    local not_after left cap
    not_after=$(date -u -d "$(jq -r .not_after "$TMP/show.json")" +%s)
    left=$((not_after - t1))
    if ((left > 0)); then
      cap=$((left / 10 < 10 ? 10 : left / 10))
      ((cap < backoff)) && backoff=$cap
    fi
  fi

  # Due, but backing off: a plain renew reports the backoff and its end, and contacts
  # nobody; neither does an agent over a fixed window.
  wait_due
  before=$(proxy_requests)
  run_acmectl renew --state-dir "$state"
  ((RC == 0 || RC == 1)) || fail "renew inside the backoff: exit $RC"
  grep -q "^$name: backoff: retrying after " "$OUT_FILE" || { cat "$TMP/show.json" >&2; fail "renew did not report the backoff"; }
  next=$(grep -o "^$name: backoff: retrying after [0-9T:Z-]*" "$OUT_FILE")
  next=${next##* }
  next=$(date -u -d "${next%:}" +%s) || fail "bad time in: $(cat "$OUT_FILE")"
  if [[ "$backoff" == @* ]]; then
    ((next >= ${backoff#@} - 1 && next <= ${backoff#@} + 1)) ||
      fail "next attempt at $next, expected the Retry-After date ${backoff#@}"
  else
    ((next >= t0 + backoff - 2 && next <= t1 + backoff + 2)) ||
      fail "next attempt at $next, expected $backoff s after the failure ($t0..$t1)"
  fi
  "$ACMECTL" agent --config "$TMP/agent.toml" </dev/null >"$TMP/agent.log" 2>&1 &
  local agent_pid=$!
  _LIB_PIDS+=("$agent_pid")
  sleep 2
  kill -0 "$agent_pid" 2>/dev/null || {
    cat "$TMP/agent.log" >&2
    fail "the agent exited during the 2 s window"
  }
  stop_pid "$agent_pid"
  run_acmectl renew "$name" --state-dir "$state"
  grep -q "^$name: backoff" "$OUT_FILE" || fail "the second renew did not report the backoff"
  # `acmectl issue` of the recorded names without --force runs the same pipeline.
  expect_rc 1 issue -d "$name" "${PROXY_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
    --state-dir "$state" --out "$TMP/live"
  error_line
  assert_match "$ERR_LINE" "retrying after .*--force" "issue inside the backoff"
  after=$(proxy_requests)
  assert_eq "$((after - before))" 0 "requests to the CA during the backoff (2 renews, 1 issue, 2 s of agent)"
  show_json
  assert_eq "$(jq -r .consecutive_failures "$TMP/show.json")" 1 "consecutive_failures after the backoff window"
  ok "$kind on $path: exit 1 ($during requests), recorded, backoff $((next - t1))..$((next - t0)) s persisted; 0 requests in 2 renews, 1 issue and 2 s of agent"

  proxy_ctl clear
  local orders_before
  orders_before=$(proxy_answers "POST /order-plz 201")
  if [[ "$how" == expire ]]; then
    sqlite3 "$state/acmectl.db" \
      "update certificates set next_attempt = strftime('%s','now') - 1, next_check = strftime('%s','now') - 1 where name = '$name'"
    expect_rc 0 renew --state-dir "$state"
  else
    expect_rc 0 renew --force "$name" --state-dir "$state"
  fi
  grep -q "^$name: renewed" "$OUT_FILE" || fail "expected '$name: renewed' once the CA is back"
  verify_chain "$live"
  [[ "$(cert_serial "$live/cert.pem")" != "$serial_before" ]] || fail "no new certificate once the CA is back"
  show_json
  assert_eq "$(jq -r .consecutive_failures "$TMP/show.json")" 0 "consecutive_failures after the recovery"
  local how_text="renew --force"
  [[ "$how" == expire ]] && how_text="backoff expired, plain renew"
  ok "$kind fault gone: $how_text renewed (serial $(cert_serial "$live/cert.pem"), $(($(proxy_answers "POST /order-plz 201") - orders_before)) new order)"
}

ra_epoch=$(($(date +%s) + 7200))
ra_date=$(date -u -d "@$ra_epoch" '+%a, %d %b %Y %H:%M:%S GMT')
fault_case 500 '^/order-plz$' "" 60 'order-plz.*HTTP 500.*serverInternal' expire
fault_case 503 '^/dir$' 900 900 'dir.*HTTP 503'
fault_case 503 '^/nonce-plz$' "$ra_date" "@$ra_epoch" 'nonce-plz.*HTTP 503'
fault_case 429 '^/order-plz$' 3600 3600 'order-plz.*HTTP 429.*rateLimited'
fault_case drop '^/finalize-order/' "" 60 'finalize.*finalize-order'
# A hostile CA answer: the certificate download returns a valid chain for another key
# (Pebble's own TLS listener certificate): refused before anything is installed.
cat "$PEBBLE_TLS_CERT" "$PEBBLE_CA_BUNDLE" >"$TMP/other-key-chain.pem"
fault_case replace '^/certZ/' "" 60 'does not match' force "$TMP/other-key-chain.pem"

# The CA's escape sequence was recorded escaped, and no private key went to the database
# or a log.
expect_rc 0 show "$name" --json --state-dir "$state"
jq -r '.events[].detail' "$OUT_FILE" | grep -qF '\x1b[31mESC' ||
  fail "the 500's detail is not in the events, escaped as \\x1b"
! sqlite3 "$state/acmectl.db" .dump | grep -q 'PRIVATE KEY' || fail "a private key is in the database"
! grep -q 'PRIVATE KEY' "$TMP/agent.log" || fail "a private key is in the agent's log"
for key in "$state"/accounts/*/account.key "$live/privkey.pem"; do
  assert_mode "$key" 600
done
ok "the CA's ESC is stored and shown as \\x1b; no private key in the database or logs; keys 0600"

orders=$(grep -c 'POST /order-plz' "$TMP/pebble/pebble.log" || true)
log "faults injected: $TOTAL_FAULTS; Pebble saw $orders newOrder requests in all"
