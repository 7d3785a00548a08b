#!/usr/bin/env bash
# End to end: nginx runs the site `acmectl gen nginx` wrote, on free loopback ports,
# in front of two small backends; acmectl gets the certificate from Pebble through
# that nginx (Pebble's HTTP-01 request reaches acmectl's responder via the generated
# /.well-known/acme-challenge/ proxy), the deploy hook reloads nginx, and:
#   - plain HTTP answers 301 to the HTTPS URL; HTTPS carries HSTS
#   - / goes to the default upstream with Host and X-Forwarded-*/X-Real-IP set,
#     /api/user to its own upstream
#   - static files come with Expires and Cache-Control: public, immutable
#   - CORS preflight from a listed origin gets 204 and the origin back, others nothing
#   - `acmectl renew --force` changes the served serial (hook reload)
# nginx starts on a self-signed stand-in (the bootstrap docs/deploy.md describes).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
command -v curl >/dev/null || fail "curl not installed"

hook="$(cd "$(dirname "$0")/../../hooks" && pwd)/reload-nginx.sh"
name=gen.acmectl.test
state=$TMP/state
live=$TMP/live
read -r https_port acme_port app_port user_port < <(free_ports 4 | paste -sd' ')
http_port=$PEBBLE_HTTP_PORT  # where Pebble's validator connects for http-01

# Stand-in certificate so nginx can start before the first issuance.
mkdir -p "$live/$name" "$TMP/static"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=$name" -addext "subjectAltName=DNS:$name" \
  -keyout "$live/$name/privkey.pem" -out "$live/$name/fullchain.pem" 2>/dev/null
echo 'console.log("static")' >"$TMP/static/app.js"
# nginx workers run as an unprivileged user: they must reach the static files.
chmod 0711 "$TMP"
chmod -R a+rX "$TMP/static"

expect_rc 0 gen nginx -d "$name" --cert-dir "$live/$name" \
  --upstream "127.0.0.1:$app_port,max_fails=3,fail_timeout=5s" --balance least_conn \
  --route "/api/user=127.0.0.1:$user_port" \
  --static-path /static/ --static-root "$TMP/static" \
  --cors-origin https://app.example.test --cors-credentials \
  --hsts-max-age 86400 --hsts-include-subdomains \
  --acme-proxy "127.0.0.1:$acme_port" \
  --listen-http "127.0.0.1:$http_port" --listen-https "127.0.0.1:$https_port" \
  --out "$TMP/site.conf"

prefix=$TMP/nginx
# The backends: two more servers in the same nginx that echo what they received.
nginx_conf "$prefix" "  include $TMP/site.conf;
  server {
    listen 127.0.0.1:$app_port;
    location / {
      default_type text/plain;
      return 200 \"backend=app uri=\$request_uri host=\$host xfp=\$http_x_forwarded_proto xff=\$http_x_forwarded_for xri=\$http_x_real_ip\n\";
    }
  }
  server {
    listen 127.0.0.1:$user_port;
    location / {
      default_type text/plain;
      return 200 \"backend=user uri=\$request_uri\n\";
    }
  }"
out=$(nginx_test "$prefix") || fail "nginx -t rejects the generated site: $out"
nginx_run "$prefix" "$https_port"
export NGINX_ARGS="-p $prefix -c $prefix/nginx.conf -e $prefix/error.log"

# https GET PATH [curl args]: status, headers and body of an HTTPS request for $name.
https() {
  local path=$1
  shift
  curl -sS -D - --max-time 5 --resolve "$name:$https_port:127.0.0.1" \
    "$@" "https://$name:$https_port$path"
}
served_serial() {
  local pem
  pem=$(openssl s_client -connect "127.0.0.1:$https_port" -servername "$name" </dev/null 2>/dev/null) || true
  norm_serial "$(openssl x509 -noout -serial <<<"$pem" 2>/dev/null | sed 's/^serial=//')"
}
expect_served() {
  local i got=""
  for ((i = 0; i < 40; i++)); do
    got=$(served_serial)
    [[ "$got" == "$1" ]] && return 0
    sleep 0.05
  done
  fail "nginx serves serial '$got', expected '$1'"
}

# Issue through nginx: the responder listens only behind nginx's port-80 proxy.
expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$acme_port" \
  --state-dir "$state" --out "$live" --deploy-hook "$hook"
verify_chain "$live/$name"
grep -q 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]* HTTP/1.1" 200' "$prefix/access.log" ||
  fail "Pebble's challenge request did not pass through nginx with 200: $(grep acme-challenge "$prefix/access.log" || true)"
first=$(cert_serial "$live/$name/cert.pem")
expect_served "$first"
ok "certificate obtained through the generated ACME proxy; the hook reloaded nginx"

cacert=$TMP/roots.pem
cat "$PEBBLE_ROOT_PEM" >"$cacert"

# HTTP: 301 to HTTPS (non-default port kept), the ACME path excepted.
resp=$(curl -sS -D - -o /dev/null --max-time 5 -H "Host: $name" "http://127.0.0.1:$http_port/some/path?q=1")
assert_match "$(head -n 1 <<<"$resp")" '^HTTP/1.1 301' "HTTP status line"
grep -qi "^location: https://$name:$https_port/some/path?q=1"$'\r'"\$" <<<"$resp" ||
  fail "no redirect to the HTTPS URL: $resp"
ok "HTTP answers 301 to https://$name:$https_port/..."

resp=$(https /hello --cacert "$cacert")
assert_match "$(head -n 1 <<<"$resp")" '^HTTP/[0-9.]+ 200' "HTTPS status line"
grep -qi '^strict-transport-security: max-age=86400; includeSubDomains' <<<"$resp" ||
  fail "no HSTS header: $resp"
grep -q "backend=app uri=/hello host=$name xfp=https xff=127.0.0.1 xri=127.0.0.1" <<<"$resp" ||
  fail "the app backend did not get Host/X-Forwarded-*/X-Real-IP: $resp"
ok "HTTPS (verified against Pebble's root) proxies / to the app with forwarding headers and HSTS"

resp=$(https /api/user/42 --cacert "$cacert")
grep -q 'backend=user uri=/api/user/42' <<<"$resp" || fail "/api/user/42 did not reach the user upstream: $resp"
resp=$(https /api/user --cacert "$cacert")
grep -q 'backend=user uri=/api/user$' <<<"$resp" || fail "/api/user did not reach the user upstream: $resp"
resp=$(https /api/users --cacert "$cacert")
grep -q 'backend=app' <<<"$resp" || fail "/api/users must stay on the default upstream: $resp"
ok "path routing: /api/user[/...] to its upstream, /api/users not"

resp=$(https /static/app.js --cacert "$cacert")
grep -q 'console.log("static")' <<<"$resp" || fail "static file not served: $resp"
grep -qi '^cache-control: public, immutable' <<<"$resp" || fail "no Cache-Control: public, immutable: $resp"
grep -qi '^expires: ' <<<"$resp" || fail "no Expires header: $resp"
grep -qi '^strict-transport-security: ' <<<"$resp" || fail "the static location lost the HSTS header: $resp"
ok "static assets: Expires, Cache-Control public immutable, HSTS kept"

resp=$(https /api/user/1 --cacert "$cacert" -X OPTIONS -H 'Origin: https://app.example.test' \
  -H 'Access-Control-Request-Method: POST')
assert_match "$(head -n 1 <<<"$resp")" '^HTTP/[0-9.]+ 204' "preflight status"
grep -qi '^access-control-allow-origin: https://app.example.test' <<<"$resp" || fail "preflight: no ACAO: $resp"
grep -qi '^access-control-allow-credentials: true' <<<"$resp" || fail "preflight: no credentials: $resp"
grep -qi '^access-control-allow-methods: ' <<<"$resp" || fail "preflight: no methods: $resp"
resp=$(https /hello --cacert "$cacert" -H 'Origin: https://evil.example.test')
! grep -qi '^access-control-allow-origin' <<<"$resp" || fail "an unlisted origin got ACAO: $resp"
resp=$(https /hello --cacert "$cacert" -H 'Origin: https://app.example.test')
grep -qi '^access-control-allow-origin: https://app.example.test' <<<"$resp" || fail "listed origin got no ACAO: $resp"
ok "CORS: listed origin allowed (preflight 204), unlisted origin gets no ACAO"

# Renewal: new certificate, hook reloads nginx, new serial served.
expect_rc 0 renew --force --state-dir "$state"
second=$(cert_serial "$live/$name/cert.pem")
[[ "$second" != "$first" ]] || fail "renew --force did not install a new certificate"
expect_served "$second"
n=$(grep -c 'GET /.well-known/acme-challenge/' "$prefix/access.log" || true)
((n >= 2)) || fail "the renewal's challenge did not go through nginx ($n challenge requests logged)"
ok "renew --force: challenge through nginx again, hook reloaded, serial $first -> $second served"
