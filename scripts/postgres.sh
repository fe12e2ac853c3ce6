#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite and print its URL on the last line.
# Usage: scripts/postgres.sh start|stop   (data in ${BILIN_PG_DIR:-/tmp/bilin-pg}, port ${BILIN_PG_PORT:-55432})
set -euo pipefail
action=${1:-start}
dir=${BILIN_PG_DIR:-/tmp/bilin-pg}
port=${BILIN_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "$action" = stop ]; then
  [ -n "$bin" ] && [ -f "$dir/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >/dev/null || true
  exit 0
fi

if [ -z "$bin" ] || [ ! -x "$bin/postgres" ]; then
  echo "Installing PostgreSQL from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  as_pg "$bin/initdb" -D "$dir" -U bilin --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off" \
    start >/dev/null
fi
for db in bilin_test bilin_bench; do
  as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U bilin -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 ||
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U bilin "$db"
done
echo "postgresql+asyncpg://bilin@127.0.0.1:$port/bilin_test"
