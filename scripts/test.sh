#!/usr/bin/env bash
# One command on a fresh machine: install what the tests need, start PostgreSQL, then run
# ruff, mypy and the whole pytest suite (every database test runs on SQLite and PostgreSQL).
# Extra arguments go to pytest, e.g. scripts/test.sh -k workflow
# Without arguments the suite runs in two steps: everything but the browser and cluster tests in
# BILIN_TEST_PROCESSES (default 3) pytest processes (most of that time is spent waiting on
# databases and servers), then the browser and cluster tests alone, with the machine to
# themselves, since they measure media arriving in time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev

echo "== Starting PostgreSQL and Redis"
BILIN_TEST_PG_URL=$(bash scripts/postgres.sh start | tail -n 1)
export BILIN_TEST_PG_URL
BILIN_TEST_REDIS_URL=$(bash scripts/redis.sh start | tail -n 1)
export BILIN_TEST_REDIS_URL

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
if [ $# -gt 0 ]; then
  .venv/bin/pytest -q "$@"
else
  .venv/bin/pytest -q -n "${BILIN_TEST_PROCESSES:-3}" --ignore=tests/e2e --ignore=tests/cluster
  .venv/bin/pytest -q tests/e2e tests/cluster
fi
