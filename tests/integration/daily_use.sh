#!/usr/bin/env bash
# Daily use (issue 16): typos get a suggestion and exit 2; -q is silent unless something
# failed or changed; renew on a fresh install exits 0; each command's --help has
# its own options first, examples, defaults and exit codes; issue on a terminal prints
# one short line per step; one error line per failure plus a certbot-style hint (port in
# use, validation unreachable, untrusted CA); list shows STATUS, KEY, ISSUER (PATH with
# -v), never a past NEXT RENEWAL without a reason, and honours [agent]
# renew_before_days; combined.pem (key + chain, 0600) is in every output set.
# Against the shared Pebble.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

state=$TMP/state
listen=(--http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT")
name=daily.acmectl.test

# Typos: a suggestion, exit 2, nothing created.
expect_rc 2 isue -d "$name" --state-dir "$state"
grep -qF "did you mean 'issue'?" "$ERR_FILE" || fail "no suggestion for 'isue': $(cat "$ERR_FILE")"
expect_rc 2 issue --domian "$name" --state-dir "$state"
grep -qF -- "--domian" "$ERR_FILE" || fail "the typo is not named: $(cat "$ERR_FILE")"
grep -qF "did you mean --domain?" "$ERR_FILE" || fail "no suggestion for --domian"
if grep -qi "required" "$ERR_FILE"; then fail "--domian reported as a missing --domain"; fi
expect_rc 2 account regster --state-dir "$state"
grep -qF "did you mean 'account register'?" "$ERR_FILE" || fail "no suggestion for 'account regster'"
expect_rc 2 issue -d "$name" --key-type ec257 --state-dir "$state"
grep -qF "ec256" "$ERR_FILE" || fail "--key-type error does not list the key types"
assert_absent "$state"
ok "typos (isue, --domian, account regster) and a bad --key-type: exit 2 with a suggestion"

# A fresh install: renew exits 0 and creates nothing; -q prints nothing.
expect_rc 0 renew --state-dir "$state"
grep -q "nothing to renew" "$OUT_FILE" || fail "renew on a fresh install says nothing"
expect_rc 0 renew -q --state-dir "$state"
[[ ! -s "$OUT_FILE" && ! -s "$ERR_FILE" ]] || fail "renew -q on a fresh install printed something"
expect_rc 0 renew --json --state-dir "$state"
assert_eq "$(cat "$OUT_FILE")" "[]" "renew --json on a fresh install"
# list on a fresh install: one short line (not an error), [] with --json.
expect_rc 0 list --state-dir "$state"
assert_eq "$(cat "$OUT_FILE")" "no certificates recorded in $state yet (acmectl issue -d NAME)" \
  "list on a fresh install"
[[ ! -s "$ERR_FILE" ]] || fail "list on a fresh install wrote to stderr: $(cat "$ERR_FILE")"
expect_rc 0 list --json --state-dir "$state"
assert_eq "$(cat "$OUT_FILE")" "[]" "list --json on a fresh install"
assert_absent "$state"
ok "renew and list on a fresh install: exit 0, nothing created; renew -q silent; list --json []"

# --help: own options, then the global ones once; examples, defaults, exit codes.
expect_rc 0 issue --help
help=$(cat "$OUT_FILE")
own=$(grep -n -- '--key-type' <<<"$help" | head -n 1 | cut -d: -f1)
glob=$(grep -n '^Global options' <<<"$help" | cut -d: -f1)
if [[ -z "$own" || -z "$glob" ]] || ((own > glob)); then
  fail "issue --help: own options do not come first"
fi
(($(grep -c -- '--state-dir' <<<"$help") == 1)) || fail "issue --help lists --state-dir more than once"
for want in 'Examples:' '/var/lib/acmectl' 'Exit status:' 'combined.pem'; do
  grep -qF -- "$want" <<<"$help" || fail "issue --help lacks '$want'"
done
for cmd in renew list agent show delete revoke; do
  expect_rc 0 "$cmd" --help
  grep -q 'Examples:' "$OUT_FILE" || fail "$cmd --help lacks examples"
  grep -q 'Exit status:' "$OUT_FILE" || fail "$cmd --help lacks exit codes"
done
ok "--help: own options first, global options once, examples, default paths, exit codes"

# issue in a pipe: full log lines; "1 challenge", not "1 challenges".
expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" "${listen[@]}" --state-dir "$state"
grep -q ' validation took_ms=[0-9]* 1 challenge$' "$ERR_FILE" ||
  fail "no 'validation ... 1 challenge' line: $(cat "$ERR_FILE")"
if grep -q '1 challenges' "$ERR_FILE"; then fail "'1 challenges'"; fi
live=$state/live/$name
assert_mode "$live/combined.pem" 600
cat "$live/privkey.pem" "$live/fullchain.pem" | cmp -s - "$live/combined.pem" ||
  fail "combined.pem is not privkey.pem + fullchain.pem"
openssl x509 -in "$live/combined.pem" -noout 2>/dev/null || fail "combined.pem holds no certificate"
openssl pkey -in "$live/combined.pem" -noout 2>/dev/null || fail "combined.pem holds no key"
ok "issue: '1 challenge'; combined.pem = key + chain, 0600"

# PKCS#12 on request: certificate.p12 (0600) in the same version, with the password from
# the file's first line, kept for renewals; an unreadable password file changes nothing.
p12name=p12.acmectl.test
expect_one_line_error issue -d "$p12name" "${PEBBLE_ARGS[@]}" "${listen[@]}" --state-dir "$state" \
  --pkcs12-password-file "$TMP/missing.pass"
[[ ! -e "$state/live/$p12name" ]] || fail "a refused --pkcs12-password-file left files"
printf 'p12-s3cret\nignored second line\n' >"$TMP/p12.pass"
expect_rc 0 issue -d "$p12name" "${PEBBLE_ARGS[@]}" "${listen[@]}" --state-dir "$state" \
  --pkcs12 --pkcs12-password-file "$TMP/p12.pass"
p12=$state/live/$p12name/certificate.p12
assert_mode "$p12" 600
p12_serial() {
  openssl pkcs12 -in "$p12" -passin pass:p12-s3cret -nokeys -clcerts 2>/dev/null |
    openssl x509 -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//'
}
[[ "$(p12_serial)" == "$(norm_serial "$(cert_serial "$state/live/$p12name/cert.pem")")" ]] ||
  fail "certificate.p12 does not hold cert.pem"
openssl pkcs12 -in "$p12" -passin pass:p12-s3cret -nocerts -nodes 2>/dev/null |
  openssl pkey -pubout >"$TMP/p12.pub" || fail "no key in certificate.p12"
openssl pkey -in "$state/live/$p12name/privkey.pem" -pubout | cmp -s - "$TMP/p12.pub" ||
  fail "the key in certificate.p12 is not privkey.pem"
if openssl pkcs12 -in "$p12" -passin pass:wrong -nokeys >/dev/null 2>&1; then
  fail "certificate.p12 opens with a wrong password"
fi
expect_rc 0 renew "$p12name" --force --state-dir "$state"
[[ "$(p12_serial)" == "$(norm_serial "$(cert_serial "$state/live/$p12name/cert.pem")")" ]] ||
  fail "after a renewal certificate.p12 does not hold the new cert.pem"
ok "--pkcs12 --pkcs12-password-file: certificate.p12 0600 with key and chain, kept on renewal"

# On a terminal (script(1) gives it one): one short line per step with its time.
script -qec "'$ACMECTL' issue -d term.acmectl.test ${PEBBLE_ARGS[*]} ${listen[*]} --state-dir '$state'" \
  /dev/null >"$TMP/tty.out" 2>&1 || fail "issue on a terminal failed: $(cat "$TMP/tty.out")"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2} validation \([0-9]+ ms\) 1 challenge' "$TMP/tty.out" ||
  fail "no short step line on a terminal: $(cat "$TMP/tty.out")"
if grep -q 'took_ms=\| info ' "$TMP/tty.out"; then fail "terminal output has raw log lines"; fi
ok "issue on a terminal: 'HH:MM:SS validation (N ms) 1 challenge'"

# -q: a not-due issue and a renew with nothing due print nothing at all.
expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" "${listen[@]}" --state-dir "$state" -q
[[ ! -s "$OUT_FILE" && ! -s "$ERR_FILE" ]] || fail "issue -q (not due) printed something"
expect_rc 0 renew -q --state-dir "$state"
[[ ! -s "$OUT_FILE" && ! -s "$ERR_FILE" ]] || fail "renew -q (nothing due) printed something"
expect_rc 0 renew "$name" --force -q --state-dir "$state"
grep -q "^$name: renewed" "$OUT_FILE" || fail "renew -q --force: the renewal is not reported"
[[ ! -s "$ERR_FILE" ]] || fail "renew -q --force: stderr: $(cat "$ERR_FILE")"
ok "-q: silent when nothing changed, one stdout line when something was renewed"

# Failures: one error line (the message once) and a hint.
expect_rc 1 issue -d unreach.acmectl.test "${PEBBLE_ARGS[@]}" --http01-listen 127.0.0.1:1 \
  --state-dir "$state"
error_line
msg=${ERR_LINE#acmectl: error: }
(($(grep -cF -- "$msg" "$ERR_FILE") == 1)) || fail "the failure is said more than once"
grep -q "^acmectl: hint: the CA fetched http://unreach.acmectl.test:$PEBBLE_HTTP_PORT/.well-known/acme-challenge/" \
  "$ERR_FILE" || fail "no hint naming what the CA fetched: $(cat "$ERR_FILE")"
ok "validation unreachable: one error line, hint names the URL the CA fetched"

busy_port=$(free_ports 1)
python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(60)' "$busy_port" &
holder=$!
_LIB_PIDS+=("$holder")
wait_port "$busy_port" "$holder" || fail "the port holder did not start"
expect_rc 1 issue -d busy.acmectl.test "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$busy_port" \
  --state-dir "$state"
error_line
grep -q "^acmectl: hint: another program holds 127.0.0.1:$busy_port .*nginx" "$ERR_FILE" ||
  fail "no port-in-use hint: $(cat "$ERR_FILE")"
stop_pid "$holder"
ok "port in use: hint names the address and who usually holds it"

expect_rc 1 issue -d untrusted.acmectl.test --server "$PEBBLE_DIR_URL" --agree-tos \
  "${listen[@]}" --state-dir "$state"
error_line
grep -q "^acmectl: hint: .*--ca-bundle" "$ERR_FILE" || fail "no --ca-bundle hint: $(cat "$ERR_FILE")"
ok "untrusted CA certificate: hint suggests --ca-bundle"

# list: STATUS, KEY, ISSUER; PATH with -v; an expired and a failing certificate.
expect_rc 0 list --state-dir "$state"
head -n 1 "$OUT_FILE" | grep -q 'NAME *STATUS .*NEXT RENEWAL *KEY *ISSUER' || fail "list header: $(head -n 1 "$OUT_FILE")"
grep -E "^$name +valid .* ec256 +Pebble Intermediate" "$OUT_FILE" >/dev/null || fail "list row: $(cat "$OUT_FILE")"
expect_rc 0 list -v --state-dir "$state"
grep -qF "$live" "$OUT_FILE" || fail "list -v does not show the path"
past=$(($(date +%s) - 86400))
sqlite3 "$state/acmectl.db" "update certificates set not_after=$past where name='$name'"
sqlite3 "$state/acmectl.db" "update certificates set consecutive_failures=2, next_attempt=$(($(date +%s) + 3600)) where name='term.acmectl.test'"
expect_rc 0 list --state-dir "$state"
grep -E "^$name +EXPIRED .*now \(expired\)" "$OUT_FILE" >/dev/null || fail "expired row: $(cat "$OUT_FILE")"
grep -E "^term.acmectl.test +failing \(2\), retry at [0-9T:-]+Z .*\(retry\)" "$OUT_FILE" >/dev/null ||
  fail "failing row: $(cat "$OUT_FILE")"
ok "list: STATUS valid/EXPIRED/failing (n), retry at T; KEY, ISSUER; PATH with -v"

# [agent] renew_before_days decides NEXT RENEWAL (not a fixed 30).
days_before() { # CONFIG -> days between next_renewal and not_after of term.acmectl.test
  sqlite3 "$state/acmectl.db" "update certificates set consecutive_failures=0, next_attempt=0 where name='term.acmectl.test'"
  expect_rc 0 list --json --state-dir "$state" "$@"
  python3 -c 'import json,sys,datetime
d={c["name"]:c for c in json.load(open(sys.argv[1]))}["term.acmectl.test"]
p=lambda s: datetime.datetime.strptime(s,"%Y-%m-%dT%H:%M:%SZ")
print((p(d["not_after"])-p(d["next_renewal"])).days)' "$OUT_FILE"
}
d30=$(days_before)
printf '[agent]\nrenew_before_days = 100\n' >"$TMP/agent.toml"
d100=$(days_before --config "$TMP/agent.toml")
((d30 >= 25 && d30 <= 31)) || fail "default window: $d30 days before not_after"
((d100 >= 90 && d100 <= 101)) || fail "renew_before_days = 100: $d100 days before not_after"
ok "list honours [agent] renew_before_days ($d30 -> $d100 days before expiry)"
