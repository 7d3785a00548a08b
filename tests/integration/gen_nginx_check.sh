#!/usr/bin/env bash
# `acmectl gen nginx` variants through the real `nginx -t` (Debian's nginx), each in
# a private prefix with a wrapper config that includes the generated site: nothing
# in /etc/nginx is touched. nginx -t binds the listen ports, so every variant
# listens on free loopback ports, and it loads the certificate, so a self-signed
# one stands in. Also: two generated sites in one nginx, [gen.nginx] from a config
# file (the command line winning), `--out` writing atomically.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
command -v nginx >/dev/null || fail "nginx not installed (scripts/deps.sh installs it)"

# self_signed DIR NAME...: DIR/{fullchain,privkey}.pem for the names.
self_signed() {
  local dir=$1 san="" n
  shift
  for n in "$@"; do san+="${san:+,}DNS:$n"; done
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=$1" -addext "subjectAltName=$san" \
    -keyout "$dir/privkey.pem" -out "$dir/fullchain.pem" 2>/dev/null ||
    fail "openssl could not make a self-signed certificate"
}

# check VARIANT GEN_ARGS...: generates the site (exit 0 and a non-empty file) and
# runs nginx -t on it.
check() {
  local variant=$1 prefix=$TMP/$1 out
  shift
  mkdir -p "$prefix"
  expect_rc 0 gen nginx "$@" --out "$prefix/site.conf"
  assert_file "$prefix/site.conf"
  [[ ! -s "$OUT_FILE" ]] || fail "gen nginx --out also printed to stdout"
  nginx_conf "$prefix" "  include $prefix/site.conf;"
  out=$(nginx_test "$prefix") || fail "nginx -t rejects variant '$variant': $out"
  ok "nginx -t accepts variant '$variant'"
}

read -r p1 p2 p3 p4 p5 p6 < <(free_ports 6 | paste -sd' ')
live=$TMP/live
self_signed "$live/example.test" example.test www.example.test
self_signed "$live/_wildcard.example.test" '*.example.test' example.test
self_signed "$live/other.test" other.test
mkdir -p "$TMP/static" "$TMP/webroot"

check defaults -d example.test -d www.example.test --upstream 127.0.0.1:8080 \
  --state-dir "$TMP" --listen-http "127.0.0.1:$p1" --listen-https "127.0.0.1:$p2"
grep -q 'proxy_pass http://127.0.0.1:8402;' "$TMP/defaults/site.conf" ||
  fail "the default ACME proxy is not the agent's 127.0.0.1:8402"

check full -d example.test -d www.example.test --cert-dir "$live/example.test" \
  --upstream 127.0.0.1:8080,weight=3,max_fails=2,fail_timeout=10s \
  --upstream 127.0.0.2:8080,weight=1 --upstream '[::1]:8080' \
  --balance least_conn --keepalive 16 \
  --route /api/user=127.0.0.1:8081 --route /api/user=127.0.0.1:8082,weight=2 \
  --route /api/order=127.0.0.1:8083 \
  --static-path /static/ --static-root "$TMP/static" --static-expires 7d \
  --cors-origin https://app.example.test --cors-origin http://localhost:3000 --cors-credentials \
  --hsts-max-age 63072000 --hsts-include-subdomains --hsts-preload \
  --acme-proxy 127.0.0.1:9402 --client-max-body-size 50m \
  --listen-http "127.0.0.1:$p1" --listen-https "127.0.0.1:$p2"

check ip_hash_webroot -d example.test --cert-dir "$live/example.test" \
  --upstream 127.0.0.1:8080 --upstream 127.0.0.1:8081 --balance ip_hash --keepalive 0 \
  --webroot "$TMP/webroot" --cors-origin '*' --no-hsts \
  --listen-http "127.0.0.1:$p3" --listen-https "127.0.0.1:$p4"

check wildcard -d '*.example.test' -d example.test --state-dir "$TMP" \
  --upstream localhost:8080 --listen-http "127.0.0.1:$p5" --listen-https "127.0.0.1:$p6"
grep -q "ssl_certificate $live/_wildcard.example.test/fullchain.pem;" "$TMP/wildcard/site.conf" ||
  fail "the wildcard's certificate directory is not STATE/live/_wildcard.example.test"

# Two generated sites in one nginx: upstream, map and cache names must not clash.
two=$TMP/two
mkdir -p "$two"
expect_rc 0 gen nginx -d example.test --state-dir "$TMP" --upstream 127.0.0.1:8080 \
  --route /api=127.0.0.1:8081 --cors-origin https://a.example.test \
  --listen-http "127.0.0.1:$p1" --listen-https "127.0.0.1:$p2" --out "$two/a.conf"
expect_rc 0 gen nginx -d other.test --state-dir "$TMP" --upstream 127.0.0.1:9090 \
  --route /api=127.0.0.1:9091 --cors-origin https://b.example.test \
  --listen-http "127.0.0.1:$p1" --listen-https "127.0.0.1:$p2" --out "$two/b.conf"
nginx_conf "$two" "  include $two/a.conf;
  include $two/b.conf;"
out=$(nginx_test "$two") || fail "nginx -t rejects two generated sites side by side: $out"
ok "two generated sites load side by side"

# Options from [gen.nginx] in the TOML config; the command line wins.
cfg=$TMP/acmectl.toml
cat >"$cfg" <<TOML
[gen.nginx]
domain = ["example.test", "www.example.test"]
upstream = ["127.0.0.1:7070", "127.0.0.1:7071,weight=2"]
balance = "least_conn"
cert_dir = "$live/example.test"
listen_http = "127.0.0.1:$p3"
listen_https = "127.0.0.1:$p4"
hsts_max_age = 600
route = ["/api=127.0.0.1:7072"]
TOML
check from_config --config "$cfg" --hsts-max-age 1200
f=$TMP/from_config/site.conf
grep -q 'server 127.0.0.1:7071 weight=2;' "$f" || fail "[gen.nginx] upstream not used"
grep -q 'least_conn;' "$f" || fail "[gen.nginx] balance not used"
grep -q 'max-age=1200"' "$f" || fail "the command line's --hsts-max-age did not win over the config"
grep -q 'location ^~ /api/' "$f" || fail "[gen.nginx] route not used"
# The same through acmectl's global --config (as `acmectl --config F gen nginx`).
expect_rc 0 --config "$cfg" gen nginx
grep -q 'server 127.0.0.1:7070;' "$OUT_FILE" || fail "acmectl --config F gen nginx ignored [gen.nginx]"
ok "[gen.nginx] supplies options, the command line wins"

printf '[gen.nginx]\nupstreams = ["127.0.0.1:1"]\n' >"$TMP/bad.toml"
expect_rc 2 gen nginx -d example.test --config "$TMP/bad.toml"
grep -q "bad.toml:2:1: unknown key 'upstreams' in \[gen.nginx\]" "$ERR_FILE" ||
  fail "unknown config key not reported with file:line: $(cat "$ERR_FILE")"
printf '[gen.nginx]\nbalance = "random"\n' >"$TMP/bad2.toml"
expect_rc 2 gen nginx -d example.test --upstream 127.0.0.1:1 --config "$TMP/bad2.toml"
grep -q "bad2.toml:2:1: balance" "$ERR_FILE" || fail "bad config value not reported: $(cat "$ERR_FILE")"
ok "bad [gen.nginx] keys and values: exit 2 naming file, line and key"
