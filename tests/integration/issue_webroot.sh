#!/usr/bin/env bash
# --webroot: a real nginx serves the webroot on Pebble's http-01 port; the
# challenge files are gone afterwards.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

name=webroot.acmectl.test
webroot=$TMP/www
mkdir -p "$webroot"
echo "hello" >"$webroot/index.html"
# nginx workers run as an unprivileged user when the test runs as root: they
# must be able to reach the webroot (mktemp made $TMP 0700).
chmod 755 "$TMP" "$webroot"

start_nginx "$TMP/nginx" "$PEBBLE_HTTP_PORT" "    listen 127.0.0.1:$PEBBLE_HTTP_PORT;
    root $webroot;"
curl -sf "http://127.0.0.1:$PEBBLE_HTTP_PORT/index.html" | grep -qx hello ||
  fail "nginx does not serve $webroot"

expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --webroot "$webroot" \
  --state-dir "$TMP/state" --out "$TMP/live"
verify_chain "$TMP/live/$name"
assert_sans "$TMP/live/$name/cert.pem" "$name"
ok "issued through --webroot served by nginx; chain verifies"

grep -q 'GET /.well-known/acme-challenge/[A-Za-z0-9_-]* HTTP/1.1" 200' "$TMP/nginx/access.log" ||
  fail "nginx never served a challenge with 200: $(cat "$TMP/nginx/access.log")"
ok "Pebble's validator fetched the token from nginx"

left=$(find "$webroot/.well-known/acme-challenge" -type f 2>/dev/null || true)
[[ -z "$left" ]] || fail "challenge files left in the webroot: $left"
[[ -f "$webroot/index.html" ]] || fail "the webroot's own files were touched"
ok "no token files remain under $webroot/.well-known/acme-challenge"
