#!/usr/bin/env bash
# Loose modes left by a careless admin or a hostile neighbour (issue 13 finding 3, as
# docs/security.md states it): on a private Pebble, after one issuance, each of these
# makes `acmectl renew --force` refuse with one error line naming the path and its mode
# (or owner), before any order (Pebble's newOrder count does not move):
#   the state dir 0777; the account key 0644; the database owned by another user (as
#   root: nobody). A deploy hook others can write is refused (not run), the
#   certificate stays installed and the hook owed; once fixed the next renew runs it.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

start_fixture "$TMP/pebble"
name=modes.acmectl.test
state=$TMP/state
live=$TMP/live/$name
export HOOK_LOG=$TMP/hook.log
mkdir -p "$TMP/hooks"
cat >"$TMP/hooks/deploy.sh" <<'HOOK'
#!/bin/sh
echo "$ACMECTL_EVENT $ACMECTL_CERT_NAME" >>"$HOOK_LOG"
HOOK
chmod 0755 "$TMP/hooks/deploy.sh"
expect_rc 0 issue -d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$state" --out "$TMP/live" --deploy-hook "$TMP/hooks/deploy.sh"
verify_chain "$live"
orders() { grep -c 'POST /order-plz' "$TMP/pebble/pebble.log" || true; }
ok "issued $name ($(orders) order)"

# refused WHAT ERE: renew --force exits 1 with one error line matching ERE; no order.
refused() {
  local what=$1 ere=$2 before
  before=$(orders)
  expect_rc 1 renew --force "$name" --state-dir "$state"
  error_line
  assert_match "$ERR_LINE" "$ere" "error line for $what"
  assert_eq "$(orders)" "$before" "newOrder requests after refusing $what"
  ok "$what refused before any order: $ERR_LINE"
}

chmod 0777 "$state"
refused "a 0777 state dir" "state dir $state has mode 0777"
chmod 0700 "$state"

key=$(find "$state/accounts" -name account.key | head -n 1)
[[ -f "$key" ]] || fail "no account key under $state/accounts"
chmod 0644 "$key"
refused "a 0644 account key" "account key $key has mode 0644"
chmod 0600 "$key"

if (($(id -u) == 0)) && id nobody >/dev/null 2>&1; then
  chown nobody "$state/acmectl.db"
  refused "a database owned by nobody" "database $state/acmectl.db is owned by uid $(id -u nobody)"
  chown 0 "$state/acmectl.db"
else
  log "not root: the database-owner case is skipped"
fi

# A hook others can write: the certificate is renewed and installed, the hook refused.
serial=$(cert_serial "$live/cert.pem")
hook_runs=$(wc -l <"$HOOK_LOG")
chmod 0777 "$TMP/hooks"
expect_rc 1 renew --force "$name" --state-dir "$state"
grep -q "$TMP/hooks.*writable by others" "$ERR_FILE" ||
  fail "the hook's writable directory is not named: $(cat "$ERR_FILE")"
[[ "$(cert_serial "$live/cert.pem")" != "$serial" ]] || fail "no certificate installed"
verify_chain "$live"
assert_eq "$(wc -l <"$HOOK_LOG")" "$hook_runs" "hook runs after refusing it"
chmod 0755 "$TMP/hooks"
expect_rc 0 renew --state-dir "$state"
tail -n 1 "$HOOK_LOG" | grep -q "renewed $name" || fail "the owed hook did not run once fixed"
ok "a hook in a 0777 directory refused (certificate installed, hook owed), run once fixed"
