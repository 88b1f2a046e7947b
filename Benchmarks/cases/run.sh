#!/usr/bin/env bash
# Case management under a surge, against a release build of `civitas serve --demo`:
#   1. wrk POSTs complete unemployment claims to /api/v1/cases (each sent, each under its own Idempotency-Key);
#   2. 20 agents pull from the queues at once until they are empty (pull.py), checking no case goes to two agents.
#   Benchmarks/cases/run.sh sqlite | postgres      (PostgreSQL: a throwaway local server, or BENCH_POSTGRES_URL)
# Environment: DURATION (default 20s), CONNECTIONS (16), THREADS (2), AGENTS (20).
set -euo pipefail
cd "$(dirname "$0")/../.."
engine=${1:-sqlite}
duration=${DURATION:-20s}
connections=${CONNECTIONS:-16}
threads=${THREADS:-2}
agents=${AGENTS:-20}

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
base="http://127.0.0.1:$port"

credentials=$("$binary" clients create --name bench --scopes "cases:read cases:write" --database "$database" 2>/dev/null)
client_id=$(echo "$credentials" | sed -n 's/^client_id: //p')
client_secret=$(echo "$credentials" | sed -n 's/^client_secret: //p')
export CIVITAS_TOKEN=$(curl -fs -u "$client_id:$client_secret" -d grant_type=client_credentials "$base/oauth/token" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
echo "civitas $engine, $connections connections, $threads wrk threads, $duration, $(nproc) cores"

echo; echo "### POST /api/v1/cases (unemployment claim, submitted, rules decided, routed by automation)"
wrk -t"$threads" -c"$connections" -d"$duration" --latency -s Benchmarks/cases/submit.lua "$base"

tokens=()
for n in $(seq "$agents"); do
    "$binary" users add --email "agent$n@labor.example" --role agent --department "Workforce Solutions" --database "$database" >/dev/null
    "$binary" cases skills "agent$n@labor.example" --skills ui --database "$database" >/dev/null
    tokens+=("$("$binary" tokens create --user "agent$n@labor.example" --name bench --scopes "cases:read cases:write" --database "$database" 2>/dev/null)")
done
echo; echo "### POST /api/v1/case-queues/pull, $agents agents at once until the queues are empty"
python3 Benchmarks/cases/pull.py "$base" "${tokens[@]}"
echo; echo "server memory (max RSS, KiB): $(grep VmHWM /proc/$server/status | awk '{print $2}')"
