# Sourced by scripts/test and the benchmarks: starts a throwaway PostgreSQL on a free loopback port.
# After `start_throwaway_postgres`, THROWAWAY_POSTGRES_URL points at its `postgres` database; it stops on exit.

ensure_postgres_installed() {
    if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
        echo "installing PostgreSQL (Debian package postgresql)"
        if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    fi
}

start_throwaway_postgres() {
    ensure_postgres_installed
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    pg_dir=$(mktemp -d /tmp/civitas-pg.XXXXXX)
    chmod 755 "$pg_dir"
    as_pg=()
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres "$pg_dir"
        as_pg=(runuser -u postgres --)
    fi
    pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    # Extra server settings, e.g. "-c fsync=off" for tests, can come in PG_EXTRA_OPTIONS.
    "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --no-sync >/dev/null
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
        -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=300 ${PG_EXTRA_OPTIONS:-}" start >/dev/null
    trap stop_throwaway_postgres EXIT
    THROWAWAY_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/postgres?tlsmode=disable"
    export THROWAWAY_POSTGRES_URL
    echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') running on 127.0.0.1:$pg_port"
}

stop_throwaway_postgres() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
}
