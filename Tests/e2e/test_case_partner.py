"""A partner's loan-origination system (a test client) works with Civitas through the API on both databases: it
creates a case under an Idempotency-Key, retries the same call, and exactly one case exists; its webhook receiver (a
real HTTP server here) refuses the first delivery, and still gets every event exactly once, each with a valid
HMAC signature."""
import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import uuid

import requests

from conftest import Server, execute_sql, run

ANSWERS = {
    "applicant_role": "contractor", "contractor_license": "NM-44120", "site_address": "4 Oak Ave, Santa Fe",
    "work_type": "addition", "description_of_work": "A 300 sq ft rear addition.", "project_value": 68000, "floor_area": 300,
}


class Receiver(http.server.ThreadingHTTPServer):
    """Accepts deliveries, refusing the very first one with a 500, and keeps what it accepted."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.attempts = []
        self.accepted = []
        self.secret = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/civitas"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        receiver = self.server
        with receiver.lock:
            receiver.attempts.append((self.headers["Civitas-Event-Id"], self.headers["Civitas-Signature"], body))
            first = len(receiver.attempts) == 1
            if not first:
                receiver.accepted.append((self.headers["Civitas-Event-Id"], self.headers["Civitas-Event"],
                                          self.headers["Civitas-Signature"], body))
        self.send_response(500 if first else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


def partner_session(site, tmp_path, name, scopes):
    """A partner client made with the CLI, signed in with its client credentials: an HTTP session carrying its token."""
    code, out, err = run(["clients", "create", "--name", name, "--scopes", scopes, "--database", site.database_url], cwd=tmp_path)
    assert code == 0, err
    client_id = re.search(r"client_id:\s*(\S+)", out).group(1)
    secret = re.search(r"client_secret:\s*(\S+)", out).group(1)
    token = requests.post(f"{site.base}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(client_id, secret), timeout=10).json()["access_token"]
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    return api


def valid_signature(header, body, secret):
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header or "")
    if not match:
        return False
    expected = hmac.new(secret.encode(), f"{match.group(1)}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, match.group(2)) and abs(time.time() - int(match.group(1))) < 300


def test_a_lender_creates_one_case_under_a_retried_key_and_hears_each_event_once(tmp_path, database_url):
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    site = Server(tmp_path, database_url, env={"WEBHOOKS_RETRY_SECONDS": "1", "WEBHOOKS_ALLOW_PRIVATE": "true"})
    try:
        db = ["--database", site.database_url]
        code, out, err = run(["casetypes", "list", *db], cwd=tmp_path)
        assert code == 0 and "building-permit" in out, err
        api = partner_session(site, tmp_path, "Lender LOS", "cases:read cases:write")

        hook = api.post(f"{site.base}/api/v1/webhooks", json={"url": receiver.url}, timeout=10)
        assert hook.status_code == 201, hook.text
        receiver.secret = hook.json()["secret"]
        assert api.post(f"{site.base}/api/v1/webhooks", json={"url": "not a url"}, timeout=10).status_code == 400

        key = f"los-{uuid.uuid4()}"
        body = {"type": "building-permit", "data": ANSWERS,
                "parties": [{"role": "lender", "name": "First Mesa Bank", "email": "permits@firstmesa.example"}]}
        first = api.post(f"{site.base}/api/v1/cases", json=body, headers={"Idempotency-Key": key}, timeout=10)
        assert first.status_code == 201, first.text
        # The lender's connection drops before it reads the answer; it sends the same call again.
        again = api.post(f"{site.base}/api/v1/cases", json=body, headers={"Idempotency-Key": key}, timeout=10)
        assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
        assert again.headers.get("Idempotent-Replayed") == "true"
        listed = api.get(f"{site.base}/api/v1/cases", timeout=10).json()["items"]
        assert [case["id"] for case in listed] == [first.json()["id"]], "exactly one case exists"
        changed = api.post(f"{site.base}/api/v1/cases", json={**body, "data": {**ANSWERS, "floor_area": 301}},
                           headers={"Idempotency-Key": key}, timeout=10)
        assert changed.status_code == 422 and changed.headers["Content-Type"] == "application/problem+json"

        case_id = first.json()["id"]
        with open(tmp_path / "plan.pdf", "wb") as plan:
            plan.write(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
        import base64
        pdf = base64.b64encode((tmp_path / "plan.pdf").read_bytes()).decode()
        refused = api.post(f"{site.base}/api/v1/cases/{case_id}/transitions", json={"transition": "submit"}, timeout=10)
        assert refused.status_code == 409 and "Site plan" in refused.json()["detail"]
        assert api.post(f"{site.base}/api/v1/cases/{case_id}/documents",
                        json={"type": "site_plan", "filename": "plan.pdf", "content_base64": pdf}, timeout=10).status_code == 201
        submitted = api.post(f"{site.base}/api/v1/cases/{case_id}/transitions", json={"transition": "submit"}, timeout=10)
        assert submitted.status_code == 200 and submitted.json()["state"] == "plan_review", submitted.text

        # Every event the lender should hear: created, the document, the decision, submitted, review started.
        def log():
            return api.get(f"{site.base}/api/v1/webhooks/deliveries", timeout=10).json()["items"]
        deadline = time.time() + 30
        while time.time() < deadline and (len(log()) < 5 or any(d["delivered_at"] is None for d in log())):
            time.sleep(0.3)
        deliveries = log()
        assert len(deliveries) >= 5 and all(d["delivered_at"] for d in deliveries), deliveries
        with receiver.lock:
            accepted = list(receiver.accepted)
            attempts = list(receiver.attempts)
        ids = [event_id for event_id, _, _, _ in accepted]
        assert len(ids) == len(set(ids)), "each event accepted once"
        assert set(ids) == {d["event_id"] for d in deliveries}
        assert attempts[0][0] in ids, "the refused first delivery was retried and arrived"
        assert any(d["attempts"] == 2 and d["event_id"] == attempts[0][0] for d in deliveries)
        types = sorted(event_type for _, event_type, _, _ in accepted)
        assert types.count("case.created") == 1 and types.count("case.document_added") == 1, types
        assert types.count("case.transitioned") == 2, types
        for _, _, signature, body_text in accepted:
            assert valid_signature(signature, body_text, receiver.secret), signature
            event = json.loads(body_text)
            assert event["case"]["id"] == case_id and event["case"]["type"] == "building-permit"
        assert not valid_signature(accepted[0][2], accepted[0][3] + " ", receiver.secret), "a changed body fails the check"
    finally:
        site.stop()
        receiver.shutdown()


def test_a_witness_keeps_signed_checkpoints_that_name_a_later_cut(tmp_path, database_url):
    """An auditor's system subscribes to `audit.checkpoint` and keeps what it receives outside the agency; after an
    insider deletes the newest audit entries and sets the head back, `audit verify --checkpoints` on the witness's
    file names the cut. A witness gets no case events, and case partners get no checkpoints unless they ask."""
    code, out, err = run(["audit", "keygen"], cwd=tmp_path)
    assert code == 0, err
    keys = dict(line.split("=", 1) for line in out.split())
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    site = Server(tmp_path, database_url, env={
        "WEBHOOKS_RETRY_SECONDS": "1", "WEBHOOKS_ALLOW_PRIVATE": "true",
        "AUDIT_SIGNING_KEY": keys["AUDIT_SIGNING_KEY"], "AUDIT_CHECKPOINT_SECONDS": "1"})
    db = ["--database", site.database_url]
    try:
        api = partner_session(site, tmp_path, "State Auditor", "cases:read")
        hook = api.post(f"{site.base}/api/v1/webhooks", json={"url": receiver.url, "events": ["audit.checkpoint"]}, timeout=10)
        assert hook.status_code == 201, hook.text
        assert hook.json()["events"] == ["audit.checkpoint"]
        receiver.secret = hook.json()["secret"]
        everything = api.post(f"{site.base}/api/v1/webhooks", json={"url": receiver.url + "/cases"}, timeout=10)
        assert "audit.checkpoint" not in everything.json()["events"], "checkpoints go only to those who name them"

        # The chain grows (a staff member is added); the next checkpoint goes to the witness.
        code, _, err = run(["users", "add", "--email", "clerk@city.example", "--role", "agent", "--department", "Water", *db], cwd=tmp_path)
        assert code == 0, err
        deadline = time.time() + 30
        while time.time() < deadline:
            with receiver.lock:
                kept = [(signature, body) for _, event_type, signature, body in receiver.accepted if event_type == "audit.checkpoint"]
            if kept:
                break
            time.sleep(0.3)
        assert kept, "the witness received a checkpoint:\n" + site.output()
        with receiver.lock:
            assert all(event_type == "audit.checkpoint" for _, event_type, _, _ in receiver.accepted)
        lines = []
        for signature, body in kept:
            assert valid_signature(signature, body, receiver.secret)
            event = json.loads(body)
            assert event["type"] == "audit.checkpoint" and event["data"]["jurisdiction"] == "city"
            lines.append(json.dumps(event["data"]))
        witness_file = tmp_path / "witness.jsonl"
        witness_file.write_text("\n".join(lines) + "\n")
        newest = max(json.loads(line)["seq"] for line in lines)
    finally:
        site.stop()
        receiver.shutdown()

    verify = ["audit", "verify", "--checkpoints", str(witness_file), "--public-key", keys["AUDIT_PUBLIC_KEY"], *db]
    code, out, err = run(verify, cwd=tmp_path)
    assert code == 0 and "still hold" in out, out + err
    kept_seq = newest - 3
    execute_sql(site.database_url, f"DELETE FROM audit_log WHERE seq > {kept_seq}")
    execute_sql(site.database_url, f"UPDATE audit_heads SET seq = {kept_seq}, hash = (SELECT hash FROM audit_log "
                                   f"WHERE audit_log.seq = {kept_seq} AND audit_log.jurisdiction_id = audit_heads.jurisdiction_id)")
    code, out, err = run(verify, cwd=tmp_path)
    assert code == 1 and "CUT SHORT" in out and f"entry {newest} is gone" in out, out + err
