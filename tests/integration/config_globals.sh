#!/usr/bin/env bash
# The one-shot commands read [acme] and state_dir from the config (--config or
# ACMECTL_CONFIG) where the command line says nothing, and the command line wins:
# `issue` with only -d and the responder address gets its CA, trust, contact and
# terms from the file; list/show/renew find the state dir there; a broken config
# is a usage error naming the file and line. `renew` also runs [agent] post_hook,
# like the agent (the shipped timer relies on it).
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

cfg=$TMP/acmectl.toml
cat >"$cfg" <<TOML
state_dir = "$TMP/state"

[agent]
post_hook = "touch $TMP/config-post-hook"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "ops@example.com"
agree_tos = true
TOML
name=cfg.acmectl.test
expect_rc 0 issue -d "$name" --config "$cfg" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
assert_file "$TMP/state/live/$name/fullchain.pem"
verify_chain "$TMP/state/live/$name"
ok "issue took server, CA bundle, e-mail, terms and state dir from the config"

ACMECTL_CONFIG=$cfg expect_rc 0 list --json
assert_eq "$(jq -r '.[0].name' "$OUT_FILE")" "$name" "list via ACMECTL_CONFIG"
expect_rc 0 show "$name" --config "$cfg"
expect_rc 0 renew --force "$name" --config "$cfg"
assert_file_exists() { [[ -e "$1" ]] || fail "expected $1 to exist"; }
assert_file_exists "$TMP/config-post-hook"
ok "list (ACMECTL_CONFIG), show and renew --force found the state through the config; renew ran [agent] post_hook"
rm -f "$TMP/config-post-hook"
expect_rc 0 renew --force "$name" --config "$cfg" --post-hook "touch $TMP/cli-post-hook"
assert_file_exists "$TMP/cli-post-hook"
assert_absent "$TMP/config-post-hook"
ok "--post-hook on the command line wins over [agent] post_hook"

# The command line wins: another state dir given explicitly is used.
# (nothing recorded there: list says so and exits 0)
expect_rc 0 list --config "$cfg" --state-dir "$TMP/elsewhere"
grep -qF "no certificates recorded in $TMP/elsewhere yet" "$OUT_FILE" || fail "--state-dir did not win over the config"

printf '[acme]\nserver = 42\n' >"$TMP/bad.toml"
expect_rc 2 list --config "$TMP/bad.toml"
grep -q "bad.toml:2:" "$ERR_FILE" || fail "a broken config is not reported with file:line: $(cat "$ERR_FILE")"
ok "the command line wins; a broken config is a usage error naming file and line"
