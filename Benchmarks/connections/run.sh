#!/usr/bin/env bash
# Slow and idle connections against a release build of `civitas serve --demo` on SQLite: COUNT (default 2000) held
# open from many loopback addresses while /healthz is timed, and the server's memory before, during and after.
#   Benchmarks/connections/run.sh [COUNT] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. Benchmarks/lib.sh
ulimit -n "$(ulimit -Hn)"
export HTTP_IDLE_TIMEOUT_SECONDS=600 HTTP_BODY_TIMEOUT_SECONDS=600
start_civitas sqlite
python3 Benchmarks/connections/slow.py "${base##*:}" "$server" "${1:-2000}" "${2:-20}"
