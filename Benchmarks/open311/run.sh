#!/usr/bin/env bash
# Load test of the Open311 endpoints with wrk, against a release build of `civitas serve --demo`.
#   Benchmarks/open311/run.sh sqlite     # embedded SQLite (WAL, synchronous=FULL)
#   Benchmarks/open311/run.sh postgres   # a throwaway local PostgreSQL (or BENCH_POSTGRES_URL)
# Environment: DURATION (default 20s), CONNECTIONS (16), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/../.."
engine=${1:-sqlite}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-16}
threads=${THREADS:-2}

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product civitas >/dev/null
binary=$(swift build -c release --show-bin-path)/civitas

work=$(mktemp -d /tmp/civitas-bench.XXXXXX)
case "$engine" in
    sqlite) database="sqlite:$work/civitas.sqlite" ;;
    postgres)
        if [ -n "${BENCH_POSTGRES_URL:-}" ]; then
            database=$BENCH_POSTGRES_URL
        else
            . scripts/lib/postgres.sh
            start_throwaway_postgres
            database=$THROWAWAY_POSTGRES_URL
        fi ;;
    *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
esac

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RATE_LIMIT_SUBMISSIONS_PER_MINUTE=1000000000 RATE_LIMIT_API_PER_MINUTE=1000000000 LOG_LEVEL=warning "$binary" serve --demo --http-port "$port" --database "$database" > "$work/serve.log" 2>&1 &
server=$!
cleanup() { kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"; }
trap 'cleanup; type stop_throwaway_postgres >/dev/null 2>&1 && stop_throwaway_postgres || true' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done

export CIVITAS_API_KEY=$("$binary" apikey create --name bench --database "$database")
export CIVITAS_MAX_ID=360
base="http://127.0.0.1:$port"
credentials=$("$binary" clients create --name bench --scopes requests:read --database "$database" 2>/dev/null)
client_id=$(echo "$credentials" | sed -n 's/^client_id: //p')
client_secret=$(echo "$credentials" | sed -n 's/^client_secret: //p')
export CIVITAS_TOKEN=$(curl -fs -u "$client_id:$client_secret" -d grant_type=client_credentials "$base/oauth/token" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
echo "civitas $engine, $connections connections, $threads wrk threads, $duration each, $(nproc) cores"

echo; echo "### POST /open311/v2/requests.json"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s Benchmarks/open311/post.lua "$base"
echo; echo "### GET /open311/v2/requests/{id}.json"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s Benchmarks/open311/get_one.lua "$base"
echo; echo "### GET /open311/v2/requests.json?service_code=POTHOLE&status=open (newest first, up to 1000)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency "$base/open311/v2/requests.json?service_code=POTHOLE&status=open"
echo; echo "### GET /api/v1/service-requests/{id} (partner token; each read of personal data is audited)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s Benchmarks/open311/api_get.lua "$base"
echo; echo "server memory (max RSS, KiB): $(grep VmHWM /proc/$server/status | awk '{print $2}')"
