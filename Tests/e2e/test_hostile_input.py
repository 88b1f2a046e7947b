"""Text from outside that no database should hold (a NUL, a percent escape that is not UTF-8) is refused with 400 on
SQLite and PostgreSQL alike, in the format each interface speaks (Open311 errors, problem+json, a page), and nothing
is stored. PostgreSQL refuses NUL in text where SQLite keeps it, so without one rule for every reader the same request
answered 500 on one database and was stored on the other."""
import json
import socket
import time

import requests
import xmltodict

from conftest import Server
from test_api_schemathesis import partner_token


def newest_request_id(server, token):
    answer = requests.get(server.base + "/api/v1/service-requests", params={"limit": 1},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"][0]["id"]


def raw_get(server, target):
    """Sends the request line exactly as written (an HTTP library would re-encode it)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := connection.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
    return status, headers, body


def open311_error(status, headers, body, fmt):
    assert status == 400, body
    if fmt == "json":
        assert headers["content-type"].startswith("application/json")
        errors = json.loads(body)
        assert errors[0]["code"] == 400
        return errors[0]["description"]
    assert headers["content-type"].startswith("text/xml")
    return xmltodict.parse(body)["errors"]["error"]["description"]


def test_bad_text_is_refused_everywhere_and_nothing_is_stored(server):
    key = server.apikey()
    token = partner_token(server)
    before = newest_request_id(server, token)

    # Open311 addresses: a path parameter, a token, a query parameter; JSON or XML as the extension says.
    for target, fmt in [
        ("/open311/v2/services/GRASS%00.json", "json"),
        ("/open311/v2/tokens/abc%00.json", "json"),
        ("/open311/v2/requests.json?service_code=GRASS%00", "json"),
        ("/open311/v2/requests.xml?service_code=%FF%FE", "xml"),
        ("/open311/v2/services/BULKY%C3.xml", "xml"),
    ]:
        description = open311_error(*raw_get(server, target), fmt)
        assert "NUL" in description or "UTF-8" in description, (target, description)

    # Open311 POST: a NUL in the description or the email, form-encoded.
    located = f"api_key={key}&service_code=POTHOLE&lat=39.2904&long=-76.6122"
    for body in [located + "&description=a%00b", located + "&email=a%00@example.org&description=hole"]:
        answer = requests.post(server.open311 + "/requests.json", data=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=10)
        assert answer.status_code == 400, answer.text
        assert "NUL" in answer.json()[0]["description"]

    # API v1: a NUL in a JSON string, in a JSON key, in a note, in the query.
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    item = {"service_code": "POTHOLE", "lat": 39.29, "long": -76.61, "attributes": {"SIZE": "large"}}
    for body, field in [
        ({**item, "description": "a\u0000b"}, "description"),
        ({**item, "attributes": {"SIZE\u0000": "large"}}, "attributes.SIZE\u0000"),
        ({**item, "reporter": {"email": "ana@example.org", "first_name": "\u0000"}}, "reporter.first_name"),
    ]:
        answer = requests.post(server.base + "/api/v1/service-requests", data=json.dumps(body), headers=auth, timeout=10)
        assert answer.status_code == 400, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["code"] == "invalid_text" and answer.json()["field"] == field, answer.text
    note = requests.post(server.base + f"/api/v1/service-requests/{before}/notes",
                         data=json.dumps({"body": "x\u0000y", "visibility": "internal"}), headers=auth, timeout=10)
    assert note.status_code == 400 and note.json()["code"] == "invalid_text", note.text
    status, headers, body = raw_get(server, "/api/v1/service-requests?q=%00")
    assert status == 400 and headers["content-type"] == "application/problem+json", body
    assert json.loads(body)["code"] == "invalid_text"

    # A page's address.
    status, headers, body = raw_get(server, "/requests?q=%00")
    assert status == 400 and b"NUL" in body

    # Nothing was stored, and the server is still well.
    assert newest_request_id(server, token) == before
    notes = requests.get(server.base + f"/api/v1/service-requests/{before}/notes", headers=auth, timeout=10)
    assert notes.status_code == 200 and all("\u0000" not in n["body"] for n in notes.json()["items"]), notes.text
    assert "internal_error" not in server.output() and "unexpected error" not in server.output()


def raw_exchange(server, request_bytes):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request_bytes)
        data = b""
        try:
            while chunk := connection.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n")[0].decode("latin-1")
    return int(status_line.split()[1]), head.decode("latin-1").lower(), body


def test_a_malformed_chunked_body_is_a_400_not_a_500_nor_a_413(server):
    key = server.apikey()
    token = partner_token(server)
    before = newest_request_id(server, token)
    form = f"api_key={key}&service_code=POTHOLE&lat=39.29&long=-76.61&description=hole".encode()
    for path, content_type, extra in [
        ("/open311/v2/requests.json", "application/x-www-form-urlencoded", b""),
        ("/api/v1/service-requests", "application/json", f"Authorization: Bearer {token}\r\n".encode()),
    ]:
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: {content_type}\r\n".encode() + extra
            + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            + b"zz\r\n" + form + b"\r\n0\r\n\r\n"
        )
        status, head, body = raw_exchange(server, request)
        assert status == 400, (path, status, body)
        if path.startswith("/api/"):
            assert json.loads(body)["code"] == "malformed_body", body
        else:
            assert "could not be read" in json.loads(body)[0]["description"], body
    assert newest_request_id(server, token) == before
    assert requests.get(server.base + "/healthz", timeout=5).status_code == 200


def test_connections_that_stall_are_closed_and_health_keeps_answering(tmp_path, database_url):
    """Half-sent headers, silent connections, bodies announced and never sent, and idle keep-alives are closed after
    HTTP_IDLE_TIMEOUT_SECONDS; /healthz answers quickly throughout."""
    server = Server(tmp_path, database_url, demo=False, env={"HTTP_IDLE_TIMEOUT_SECONDS": "2"})
    sockets = []
    try:
        def connect(data):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            if data:
                connection.sendall(data)
            sockets.append(connection)
            return connection

        host = f"Host: 127.0.0.1:{server.port}\r\n".encode()
        for _ in range(20):
            connect(b"GET /healthz HTTP/1.1\r\n" + host)  # a header never finished
        for _ in range(20):
            connect(b"")  # nothing at all
        for _ in range(5):
            connect(b"POST /open311/v2/requests.json HTTP/1.1\r\n" + host
                    + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20000000\r\n\r\napi_key=xx")
        idle = [connect(b"GET /healthz HTTP/1.1\r\n" + host + b"\r\n") for _ in range(5)]
        for connection in idle:
            assert connection.recv(65536).startswith(b"HTTP/1.1 200"), "a keep-alive request is answered"

        # Meanwhile the server answers others at once.
        slowest = 0.0
        for _ in range(10):
            started = time.monotonic()
            assert requests.get(server.base + "/healthz", timeout=5).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.1)
        assert slowest < 0.5, f"/healthz took {slowest:.3f} s while stalled connections were open"

        time.sleep(3.5)
        still_open = 0
        for connection in sockets:
            connection.settimeout(2)
            try:
                while True:
                    data = connection.recv(65536)
                    if not data:
                        break  # closed by the server
                    # A stalled body may first get an answer; what matters is that the connection then closes.
            except socket.timeout:
                still_open += 1
            except ConnectionResetError:
                pass
        assert still_open == 0, f"{still_open} of {len(sockets)} stalled connections were still open"
        assert requests.get(server.base + "/healthz", timeout=5).status_code == 200
    finally:
        for connection in sockets:
            connection.close()
        server.stop()
