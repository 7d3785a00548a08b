#!/usr/bin/env bash
# hooks/reload-nginx.sh as the deploy hook, with a real nginx serving TLS from
# OUT/NAME/{fullchain,privkey}.pem: after each install nginx serves the new
# serial within a second; with a broken nginx config the hook fails (acmectl
# exits 1), nginx is not reloaded and keeps serving the previous certificate;
# once the config is fixed the next `acmectl renew` retries the hook.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

hook="$(cd "$(dirname "$0")/../../hooks" && pwd)/reload-nginx.sh"
[[ -x "$hook" ]] || fail "$hook is not executable"
name=nginx.acmectl.test
state=$TMP/state
live=$TMP/live/$name
common=(-d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
  --state-dir "$state" --out "$TMP/live")

expect_rc 0 issue "${common[@]}"
verify_chain "$live"

port=$(free_ports 1)
prefix=$TMP/nginx
start_nginx "$prefix" "$port" "    listen 127.0.0.1:$port ssl;
    ssl_certificate $live/fullchain.pem;
    ssl_certificate_key $live/privkey.pem;
    location / { return 200 \"ok\\n\"; }"
export NGINX_ARGS="-p $prefix -c $prefix/nginx.conf -e $prefix/error.log"

served_serial() {
  local pem
  pem=$(openssl s_client -connect "127.0.0.1:$port" -servername "$name" </dev/null 2>/dev/null) || true
  norm_serial "$(openssl x509 -noout -serial <<<"$pem" 2>/dev/null | sed 's/^serial=//')"
}
# expect_served SERIAL: nginx serves it within a second.
expect_served() {
  local i got=""
  for ((i = 0; i < 20; i++)); do
    got=$(served_serial)
    [[ "$got" == "$1" ]] && return 0
    sleep 0.05
  done
  fail "nginx serves serial '$got', expected '$1' within a second"
}
expect_served "$(cert_serial "$live/cert.pem")"
ok "nginx (PID $NGINX_PID) serves the issued certificate on 127.0.0.1:$port"

# Issue again, now with the hook: nginx serves the new certificate.
old=$(cert_serial "$live/cert.pem")
expect_rc 0 issue --force "${common[@]}" --deploy-hook "$hook"
new=$(cert_serial "$live/cert.pem")
[[ "$new" != "$old" ]] || fail "the second issue did not replace the certificate"
expect_served "$new"
ok "issue --deploy-hook reload-nginx.sh: new serial served within a second"

expect_rc 0 renew --force --state-dir "$state"
new=$(cert_serial "$live/cert.pem")
expect_served "$new"
grep -q 'reload-nginx: reloaded' "$ERR_FILE" || fail "the hook's output is not in the log"
ok "renew --force: the hook reloaded nginx, new serial served; hook output logged"

# A broken nginx config: the hook refuses to reload, acmectl exits 1.
cp "$prefix/nginx.conf" "$prefix/nginx.conf.good"
echo "this_is_not_a_directive on;" >>"$prefix/nginx.conf"
served=$new
expect_rc 1 renew --force --state-dir "$state"
grep -q 'nginx -t failed' "$ERR_FILE" || fail "no 'nginx -t failed' from the hook"
newer=$(cert_serial "$live/cert.pem")
[[ "$newer" != "$served" ]] || fail "renew --force did not install a new certificate"
sleep 0.5
assert_eq "$(served_serial)" "$served" "serial served after a refused reload"
kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx died"
expect_rc 0 show "$name" --state-dir "$state"
grep -q 'hook failed' "$OUT_FILE" || fail "show does not report the failed hook"
ok "broken nginx config: hook exit non-zero, renew exit 1, old certificate still served"

# Fixed: the next renew retries the hook, which reloads.
cp "$prefix/nginx.conf.good" "$prefix/nginx.conf"
expect_rc 0 renew --state-dir "$state"
expect_served "$newer"
ok "config fixed: the next renew retried the hook; nginx serves the new serial"
