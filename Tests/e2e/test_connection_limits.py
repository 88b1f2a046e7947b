"""What one client can hold of the server: connections per client address and in total are capped, a body trickled
a byte at a time (never idle) is cut off at its deadline, an early answer that closes the connection (a 413 before the
body is read) reaches a client that writes its whole body first, and with 2,000 slow connections open /healthz
still answers within 100 ms. On SQLite and PostgreSQL."""
import socket
import time

import requests

from conftest import Server
from slow_clients import closed_by_server, connect, open_slow_connections, raise_file_limit, resident_kib, timed_get


def keep_alive_request(port, source):
    connection = connect(port, source, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    return connection


def test_connections_are_capped_per_client_address_and_in_total(tmp_path, database_url):
    server = Server(tmp_path, database_url, demo=False,
                    env={"HTTP_MAX_CONNECTIONS_PER_CLIENT": "10", "HTTP_MAX_CONNECTIONS": "24"})
    held = []
    try:
        # Ten from one address are served, and kept open.
        held += [keep_alive_request(server.port, "127.0.0.2") for _ in range(10)]
        # The eleventh from that address is closed on arrival, before it can send anything.
        extra = connect(server.port, "127.0.0.2")
        assert closed_by_server(extra, within=3), "an 11th connection from one address is closed"
        extra.close()
        # Another address is not affected.
        assert timed_get(server.port, source="127.0.0.3")[0] == 200

        # The total: 10 held + 13 more from other addresses = 23, and one more fits; the next does not.
        held += [keep_alive_request(server.port, f"127.0.1.{n}") for n in range(1, 14)]
        held.append(keep_alive_request(server.port, "127.0.2.1"))
        over = connect(server.port, "127.0.2.2")
        assert closed_by_server(over, within=3), "a connection over the total is closed"
        over.close()

        # Closing connections makes room again.
        for connection in held[:10]:
            connection.close()
        del held[:10]
        deadline = time.monotonic() + 5
        while True:
            try:
                status, _ = timed_get(server.port, source="127.0.0.2")
                break
            except (ConnectionResetError, IndexError):
                assert time.monotonic() < deadline, "room is made when connections close"
                time.sleep(0.1)
        assert status == 200
        metrics = requests.get(server.base + "/metrics", timeout=5).text
        refused = [line for line in metrics.splitlines() if line.startswith("civitas_http_connections_refused_total")]
        assert refused and float(refused[0].split()[-1]) >= 2, metrics
    finally:
        for connection in held:
            connection.close()
        server.stop()


def test_a_trickled_body_is_cut_off_at_its_deadline(tmp_path, database_url):
    """A byte every half second is never idle for HTTP_IDLE_TIMEOUT_SECONDS, so only a body deadline closes it."""
    server = Server(tmp_path, database_url, demo=False,
                    env={"HTTP_IDLE_TIMEOUT_SECONDS": "2", "HTTP_BODY_TIMEOUT_SECONDS": "3"})
    try:
        connection = connect(server.port, data=(
            b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"))
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 12:
            try:
                connection.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            connection.settimeout(0.5)
            try:
                if connection.recv(65536) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
                break
        took = time.monotonic() - started
        assert closed, "a trickled body is cut off"
        assert 2.5 < took < 8, f"closed after {took:.1f} s; the deadline is 3 s"
        connection.close()
        assert requests.get(server.base + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def test_an_early_answer_that_closes_reaches_a_client_that_sends_its_whole_body_first(tmp_path, database_url):
    """A 413 is answered on the header; the client, which writes 64 MB before it reads, still gets it, and the
    connection is closed after it, whether the client asked to close or the answer did."""
    server = Server(tmp_path, database_url, demo=False, env={"HTTP_MAX_BODY_SIZE": "1048576"})
    body = b"x" * (64 * 1024 * 1024)
    try:
        for connection_header in [b"Connection: close\r\n", b""]:
            connection = connect(server.port, timeout=20, data=(
                b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1\r\n" + connection_header
                + b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()))
            started = time.monotonic()
            try:
                connection.sendall(body)  # blocks for ever if the server stops reading
            except (BrokenPipeError, ConnectionResetError):
                pass
            answer = b""
            try:
                while chunk := connection.recv(65536):
                    answer += chunk
            except ConnectionResetError:
                pass
            took = time.monotonic() - started
            connection.close()
            assert answer.startswith(b"HTTP/1.1 413"), (connection_header, answer[:200])
            assert took < 15, f"the answer took {took:.1f} s"
        assert requests.get(server.base + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop()


def test_two_thousand_slow_connections_leave_health_answering_within_100_ms(tmp_path, database_url):
    """2,000 slow connections (half-sent headers, silent ones, trickled bodies, idle keep-alives) from 40 addresses;
    /healthz from another address answers every time within 100 ms, and the server's memory stays bounded."""
    count = 2000
    raise_file_limit(count + 500)
    server = Server(tmp_path, database_url, demo=False, env={"HTTP_IDLE_TIMEOUT_SECONDS": "60"})
    sockets = []
    try:
        for _ in range(20):  # warm up, so the first answers measured are not the process's first
            timed_get(server.port)
        before = resident_kib(server.process.pid)
        sources = [f"127.0.3.{n}" for n in range(1, 41)]
        sockets, trickling = open_slow_connections(server.port, count, sources, b"Host: 127.0.0.1\r\n")
        time.sleep(1)  # the last connections are accepted
        latencies = []
        peak = before
        started = time.monotonic()
        turn = 0
        while time.monotonic() - started < 10:
            # Each trickling body gets a byte a second, a twentieth of them every 50 ms, as unsynchronised clients do.
            for connection in trickling[turn % 20::20]:
                connection.send(b"a")
            turn += 1
            status, seconds = timed_get(server.port, source="127.0.0.9")
            assert status == 200
            latencies.append(seconds)
            time.sleep(0.05)
            if turn % 20 == 0:
                peak = max(peak, resident_kib(server.process.pid))
        open_now = sum(1 for connection in sockets if not closed_by_server(connection, within=0.001))
        assert open_now == count, f"only {open_now} of {count} slow connections were held"
        latencies.sort()
        print(f"\n{count} slow connections: /healthz p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms over {len(latencies)} calls; "
              f"RSS {before // 1024} MiB before, {peak // 1024} MiB with them open")
        assert latencies[-1] < 0.1, f"/healthz took {latencies[-1] * 1000:.0f} ms"
        assert peak - before < 256 * 1024, f"memory grew from {before} to {peak} KiB"
    finally:
        for connection in sockets:
            connection.close()
        server.stop()


def test_shutdown_is_not_held_up_by_slow_clients(tmp_path, database_url):
    """Hummingbird waits on shutdown for requests in progress; a body announced and never sent would hold it for the
    whole body timeout. Connections still busy 10 s after SIGTERM are closed, and the server exits cleanly."""
    server = Server(tmp_path, database_url, demo=False)
    held = [connect(server.port, data=(
        b"POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\napi_key=")) for _ in range(5)]
    try:
        time.sleep(0.5)
        started = time.monotonic()
        assert server.stop() == 0, server.output()
        took = time.monotonic() - started
        assert took < 15, f"the server took {took:.1f} s to stop"
    finally:
        for connection in held:
            connection.close()
