"""The JSON API v1 against its own OpenAPI document, driven by schemathesis (pinned in requirements.txt).

The real server runs on SQLite and on PostgreSQL, with the demo city. A partner client made with `civitas clients create` gets an
access token at POST /oauth/token, and schemathesis runs every phase (examples, coverage, fuzzing, stateful) and every
check against http://127.0.0.1:PORT/api/v1/openapi.json, the document the server itself serves. The few values that
must name existing rows (a service, a cursor, a staff member) are swapped for real ones, and bbox corners put in
order, in positive cases only, by schemathesis_hooks.py; that file says why.
"""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import requests

from conftest import ROOT, Server, run
from openapi_parts import assemble

HOOKS = pathlib.Path(__file__).resolve().parent / "schemathesis_hooks.py"
# The document's parts; the server assembles them into /api/v1/openapi.json (openapi_parts.py says how).
DOCUMENT_PARTS = ROOT / "Sources" / "CivitasServer" / "Resources" / "openapi"
# Enough for 30 examples per operation on two shared cores; the subprocess is killed at this bound.
WALL_CLOCK_SECONDS = 150
# A fixed seed keeps CI deterministic; set CIVITAS_SCHEMATHESIS_SEED to explore other inputs.
SEED = os.environ.get("CIVITAS_SCHEMATHESIS_SEED", "20261123")


@pytest.fixture
def api_server(tmp_path, database_url):
    # Both databases: the same document holds whichever one serves it.
    # About a thousand requests in well under a minute would meet the default 1200 a minute per client. A 429 is
    # documented on every operation, so the run would still pass, but every case it cut would go unchecked.
    s = Server(tmp_path, database_url, env={"RATE_LIMIT_API_PER_MINUTE": "1000000"})
    yield s
    code = s.stop()
    assert code == 0, "SIGTERM should shut civitas down cleanly:\n" + s.output()


def partner_token(server):
    """A partner client with every scope, exchanged for an access token (client credentials, HTTP Basic)."""
    code, out, err = run(
        ["clients", "create", "--name", "schemathesis", "--scopes", "requests:read requests:write cases:read cases:write",
         "--database", server.database_url],
        cwd=server.cwd,
    )
    assert code == 0, err
    printed = dict(line.split(":", 1) for line in out.strip().splitlines() if ":" in line)
    client_id, client_secret = printed["client_id"].strip(), printed["client_secret"].strip()
    answer = requests.post(
        server.base + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, client_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] > WALL_CLOCK_SECONDS, token
    assert set(token["scope"].split()) == {"requests:read", "requests:write", "cases:read", "cases:write"}, token
    return token["access_token"]


def existing_values(base, token):
    """What the hooks may substitute into positive cases: values the running server holds (see the hooks file)."""
    services = requests.get(base + "/open311/v2/services.json", timeout=10).json()
    service_codes = sorted(s["service_code"] for s in services if s["type"] == "realtime" and s["metadata"] is False)
    assert service_codes, "the demo catalog should have a realtime service without attributes"

    headers = {"Authorization": f"Bearer {token}"}
    cursors, request_ids = [], []
    for limit in (1, 200):
        page = requests.get(base + "/api/v1/service-requests", params={"limit": limit}, headers=headers, timeout=10)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["next_cursor"], "the demo city has 360 requests, so the first page is not the last"
        cursors.append(body["next_cursor"])
        request_ids = [item["id"] for item in body["items"]]
    return {"service_codes": service_codes, "cursors": cursors, "request_ids": request_ids, "base": base, "token": token}


def schemathesis_command(base, token):
    return [
        sys.executable, "-m", "schemathesis.cli", "run", f"{base}/api/v1/openapi.json",
        # The document's `servers` is the relative `/api/v1`; name the base explicitly so every operation resolves
        # to http://127.0.0.1:PORT/api/v1/... whatever schemathesis makes of a relative server.
        "--url", f"{base}/api/v1",
        "--header", f"Authorization: Bearer {token}",
        # Every check. object_level_authorization and use_after_free stay on but find nothing to do: the first needs
        # several identities that own objects (partners share their jurisdiction's requests), the second a DELETE.
        "--checks", "all",
        "--max-examples", "30",
        "--seed", SEED,
        "--workers", "2",
        "--request-timeout", "10",
        # Civitas refuses U+0000 in any string with 400, a rule the document states in words, not as a `pattern`
        # on every string; without this flag positive cases holding NUL would be reported as wrongly refused.
        "--generation-allow-x00", "false",
        "--generation-database", "none",
        "--no-color",
        "--output-truncate", "false",
    ]


def test_the_json_api_keeps_to_its_openapi_document(api_server, tmp_path):
    # Schemathesis leaves out the operation it loaded the document from (naming it in a filter brings it back, but
    # then it infers links from the document's own text to `{id}`), so that operation is checked here: no
    # credentials needed, JSON, and exactly the repository's document, assembled from its parts.
    served = requests.get(api_server.base + "/api/v1/openapi.json", timeout=10)
    assert served.status_code == 200, served.text
    assert served.headers["Content-Type"].split(";")[0] == "application/json"
    document = assemble(DOCUMENT_PARTS)
    assert served.json() == document, "the server should serve the repository's document, assembled"
    # == takes true for 1 and 1 for 1.0; the YAML parts pass through Yams and Foundation, so compare the JSON too.
    assert json.dumps(served.json(), sort_keys=True) == json.dumps(document, sort_keys=True), (
        "the served document has the right values, but a number or boolean changed type on its way from YAML"
    )

    token = partner_token(api_server)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "CIVITAS_SCHEMATHESIS_FIXTURES": json.dumps(existing_values(api_server.base, token)),
    }
    command = schemathesis_command(api_server.base, token)
    try:
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=WALL_CLOCK_SECONDS
        )
    except subprocess.TimeoutExpired as stopped:
        # TimeoutExpired holds bytes even in text mode.
        output = b"\n".join(part for part in (stopped.stdout, stopped.stderr) if part).decode(errors="replace")
        pytest.fail(f"schemathesis ran past {WALL_CLOCK_SECONDS} s:\n{output}")
    assert done.returncode == 0, (
        f"schemathesis exited {done.returncode}:\n{done.stdout}\n{done.stderr}\n--- server log ---\n"
        + api_server.output()[-5000:]
    )
