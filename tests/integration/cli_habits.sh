#!/usr/bin/env bash
# certbot/lego habits (issue 16): -n, -m, --cert-name, -d a,b, --force-renewal, -w,
# --staging, -q/--quiet and -v, before or after the command name, against the shared
# Pebble. Nothing but loopback is contacted: --staging is checked through a proxy that
# refuses (HTTPS_PROXY on a closed loopback port) and by usage errors.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

state=$TMP/state
out=$TMP/live
names=(habits.acmectl.test www.habits.acmectl.test)
listen=(--http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT")
ca=(--server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE")

# A certbot command line: -n, -m, --cert-name, one -d with two names.
expect_rc 0 issue -n -m habits@example.test --agree-tos --cert-name hab \
  -d "${names[0]},${names[1]}" "${ca[@]}" "${listen[@]}" --state-dir "$state" --out "$out"
live=$out/hab
verify_chain "$live"
assert_sans "$live/cert.pem" "${names[@]}"
assert_eq "$(sqlite3 "$state/acmectl.db" 'select count(*) from certificates')" 1 "certificates recorded"
sqlite3 "$state/acmectl.db" 'select name from certificates' | grep -qx hab ||
  fail "--cert-name hab is not the recorded name"
ok "issue -n -m … --cert-name hab -d a,b: one certificate 'hab' with both names"

# Globals after the command name, -q: a not-due issue prints nothing on stderr.
expect_rc 0 issue --cert-name hab -d "${names[0]}" -d "${names[1]}" "${ca[@]}" "${listen[@]}" \
  --state-dir "$state" --out "$out" -q
[[ ! -s "$OUT_FILE" && ! -s "$ERR_FILE" ]] || fail "-q, not due: expected no output at all"
ok "-q after the command: nothing printed (not due: nothing changed); -d twice = -d a,b"

# --force-renewal (issue): a new certificate; -v before the command: debug lines.
serial1=$(cert_serial "$live/cert.pem")
expect_rc 0 -v issue --cert-name hab -d "${names[0]},${names[1]}" "${ca[@]}" "${listen[@]}" \
  --state-dir "$state" --out "$out" --force-renewal
serial2=$(cert_serial "$live/cert.pem")
[[ "$serial2" != "$serial1" ]] || fail "issue --force-renewal did not replace the certificate"
assert_sans "$live/cert.pem" "${names[@]}"
grep -qi 'debug' "$ERR_FILE" || fail "-v: expected debug lines on stderr"
ok "issue --force-renewal re-issues; -v logs at debug level"

# --force-renewal (renew), -q: renewed silently.
expect_rc 0 renew hab --force-renewal --state-dir "$state" --quiet
[[ "$(cert_serial "$live/cert.pem")" != "$serial2" ]] || fail "renew --force-renewal did not renew"
[[ ! -s "$ERR_FILE" ]] || fail "renew -q: expected nothing on stderr"
ok "renew NAME --force-renewal --quiet: renewed, nothing on stderr"

# -w is --webroot (it conflicts with --http01-listen, checked before any network access).
expect_one_line_error issue -w "$TMP/www" -d "${names[0]}" "${listen[@]}" "${ca[@]}" \
  --state-dir "$TMP/state-w"
assert_match "$ERR_LINE" "--webroot" "error for -w with --http01-listen"
ok "-w is --webroot"

# -q with -v, and --staging with another --server: usage errors (exit 2), offline.
expect_rc 2 list -q -v --state-dir "$state"
expect_rc 2 issue --staging --server "$PEBBLE_DIR_URL" -d "${names[0]}" --state-dir "$TMP/state-s"
grep -q -- '--staging' "$ERR_FILE" || fail "expected the usage error to name --staging"
ok "-q with -v, --staging with --server: exit 2"

# --staging resolves to Let's Encrypt's staging directory, over ACMECTL_SERVER. The
# request goes to a proxy on a closed loopback port and fails there.
read -r closed < <(free_ports 1)
LAST_CMD="HTTPS_PROXY=http://127.0.0.1:$closed acmectl --staging issue …"
RC=0
ACMECTL_SERVER="$PEBBLE_DIR_URL" HTTPS_PROXY="http://127.0.0.1:$closed" NO_PROXY="" \
  "$ACMECTL" --staging issue -n -m habits@example.test --agree-tos -d "${names[0]}" \
  "${listen[@]}" --state-dir "$TMP/state-s" --out "$TMP/live-s" -v \
  >"$OUT_FILE" 2>"$ERR_FILE" </dev/null || RC=$?
((RC == 1)) || fail "expected exit 1 (proxy refused), got $RC"
grep -q 'acme-staging-v02.api.letsencrypt.org/directory' "$ERR_FILE" ||
  fail "--staging: the staging directory URL is not named on stderr"
if grep -q "$PEBBLE_DIR_URL" "$ERR_FILE"; then fail "--staging: ACMECTL_SERVER was used"; fi
assert_no_files "$TMP/live-s"
ok "--staging: the staging directory (through a refusing loopback proxy), over ACMECTL_SERVER"
