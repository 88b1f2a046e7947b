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

. Benchmarks/lib.sh
start_civitas "$engine"
export CIVITAS_TOKEN=$(partner_token "cases:read cases:write")
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
