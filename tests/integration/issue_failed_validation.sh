#!/usr/bin/env bash
# The CA reaches nothing on its http-01 port (acmectl's responder listens on
# another port): exit 1, one clear error line, nothing written to --out.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

name=fail.acmectl.test
other=$(free_ports 1)
[[ "$other" != "$PEBBLE_HTTP_PORT" ]] || fail "free_ports returned Pebble's port"

expect_rc 1 issue -d "$name" "${PEBBLE_ARGS[@]}" --http01-listen "127.0.0.1:$other" \
  --state-dir "$TMP/state" --out "$TMP/live"
error_line
line=$ERR_LINE
log "stderr: $line"
shopt -s nocasematch
[[ "$line" =~ (valid|challenge|authoriz|connect|refused|fail|unauthorized) ]] ||
  fail "error line does not say that validation failed: $line"
shopt -u nocasematch
assert_absent "$TMP/live/$name"
assert_no_files "$TMP/live"
ok "exit 1, one error line, no files written"
