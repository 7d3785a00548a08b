#!/usr/bin/env bash
# A server that cannot be used: unreachable, TLS certificate not trusted,
# malformed JSON, HTTP 500. Each: exit 1, one clear error line, nothing in --out.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

read -r closed nginx_port http01 < <(free_ports 3 | paste -sd' ')
base=(--agree-tos --email test@example.com --http01-listen "127.0.0.1:$http01"
  --state-dir "$TMP/state" --out "$TMP/live")

# expect_server_error WHAT ERE ARGS...: exit 1, one error line matching ERE
# (case-insensitive; the URL is cut out first, so it cannot match), nothing
# written to --out.
expect_server_error() {
  local what=$1 ere=$2 line
  shift 2
  expect_rc 1 issue -d srv.acmectl.test "$@" "${base[@]}"
  error_line
  line=$ERR_LINE
  shopt -s nocasematch
  [[ "$(sed -E 's#https?://[^ ]*#URL#g' <<<"$line")" =~ $ere ]] || fail "$what: error line does not match /$ere/: $line"
  shopt -u nocasematch
  assert_no_files "$TMP/live"
  ok "$what: exit 1: $line"
}

expect_server_error "unreachable server" 'connect|refused|unreachable' \
  --server "https://127.0.0.1:$closed/dir" --ca-bundle "$PEBBLE_CA_BUNDLE"

expect_server_error "Pebble without --ca-bundle" 'certificate|tls|ssl|verif' \
  --server "$PEBBLE_DIR_URL"

start_nginx "$TMP/nginx" "$nginx_port" "    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $PEBBLE_TLS_CERT;
    ssl_certificate_key $PEBBLE_TLS_KEY;
    location = /dir { default_type application/json; return 200 '{not json'; }
    location = /error { return 500; }"
expect_server_error "malformed JSON directory" 'json|pars|malformed' \
  --server "https://127.0.0.1:$nginx_port/dir" --ca-bundle "$PEBBLE_CA_BUNDLE"
expect_server_error "HTTP 500" '500|server error|internal' \
  --server "https://127.0.0.1:$nginx_port/error" --ca-bundle "$PEBBLE_CA_BUNDLE"
