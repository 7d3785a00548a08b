#!/usr/bin/env bash
# DNS-01 through a real BIND9: a wildcard and its apex via RFC 2136 UPDATE
# signed with TSIG (hmac-sha256), validated by a Pebble that resolves through
# the same BIND9. Both values live under one name at once; afterwards exactly
# the two values added were deleted and nothing is left. The certificate is
# recorded with its dns-01 settings, and `renew --force` solves the same way.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/dns01_lib.sh
source "$LIB_DIR/dns01_lib.sh"
lib_init "$@"
use_bind9
start_pebble_on_bind9

state=$TMP/state
out=$TMP/live
record=_acme-challenge.example.test
adds0=$(bind9_count adding "$record")
dels0=$(bind9_count deleting "$record")

expect_rc 0 issue -d '*.example.test' -d example.test "${PEBBLE_ARGS[@]}" "${RFC2136_ARGS[@]}" \
  --state-dir "$state" --out "$out"
live=$out/_wildcard.example.test
verify_chain "$live"
assert_sans "$live/cert.pem" '*.example.test' example.test
ok "wildcard certificate _wildcard.example.test for *.example.test and example.test"

assert_eq "$(($(bind9_count adding "$record") - adds0))" 2 "TXT values added at $record"
assert_eq "$(($(bind9_count deleting "$record") - dels0))" 2 "TXT values deleted at $record"
assert_no_txt "$record.example.test" # a name that never existed: dig must work
assert_no_txt "$record"
ok "two values added under one name, both deleted, no TXT left"

settings=$(sqlite3 "$state/acmectl.db" \
  "select challenge_settings from certificates where name = '_wildcard.example.test'")
assert_eq "$(jq -r .challenge <<<"$settings")" dns-01 "stored challenge"
assert_eq "$(jq -r .dns_provider <<<"$settings")" rfc2136 "stored dns_provider"
assert_eq "$(jq -r .rfc2136_server <<<"$settings")" "$BIND9_SERVER" "stored rfc2136_server"
ok "dns-01 settings recorded with the certificate"

serial1=$(cert_serial "$live/cert.pem")
expect_rc 0 renew _wildcard.example.test --force --state-dir "$state" \
  --ca-bundle "$PEBBLE_CA_BUNDLE"
[[ "$(cert_serial "$live/cert.pem")" != "$serial1" ]] || fail "renew --force did not replace the certificate"
verify_chain "$live"
assert_sans "$live/cert.pem" '*.example.test' example.test
assert_eq "$(($(bind9_count adding "$record") - adds0))" 4 "TXT values added after the renewal"
assert_eq "$(($(bind9_count deleting "$record") - dels0))" 4 "TXT values deleted after the renewal"
assert_no_txt "$record"
ok "renew --force solves dns-01 the same way and cleans up"
