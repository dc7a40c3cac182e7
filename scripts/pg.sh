#!/usr/bin/env bash
# A scratch PostgreSQL for development and tests: scripts/pg.sh start|stop|status|url
#
# Runs the Debian server binaries on 127.0.0.1 only (as the `postgres` user when started by root: initdb refuses to
# run as root; as the caller otherwise), with
# trust auth: it is a throw-away cluster, never a production database. Every sub-command is idempotent, so CI and
# the tests' conftest can call `start` whether or not a previous run left the server up.
#   REFEREE_PG_PORT (55432), REFEREE_PG_DIR (/tmp/referee-pg-$PORT), REFEREE_PG_BIN (newest /usr/lib/postgresql/*/bin)
set -euo pipefail

PORT="${REFEREE_PG_PORT:-55432}"
DIR="${REFEREE_PG_DIR:-/tmp/referee-pg-$PORT}"
BIN="${REFEREE_PG_BIN:-}"
if [[ -z "$BIN" ]]; then
  for candidate in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$candidate/initdb" ]]; then BIN="$candidate"; break; fi
  done
fi
URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"

die() { echo "pg.sh: $*" >&2; exit 1; }

as_postgres() {
  if [[ "$(id -u)" == "0" ]]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the server as (apt-get install postgresql creates it)"
    setpriv --reuid postgres --regid postgres --init-groups -- "$@"
  else
    "$@"  # an ordinary user runs their own scratch cluster
  fi
}

running() { [[ -f "$DIR/data/PG_VERSION" ]] && as_postgres "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; }

start() {
  [[ -n "$BIN" && -x "$BIN/initdb" ]] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
  if running; then echo "$URL"; return 0; fi
  mkdir -p "$DIR"
  if [[ "$(id -u)" == "0" ]]; then
    chown postgres:postgres "$DIR"
    as_postgres test -x "$DIR" || die "the postgres user cannot reach $DIR (a parent folder is private, e.g. mktemp's 0700): chmod 755 it or pick another REFEREE_PG_DIR"
  fi
  chmod 700 "$DIR"
  if [[ ! -f "$DIR/data/PG_VERSION" ]]; then
    rm -rf "$DIR/data"
    as_postgres "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >"$DIR/initdb.log" 2>&1 \
      || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  # fsync off and a small shared_buffers: a scratch server trades durability for speed and a small footprint.
  as_postgres "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || { tail -n 20 "$DIR/server.log" >&2; die "could not start PostgreSQL on 127.0.0.1:$PORT"; }
  echo "$URL"
}

stop() {
  if running; then as_postgres "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; fi
  echo "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running $URL"; else echo "stopped"; exit 1; fi ;;
  url) echo "$URL" ;;
  *) echo "usage: scripts/pg.sh start|stop|status|url" >&2; exit 2 ;;
esac
