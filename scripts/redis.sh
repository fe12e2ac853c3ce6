#!/usr/bin/env bash
# Start a Redis server for the test suite or the local cluster and print its URL on the last line.
# Usage: scripts/redis.sh start|stop   (port ${BILIN_REDIS_PORT:-56379}, dir ${BILIN_REDIS_DIR:-/tmp/bilin-redis})
set -euo pipefail
action=${1:-start}
port=${BILIN_REDIS_PORT:-56379}
dir=${BILIN_REDIS_DIR:-/tmp/bilin-redis}
if [ "$action" = stop ]; then
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  exit 0
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing Redis from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq redis-server >&2
fi
if [ "$(redis-cli -p "$port" ping 2>/dev/null)" != PONG ]; then
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$dir" --logfile "$dir/redis.log"
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
  done
fi
echo "redis://127.0.0.1:$port/0"
