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

. Benchmarks/lib.sh
start_civitas "$engine"
export CIVITAS_API_KEY=$("$binary" apikey create --name bench --database "$database")
export CIVITAS_MAX_ID=360
export CIVITAS_TOKEN=$(partner_token "requests:read")
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
