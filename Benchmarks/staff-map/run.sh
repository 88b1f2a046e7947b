#!/usr/bin/env bash
# How fast the staff console's queue and map load with 1,000+ open requests (the demo city plus 1,000 more),
# in headless Chromium on this machine: from navigation start until the map has drawn its markers.
#   Benchmarks/staff-map/run.sh            # embedded SQLite, release build
#   Benchmarks/staff-map/run.sh postgres   # a throwaway local PostgreSQL
# Needs what scripts/test installs (Chromium, chromedriver, Leaflet, the Python test tools in .build/test-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
engine=${1:-sqlite}
swift build -c release --product civitas >/dev/null
binary=$(swift build -c release --show-bin-path)/civitas
work=$(mktemp -d /tmp/civitas-staffmap.XXXXXX)
case "$engine" in
    sqlite) database="sqlite:$work/civitas.sqlite" ;;
    postgres) . scripts/lib/postgres.sh; start_throwaway_postgres; database=$THROWAWAY_POSTGRES_URL ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RATE_LIMIT_SUBMISSIONS_PER_MINUTE=1000000000 RATE_LIMIT_SIGN_IN_PER_MINUTE=1000000 MAP_TILE_URL="" LOG_LEVEL=warning \
    "$binary" serve --demo --http-port "$port" --database "$database" > "$work/serve.log" 2>&1 &
server=$!
cleanup() { kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"; }
trap 'cleanup; type stop_throwaway_postgres >/dev/null 2>&1 && stop_throwaway_postgres || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
.build/test-venv/bin/python Benchmarks/staff-map/bench.py --base "http://127.0.0.1:$port" --binary "$binary" --database "$database" --cwd "$work"
echo "server memory (max RSS, KiB): $(grep VmHWM /proc/$server/status | awk '{print $2}')"
