#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests (and `make bench`).
#
#   .ci/postgres.sh [DIR]        start it (installing Debian's postgresql if needed) and print
#                                its URL as the last line of stdout
#   .ci/postgres.sh stop [DIR]   stop it (the cluster's files stay in DIR)
#
# DIR defaults to var/pg in the repository; the port to 54329 (env PGPORT). Run as root, the
# cluster belongs to the `postgres` OS user (PostgreSQL refuses to run as root); run as anyone
# else, to that user (installing PostgreSQL needs root). It listens on 127.0.0.1 only, trusts
# local connections, its superuser is `postgres`, and it holds a database `frontline_test`.
# Idempotent: when the cluster already runs, it only prints the URL. Progress goes to stderr,
# so `FRONTLINE_TEST_DATABASE_URL=$(.ci/postgres.sh)` captures just the URL.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PORT="${PGPORT:-54329}"
DB=frontline_test
PG_USER=postgres

cmd=start
case "${1:-}" in
  start | stop) cmd="$1"; shift ;;
esac
DIR="${1:-$ROOT/var/pg}"
[ "$cmd" = stop ] || mkdir -p "$DIR"
DIR="$(cd "$DIR" 2>/dev/null && pwd || echo "$DIR")"
DATA="$DIR/data"

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a command as the cluster's owner: the postgres OS user when we are root (PostgreSQL
# refuses to run as root), else the current user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$PG_USER" -- "$@"
  else
    "$@"
  fi
}

find_bindir() {
  local d
  # The newest installed major version first.
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -rn); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

BIN="$(find_bindir || true)"

if [ "$cmd" = stop ]; then
  if [ -n "$BIN" ] && [ -f "$DATA/PG_VERSION" ] \
    && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
    log "stopped ($DATA)"
  else
    log "not running ($DIR)"
  fi
  exit 0
fi

if [ -z "$BIN" ]; then
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed: sudo apt-get install postgresql"
  log "installing Debian's postgresql ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends postgresql >&2
  BIN="$(find_bindir)" || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
fi
if [ "$(id -u)" = 0 ]; then
  id "$PG_USER" >/dev/null 2>&1 || die "no '$PG_USER' OS user (the postgresql package creates it)"
  chown "$PG_USER:" "$DIR"
  # The postgres user must be able to reach DIR: every parent needs the search (x) bit.
  runuser -u "$PG_USER" -- test -x "$DIR" \
    || die "the '$PG_USER' user cannot enter $DIR (a parent folder is not searchable); pass another DIR"
fi

ready() { as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d postgres -U postgres; }

if as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  # Already running: use the port it was started with (line 4 of postmaster.pid).
  running_port="$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)"
  if [ -n "$running_port" ] && [ "$running_port" != "$PORT" ]; then
    log "the cluster in $DATA already runs on port $running_port (not $PORT)"
    PORT="$running_port"
  fi
else
  if [ ! -f "$DATA/PG_VERSION" ]; then
    log "creating a cluster in $DATA ..."
    as_pg "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=trust >/dev/null
    {
      echo "# frontline test cluster"
      echo "listen_addresses = '127.0.0.1'"
      echo "unix_socket_directories = ''"
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
      echo "max_connections = 100"
    } | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
  fi
  if ready 2>/dev/null; then
    die "something else listens on 127.0.0.1:$PORT; set PGPORT to a free port"
  fi
  log "starting PostgreSQL on 127.0.0.1:$PORT ..."
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 \
    -o "-p $PORT -c listen_addresses=127.0.0.1" start >/dev/null \
    || { tail -n 20 "$DATA/server.log" >&2 || true; die "the server did not start"; }
fi

for _ in $(seq 1 60); do
  ready && break
  sleep 0.5
done
ready || die "the server in $DATA is not accepting connections on 127.0.0.1:$PORT"

psql=("$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt)
if [ "$(as_pg "${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
  as_pg "${psql[@]}" -c "CREATE DATABASE $DB" >&2
fi

echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
