#!/usr/bin/env bash
# Bilin on several media workers on this machine: PostgreSQL, Redis, HAProxy on port 8080 and one
# worker per core behind it, with the Wuwei City demo data. The same topology as
# docker/compose.yml, without containers. Usage: scripts/cluster.sh [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --cluster
workers=${1:-auto}
pg_url=$(bash scripts/postgres.sh start | tail -n 1)
pg_url=${pg_url%/*}/bilin_cluster
psql_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$psql_bin/psql" -h 127.0.0.1 -p "${BILIN_PG_PORT:-55432}" -U bilin -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname='bilin_cluster'" | grep -q 1 ||
  as_pg "$psql_bin/createdb" -h 127.0.0.1 -p "${BILIN_PG_PORT:-55432}" -U bilin bilin_cluster
export BILIN_DATABASE_URL=$pg_url
export BILIN_REDIS_URL=$(bash scripts/redis.sh start | tail -n 1)
export BILIN_DATA_DIR=${BILIN_DATA_DIR:-var/cluster}
.venv/bin/bilin demo
exec .venv/bin/bilin serve --workers "$workers"
