#!/usr/bin/env bash
# `acmectl doctor` against real servers: its own BIND9 (named -g on a free
# loopback port) serving doctor.test with CAA records, A records here and
# elsewhere, and a TSIG key for RFC 2136; two nginx servers in front of the
# built-in responder, one with the /.well-known/acme-challenge/ proxy location
# and one without; the shared Pebble for the directory and clock check.
# Nothing here makes Pebble validate: no lock.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
command -v named >/dev/null || [[ -x /usr/sbin/named ]] || fail "named not installed (bind9)"
command -v nginx >/dev/null || fail "nginx not installed"
named_bin=$(command -v named || echo /usr/sbin/named)

read -r dns_port nginx_ok nginx_bad responder closed nginx_web < <(free_ports 6 | paste -sd' ')
secret=$(openssl rand -base64 32)
ns=$TMP/named
mkdir -p "$ns"
cat >"$ns/doctor.test.zone" <<ZONE
\$TTL 60
@                IN SOA ns1.doctor.test. hostmaster.doctor.test. ( 1 3600 600 86400 60 )
                 IN NS  ns1.doctor.test.
@                IN A   127.0.0.1
ns1              IN A   127.0.0.1
web              IN A   127.0.0.1
permit           IN A   127.0.0.1
permit           IN CAA 0 issue "pebble.test"
forbid           IN A   127.0.0.1
forbid           IN CAA 0 issue "ca.example"
sub.forbid       IN A   127.0.0.1
elsewhere        IN A   192.0.2.10
ZONE
cat >"$ns/root.zone" <<'ZONE'
$TTL 60
@   IN SOA ns. hostmaster. ( 1 3600 600 86400 60 )
    IN NS  ns.
ns. IN A   127.0.0.1
ZONE
cat >"$ns/named.conf" <<CONF
options {
  directory "$ns";
  pid-file none;
  listen-on port $dns_port { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion yes;
  allow-recursion { 127.0.0.1; };
  allow-query { 127.0.0.1; };
  dnssec-validation no;
  notify no;
  session-keyfile "$ns/session.key";
  managed-keys-directory "$ns";
};
controls { };
key "doctor-key" { algorithm hmac-sha256; secret "$secret"; };
zone "doctor.test" {
  type primary;
  file "$ns/doctor.test.zone";
  update-policy { grant doctor-key zonesub TXT; };
};
zone "." { type primary; file "$ns/root.zone"; };
CONF
"$named_bin" -g -c "$ns/named.conf" </dev/null >"$ns/named.log" 2>&1 &
_LIB_PIDS+=("$!")
for ((i = 0; i < 200; i++)); do
  dig +short +time=1 +tries=1 @127.0.0.1 -p "$dns_port" doctor.test SOA 2>/dev/null |
    grep -q ns1.doctor.test && break
  sleep 0.05
done
((i < 200)) || { cat "$ns/named.log" >&2; fail "named did not start"; }
dns=127.0.0.1:$dns_port
log "named on $dns"

state=$TMP/state
common=(--state-dir "$state" --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE"
  --dns-resolver "$dns" --caa-identity pebble.test --json)

# check_status NAME STATUS: the JSON finding named NAME (check) has STATUS.
check_status() {
  local got
  got=$(jq -r --arg c "$1" '[.checks[] | select(.check == $c) | .status] | join(",")' "$OUT_FILE")
  assert_eq "$got" "$2" "doctor's $1 check"
}
detail() { jq -r --arg c "$1" '[.checks[] | select(.check == $c) | .message] | join(" | ")' "$OUT_FILE"; }

# 1. A name with no CAA anywhere, on this host, behind nginx with the proxy location.
prefix=$TMP/nginx
nginx_conf "$prefix" "  server {
    listen 127.0.0.1:$nginx_ok;
    server_name _;
    location /.well-known/acme-challenge/ { proxy_pass http://127.0.0.1:$responder; }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:$nginx_bad;
    server_name _;
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:$nginx_web;
    server_name _;
    location /.well-known/acme-challenge/ { root $TMP/webroot; }
    location / { return 404; }
  }"
nginx_run "$prefix" "$nginx_ok"
expect_rc 0 doctor -d web.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_ok" "${common[@]}"
check_status resolve ok
check_status caa ok
check_status http-01 ok
check_status directory ok
check_status clock ok
assert_eq "$(jq -r .ok "$OUT_FILE")" true "ok"
grep -q 'GET /.well-known/acme-challenge/' "$prefix/access.log" ||
  fail "nginx logged no challenge request"
ok "no CAA, resolves here, nginx proxies to the responder, Pebble's directory and clock: exit 0"
log "http-01: $(detail http-01)"
log "clock: $(detail clock)"

# The same through a webroot nginx serves: the token is written there and removed.
mkdir -p "$TMP/webroot"
chmod 0711 "$TMP" # nginx workers (nobody) read the webroot
expect_rc 0 doctor -d web.doctor.test --webroot "$TMP/webroot" --http-port "$nginx_web" "${common[@]}"
check_status http-01 ok
assert_no_files "$TMP/webroot"
ok "webroot served by nginx: $(detail http-01)"

# 2. nginx without the proxy location: the http-01 check fails naming the URL.
expect_rc 1 doctor -d web.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_bad" "${common[@]}"
check_status http-01 error
assert_match "$(detail http-01)" "^http://web\.doctor\.test:$nginx_bad/\.well-known/acme-challenge/[A-Za-z0-9_-]+ answered 404" "http-01 detail"
error_line
assert_match "$ERR_LINE" "http-01 http://web.doctor.test:$nginx_bad/" "error line"
ok "nginx without the proxy location: exit 1, $(detail http-01)"

# 3. CAA that forbids the CA (at the name, and found by walking up from sub.forbid).
for name in forbid.doctor.test sub.forbid.doctor.test; do
  expect_rc 1 doctor -d "$name" --http01-listen "127.0.0.1:$responder" \
    --http-port "$nginx_ok" "${common[@]}"
  check_status caa error
  assert_match "$(detail caa)" 'CAA at forbid\.doctor\.test: 0 issue "ca\.example" does not permit pebble\.test' "caa detail"
  check_status http-01 ok
  ok "$name: CAA forbids: $(detail caa)"
done

# 4. CAA that permits the CA.
expect_rc 0 doctor -d permit.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_ok" "${common[@]}"
check_status caa ok
assert_match "$(detail caa)" 'CAA at permit\.doctor\.test permits pebble\.test' "caa detail"
ok "CAA permits: $(detail caa)"

# 5. A name that resolves elsewhere; --expect-ip accepts it (the fetch then fails:
# 192.0.2.10 is TEST-NET, never reached).
expect_rc 1 doctor -d elsewhere.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_ok" "${common[@]}"
check_status resolve error
assert_match "$(detail resolve)" 'resolves to 192\.0\.2\.10 .*not to an address of this host' "resolve"
ok "resolves elsewhere: $(detail resolve)"
# --expect-ip accepts that address (a NAT or load balancer in front); the fetch then goes
# to 192.0.2.10 (TEST-NET-1, never reached) and fails.
expect_rc 1 doctor -d elsewhere.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_ok" --expect-ip 192.0.2.10 "${common[@]}"
check_status resolve ok
check_status http-01 error
ok "--expect-ip 192.0.2.10: resolve ok; http-01: $(detail http-01)"
# A name that does not exist.
expect_rc 1 doctor -d nothere.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_ok" "${common[@]}"
check_status resolve error
assert_match "$(detail resolve)" 'NXDOMAIN' "resolve"
ok "no such name: $(detail resolve)"

# 6. dns-01 through RFC 2136 + TSIG at this BIND9: added, seen, removed.
adds0=$(grep -c "adding an RR at '_acme-challenge.web.doctor.test' TXT" "$ns/named.log" || true)
expect_rc 0 doctor -d web.doctor.test -d '*.web.doctor.test' --challenge dns-01 \
  --dns-provider rfc2136 --rfc2136-server "$dns" --rfc2136-tsig-name doctor-key \
  --rfc2136-tsig-secret "$secret" "${common[@]}"
check_status dns-01 ok
adds=$(grep -c "adding an RR at '_acme-challenge.web.doctor.test' TXT" "$ns/named.log" || true)
dels=$(grep -c "deleting an RR at _acme-challenge.web.doctor.test TXT" "$ns/named.log" || true)
assert_eq "$((adds - adds0))" 1 "TXT values added (the wildcard and its apex share one)"
assert_eq "$dels" 1 "TXT values deleted"
[[ -z "$(dig +short @127.0.0.1 -p "$dns_port" _acme-challenge.web.doctor.test TXT)" ]] ||
  fail "a TXT record was left"
ok "dns-01 with rfc2136/TSIG: $(detail dns-01)"
# A wrong TSIG secret: the dns-01 check fails, naming the provider's error.
expect_rc 1 doctor -d web.doctor.test --challenge dns-01 --dns-provider rfc2136 \
  --rfc2136-server "$dns" --rfc2136-tsig-name doctor-key \
  --rfc2136-tsig-secret "$(openssl rand -base64 32)" "${common[@]}"
check_status dns-01 error
ok "dns-01 with a wrong TSIG secret: $(detail dns-01)"

# 7. A name that is not recorded and comes without settings: one line, exit 1.
expect_one_line_error doctor -d web.doctor.test --state-dir "$state" --server "$PEBBLE_DIR_URL"
assert_match "$ERR_LINE" 'web\.doctor\.test is not a recorded certificate' "error line"
ok "unknown name without settings: $ERR_LINE"

# 8. A CA directory that does not answer.
expect_rc 1 doctor -d web.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_ok" --state-dir "$state" --server "https://127.0.0.1:$closed/dir" \
  --ca-bundle "$PEBBLE_CA_BUNDLE" --dns-resolver "$dns" --caa-identity pebble.test --json
check_status directory error
ok "unreachable directory: $(detail directory)"

# 9. The config: its [[certificate]] entries are checked without -d; a broken config is
# an error naming the file and line.
cat >"$TMP/acmectl.toml" <<TOML
[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"

[[certificate]]
name = "cfg"
domains = ["web.doctor.test", "permit.doctor.test"]
http01_listen = "127.0.0.1:$responder"
TOML
expect_rc 0 doctor --config "$TMP/acmectl.toml" --state-dir "$state" --dns-resolver "$dns" \
  --caa-identity pebble.test --http-port "$nginx_ok" --json
check_status config ok
check_status http-01 ok,ok
ok "config certificates checked: $(detail config)"
printf '[agent]\nrenew_befor = 3\n' >"$TMP/broken.toml"
expect_rc 1 doctor --config "$TMP/broken.toml" -d web.doctor.test \
  --http01-listen "127.0.0.1:$responder" "${common[@]}" --http-port "$nginx_ok"
check_status config error
assert_match "$(detail config)" "broken.toml:2:.*renew_befor" "config detail"
ok "broken config: $(detail config)"

# 10. Unsafe files: a state dir others may write is an error naming it.
mkdir -p "$TMP/open"
chmod 0777 "$TMP/open"
expect_rc 1 doctor -d web.doctor.test --http01-listen "127.0.0.1:$responder" \
  --http-port "$nginx_ok" --state-dir "$TMP/open" --server "$PEBBLE_DIR_URL" \
  --ca-bundle "$PEBBLE_CA_BUNDLE" --dns-resolver "$dns" --caa-identity pebble.test --json
check_status permissions error
assert_match "$(detail permissions)" "state dir $TMP/open has mode 0777" "permissions"
ok "unsafe state dir: $(detail permissions)"

# 11. The table on a terminal (script(1) gives it one).
if command -v script >/dev/null; then
  script -qec "$ACMECTL doctor -d web.doctor.test --http01-listen 127.0.0.1:$responder --http-port $nginx_ok --state-dir $state --server $PEBBLE_DIR_URL --ca-bundle $PEBBLE_CA_BUNDLE --dns-resolver $dns --caa-identity pebble.test" /dev/null >"$TMP/table" </dev/null || fail "doctor on a tty failed: $(cat "$TMP/table")"
  grep -q '^CHECK ' "$TMP/table" || fail "no table on a terminal: $(cat "$TMP/table")"
  grep -q '^ready: 0 error' "$TMP/table" || fail "no summary line: $(cat "$TMP/table")"
  ok "a table on a terminal"
fi
