#!/usr/bin/env bash
# `acmectl import` of state made by the REAL certbot and lego (Debian packages)
# against a Pebble of this test's own (its http-01 port is where certbot's and
# lego's standalone servers answer, so no lock), and of hand-made acme.sh state
# (acme.sh is not a Debian package) that reuses lego's real account. After each
# import `acmectl renew --force` succeeds and Pebble counts no new account.
# Bad input (not that client's state, another server, a missing key, an
# account clash, a name already recorded) exits 1 with one line and changes
# nothing.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"
command -v certbot >/dev/null || fail "certbot not installed (scripts/deps.sh)"
command -v lego >/dev/null || fail "lego not installed (scripts/deps.sh)"
start_fixture "$TMP/pebble"

# pebble_accounts: Pebble's own count ("There are now N accounts in memory").
pebble_accounts() {
  { grep -o 'There are now [0-9]* accounts' "$PEBBLE_FIXTURE_DIR/pebble.log" || true; } |
    tail -n 1 | awk '{print $4}'
}
ca=(--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE")

# ---- real certbot and lego state ---------------------------------------------
cb=$TMP/certbot
REQUESTS_CA_BUNDLE=$PEBBLE_CA_BUNDLE certbot certonly --standalone \
  --http-01-port "$PEBBLE_HTTP_PORT" --http-01-address 127.0.0.1 --server "$PEBBLE_DIR_URL" \
  -d cb.example.test -d www.cb.example.test --deploy-hook "touch $TMP/hook-ran" \
  --config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
  --agree-tos -m certbot@example.com --non-interactive >"$TMP/certbot.log" 2>&1 ||
  fail "certbot failed: $(tail -n 20 "$TMP/certbot.log" "$cb/logs/letsencrypt.log" 2>&1)"
cbconf=$cb/config
cb_account=$(jq -r .uri "$cbconf"/accounts/*/*/*/regr.json)
ok "certbot issued cb.example.test (account $cb_account)"

lg=$TMP/lego
LEGO_CA_CERTIFICATES=$PEBBLE_CA_BUNDLE lego --server "$PEBBLE_DIR_URL" --accept-tos \
  --email lego@example.com --path "$lg" -d lg.example.test --http \
  --http.port "127.0.0.1:$PEBBLE_HTTP_PORT" run >"$TMP/lego.log" 2>&1 ||
  fail "lego failed: $(tail -n 20 "$TMP/lego.log")"
lg_account=$(jq -r .registration.uri "$lg"/accounts/*/lego@example.com/account.json)
ok "lego issued lg.example.test (account $lg_account)"
accounts0=$(pebble_accounts)
assert_eq "$accounts0" 2 "accounts after certbot and lego"

# ---- bad input: one line, exit 1, nothing written -----------------------------
state=$TMP/state
mkdir -p "$TMP/empty"
expect_one_line_error import certbot "$TMP/empty" --state-dir "$state" "${ca[@]}"
assert_match "$ERR_LINE" "is not certbot state" "error"
expect_one_line_error import lego "$cbconf" --state-dir "$state" "${ca[@]}"
assert_match "$ERR_LINE" "is not lego state" "error"
expect_one_line_error import acme.sh "$lg" --state-dir "$state" "${ca[@]}"
assert_match "$ERR_LINE" "is not acme.sh state" "error"
# Another server than the state's: refused, naming both.
expect_one_line_error import certbot "$cbconf" --state-dir "$state" \
  --server https://127.0.0.1:1/directory --ca-bundle "$PEBBLE_CA_BUNDLE"
assert_match "$ERR_LINE" "no certificate to import for --server https://127.0.0.1:1/directory \(found: renewal/cb.example.test.conf \($PEBBLE_DIR_URL\)\)" "error"
expect_one_line_error import lego "$lg" --state-dir "$state" \
  --server https://127.0.0.1:1/directory --ca-bundle "$PEBBLE_CA_BUNDLE"
assert_match "$ERR_LINE" "has no account for --server https://127.0.0.1:1/directory" "error"
# A certificate whose key is missing (a copy of the state without privkey1.pem).
cp -a "$cbconf" "$TMP/nokey"
sed -i "s#$cbconf#$TMP/nokey#g" "$TMP/nokey/renewal/cb.example.test.conf"
rm "$TMP/nokey/archive/cb.example.test/privkey1.pem"
expect_one_line_error import certbot "$TMP/nokey" --state-dir "$state" "${ca[@]}"
assert_match "$ERR_LINE" "renewal/cb.example.test.conf: private key: .*privkey.pem" "error"
assert_absent "$state"
ok "bad input refused with one line each, no state dir created"

# ---- certbot: import, then acmectl renews in certbot's live/ dir ---------------
live=$cbconf/live/cb.example.test
serial0=$(cert_serial "$live/cert.pem")
expect_rc 0 import certbot "$cbconf" --state-dir "$state" "${ca[@]}" --json
assert_eq "$(jq -r .account.url "$OUT_FILE")" "$cb_account" "imported account"
assert_eq "$(jq -r '.certificates[0].name' "$OUT_FILE")" cb.example.test "imported name"
assert_eq "$(jq -r '.certificates[0].domains | join(",")' "$OUT_FILE")" \
  cb.example.test,www.cb.example.test "imported names"
assert_eq "$(jq -r '.certificates[0].http01_listen' "$OUT_FILE")" "127.0.0.1:$PEBBLE_HTTP_PORT" "standalone port"
assert_eq "$(jq -r '.certificates[0].out_dir' "$OUT_FILE")" "$live" "renewed in place"
assert_eq "$(jq -r '.certificates[0].deploy_hook' "$OUT_FILE")" "touch $TMP/hook-ran" "deploy hook"
assert_eq "$(sqlite3 "$state/acmectl.db" "select account_url from accounts")" "$cb_account" "stored account"
assert_mode "$(sqlite3 "$state/acmectl.db" "select key_path from accounts")" 600
assert_eq "$(norm_serial "$(sqlite3 "$state/acmectl.db" "select serial from certificates")")" \
  "$(norm_serial "$serial0")" "recorded serial"
assert_eq "$(pebble_accounts)" "$accounts0" "Pebble accounts after the import"
# live/NAME keeps its paths and its certificate, now in acmectl's versioned layout; certbot's
# archive/ is untouched.
[[ -L "$live" ]] || fail "$live is not acmectl's version link"
assert_eq "$(cert_serial "$live/cert.pem")" "$serial0" "serial at $live after the import"
assert_mode "$live/privkey.pem" 600
cmp -s "$live/privkey.pem" "$cbconf/archive/cb.example.test/privkey1.pem" || fail "the key changed"
ok "certbot imported: account $cb_account, no request to the CA"

orders0=$(pebble_new_orders)
rm -f "$TMP/hook-ran"
expect_rc 0 renew --force cb.example.test --state-dir "$state" --ca-bundle "$PEBBLE_CA_BUNDLE"
serial1=$(cert_serial "$live/cert.pem")
[[ "$serial1" != "$serial0" ]] || fail "the certificate at $live was not replaced"
verify_chain "$live"
assert_sans "$live/cert.pem" cb.example.test www.cb.example.test
assert_mode "$live/privkey.pem" 600
[[ -e "$TMP/hook-ran" ]] || fail "the deploy hook did not run"
assert_eq "$(pebble_accounts)" "$accounts0" "Pebble accounts after the renewal"
assert_eq "$(($(pebble_new_orders) - orders0))" 1 "orders for the renewal"
ok "acmectl renewed cb.example.test at $live with certbot's account: no new account, one order, deploy hook ran"

# doctor on the imported state: every recorded certificate (no -d), with its own settings
# (the responder on Pebble's http-01 port; pebble-challtestsrv answers A 127.0.0.1).
expect_rc 0 doctor --state-dir "$state" "${ca[@]}" --dns-resolver "$CHALLTESTSRV_DNS" \
  --caa-identity pebble.test --http-port "$PEBBLE_HTTP_PORT" --json
assert_eq "$(jq -r '[.checks[] | select(.check == "http-01") | .status] | join(",")' "$OUT_FILE")" \
  ok,ok "http-01 of both recorded names"
jq -e --arg k "$live/privkey.pem" '.checks | any(.check == "permissions" and .subject == $k and .status == "ok")' \
  "$OUT_FILE" >/dev/null || fail "doctor did not check $live/privkey.pem: $(cat "$OUT_FILE")"
expect_rc 0 doctor -d www.cb.example.test --state-dir "$state" "${ca[@]}" \
  --dns-resolver "$CHALLTESTSRV_DNS" --caa-identity pebble.test --http-port "$PEBBLE_HTTP_PORT" --json
assert_eq "$(jq -r '[.checks[] | select(.check == "http-01") | .subject] | length' "$OUT_FILE")" 1 "checked names"
ok "doctor checks the imported certificate with its recorded settings"

# The same again: already recorded. lego's account into this state: a clash.
expect_one_line_error import certbot "$cbconf" --state-dir "$state" "${ca[@]}"
assert_match "$ERR_LINE" "a certificate named cb.example.test is already recorded" "error"
expect_one_line_error import lego "$lg" --state-dir "$state" "${ca[@]}"
assert_match "$ERR_LINE" "already has the account $cb_account .* the lego account $lg_account would replace it" "error"
assert_eq "$(sqlite3 "$state/acmectl.db" "select count(*) from certificates")" 1 "certificates recorded"
ok "a second import and another client's account are refused"

# --copy: certbot's files are left alone, acmectl's OUT gets copies.
before=$(find "$cbconf" -type f -print0 | sort -z | xargs -0 sha256sum)
expect_rc 0 import certbot "$cbconf" --state-dir "$TMP/state-copy" --copy "${ca[@]}" --json
assert_eq "$(jq -r '.certificates[0].out_dir' "$OUT_FILE")" "$TMP/state-copy/live/cb.example.test" "out dir"
assert_mode "$TMP/state-copy/live/cb.example.test/privkey.pem" 600
cmp -s "$TMP/state-copy/live/cb.example.test/fullchain.pem" "$live/fullchain.pem" ||
  fail "--copy did not copy the live certificate"
[[ "$(find "$cbconf" -type f -print0 | sort -z | xargs -0 sha256sum)" == "$before" ]] ||
  fail "--copy changed certbot's files"
ok "--copy: files copied into OUT, certbot's untouched"

# certbot's webroot authenticator maps to a webroot; a DNS authenticator cannot be mapped
# (refused, naming it) unless --http01-listen says how to answer instead.
cp -a "$cbconf" "$TMP/cbweb"
sed -i -e "s#$cbconf#$TMP/cbweb#g" -e 's/^authenticator = standalone/authenticator = webroot\nwebroot_path = \/var\/www\/cb,/' \
  "$TMP/cbweb/renewal/cb.example.test.conf"
expect_rc 0 import certbot "$TMP/cbweb" --state-dir "$TMP/state-web" --copy "${ca[@]}" --json
assert_eq "$(jq -r '.certificates[0].webroot' "$OUT_FILE")" /var/www/cb "webroot"
sed -i -e 's/^authenticator = webroot/authenticator = dns-cloudflare/' \
  "$TMP/cbweb/renewal/cb.example.test.conf"
expect_one_line_error import certbot "$TMP/cbweb" --state-dir "$TMP/state-dns" --copy "${ca[@]}"
assert_match "$ERR_LINE" "authenticator 'dns-cloudflare' cannot be mapped" "error"
assert_absent "$TMP/state-dns"
expect_rc 0 import certbot "$TMP/cbweb" --state-dir "$TMP/state-dns" --copy "${ca[@]}" \
  --http01-listen 127.0.0.1:8402 --json
assert_eq "$(jq -r '.certificates[0].http01_listen' "$OUT_FILE")" 127.0.0.1:8402 "override"
ok "certbot webroot mapped; dns-cloudflare refused unless --http01-listen"

# ---- lego ---------------------------------------------------------------------
state2=$TMP/state-lego
lg_before=$(find "$lg" -type f -print0 | sort -z | xargs -0 sha256sum)
expect_rc 0 import lego "$lg" --state-dir "$state2" "${ca[@]}" \
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
grep -q "account $lg_account" "$OUT_FILE" || fail "the lego account is not named: $(cat "$OUT_FILE")"
grep -q "not mapped: lego's files stay as they are" "$OUT_FILE" || fail "no note on lego's files"
expect_rc 0 renew --force lg.example.test --state-dir "$state2" --ca-bundle "$PEBBLE_CA_BUNDLE"
verify_chain "$state2/live/lg.example.test"
assert_sans "$state2/live/lg.example.test/cert.pem" lg.example.test
assert_eq "$(pebble_accounts)" "$accounts0" "Pebble accounts after the lego renewal"
[[ "$(find "$lg" -type f -print0 | sort -z | xargs -0 sha256sum)" == "$lg_before" ]] ||
  fail "the import changed lego's files"
ok "lego imported and renewed with lego's account $lg_account: no new account, lego's files untouched"

# ---- acme.sh (hand-made state; acme.sh is not a Debian package) -----------------
ash=$TMP/acme.sh
hp=${PEBBLE_DIR_URL#https://}
mkdir -p "$ash/ca/$hp" "$ash/lg.example.test_ecc"
cp "$lg/accounts/"*/lego@example.com/keys/lego@example.com.key "$ash/ca/$hp/account.key"
printf "ACCOUNT_URL='%s'\nCA_EMAIL='lego@example.com'\n" "$lg_account" >"$ash/ca/$hp/ca.conf"
cp "$lg/certificates/lg.example.test.crt" "$ash/lg.example.test_ecc/fullchain.cer"
cp "$lg/certificates/lg.example.test.key" "$ash/lg.example.test_ecc/lg.example.test.key"
cat >"$ash/lg.example.test_ecc/lg.example.test.conf" <<CONF
Le_Domain='lg.example.test'
Le_Alt='no'
Le_Webroot='no'
Le_HTTPPort='$PEBBLE_HTTP_PORT'
Le_API='$PEBBLE_DIR_URL'
Le_Keylength='ec-256'
Le_RealFullChainPath='/etc/nginx/ssl/lg.pem'
CONF
state3=$TMP/state-acmesh
expect_rc 0 import acme.sh "$ash" --state-dir "$state3" "${ca[@]}" --json
assert_eq "$(jq -r .account.url "$OUT_FILE")" "$lg_account" "acme.sh account"
assert_eq "$(jq -r '.certificates[0].http01_listen' "$OUT_FILE")" ":$PEBBLE_HTTP_PORT" "Le_HTTPPort"
jq -e '.certificates[0].not_mapped | any(test("/etc/nginx/ssl/lg.pem"))' "$OUT_FILE" >/dev/null ||
  fail "Le_RealFullChainPath not reported"
expect_rc 0 renew --force lg.example.test --state-dir "$state3" --ca-bundle "$PEBBLE_CA_BUNDLE"
verify_chain "$state3/live/lg.example.test"
assert_eq "$(pebble_accounts)" "$accounts0" "Pebble accounts after the acme.sh renewal"
ok "hand-made acme.sh state imported and renewed with its account: no new account"
