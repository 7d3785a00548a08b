#!/usr/bin/env bash
# A user's days with the timer deployment (acmectl-renew.timer, no agent): the config
# lists the certificates and only `acmectl renew` ever runs, on an empty state dir:
#   day 1  the timer's first `renew` issues both configured certificates (one account,
#          two orders, answered on [agent] http01_listen); the post hook names them;
#   day 2  the next runs order nothing (quiet with -q);
#   day 3  a name added to one certificate in the config: the next run reissues that
#          one only, with the new name;
#   day 4  a certificate dropped from the config: the next run leaves it unmanaged and
#          never renews it, even with --force for everything;
#   and    beside a running agent, `renew` leaves the config to the agent (one order).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

start_fixture "$TMP/pebble"
out=$TMP/live
state=$TMP/state
export POST_LOG=$TMP/post.log
cat >"$TMP/post-hook.sh" <<'HOOK'
#!/bin/sh
echo "renewed=[$ACMECTL_RENEWED_NAMES]" >>"$POST_LOG"
HOOK
chmod +x "$TMP/post-hook.sh"

# write_config CERT... where CERT is NAME or NAME:EXTRA_NAME
write_config() {
  local c name extra
  {
    cat <<TOML
state_dir = "$state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "timer@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"
post_hook = "$TMP/post-hook.sh"

[defaults]
out = "$out"
TOML
    for c in "$@"; do
      name=${c%%:*} extra=""
      [[ "$c" == *:* ]] && extra=", \"${c#*:}.timer.test\""
      printf '\n[[certificate]]\nname = "%s"\ndomains = ["%s.timer.test"%s]\n' "$name" "$name" "$extra"
    done
  } >"$TMP/acmectl.toml"
}
new_accounts() { grep -c 'There are now [0-9]* accounts in memory' "$PEBBLE_FIXTURE_DIR/pebble.log" || true; }
names_of() { openssl x509 -in "$1" -noout -ext subjectAltName | grep -o 'DNS:[^,]*' | sort | tr '\n' ' '; }

# ---- day 1: the first timer run on an empty state dir
write_config web api
run_acmectl --config "$TMP/acmectl.toml" renew
((RC == 0)) || fail "the timer's first renew exited $RC: $(cat "$ERR_FILE")"
for n in web api; do
  [[ -s "$out/$n/cert.pem" ]] || fail "no $out/$n/cert.pem after the first timer run"
  verify_chain "$out/$n"
done
assert_eq "$(pebble_new_orders)" 2 "orders after the first timer run"
assert_eq "$(new_accounts)" 1 "accounts after the first timer run"
if ! grep -q 'renewed=\[.*api.*\]' "$POST_LOG" || ! grep -q 'renewed=\[.*web.*\]' "$POST_LOG"; then
  fail "the post hook was not told of both: $(cat "$POST_LOG")"
fi
ok "day 1: the first timer run issued both configured certificates"

# ---- day 2: nothing due, nothing ordered, nothing said with -q
run_acmectl --config "$TMP/acmectl.toml" -q renew
((RC == 0)) || fail "a quiet renew with nothing due exited $RC"
[[ ! -s "$OUT_FILE" && ! -s "$ERR_FILE" ]] || fail "renew -q with nothing due printed: $(cat "$OUT_FILE" "$ERR_FILE")"
assert_eq "$(pebble_new_orders)" 2 "orders after a run with nothing due"
ok "day 2: nothing due, nothing ordered, nothing printed with -q"

# ---- day 3: a name added to web in the config
serial_api=$(openssl x509 -in "$out/api/cert.pem" -noout -serial)
write_config web:www api
run_acmectl --config "$TMP/acmectl.toml" renew
((RC == 0)) || fail "renew after adding a name exited $RC: $(cat "$ERR_FILE")"
assert_eq "$(names_of "$out/web/cert.pem")" "DNS:web.timer.test DNS:www.timer.test " "names of web"
assert_eq "$(openssl x509 -in "$out/api/cert.pem" -noout -serial)" "$serial_api" "api's serial"
assert_eq "$(pebble_new_orders)" 3 "orders after adding a name to web"
ok "day 3: the added name was issued at the next run, only for web"

# ---- day 4: api dropped from the config
write_config web:www
run_acmectl --config "$TMP/acmectl.toml" renew --force
((RC == 0)) || fail "renew --force after dropping api exited $RC: $(cat "$ERR_FILE")"
assert_eq "$(openssl x509 -in "$out/api/cert.pem" -noout -serial)" "$serial_api" "serial of the dropped api"
assert_eq "$(pebble_new_orders)" 4 "orders after renew --force with api dropped (web only)"
run_acmectl --config "$TMP/acmectl.toml" list --json
assert_eq "$(jq -r '.[] | select(.name == "api") | .last_result' "$OUT_FILE")" unmanaged "api after being dropped"
ok "day 4: a certificate dropped from the config is unmanaged and not renewed"

# ---- beside a running agent the config is the agent's: renew hands its work over
"$ACMECTL" --config "$TMP/acmectl.toml" agent </dev/null >"$TMP/agent.log" 2>&1 &
agent_pid=$!
_LIB_PIDS+=("$agent_pid")
for _ in $(seq 1 100); do
  [[ -S "$state/agent.sock" ]] && break
  sleep 0.1
done
[[ -S "$state/agent.sock" ]] || fail "the agent did not start: $(tail -n 5 "$TMP/agent.log")"
run_acmectl --config "$TMP/acmectl.toml" renew --force web
((RC == 0)) || fail "renew --force web beside the agent exited $RC: $(cat "$ERR_FILE")"
assert_eq "$(pebble_new_orders)" 5 "orders after renew --force web beside the agent"
kill -TERM "$agent_pid"
wait "$agent_pid" || true
ok "beside the agent, renew hands its work to it"
