"""Accounts, credentials and the audit chain, end to end: the real binary, a real SMTP server (aiosmtpd),
real HTTP clients, on SQLite and PostgreSQL."""
import base64
import email
import email.policy
import hashlib
import hmac
import html
import json
import re
import time
import urllib.parse

import pytest
import requests
from aiosmtpd.controller import Controller

from conftest import Server, execute_sql as _sql, free_port, run


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def wait_for(self, to, subject_part, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for message in self.messages:
                if message["To"] == to and subject_part in message["Subject"]:
                    return message
            time.sleep(0.1)
        raise AssertionError(f"no mail to {to} about {subject_part!r}; got {[(m['To'], m['Subject']) for m in self.messages]}")

    def link(self, message, path):
        body = message.get_body(("plain",)).get_content()
        found = re.search(r"http://\S+" + re.escape(path) + r"\?token=[0-9a-f]+", body)
        assert found, body
        return found.group(0)


@pytest.fixture
def mailbox():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


def csrf(page):
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


def totp(secret, at=None):
    """RFC 6238 with SHA-1, 30-second steps, 6 digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(int.from_bytes(digest[offset:offset + 4], 'big') & 0x7FFFFFFF) % 1_000_000:06d}"


def mail_env(mailbox):
    return {"MAIL_SMTP_HOST": "127.0.0.1", "MAIL_SMTP_PORT": str(mailbox.port), "MAIL_FROM": "noreply@city.example",
            "AUTH_BCRYPT_COST": "4"}


def test_resident_registers_confirms_by_mail_resets_password_and_deletes_account(tmp_path, database_url, mailbox):
    server = Server(tmp_path, database_url, env=mail_env(mailbox))
    try:
        browser = requests.Session()
        page = browser.get(server.base + "/register")
        assert page.status_code == 200
        answer = browser.post(server.base + "/register",
                              data={"csrf": csrf(page), "email": "Ana@Example.org", "password": "four words make a password"})
        assert answer.status_code == 200 and "Check your email" in answer.text

        message = mailbox.wait_for("ana@example.org", "Confirm your email")
        assert message["From"].addresses[0].addr_spec == "noreply@city.example"
        link = mailbox.link(message, "/verify-email")
        confirm = browser.get(link)
        assert confirm.status_code == 200
        token = re.search(r'name="token" value="([0-9a-f]+)"', confirm.text).group(1)
        done = browser.post(server.base + "/verify-email", data={"csrf": csrf(confirm), "token": token})
        assert "Email address confirmed" in done.text
        # A link works once.
        assert browser.get(link).status_code == 404

        signin = browser.get(server.base + "/signin")
        account = browser.post(server.base + "/signin",
                               data={"csrf": csrf(signin), "email": "ana@example.org", "password": "four words make a password"})
        assert account.url.endswith("/account") and "ana@example.org" in account.text
        assert "not confirmed yet" not in account.text
        # Registering the same address again reveals nothing on the page; the owner gets a mail instead.
        again = requests.Session()
        page = again.get(server.base + "/register")
        same = again.post(server.base + "/register", data={"csrf": csrf(page), "email": "ana@example.org", "password": "another long password"})
        assert "Check your email" in same.text
        mailbox.wait_for("ana@example.org", "Someone tried to create an account")

        # Forgotten password: a mail with a one-hour link; the new password works, the old one not, other sessions end.
        other = requests.Session()
        page = other.get(server.base + "/password/forgot")
        other.post(server.base + "/password/forgot", data={"csrf": csrf(page), "email": "ana@example.org"})
        reset_link = mailbox.link(mailbox.wait_for("ana@example.org", "Reset your password"), "/password/reset")
        form = other.get(reset_link)
        token = re.search(r'name="token" value="([0-9a-f]+)"', form.text).group(1)
        short = other.post(server.base + "/password/reset", data={"csrf": csrf(form), "token": token, "password": "short"})
        assert short.status_code == 400 and "at least 12 characters" in short.text
        saved = other.post(server.base + "/password/reset", data={"csrf": csrf(form), "token": token, "password": "a brand new passphrase"})
        assert "Password saved" in saved.text
        assert browser.get(server.base + "/account", allow_redirects=False).status_code == 303
        page = other.get(server.base + "/signin")
        old = other.post(server.base + "/signin", data={"csrf": csrf(page), "email": "ana@example.org", "password": "four words make a password"})
        assert old.status_code == 401
        new = other.post(server.base + "/signin", data={"csrf": csrf(page), "email": "ana@example.org", "password": "a brand new passphrase"})
        assert new.url.endswith("/account")

        # Deleting the account signs out and forgets the address.
        deleted = other.post(server.base + "/account/delete", data={"csrf": csrf(new), "password": "a brand new passphrase"})
        assert "deleted" in deleted.text
        code, out, _ = run(["users", "list", "--residents", "--database", database_url], cwd=tmp_path)
        assert code == 0 and "ana@example.org" not in out
    finally:
        assert server.stop() == 0
    # Personal data never reaches the log.
    assert "ana@example.org" not in server.output().lower()


def test_staff_set_up_link_two_factor_and_console(tmp_path, database_url):
    server = Server(tmp_path, database_url, env={"AUTH_BCRYPT_COST": "4"})
    try:
        code, out, err = run(["users", "add", "--email", "sam@city.gov", "--role", "supervisor", "--department", "Transportation",
                              "--database", database_url], cwd=tmp_path)
        assert code == 0, err
        link = re.search(r"http://\S+/password/reset\?token=[0-9a-f]+", out).group(0)
        link = link.replace("http://127.0.0.1:8080", server.base)
        code, _, err = run(["users", "add", "--email", "x@city.gov", "--role", "agent", "--database", database_url], cwd=tmp_path)
        assert code != 0 and "--department" in err
        code, _, err = run(["users", "add", "--email", "x@city.gov", "--role", "agent", "--department", "Parks",
                            "--database", database_url], cwd=tmp_path)
        assert code != 0 and "no department" in err

        browser = requests.Session()
        form = browser.get(link)
        assert "Choose your password" in form.text
        token = re.search(r'name="token" value="([0-9a-f]+)"', form.text).group(1)
        browser.post(server.base + "/password/reset", data={"csrf": csrf(form), "token": token, "password": "supervisor passphrase"})
        page = browser.get(server.base + "/signin")
        setup = browser.post(server.base + "/signin", data={"csrf": csrf(page), "email": "sam@city.gov", "password": "supervisor passphrase"})
        assert setup.url.endswith("/account/two-factor")
        # Without the second factor there is no console.
        assert browser.get(server.base + "/staff", allow_redirects=False).status_code == 303
        otpauth = html.unescape(re.search(r'href="(otpauth://[^"]+)"', setup.text).group(1))
        secret = urllib.parse.parse_qs(urllib.parse.urlparse(otpauth).query)["secret"][0]
        codes = browser.post(server.base + "/account/two-factor", data={"csrf": csrf(setup), "code": totp(secret)})
        assert len(re.findall(r"<code>[a-z0-9]{5}-[a-z0-9]{5}</code>", codes.text)) == 10
        console = browser.get(server.base + "/staff")
        assert console.status_code == 200 and "(supervisor, Transportation)" in console.text
        code, out, _ = run(["users", "list", "--database", database_url], cwd=tmp_path)
        assert re.search(r"sam@city\.gov\tstaff\tsupervisor\tTransportation\ton\tactive", out), out

        code, out, _ = run(["users", "disable", "sam@city.gov", "--database", database_url], cwd=tmp_path)
        assert code == 0
        assert browser.get(server.base + "/staff", allow_redirects=False).status_code == 303
    finally:
        assert server.stop() == 0


def test_partner_client_tokens_personal_tokens_and_revocation(tmp_path, database_url):
    server = Server(tmp_path, database_url, env={"AUTH_BCRYPT_COST": "4", "CACHE_TTL_MS": "0"})
    try:
        code, out, err = run(["clients", "create", "--name", "Lender LOS", "--scopes", "requests:read requests:write",
                              "--database", database_url], cwd=tmp_path)
        assert code == 0, err
        client_id = re.search(r"client_id: (\S+)", out).group(1)
        secret = re.search(r"client_secret: (\S+)", out).group(1)
        code, _, err = run(["clients", "create", "--name", "X", "--scopes", "requests:everything", "--database", database_url], cwd=tmp_path)
        assert code != 0 and "requests:read" in err

        grant = requests.post(server.base + "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
        assert grant.status_code == 200, grant.text
        body = grant.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 900 and body["scope"] == "requests:read requests:write"
        headers = {"Authorization": "Bearer " + body["access_token"]}
        created = requests.post(server.base + "/api/v1/service-requests", headers=headers, json={
            "service_code": "POTHOLE", "lat": 39.29, "long": -76.61, "attributes": {"SIZE": "large"},
            "reporter": {"email": "caller@example.org", "first_name": "Cal"}})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        assert created.headers["Location"].endswith(f"/api/v1/service-requests/{request_id}")
        bad = requests.post(server.base + "/api/v1/service-requests", headers=headers, json={"service_code": "POTHOLE", "lat": 39.29, "long": -76.61})
        assert bad.status_code == 400 and bad.headers["Content-Type"] == "application/problem+json"
        assert bad.json()["field"] == "attribute[SIZE]" or "SIZE" in bad.json()["detail"]
        read = requests.get(f"{server.base}/api/v1/service-requests/{request_id}?purpose=call+back", headers=headers)
        assert read.json()["reporter"]["email"] == "caller@example.org"
        patched = requests.patch(f"{server.base}/api/v1/service-requests/{request_id}", headers=headers,
                                 json={"status": "closed", "note": "Filled", "note_visibility": "public"})
        assert patched.status_code == 200 and patched.json()["status"] == "closed"
        # The same change is visible to Open311 clients.
        open311 = requests.get(f"{server.open311}/requests/{request_id}.json").json()[0]
        assert open311["status"] == "closed" and open311["status_notes"] == "Filled"

        # The resident's record of who touched their data.
        code, out, _ = run(["audit", "export", "--person", "caller@example.org", "--database", database_url], cwd=tmp_path)
        entries = [json.loads(line) for line in out.splitlines()]
        assert [e["action"] for e in entries] == ["request.create", "request.read_personal"]
        assert entries[1]["actor"] == f"partner:{client_id}" and entries[1]["purpose"] == "call back"
        assert "email" in entries[1]["fields"]

        code, out, _ = run(["clients", "revoke", client_id, "--database", database_url], cwd=tmp_path)
        assert code == 0
        assert requests.get(server.base + "/api/v1/me", headers=headers).status_code == 401
        assert requests.post(server.base + "/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(client_id, secret)).status_code == 401

        # Open311 keys: owners, listing, revocation.
        code, key, _ = run(["apikey", "create", "--name", "FixMyStreet", "--owner", "ops@fixmystreet.example", "--database", database_url], cwd=tmp_path)
        key = key.strip()
        code, out, _ = run(["apikey", "list", "--database", database_url], cwd=tmp_path)
        key_id = re.search(r"^(\d+)\tFixMyStreet\tops@fixmystreet\.example\t\S+\tactive$", out, re.M).group(1)
        form = {"api_key": key, "service_code": "POTHOLE", "lat": "39.29", "long": "-76.61", "attribute[SIZE]": "small"}
        assert requests.post(server.open311 + "/requests.json", data=form).status_code == 200
        run(["apikey", "revoke", key_id, "--database", database_url], cwd=tmp_path)
        assert requests.post(server.open311 + "/requests.json", data=form).status_code == 403

        # Personal tokens act as their staff member.
        run(["users", "add", "--email", "ann@city.gov", "--role", "agent", "--department", "Transportation", "--database", database_url], cwd=tmp_path)
        code, personal, err = run(["tokens", "create", "--user", "ann@city.gov", "--name", "script", "--scopes", "requests:read",
                                   "--database", database_url], cwd=tmp_path)
        assert code == 0, err
        me = requests.get(server.base + "/api/v1/me", headers={"Authorization": "Bearer " + personal.strip()}).json()
        assert me["actor"] == "staff" and me["role"] == "agent" and me["departments"] == ["Transportation"]
        assert me["scopes"] == ["requests:read"]
    finally:
        assert server.stop() == 0


def test_audit_verify_names_the_first_edited_deleted_or_reordered_entry(tmp_path, database_url):
    server = Server(tmp_path, database_url)
    assert server.stop() == 0

    def verify():
        code, out, err = run(["audit", "verify", "--database", database_url], cwd=tmp_path)
        return code, out + err

    code, out = verify()
    assert code == 0 and re.search(r"city: intact, \d+ entries", out), out

    # Edited: one entry's actor rewritten.
    _sql(database_url, "UPDATE audit_log SET actor = 'someone-else' WHERE seq = 40")
    code, out = verify()
    assert code == 1 and "BROKEN at entry 40" in out and "edited" in out, out
    _sql(database_url, "UPDATE audit_log SET actor = 'demo' WHERE seq = 40")
    assert verify()[0] == 0

    # Reordered: entries 70 and 90 swap places.
    _sql(database_url, "UPDATE audit_log SET seq = -70 WHERE seq = 70")
    _sql(database_url, "UPDATE audit_log SET seq = 70 WHERE seq = 90")
    _sql(database_url, "UPDATE audit_log SET seq = 90 WHERE seq = -70")
    code, out = verify()
    assert code == 1 and "BROKEN at entry 70" in out, out
    _sql(database_url, "UPDATE audit_log SET seq = -70 WHERE seq = 90")
    _sql(database_url, "UPDATE audit_log SET seq = 90 WHERE seq = 70")
    _sql(database_url, "UPDATE audit_log SET seq = 70 WHERE seq = -70")
    assert verify()[0] == 0

    # Deleted: entry 120 removed.
    _sql(database_url, "DELETE FROM audit_log WHERE seq = 120")
    code, out = verify()
    assert code == 1 and "BROKEN at entry 120" in out and "missing" in out, out


def test_signed_checkpoints_name_a_chain_cut_short_or_emptied(tmp_path, database_url):
    """Deleting the newest entries and setting the head back leaves a valid chain; only a signed checkpoint kept
    outside the database can tell. The server writes them at an interval; the CLI on demand."""
    code, out, err = run(["audit", "keygen"], cwd=tmp_path)
    assert code == 0, err
    keys = dict(line.split("=", 1) for line in out.split())
    server_file = tmp_path / "server-checkpoints.jsonl"
    server = Server(tmp_path, database_url, env={
        "AUDIT_SIGNING_KEY": keys["AUDIT_SIGNING_KEY"], "AUDIT_CHECKPOINT_FILE": str(server_file),
        "AUDIT_CHECKPOINT_SECONDS": "1"})
    deadline = time.time() + 20
    while time.time() < deadline and not (server_file.exists() and server_file.read_text().strip()):
        time.sleep(0.2)
    assert server.stop() == 0
    assert server_file.read_text().strip(), "the server should have written a checkpoint:\n" + server.output()
    assert keys["AUDIT_SIGNING_KEY"] not in server.output()

    file = tmp_path / "checkpoints.jsonl"
    code, out, err = run(["audit", "checkpoint", "--to", str(file), "--database", database_url], cwd=tmp_path,
                         env={"AUDIT_SIGNING_KEY": keys["AUDIT_SIGNING_KEY"]})
    assert code == 0, err
    newest = int(re.search(r"city: checkpoint at entry (\d+)", out).group(1))
    assert newest > 10, out

    def verify(checkpoints, public_key=keys["AUDIT_PUBLIC_KEY"]):
        code, out, err = run(["audit", "verify", "--checkpoints", str(checkpoints), "--public-key", public_key,
                              "--database", database_url], cwd=tmp_path)
        return code, out + err

    code, out = verify(file)
    assert code == 0 and "still hold" in out, out
    code, out = verify(server_file)
    assert code == 0, out

    # Cut short: the newest five entries deleted, the head set back to the last that remains.
    kept = newest - 5
    _sql(database_url, f"DELETE FROM audit_log WHERE seq > {kept}")
    _sql(database_url, f"UPDATE audit_heads SET seq = {kept}, hash = (SELECT hash FROM audit_log "
                       f"WHERE audit_log.seq = {kept} AND audit_log.jurisdiction_id = audit_heads.jurisdiction_id)")
    code, out, err = run(["audit", "verify", "--database", database_url], cwd=tmp_path)
    assert code == 0 and "intact" in out, "the chain alone cannot see a cut: " + out + err
    code, out = verify(file)
    assert code == 1 and "CUT SHORT" in out and f"entry {newest} is gone" in out and f"ends at entry {kept}" in out, out

    # A checkpoint signed by another key, or edited, proves nothing and says so.
    code, other, _ = run(["audit", "keygen"], cwd=tmp_path)
    other_public = dict(line.split("=", 1) for line in other.split())["AUDIT_PUBLIC_KEY"]
    code, out = verify(file, public_key=other_public)
    assert code == 1 and "not signed by this key" in out, out
    edited = tmp_path / "edited.jsonl"
    edited.write_text(file.read_text().replace(f'"seq":{newest}', f'"seq":{kept}'))
    code, out = verify(edited)
    assert code == 1 and "not signed by this key" in out, out

    # Emptied: both tables.
    _sql(database_url, "DELETE FROM audit_log")
    _sql(database_url, "DELETE FROM audit_heads")
    code, out = verify(file)
    assert code == 1 and "CUT SHORT" in out and "the chain is now empty" in out, out
