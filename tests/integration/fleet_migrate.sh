#!/usr/bin/env bash
# `acmectl store migrate` (issue 15): a single host's state moves into a fleet store.
#   1. host one, no [store]: the agent issues a certificate into its SQLite store;
#   2. bad input is refused with one line and changes nothing (no database, a password
#      in the URL, a KEK file open to others);
#   3. `store migrate --from sqlite:… --to postgresql://…` copies the certificate (key
#      sealed: the key's PEM is nowhere in the database) and the account, and host one's
#      own records (certificate with schedule, history and counters, account record, CA
#      health) into the per-host tables; run again it copies nothing more;
#   4. host one switches to [store]: its records come from PostgreSQL (its SQLite file
#      moved away), `agent --once` orders nothing;
#   5. host two joins the fleet: `agent --once` installs the same certificate and key and
#      uses the same account: no order, no new account; its per-host rows are its own.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
# shellcheck source=../support/pg_lib.sh
source "$(dirname "$0")/../support/pg_lib.sh"
lib_init "$@"
pg_stop_on_exit

start_fixture "$TMP/pebble"
pg_start
kek=$TMP/kek
openssl rand -hex 32 >"$kek"
chmod 600 "$kek"

# config HOST FLEET(0|1)
config() {
  {
    cat <<TOML
state_dir = "$TMP/$1/state"
[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "migrate@example.com"
agree_tos = true
[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"
[defaults]
out = "$TMP/$1/live"
[[certificate]]
name = "shop"
domains = ["shop.migrate.test"]
TOML
    if (($2)); then
      printf '[store]\nurl = "%s"\npassword_file = "%s"\nkek_file = "%s"\nagent_id = "%s"\n' \
        "$PG_URL" "$PG_PASSWORD_FILE" "$kek" "$1"
    fi
  } >"$TMP/$1.toml"
}
mkdir -p "$TMP/one" "$TMP/two"
config one 0
expect_rc 0 --config "$TMP/one.toml" agent --once
verify_chain "$TMP/one/live/shop"
orders=$(pebble_new_orders)
accounts() { grep -c 'There are now [0-9]* accounts in memory' "$PEBBLE_FIXTURE_DIR/pebble.log" || true; }
accounts0=$(accounts)
ok "host one issued shop alone ($orders order)"

db=$TMP/one/state/acmectl.db
expect_one_line_error store migrate --from "sqlite:$TMP/nothing.db" --to "$PG_URL" --kek-file "$kek" \
  --password-file "$PG_PASSWORD_FILE"
assert_match "$ERR_LINE" "no readable database" "missing --from"
expect_rc 2 store migrate --from "sqlite:$db" --to "postgresql://acme:pw@127.0.0.1:$PG_PORT/fleet" \
  --kek-file "$kek"
grep -q 'must not contain a password' "$ERR_FILE" || fail "a password in --to is not refused"
cp "$kek" "$TMP/kek-open"
chmod 644 "$TMP/kek-open"
expect_one_line_error store migrate --from "sqlite:$db" --to "$PG_URL" --kek-file "$TMP/kek-open" \
  --password-file "$PG_PASSWORD_FILE"
assert_match "$ERR_LINE" "readable by others" "a KEK file open to others"
tables=$(pg_sql "SELECT count(*) FROM pg_tables WHERE tablename = 'versions'")
assert_eq "$tables" 0 "tables created by refused migrations"
ok "bad input refused with one line, nothing created"

expect_rc 0 --json store migrate --from "sqlite:$db" --to "$PG_URL" --kek-file "$kek" \
  --password-file "$PG_PASSWORD_FILE" --agent-id one
assert_eq "$(jq -c '{accounts,already_present,copied,not_issued}' "$OUT_FILE")" \
  '{"accounts":1,"already_present":0,"copied":1,"not_issued":0}' "migrate summary"
assert_eq "$(jq -c '[.host, .host_records.certificates, .host_records.already_present,
  .host_records.accounts]' "$OUT_FILE")" '["one",1,0,1]' "host records copied"
serial=$(sqlite3 "$db" "SELECT serial FROM certificates WHERE name = 'shop'")
events=$(sqlite3 "$db" "SELECT count(*) FROM events WHERE cert_name = 'shop'")
[[ -n "$serial" && "$events" -ge 1 ]] || fail "host one's SQLite store has no issued shop ($serial, $events events)"
assert_eq "$(pg_sql "SELECT serial || ' ' || renewals_success || ' ' || out_dir FROM host_certificates
  WHERE host = 'one' AND name = 'shop'")" "$serial 1 $TMP/one/live/shop" "host one's record of shop"
assert_eq "$(pg_sql "SELECT count(*) FROM host_events WHERE host = 'one' AND cert_name = 'shop'")" \
  "$events" "host one's history of shop"
assert_eq "$(pg_sql "SELECT key_path FROM host_accounts WHERE host = 'one'")" \
  "$(sqlite3 "$db" "SELECT key_path FROM accounts")" "host one's account record (key stays in the state dir)"
ca_health=$(sqlite3 "$db" "SELECT count(*) FROM ca_health")
assert_eq "$(pg_sql "SELECT count(*) FROM host_ca_health WHERE host = 'one'")" "$ca_health" \
  "host one's CA health records"
assert_eq "$(pg_sql "SELECT count(*) FROM versions WHERE cert_name = 'shop'")" 1 "versions of shop"
assert_eq "$(pg_sql "SELECT count(*) FROM accounts")" 1 "accounts in the fleet store"
key_body=$(grep -v -- '-----' "$TMP/one/live/shop/privkey.pem" | head -n 1)
if pg_sql "SELECT key_sealed || cert_pem FROM versions UNION ALL SELECT key_sealed FROM accounts" |
  grep -qF -- "$key_body"; then
  fail "the private key is readable in the database"
fi
expect_rc 0 --json store migrate --from "sqlite:$db" --to "$PG_URL" --kek-file "$kek" \
  --password-file "$PG_PASSWORD_FILE" --agent-id one
assert_eq "$(jq -c '{accounts,already_present,copied,not_issued}' "$OUT_FILE")" \
  '{"accounts":0,"already_present":1,"copied":0,"not_issued":0}' "second migrate"
assert_eq "$(jq -c '.host_records' "$OUT_FILE")" \
  '{"accounts":0,"already_present":1,"ca_health":0,"certificates":0,"orders":0}' \
  "second migrate of host records"
assert_eq "$(pg_sql "SELECT count(*) FROM host_events WHERE host = 'one'")" "$events" \
  "host one's history after a second migrate"
ok "migrated: one certificate (key sealed), one account, host one's records; a second run copies nothing"

# Host one joins: its state now lives in PostgreSQL; the SQLite file is not read any more.
config one 1
mv "$db" "$db.migrated"
rm -f "$db-wal" "$db-shm"
expect_rc 0 --config "$TMP/one.toml" --json list
assert_eq "$(jq -r '.[] | select(.name == "shop") | .serial' "$OUT_FILE")" "$serial" \
  "host one's list from PostgreSQL"
expect_rc 0 --config "$TMP/one.toml" agent --once
[[ ! -e "$db" ]] || fail "host one's agent recreated $db although [store] url is set"
assert_eq "$(pebble_new_orders)" "$orders" "orders after host one switched to PostgreSQL"
ok "host one runs from PostgreSQL: list shows shop, agent --once orders nothing, no SQLite file"

config two 1
expect_rc 0 --config "$TMP/two.toml" agent --once
verify_chain "$TMP/two/live/shop"
cmp -s "$TMP/one/live/shop/privkey.pem" "$TMP/two/live/shop/privkey.pem" ||
  fail "host two's key differs from host one's"
cmp -s "$TMP/one/live/shop/fullchain.pem" "$TMP/two/live/shop/fullchain.pem" ||
  fail "host two's certificate differs from host one's"
assert_eq "$(pebble_new_orders)" "$orders" "orders after host two joined"
assert_eq "$(accounts)" "$accounts0" "accounts after host two joined"
assert_eq "$(pg_sql "SELECT host || '=' || version FROM installs ORDER BY host" | paste -sd' ')" \
  "one=1 two=1" "installs"
assert_eq "$(pg_sql "SELECT host || '=' || out_dir FROM host_certificates WHERE name = 'shop'
  ORDER BY host" | paste -sd' ')" "one=$TMP/one/live/shop two=$TMP/two/live/shop" "per-host rows of shop"
ok "host two installed the migrated certificate: no order, no new account"
