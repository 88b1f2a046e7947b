#!/usr/bin/env bash
# Day planning at the size of a busy day: 200 open requests of one department over 6 crews, through `civitas plan`
# (release build), with the routing module's feasibility checker verifying every constraint of the result.
#   Benchmarks/planning/run.sh [seconds]    # the solver's time limit (default 8)
set -euo pipefail
cd "$(dirname "$0")/../.."
limit=${1:-8}
swift build -c release --product civitas >/dev/null
binary=$(swift build -c release --show-bin-path)/civitas
work=$(mktemp -d /tmp/civitas-planning.XXXXXX)
database="sqlite:$work/civitas.sqlite"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
RATE_LIMIT_SUBMISSIONS_PER_MINUTE=1000000000 LOG_LEVEL=warning "$binary" serve --demo --http-port "$port" --database "$database" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
python3 - "$binary" "$database" "$port" "$work" "$limit" <<'PY'
import json, random, re, subprocess, sys, time, urllib.parse, urllib.request
binary, database, port, work, limit = sys.argv[1:]
base = f"http://127.0.0.1:{port}"
def cli(*args):
    return subprocess.run([binary, *args, "--database", database], cwd=work, capture_output=True, text=True, check=True).stdout
key = cli("apikey", "create", "--name", "planning-bench").strip()
codes = ["BULKY", "MISSED", "DUMPING", "DIRTYALLEY"]
def open_count():
    total = 0
    for code in codes:
        with urllib.request.urlopen(f"{base}/open311/v2/requests.json?status=open&service_code={code}") as response:
            total += len(json.load(response))
    return total
rng = random.Random(311)
while open_count() < 200:
    code = rng.choice(codes)
    form = {"api_key": key, "service_code": code, "lat": f"{39.22 + rng.random() * 0.12:.6f}", "long": f"{-76.70 + rng.random() * 0.16:.6f}"}
    if code == "BULKY": form.update({"attribute[ITEMS][]": "furniture", "attribute[COUNT]": "2"})
    if code == "MISSED": form["attribute[STREAM]"] = "trash"
    urllib.request.urlopen(base + "/open311/v2/requests.json", data=urllib.parse.urlencode(form).encode()).read()
stops = open_count()
cli("services", "work", "BULKY", "--minutes", "10", "--load", "2", "--skill", "lift")
cli("services", "work", "MISSED", "--minutes", "5", "--load", "1")
cli("services", "work", "DUMPING", "--minutes", "20", "--load", "3")
cli("services", "work", "DIRTYALLEY", "--minutes", "15", "--load", "1")
depots = ["39.2904,-76.6122", "39.3300,-76.6000", "39.2700,-76.6500", "39.3100,-76.6600", "39.2800,-76.5700", "39.3400,-76.5600"]
for index, depot in enumerate(depots):
    args = ["crews", "add", "--department", "Public Works", "--name", f"Crew {index + 1}", "--depot", depot, "--capacity", "40"]
    if index < 3: args += ["--skills", "lift"]
    if index == 5: args += ["--shift", "mon-fri 10:00-18:30"]
    cli(*args)
begin = time.perf_counter()
out = cli("plan", "--department", "Public Works", "--date", "2026-11-24", "--seconds", limit)
elapsed = time.perf_counter() - begin
headline = out.splitlines()[0]
assert "feasibility checker found" not in out, out
planned = int(re.search(r"(\d+) of (\d+) requests planned", headline).group(1))
print(f"{stops} open requests over 6 crews, solver limit {limit} s: {elapsed:.1f} s wall time")
print(headline)
print(f"feasibility checker: no violations; {planned} planned, {stops - planned} explained as not planned")
PY
