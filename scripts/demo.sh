#!/usr/bin/env bash
# One command on a fresh machine: set up, load the Wuwei City demo data into the embedded SQLite
# database under ./var, and run Bilin. It prints where to open it and the demo accounts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/bilin demo
exec .venv/bin/bilin serve
