#!/usr/bin/env bash
# Prepare this checkout: Debian packages (when run as root) and the Python virtualenv in .venv.
# Usage: scripts/setup.sh [--dev|--cluster]
#   --dev adds the test tools and the test-only Debian packages (which include the cluster's);
#   --cluster adds what several media workers need (PostgreSQL, Redis, HAProxy).
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (it only installs what is missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dev=0
cluster=0
[ "${1:-}" = "--dev" ] && dev=1 && cluster=1
[ "${1:-}" = "--cluster" ] && cluster=1

apt_packages=()
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || apt_packages+=(python3 python3-venv)
python3 -c 'import ensurepip' 2>/dev/null || apt_packages+=(python3-venv)
python3 -c 'import zoneinfo; zoneinfo.ZoneInfo("Asia/Shanghai")' 2>/dev/null || apt_packages+=(tzdata)
# Chinese text in PDF documents and in the composite video's names: Noto CJK; PDF layout: Pango.
# (grep reads everything: with pipefail, `grep -q` would stop early and fail the pipe.)
fc-list 2>/dev/null | grep "Noto Sans CJK" >/dev/null || apt_packages+=(fonts-noto-cjk fontconfig)
ldconfig -p 2>/dev/null | grep libpangoft2-1.0 >/dev/null || apt_packages+=(libpango-1.0-0 libpangoft2-1.0-0)
if [ "$cluster" = 1 ]; then
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || apt_packages+=(postgresql)
  # Several media workers: which worker holds which room (Redis), the balancer (HAProxy).
  command -v redis-server >/dev/null 2>&1 || apt_packages+=(redis-server)
  command -v haproxy >/dev/null 2>&1 || apt_packages+=(haproxy)
fi
if [ "$dev" = 1 ]; then
  # The browser tests (tests/e2e) drive Debian's Chromium; Playwright never downloads its own.
  [ -x /usr/bin/chromium ] || apt_packages+=(chromium)
  # Real speech for the transcription tests and benchmark.
  command -v espeak-ng >/dev/null 2>&1 || apt_packages+=(espeak-ng)
  # The document tests read PDFs back (pdftotext) and list their fonts (pdffonts).
  command -v pdftotext >/dev/null 2>&1 || apt_packages+=(poppler-utils)
fi
if [ ${#apt_packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "== Installing Debian packages: ${apt_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
  else
    echo "Please install these Debian packages first (as root): ${apt_packages[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== Creating the virtualenv in .venv"
  python3 -m venv .venv
fi
stamp=.venv/.bilin-installed
if [ "$dev" = 1 ]; then stamp=.venv/.bilin-installed-dev; fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "== Installing Python packages"
  .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
  if [ "$dev" = 1 ]; then
    .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'
  else
    .venv/bin/pip install -q --disable-pip-version-check -e .
  fi
  touch "$stamp"
fi
