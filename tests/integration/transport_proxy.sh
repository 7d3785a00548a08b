#!/usr/bin/env bash
# The ACME connection honours HTTPS_PROXY and NO_PROXY as curl reads them
# (issue 11: whatever transport acmectl uses): through an HTTP CONNECT proxy,
# directly when NO_PROXY names the CA's host, and a clear error naming the proxy
# when the proxy is down. TLS is still verified end to end through the tunnel.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

read -r proxy_port closed < <(free_ports 2 | paste -sd' ')
proxy_log=$TMP/proxy.log
: >"$proxy_log"
python3 "$(dirname "$0")/../support/connect_proxy.py" "$proxy_port" "$proxy_log" \
  </dev/null >"$TMP/proxy.out" 2>&1 &
_LIB_PIDS+=("$!")
wait_port "$proxy_port" "$!" || fail "the CONNECT proxy did not start"
pebble_hostport=${PEBBLE_DIR_URL#https://}
pebble_hostport=${pebble_hostport%%/*}
common=("${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
  --state-dir "$TMP/state" --out "$TMP/live")
unset https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

HTTPS_PROXY="http://127.0.0.1:$proxy_port" expect_rc 0 issue -d proxy.acmectl.test "${common[@]}"
verify_chain "$TMP/live/proxy.acmectl.test"
grep -qx "CONNECT $pebble_hostport" "$proxy_log" || fail "no CONNECT $pebble_hostport in the proxy's log: $(cat "$proxy_log")"
! grep -q REFUSED "$proxy_log" || fail "a request other than CONNECT reached the proxy: $(cat "$proxy_log")"
ok "HTTPS_PROXY: every ACME request went through the CONNECT tunnel ($(wc -l <"$proxy_log") CONNECTs)"

: >"$proxy_log"
https_proxy="http://127.0.0.1:$proxy_port" NO_PROXY="localhost,127.0.0.1" \
  expect_rc 0 issue -d noproxy.acmectl.test "${common[@]}"
[[ ! -s "$proxy_log" ]] || fail "NO_PROXY=127.0.0.1 still used the proxy: $(cat "$proxy_log")"
ok "NO_PROXY naming the CA's address: direct connection"

HTTPS_PROXY="http://127.0.0.1:$closed" expect_rc 1 issue -d down.acmectl.test "${common[@]}"
error_line
assert_match "$ERR_LINE" "127\.0\.0\.1.*$closed|proxy" "error names the proxy"
ok "proxy down: $ERR_LINE"
