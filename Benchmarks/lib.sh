# Sourced by the benchmark scripts: a release build of civitas serving the demo city on SQLite or PostgreSQL.
#   start_civitas sqlite|postgres
# sets binary, database, base (http://127.0.0.1:PORT), server (its pid) and work (a scratch folder), and stops
# everything on exit. PostgreSQL is a throwaway local server unless BENCH_POSTGRES_URL is set.
start_civitas() {
    local engine=$1
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
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    RATE_LIMIT_SUBMISSIONS_PER_MINUTE=1000000000 RATE_LIMIT_API_PER_MINUTE=1000000000 LOG_LEVEL=warning \
        "$binary" serve --demo --http-port "$port" --database "$database" > "$work/serve.log" 2>&1 &
    server=$!
    trap 'kill -TERM $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"; type stop_throwaway_postgres >/dev/null 2>&1 && stop_throwaway_postgres || true' EXIT
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
    base="http://127.0.0.1:$port"
}

# An OAuth access token for a new partner client with these scopes.
partner_token() {
    local credentials client_id client_secret
    credentials=$("$binary" clients create --name bench --scopes "$1" --database "$database" 2>/dev/null)
    client_id=$(echo "$credentials" | sed -n 's/^client_id: //p')
    client_secret=$(echo "$credentials" | sed -n 's/^client_secret: //p')
    curl -fs -u "$client_id:$client_secret" -d grant_type=client_credentials "$base/oauth/token" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
