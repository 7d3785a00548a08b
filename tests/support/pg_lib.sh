# shellcheck shell=bash
# A real PostgreSQL 15 (Debian's postgresql-15) for the fleet tests: initdb + pg_ctl as
# the unprivileged `postgres` user in a temporary directory it owns, on a free loopback
# port; never the system service. Source after lib.sh, then:
#   pg_start          starts it; sets PG_DIR, PG_PORT, PG_URL (postgresql://acme@127.0.0.1:P/fleet),
#                     PG_PASSWORD_FILE (the password of role acme; TCP logins need it)
#   pg_sql SQL        runs SQL as acme over the Unix socket, prints unaligned rows
#   pg_restart        a fast restart (every client connection is cut)
#   pg_stop           a fast stop; also run on exit (pg_stop_on_exit installs the trap)

# shellcheck disable=SC2034 # PG_URL is for the tests that source this
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_PORT=""
PG_URL=""
PG_PASSWORD_FILE=""

_pg_ctl() {
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG_DIR/data" "$@"
}

pg_start() {
  [[ -x "$PG_BIN/initdb" ]] || fail "PostgreSQL 15 not installed ($PG_BIN; scripts/deps.sh installs postgresql)"
  PG_DIR=$(mktemp -d /tmp/acmectl-pg.XXXXXX)
  chown postgres: "$PG_DIR"
  PG_PORT=$(free_ports 1)
  local pw
  pw=$(openssl rand -hex 16)
  printf '%s\n' "$pw" >"$PG_DIR/pw"
  chown postgres: "$PG_DIR/pw"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PG_DIR/data" -U acme --auth-local=trust \
    --auth-host=scram-sha-256 --pwfile="$PG_DIR/pw" >"$PG_DIR/initdb.log" 2>&1 ||
    fail "initdb failed: $(tail -n 5 "$PG_DIR/initdb.log")"
  _pg_ctl -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" -l "$PG_DIR/log" -w start \
    >/dev/null || fail "PostgreSQL did not start: $(tail -n 5 "$PG_DIR/log")"
  runuser -u postgres -- "$PG_BIN/createdb" -h "$PG_DIR" -p "$PG_PORT" -U acme fleet ||
    fail "cannot create the database"
  PG_PASSWORD_FILE=$TMP/pg-password
  printf '%s\n' "$pw" >"$PG_PASSWORD_FILE"
  chmod 600 "$PG_PASSWORD_FILE"
  PG_URL="postgresql://acme@127.0.0.1:$PG_PORT/fleet"
  log "PostgreSQL on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

pg_sql() {
  runuser -u postgres -- "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U acme -d fleet -XAtq -v ON_ERROR_STOP=1 -c "$1"
}

pg_restart() {
  _pg_ctl -m fast -w restart -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" \
    -l "$PG_DIR/log" >/dev/null || fail "PostgreSQL did not restart: $(tail -n 5 "$PG_DIR/log")"
}

pg_stop() {
  [[ -n "$PG_DIR" && -d "$PG_DIR" ]] || return 0
  _pg_ctl -m fast -w stop >/dev/null 2>&1 || true
  if [[ "${ACMECTL_TEST_KEEP:-0}" == 1 ]]; then
    echo "# kept $PG_DIR" >&2
  else
    rm -rf "$PG_DIR"
  fi
  PG_DIR=""
}

# The EXIT trap: stop PostgreSQL after lib.sh stopped the agents (its cleanup keeps the
# exit status).
pg_stop_on_exit() {
  # shellcheck disable=SC2154 # _pg_rc and _p are set inside the trap
  trap '_pg_rc=$?; for _p in "${_LIB_PIDS[@]}"; do stop_pid "$_p"; done; pg_stop; (exit $_pg_rc); _lib_cleanup' EXIT
}
