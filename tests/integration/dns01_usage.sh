#!/usr/bin/env bash
# DNS-01 option mistakes are refused before any work, with one line naming
# the option: no CA is contacted (--server points at a closed port).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

closed=$(free_ports 1)
common=(-d '*.example.test' --server "https://127.0.0.1:$closed/dir" --agree-tos
  --email test@example.com --state-dir "$TMP/state" --out "$TMP/live" --challenge dns-01)
rfc=(--dns-provider rfc2136 --rfc2136-server 127.0.0.1:53 --rfc2136-tsig-name k
  --rfc2136-tsig-secret c2VjcmV0)
unset ACMECTL_RFC2136_SERVER ACMECTL_RFC2136_TSIG_NAME ACMECTL_RFC2136_TSIG_SECRET \
  ACMECTL_RFC2136_TSIG_SECRET_FILE ACMECTL_RFC2136_TSIG_ALGORITHM

check() { # EXPECTED-SUBSTRING ARGS...
  local want=$1
  shift
  expect_one_line_error issue "${common[@]}" "$@"
  [[ "$ERR_LINE" == *"$want"* ]] || fail "expected '$want' in: $ERR_LINE"
  ok "${ERR_LINE#acmectl: error: }"
}

check "--challenge dns-01 needs --dns-provider (rfc2136 or exec)"
check "--dns-provider route53: use rfc2136 or exec" --dns-provider route53
check "--dns-provider rfc2136 needs --rfc2136-server ADDR:PORT" --dns-provider rfc2136
check "--rfc2136-server dns.example.test:53: DNS server" --dns-provider rfc2136 \
  --rfc2136-server dns.example.test:53
check "--dns-provider rfc2136 needs --rfc2136-tsig-name" --dns-provider rfc2136 \
  --rfc2136-server 127.0.0.1:53
check "needs --rfc2136-tsig-secret BASE64 or --rfc2136-tsig-secret-file FILE" \
  --dns-provider rfc2136 --rfc2136-server 127.0.0.1:53 --rfc2136-tsig-name k
check "--rfc2136-tsig-secret-file $TMP/nope: cannot read: No such file or directory" \
  --dns-provider rfc2136 --rfc2136-server 127.0.0.1:53 --rfc2136-tsig-name k \
  --rfc2136-tsig-secret-file "$TMP/nope"
check "--rfc2136-tsig-secret: not base64" --dns-provider rfc2136 --rfc2136-server 127.0.0.1:53 \
  --rfc2136-tsig-name k --rfc2136-tsig-secret 'not base64!'
check "--rfc2136-tsig-algorithm hmac-md5: use hmac-sha256, hmac-sha512 or hmac-sha1" "${rfc[@]}" \
  --rfc2136-tsig-algorithm hmac-md5
check "--dns-resolver 127.0.0.1:99999: DNS server \"127.0.0.1:99999\": port must be 1-65535" \
  "${rfc[@]}" --dns-resolver 127.0.0.1:99999
check "--dns-resolver localhost:53" "${rfc[@]}" --dns-resolver localhost:53
check "--dns-provider exec needs --dns-exec PATH" --dns-provider exec
check "--dns-exec hooks/x.sh: use an absolute path" --dns-provider exec --dns-exec hooks/x.sh
check "--rfc2136-tsig-secret-file k.secret: use an absolute path" --dns-provider rfc2136 \
  --rfc2136-server 127.0.0.1:53 --rfc2136-tsig-name k --rfc2136-tsig-secret-file k.secret
printf '#!/bin/sh\n' >"$TMP/not-executable"
check "--dns-exec $TMP/not-executable: not an executable file" --dns-provider exec \
  --dns-exec "$TMP/not-executable"
check "--propagation-interval 0: use 1 to 3600 seconds" "${rfc[@]}" --propagation-interval 0
assert_no_files "$TMP/live"
