#!/usr/bin/env bash
# The store test suite (tests/unit/store_test.cpp) against a real PostgreSQL (issue 15):
# the same cases the SQLite store passes, run on PostgresStore, plus two hosts sharing
# one database without mixing rows, idempotent migrations of an empty database, and a
# reconnect after the server cut the session. Its own PostgreSQL (initdb + pg_ctl as the
# unprivileged postgres user, free loopback port): failing to start it FAILS the test.
# STORE_TEST_BIN (set by CTest) is the agent_test executable.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/pg_lib.sh
source "$(dirname "$0")/../support/pg_lib.sh"
lib_init "$@"
pg_stop_on_exit

[[ -x "${STORE_TEST_BIN:-}" ]] || fail "STORE_TEST_BIN is not the agent_test executable: '${STORE_TEST_BIN:-}'"
pg_start

url="postgresql://acme:$(head -n 1 "$PG_PASSWORD_FILE")@127.0.0.1:$PG_PORT/fleet"
if ! ACMECTL_TEST_PG_URL=$url "$STORE_TEST_BIN" --test-case='store*' >"$TMP/suite.log" 2>&1; then
  cat "$TMP/suite.log" >&2
  fail "the store suite failed against PostgreSQL"
fi
grep -q 'set ACMECTL_TEST_PG_URL to run' "$TMP/suite.log" && {
  cat "$TMP/suite.log" >&2
  fail "PostgreSQL cases were skipped although ACMECTL_TEST_PG_URL was set"
}
summary=$(grep '^\[doctest\] test cases:' "$TMP/suite.log" || true)
passed=$(sed -n 's/.*test cases: *\([0-9]*\) | *\([0-9]*\) passed.*/\2/p' <<<"$summary")
[[ -n "$passed" && "$passed" -ge 12 ]] || fail "expected at least 12 store cases to pass, saw: $summary"
ok "store suite on PostgreSQL: $summary"

# The cases really wrote through PostgreSQL: one host per shared case plus the two hosts
# of the isolation case, each with its own rows; the scratch database is gone again.
hosts=$(pg_sql "SELECT count(DISTINCT host) FROM host_certificates")
((hosts >= 7)) || fail "expected certificate rows of at least 7 test hosts, saw $hosts"
version=$(pg_sql "SELECT version FROM acmectl_host_schema")
[[ "$version" == 1 ]] || fail "expected host schema version 1, saw '$version'"
left=$(pg_sql "SELECT count(*) FROM pg_database WHERE datname LIKE 'acmectl_store_test_%'")
[[ "$left" == 0 ]] || fail "the scratch database was not dropped ($left left)"
ok "rows of $hosts hosts in one database, schema version $version"
