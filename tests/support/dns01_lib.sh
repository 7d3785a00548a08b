# shellcheck shell=bash
# Helpers for the DNS-01 integration tests (tests/integration/dns01_*.sh), on
# top of lib.sh (source that first). BIND9_FIXTURE_DIR (set by CTest) is a
# running tests/support/bind9_fixture.sh directory.

# use_bind9: loads the BIND9 fixture's env (BIND9_SERVER, BIND9_PORT, the TSIG
# keys, ...) and sets RFC2136_ARGS, the options to update example.test with
# the hmac-sha256 key (propagation checked at the same server).
use_bind9() {
  local dir=${BIND9_FIXTURE_DIR:-}
  [[ -n "$dir" && -f "$dir/env" ]] ||
    fail "no BIND9 fixture at '${dir}' (is integration.bind9.start running?)"
  # shellcheck source=/dev/null
  source "$dir/env"
  command -v dig >/dev/null || fail "dig not installed (scripts/deps.sh installs bind9-dnsutils)"
  # shellcheck disable=SC2034 # used by the tests
  RFC2136_ARGS=(--challenge dns-01 --dns-provider rfc2136 --rfc2136-server "$BIND9_SERVER"
    --rfc2136-tsig-name "$BIND9_TSIG_NAME" --rfc2136-tsig-secret "$BIND9_TSIG_SECRET"
    --dns-resolver "$BIND9_SERVER")
}

# start_pebble_on_bind9: a private Pebble on its own ports whose validator
# resolves through the BIND9 fixture (PEBBLE_DNS_SERVER), stopped on exit.
# It never reuses an authorization, so every order is solved again. Loads its
# env and PEBBLE_ARGS.
start_pebble_on_bind9() {
  PEBBLE_DNS_SERVER=$BIND9_SERVER PEBBLE_AUTHZREUSE=0
  export PEBBLE_DNS_SERVER PEBBLE_AUTHZREUSE
  start_fixture "$TMP/pebble"
  unset PEBBLE_DNS_SERVER PEBBLE_AUTHZREUSE
}

# txt_values NAME [HOST:PORT]: the TXT values at NAME, one a line, sorted
# (default server: the BIND9 fixture). A CNAME at NAME is not a value (dig
# +short prints its target unquoted).
txt_values() {
  local name=$1 server=${2:-$BIND9_SERVER} out
  out=$(dig +short +time=2 +tries=2 @"${server%:*}" -p "${server##*:}" "$name" TXT) ||
    fail "dig @$server $name TXT failed"
  printf '%s\n' "$out" | grep '^"' | tr -d '"' | LC_ALL=C sort || true
}

# assert_no_txt NAME [HOST:PORT]: nothing is left at NAME.
assert_no_txt() {
  local got
  got=$(txt_values "$@")
  [[ -z "$got" ]] || fail "TXT records left at $1: $(paste -sd' ' <<<"$got")"
}

# bind9_count WHAT NAME: how many TXT RRs named logged as WHAT (adding or
# deleting) at NAME (no trailing dot) through dynamic updates.
bind9_count() {
  local pattern
  case $1 in
    adding) pattern="adding an RR at '$2' TXT" ;;
    deleting) pattern="deleting an RR at $2 TXT" ;;
    *) fail "bind9_count: adding or deleting, not '$1'" ;;
  esac
  grep -cF -- "$pattern" "$BIND9_FIXTURE_DIR/named.log" || true
}

# expect_failure_line ARGS...: acmectl exits 1 with exactly one line on stderr
# (run with --log-level warn, so progress lines stay out); sets ERR_LINE.
expect_failure_line() {
  expect_one_line_error "$@" --log-level warn
  log "stderr: $ERR_LINE"
}
