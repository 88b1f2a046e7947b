"""Slow and hostile connections for the connection tests and the benchmark: each from its own loopback address
(127.0.0.0/8 all reaches this machine), so per-client caps can be tested and held under, as many clients would."""
import resource
import socket
import time


def raise_file_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(needed, soft)), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connect(port, source="127.0.0.1", data=b"", timeout=10):
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.settimeout(timeout)
    connection.bind((source, 0))
    connection.connect(("127.0.0.1", port))
    if data:
        connection.sendall(data)
    return connection


def closed_by_server(connection, within):
    """True when the server closes the connection (after any answer) within `within` seconds."""
    connection.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if not connection.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def timed_get(port, path="/healthz", source="127.0.0.1"):
    """One GET on a new connection from `source`; returns (status, seconds)."""
    started = time.monotonic()
    with connect(port, source, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()) as connection:
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), time.monotonic() - started


def open_slow_connections(port, count, sources, host_header):
    """`count` connections spread over `sources`, in four kinds taken in turn: a header never finished, nothing sent,
    a body announced and trickled, an idle keep-alive after one answered request. Returns (sockets, trickling)."""
    sockets, trickling = [], []
    for n in range(count):
        source = sources[n % len(sources)]
        kind = n % 4
        if kind == 0:
            sockets.append(connect(port, source, b"GET /healthz HTTP/1.1\r\n" + host_header))
        elif kind == 1:
            sockets.append(connect(port, source))
        elif kind == 2:
            connection = connect(port, source, b"POST /open311/v2/requests.json HTTP/1.1\r\n" + host_header
                                 + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\napi_key=")
            sockets.append(connection)
            trickling.append(connection)
        else:
            connection = connect(port, source, b"GET /healthz HTTP/1.1\r\n" + host_header + b"\r\n")
            sockets.append(connection)
    return sockets, trickling


def resident_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
