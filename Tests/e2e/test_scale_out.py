"""Several identical civitas processes in front of one PostgreSQL: any instance serves any request,
ids never collide, migrations and batch intake are shared safely, and live updates reach every instance."""
import concurrent.futures
import html
import json
import queue
import re
import signal
import threading
import time
import urllib.parse

import requests

from conftest import Server, _postgres_database, run
from test_identity import totp


def test_two_instances_share_one_postgres(tmp_path):
    database = _postgres_database()
    first = Server(tmp_path, database)
    second = Server(tmp_path, database, demo=False)
    try:
        key = first.apikey()

        def post(index):
            target = first if index % 2 else second
            answer = requests.post(target.open311 + "/requests.json", data={
                "api_key": key, "service_code": "SEWER", "address_string": f"{index} Shared St"})
            assert answer.status_code == 200, answer.text
            return answer.json()[0]["service_request_id"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(post, range(80)))
        assert len(set(ids)) == 80

        # What one instance stored, the other serves at once.
        listed = requests.get(second.open311 + "/requests.json", params={"service_request_id": ",".join(ids)}).json()
        assert sorted(r["service_request_id"] for r in listed) == sorted(ids)

        # A batch submission made on one instance becomes exactly one request, whichever worker claims it.
        tokens = [requests.post(target.open311 + "/requests.json", data={
            "api_key": key, "service_code": "VACANT", "address_string": f"{n} Empty Row"}).json()[0]["token"]
            for n, target in enumerate([first, second] * 10)]
        deadline = time.time() + 20
        made = {}
        while time.time() < deadline and len(made) < len(tokens):
            for token in tokens:
                answer = requests.get(f"{first.open311}/tokens/{token}.json").json()[0]
                if answer["service_request_id"]:
                    made[token] = answer["service_request_id"]
            time.sleep(0.2)
        assert len(made) == len(tokens)
        assert len(set(made.values())) == len(tokens)
    finally:
        assert second.stop() == 0
        assert first.stop() == 0


def test_limits_and_sessions_hold_across_instances(tmp_path):
    """A rate limit counts every instance's requests; a session made on one instance is good on the other."""
    database = _postgres_database()
    limits = {"RATE_LIMIT_SUBMISSIONS_PER_MINUTE": "6", "AUTH_BCRYPT_COST": "4"}
    first = Server(tmp_path, database, env=limits)
    second = Server(tmp_path, database, demo=False, env=limits)
    try:
        key = first.apikey()
        form = {"api_key": key, "service_code": "SEWER", "address_string": "1 Limit St"}
        # Windows are whole minutes: start well inside one so the ten posts fall in the same window.
        if time.time() % 60 > 50:
            time.sleep(61 - time.time() % 60)
        answers = [requests.post(target.open311 + "/requests.json", data=form).status_code
                   for target in [first, second] * 5]
        # Six in the window, whichever instance took them; then 429 from both.
        assert answers == [200] * 6 + [429] * 4, answers

        code, out, err = run(["users", "add", "--email", "sam@city.gov", "--role", "admin", "--database", database], cwd=tmp_path)
        assert code == 0, err
        browser = requests.Session()
        link = re.search(r"/password/reset\?token=[0-9a-f]+", out).group(0)
        form_page = browser.get(first.base + link)
        token = re.search(r'name="token" value="([0-9a-f]+)"', form_page.text).group(1)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', form_page.text).group(1)
        browser.post(first.base + "/password/reset", data={"csrf": csrf, "token": token, "password": "admin passphrase here"})
        page = browser.get(second.base + "/signin")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        answer = browser.post(second.base + "/signin", data={"csrf": csrf, "email": "sam@city.gov", "password": "admin passphrase here"})
        # Signed in on the second instance; the first knows the session (it is waiting for the second factor).
        assert answer.url.endswith("/account/two-factor")
        assert browser.get(first.base + "/account/two-factor").status_code == 200
    finally:
        first.stop()
        second.stop()


def _staff_session(server, database, tmp_path, email="live@city.gov"):
    """A staff admin signed in past the second factor, as a requests session."""
    code, out, err = run(["users", "add", "--email", email, "--role", "admin", "--database", database], cwd=tmp_path)
    assert code == 0, err
    browser = requests.Session()
    page = browser.get(server.base + re.search(r"/password/reset\?token=[0-9a-f]+", out).group(0))
    token = re.search(r'name="token" value="([0-9a-f]+)"', page.text).group(1)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    browser.post(server.base + "/password/reset", data={"csrf": csrf, "token": token, "password": "live updates passphrase"})
    page = browser.get(server.base + "/signin")
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    setup = browser.post(server.base + "/signin", data={"csrf": csrf, "email": email, "password": "live updates passphrase"})
    otpauth = html.unescape(re.search(r'href="(otpauth://[^"]+)"', setup.text).group(1))
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(otpauth).query)["secret"][0]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', setup.text).group(1)
    browser.post(server.base + "/account/two-factor", data={"csrf": csrf, "code": totp(secret)})
    assert browser.get(server.base + "/staff").status_code == 200
    return browser


def test_a_change_through_one_instance_reaches_a_live_map_on_the_other(tmp_path):
    """Server-Sent Events on instance B hear about a request changed through instance A (PostgreSQL LISTEN/NOTIFY)."""
    database = _postgres_database()
    first = Server(tmp_path, database, env={"AUTH_BCRYPT_COST": "4"})
    second = Server(tmp_path, database, demo=False, env={"AUTH_BCRYPT_COST": "4"})
    events = queue.Queue()
    try:
        browser = _staff_session(second, database, tmp_path)

        def listen():
            with browser.get(second.base + "/staff/live", stream=True, timeout=(5, 30)) as stream:
                assert stream.headers["Content-Type"].startswith("text/event-stream")
                name = None
                for raw in stream.iter_lines(decode_unicode=True):
                    if raw == ": connected":
                        events.put(("connected", None))
                    elif raw.startswith("event: "):
                        name = raw[len("event: "):]
                    elif raw.startswith("data: ") and name == "request":
                        events.put(("request", json.loads(raw[len("data: "):])))

        threading.Thread(target=listen, daemon=True).start()
        assert events.get(timeout=10)[0] == "connected"

        # A new report through instance A, then a status change through A's Open311 CLI path.
        key = first.apikey()
        created = requests.post(first.open311 + "/requests.json", data={
            "api_key": key, "service_code": "POTHOLE", "lat": "39.2904", "long": "-76.6122", "attribute[SIZE]": "large"}).json()
        new_id = int(created[0]["service_request_id"])
        kind, event = events.get(timeout=10)
        assert kind == "request" and event["id"] == new_id and event["status"] == "open" and event["lat"] == 39.2904
        code, _, err = run(["requests", "update", str(new_id), "--status", "closed", "--database", database], cwd=tmp_path)
        assert code == 0, err
        kind, event = events.get(timeout=10)
        assert kind == "request" and event["id"] == new_id and event["status"] == "closed"
        # Nobody else's data: the event carries what the map draws, not who reported it.
        assert set(event) == {"id", "service", "status", "sla", "lat", "long", "url"}
    finally:
        first.stop()
        second.stop()


def _events(browser, url, headers=None, timeout=30):
    """Every (id, event, data) of a live stream that ends by itself (`seconds=` in the url)."""
    out, current = [], {}
    with browser.get(url, stream=True, headers=headers or {}, timeout=(5, timeout)) as stream:
        for raw in stream.iter_lines(decode_unicode=True):
            if raw == "":
                if "event" in current:
                    out.append((current.get("id"), current["event"], current.get("data")))
                current = {}
            elif raw.startswith(("id: ", "event: ", "data: ")):
                field, value = raw.split(": ", 1)
                current[field] = value
    return out


def test_a_live_map_that_loses_its_instance_resumes_on_another_without_missing_a_change(tmp_path):
    """The page saw a change through instance A, A died, three requests were filed through B meanwhile; reconnecting
    to B with the last event id it saw (what EventSource sends), the page gets all three from the database."""
    database = _postgres_database()
    first = Server(tmp_path, database, env={"AUTH_BCRYPT_COST": "4"})
    second = Server(tmp_path, database, demo=False, env={"AUTH_BCRYPT_COST": "4"})
    try:
        browser = _staff_session(first, database, tmp_path, email="resume@city.gov")
        key = first.apikey()

        def report(server, lat):
            answer = requests.post(server.open311 + "/requests.json", data={
                "api_key": key, "service_code": "POTHOLE", "lat": lat, "long": "-76.6122", "attribute[SIZE]": "large"})
            return int(answer.json()[0]["service_request_id"])

        seen = report(first, "39.2904")
        # What the page last received from A: the event for that request, with its id.
        replay = _events(browser, first.base + "/staff/live?seconds=1", headers={"Last-Event-ID": "0"})
        assert [event for _, event, _ in replay] == ["reload"], replay
        caught_up = _events(browser, first.base + "/staff/live?seconds=1",
                            headers={"Last-Event-ID": str(int(time.time() * 1000) - 60_000)})
        last_id = max(int(event_id) for event_id, event, data in caught_up
                      if event == "request" and json.loads(data)["id"] == seen)
        assert first.stop(signal.SIGKILL) != 0

        missed = [report(second, lat) for lat in ("39.2910", "39.2920", "39.2930")]
        resumed = _events(browser, second.base + "/staff/live?seconds=1", headers={"Last-Event-ID": str(last_id)})
        got = {json.loads(data)["id"] for _, event, data in resumed if event == "request"}
        assert set(missed) <= got, (missed, resumed)
        assert all(int(event_id) >= last_id for event_id, event, _ in resumed if event == "request")
    finally:
        first.stop()
        second.stop()
