#!/usr/bin/env bash
# Finds or starts a PostgreSQL for `make run` and prints its DATABASE_URL.
#  1. $DATABASE_URL when set;
#  2. else a server on 127.0.0.1:5432 (creating the database "crm" if missing);
#  3. else a private cluster under ./var/postgres made with the system's initdb/pg_ctl (port 5439);
#  4. else a clear message saying how to install PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "dev-postgres: $*" >&2; }

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"; exit 0
fi

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  local candidate
  candidate=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$candidate" ] && { echo "$candidate"; return 0; }
  return 1
}

ensure_database() { # host port user
  local psql; psql=$(find_bin psql) || return 0
  if ! "$psql" -h "$1" -p "$2" -U "$3" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'crm'" | grep -q 1; then
    log "creating database crm on $1:$2"
    "$psql" -h "$1" -p "$2" -U "$3" -d postgres -qc "CREATE DATABASE crm" >&2
  fi
}

try_server() { # host port
  local psql; psql=$(find_bin psql) || return 1
  for user in postgres "${USER:-root}"; do
    if "$psql" -h "$1" -p "$2" -U "$user" -d postgres -tAc "SELECT 1" >/dev/null 2>&1; then
      ensure_database "$1" "$2" "$user"
      echo "postgres://$user@$1:$2/crm?sslmode=disable"
      return 0
    fi
  done
  return 1
}

if try_server 127.0.0.1 5432; then exit 0; fi

PGDIR=$PWD/var/postgres
PORT=5439
if try_server 127.0.0.1 $PORT; then exit 0; fi

INITDB=$(find_bin initdb || true)
PG_CTL=$(find_bin pg_ctl || true)
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ]; then
  cat >&2 <<'MSG'
No PostgreSQL found: DATABASE_URL is unset, nothing answers on 127.0.0.1:5432, and initdb/pg_ctl
are not installed. Install PostgreSQL 14 or newer, for example:
  Debian/Ubuntu:  sudo apt-get install -y postgresql
  macOS:          brew install postgresql@16
or point DATABASE_URL at a server you have: DATABASE_URL=postgres://user:pass@host:5432/crm make run
MSG
  exit 1
fi

# initdb refuses to run as root: run the private cluster as the postgres user when we are root.
RUNAS=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin postgres
  RUNAS=(runuser -u postgres --)
fi
mkdir -p "$PGDIR"
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
if [ ! -f "$PGDIR/PG_VERSION" ]; then
  log "creating a private cluster in $PGDIR"
  "${RUNAS[@]}" "$INITDB" -D "$PGDIR" -U postgres --auth=trust -E UTF8 >&2
fi
if ! "${RUNAS[@]}" "$PG_CTL" -D "$PGDIR" status >/dev/null 2>&1; then
  log "starting the private cluster on 127.0.0.1:$PORT"
  "${RUNAS[@]}" "$PG_CTL" -D "$PGDIR" -l "$PGDIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $PGDIR" start >&2
fi
try_server 127.0.0.1 $PORT || { log "the private cluster did not answer; see $PGDIR/server.log"; exit 1; }
