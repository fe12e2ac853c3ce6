#!/usr/bin/env bash
# One command on a fresh machine: install what the tests need, start PostgreSQL, then run
# ruff, mypy and the whole pytest suite (every database test runs on SQLite and PostgreSQL).
# Extra arguments go to pytest, e.g. scripts/test.sh -k workflow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev

echo "== Starting PostgreSQL"
BILIN_TEST_PG_URL=$(bash scripts/postgres.sh start | tail -n 1)
export BILIN_TEST_PG_URL

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest -q "$@"
