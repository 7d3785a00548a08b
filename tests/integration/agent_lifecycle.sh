#!/usr/bin/env bash
# The agent end to end, against a Pebble of its own that issues 40-second
# certificates: from an empty store it issues two certificates, then renews
# both before they expire (new serial, later notAfter); the deploy hook ran for
# every event with the documented environment, the post hook once per pass; a
# reader that keeps reading OUT/NAME/{cert,privkey}.pem meanwhile never sees a
# key that does not belong to the certificate; SIGTERM stops it at once, exit 0.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

PEBBLE_CERTIFICATE_VALIDITY_PERIOD=40 start_fixture "$TMP/pebble"
log "private Pebble at $PEBBLE_DIR_URL (40-second certificates)"

state=$TMP/state
out=$TMP/live
cat >"$TMP/deploy-hook.sh" <<'HOOK'
#!/bin/sh
# Records the hook's environment, one line per run.
printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$ACMECTL_EVENT" "$ACMECTL_CERT_NAME" "$ACMECTL_DOMAINS" \
  "$ACMECTL_CERT_PATH" "$ACMECTL_KEY_PATH" "$ACMECTL_FULLCHAIN_PATH" "$ACMECTL_CHAIN_PATH" \
  "$(openssl x509 -in "$ACMECTL_CERT_PATH" -noout -serial)" >>"$HOOK_LOG"
HOOK
cat >"$TMP/post-hook.sh" <<'HOOK'
#!/bin/sh
printf '%s|%s|%s|%s\n' "$ACMECTL_EVENT" "$ACMECTL_CERT_NAMES" "$ACMECTL_CERT_NAME" "${ACMECTL_CERT_PATH-unset}" >>"$POST_LOG"
HOOK
chmod +x "$TMP/deploy-hook.sh" "$TMP/post-hook.sh"
export HOOK_LOG=$TMP/deploy.log POST_LOG=$TMP/post.log

cat >"$TMP/acmectl.toml" <<TOML
state_dir = "$state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "agent@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"
concurrency = 2
post_hook = "$TMP/post-hook.sh"

[defaults]
out = "$out"

[[certificate]]
name = "one"
domains = ["one.agent.test", "www.one.agent.test"]
deploy_hook = "$TMP/deploy-hook.sh"

[[certificate]]
name = "two"
domains = ["two.agent.test"]
key_type = "ec384"
deploy_hook = "$TMP/deploy-hook.sh"
TOML

# The reader: resolves the link, reads cert.pem and privkey.pem through it, and
# resolves it again. A mismatch while the link did not move is a torn set; a
# missing or unreadable file is always a failure.
reader() {
  local name=$1 n=0 t1 t2 c k
  while [[ ! -e "$TMP/stop-reader" ]]; do
    if [[ ! -L "$out/$name" ]]; then
      sleep 0.02
      continue
    fi
    t1=$(readlink "$out/$name")
    if ! c=$(openssl x509 -in "$out/$name/cert.pem" -noout -pubkey 2>&1); then
      echo "cannot read $out/$name/cert.pem: $c" >>"$TMP/reader-$name.err"
      continue
    fi
    if ! k=$(openssl pkey -in "$out/$name/privkey.pem" -pubout 2>&1); then
      echo "cannot read $out/$name/privkey.pem: $k" >>"$TMP/reader-$name.err"
      continue
    fi
    t2=$(readlink "$out/$name")
    if [[ "$c" != "$k" && "$t1" == "$t2" ]]; then
      echo "key does not match certificate in $t1" >>"$TMP/reader-$name.err"
    fi
    n=$((n + 1))
    echo "$n" >"$TMP/reader-$name.count"
  done
}
reader one &
reader_one=$!
reader two &
reader_two=$!
_LIB_PIDS+=("$reader_one" "$reader_two")

log "acmectl agent --config $TMP/acmectl.toml (empty store)"
"$ACMECTL" agent --config "$TMP/acmectl.toml" </dev/null >"$TMP/agent.out" 2>"$TMP/agent.log" &
agent=$!
_LIB_PIDS+=("$agent")

# wait_for SECONDS CONDITION...: polls the condition every 0.2 s.
wait_for() {
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 5; i++)); do
    "$@" && return 0
    kill -0 "$agent" 2>/dev/null || {
      tail -n 40 "$TMP/agent.log" >&2
      fail "the agent exited while waiting for: $*"
    }
    sleep 0.2
  done
  tail -n 40 "$TMP/agent.log" >&2
  fail "not within $secs s: $*"
}
events() { # EVENT NAME: number of deploy hook runs for it
  [[ -f "$HOOK_LOG" ]] || {
    echo 0
    return
  }
  grep -c "^$1|$2|" "$HOOK_LOG" || true
}
both_have() { (($(events "$1" one) >= 1 && $(events "$1" two) >= 1)); }

wait_for 30 both_have obtained
for name in one two; do
  verify_chain "$out/$name"
  [[ -L "$out/$name" ]] || fail "$out/$name is not a symlink"
done
assert_sans "$out/one/cert.pem" one.agent.test www.one.agent.test
assert_sans "$out/two/cert.pem" two.agent.test
openssl pkey -in "$out/two/privkey.pem" -noout -text | grep -q 'secp384r1\|P-384' ||
  fail "two: key_type ec384 not honoured"
serial_one=$(cert_serial "$out/one/cert.pem")
serial_two=$(cert_serial "$out/two/cert.pem")
na_one=$(cert_not_after "$out/one/cert.pem")
na_two=$(cert_not_after "$out/two/cert.pem")
ok "agent issued both certificates from an empty store"

wait_for 45 both_have renewed
t_renewed=$(date +%s)
for name in one two; do
  verify_chain "$out/$name"
done
[[ "$(cert_serial "$out/one/cert.pem")" != "$serial_one" ]] || fail "one: serial unchanged after renewal"
[[ "$(cert_serial "$out/two/cert.pem")" != "$serial_two" ]] || fail "two: serial unchanged after renewal"
(($(cert_not_after "$out/one/cert.pem") > na_one)) || fail "one: notAfter did not move"
(($(cert_not_after "$out/two/cert.pem") > na_two)) || fail "two: notAfter did not move"
((t_renewed <= na_one + 1 && t_renewed <= na_two + 1)) ||
  fail "renewed at $t_renewed, after the old certificates expired ($na_one, $na_two)"
ok "both renewed before expiry: new serial, later notAfter"

# The deploy hook's environment, for every run.
while IFS='|' read -r event name domains cert key fullchain chain serial; do
  case $name in
    one) want_domains="one.agent.test www.one.agent.test" ;;
    two) want_domains="two.agent.test" ;;
    three) want_domains="three.agent.test" ;;
    *) fail "deploy hook ran with ACMECTL_CERT_NAME='$name'" ;;
  esac
  [[ "$event" == obtained || "$event" == renewed ]] || fail "ACMECTL_EVENT='$event'"
  assert_eq "$domains" "$want_domains" "ACMECTL_DOMAINS for $name"
  assert_eq "$cert" "$out/$name/cert.pem" "ACMECTL_CERT_PATH for $name"
  assert_eq "$key" "$out/$name/privkey.pem" "ACMECTL_KEY_PATH for $name"
  assert_eq "$fullchain" "$out/$name/fullchain.pem" "ACMECTL_FULLCHAIN_PATH for $name"
  assert_eq "$chain" "$out/$name/chain.pem" "ACMECTL_CHAIN_PATH for $name"
  [[ "$serial" == serial=* ]] || fail "the hook could not read $cert: '$serial'"
done <"$HOOK_LOG"
assert_eq "$(events obtained one)" 1 "obtained events for one"
assert_eq "$(events obtained two)" 1 "obtained events for two"
ok "deploy hook ran with ACMECTL_EVENT obtained then renewed, names and paths right"

[[ -s "$POST_LOG" ]] || fail "the post hook never ran"
npost=$(wc -l <"$POST_LOG")
ninstalls=$(wc -l <"$HOOK_LOG")
((npost <= ninstalls)) || fail "post hook ran $npost times for $ninstalls installs"
while IFS='|' read -r event names cert_name cert_path; do
  assert_eq "$event" renewed "post hook ACMECTL_EVENT"
  assert_match "$names" '^(one|two|three)( (one|two))?$' "post hook ACMECTL_CERT_NAMES"
  assert_eq "$cert_name" "" "post hook ACMECTL_CERT_NAME"
  assert_eq "$cert_path" unset "post hook ACMECTL_CERT_PATH"
done <"$POST_LOG"
ok "post hook ran $npost time(s) for $ninstalls installs"

# SIGHUP with a broken config: the running config is kept, the agent goes on.
cp "$TMP/acmectl.toml" "$TMP/acmectl.toml.good"
printf '\n[agent]\nconcurrency = 3\n' >>"$TMP/acmectl.toml"
kill -HUP "$agent"
reload_refused() { grep -q 'reload: keeping the running config' "$TMP/agent.log"; }
wait_for 10 reload_refused
kill -0 "$agent" 2>/dev/null || fail "the agent died on SIGHUP with a broken config"
ok "SIGHUP with a broken config: kept the running config ($(grep 'reload: keeping' "$TMP/agent.log" | head -n 1 | sed 's/.*reload: //'))"

# SIGHUP with a third certificate: issued at once.
cp "$TMP/acmectl.toml.good" "$TMP/acmectl.toml"
printf '\n[[certificate]]\nname = "three"\ndomains = ["three.agent.test"]\ndeploy_hook = "%s"\n' \
  "$TMP/deploy-hook.sh" >>"$TMP/acmectl.toml"
kill -HUP "$agent"
three_obtained() { (($(events obtained three) >= 1)); }
wait_for 20 three_obtained
verify_chain "$out/three"
assert_sans "$out/three/cert.pem" three.agent.test
ok "SIGHUP with a new certificate: config applied, certificate issued"

# SIGTERM: a clean, quick stop.
touch "$TMP/stop-reader"
kill -TERM "$agent"
t0=$(date +%s%3N)
rc=0
wait "$agent" || rc=$?
took=$(($(date +%s%3N) - t0))
assert_eq "$rc" 0 "agent exit status after SIGTERM"
((took < 5000)) || fail "the agent took $took ms to stop after SIGTERM"
grep -q 'agent stopped' "$TMP/agent.log" || fail "no 'agent stopped' in the log"
ok "SIGTERM: exit 0 in $took ms"

wait "$reader_one" "$reader_two" || true
for name in one two; do
  if [[ -s "$TMP/reader-$name.err" ]]; then
    head -n 5 "$TMP/reader-$name.err" >&2
    fail "the reader saw a torn set for $name"
  fi
  reads=$(cat "$TMP/reader-$name.count" 2>/dev/null || echo 0)
  ((reads > 10)) || fail "the reader of $name read only $reads times"
  log "reader of $name: $reads consistent reads"
done
ok "cert.pem and privkey.pem always matched while the agent renewed"

expect_rc 0 list --json --state-dir "$state"
assert_eq "$(jq -r '[.[].name] | sort | join(",")' "$OUT_FILE")" "one,three,two" "list --json names"
