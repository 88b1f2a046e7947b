"""The civitas command as an administrator uses it: help, configuration, verbs, and clear errors with non-zero exits."""
import json
import re

from conftest import Server, free_port, run


def test_help_lists_every_verb_with_a_description(tmp_path):
    code, out, _ = run(["--help"], cwd=tmp_path)
    assert code == 0
    for verb in ["serve", "migrate", "services", "apikey", "requests"]:
        assert re.search(rf"^\s+{verb}\s+\S", out, re.M), f"{verb} missing from --help:\n{out}"
    code, out, _ = run(["serve", "--help"], cwd=tmp_path)
    for option in ["--http-host", "--http-port", "--database", "--demo"]:
        assert option in out


def test_migrate_creates_the_sqlite_folder_and_is_idempotent(tmp_path, database_url):
    code, out, err = run(["migrate", "--database", database_url], cwd=tmp_path)
    assert code == 0, err
    assert re.search(r"migration \d+", out)
    code, out, err = run(["migrate", "--database", database_url], cwd=tmp_path)
    assert code == 0, err


def test_default_database_is_a_file_under_civitas_data(tmp_path):
    code, _, err = run(["migrate"], cwd=tmp_path)
    assert code == 0, err
    assert (tmp_path / "civitas-data" / "civitas.sqlite").exists()


def test_apikey_create_prints_only_the_key(tmp_path, database_url):
    code, out, err = run(["apikey", "create", "--name", "FixMyStreet", "--database", database_url], cwd=tmp_path)
    assert code == 0, err
    assert re.fullmatch(r"civ_[0-9a-f]{48}\n", out), repr(out)


def test_services_import_creates_updates_and_refuses_bad_files_whole(tmp_path, database_url):
    good = tmp_path / "catalog.json"
    good.write_text(json.dumps([
        {"service_code": "POT", "service_name": "Pothole", "department": "Streets", "sla_hours": 72,
         "attributes": [{"code": "SIZE", "datatype": "singlevaluelist", "description": "How big?", "required": True,
                         "values": [{"key": "s", "name": "Small"}]}]},
        {"service_code": "GRF", "service_name": "Graffiti"},
    ]))
    code, out, err = run(["services", "import", str(good), "--database", database_url], cwd=tmp_path)
    assert code == 0, err
    assert "2 new, 0 updated" in out

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([
        {"service_code": "NEW", "service_name": "New one"},
        {"service_code": "POT", "service_name": "Pothole", "attributes": [{"code": "X", "datatype": "date", "description": "d"}]},
    ]))
    code, out, err = run(["services", "import", str(bad), "--database", database_url], cwd=tmp_path)
    assert code != 0
    assert 'Entry 2 (service_code "POT"): field "attributes[0].datatype"' in err
    assert out == ""

    code, out, err = run(["services", "import", str(good), "--database", database_url], cwd=tmp_path)
    assert "0 new, 2 updated" in out, "the bad file must not have imported NEW"

    for content, message in [("not json", "not valid JSON"), ("{}", "JSON array")]:
        bad.write_text(content)
        code, _, err = run(["services", "import", str(bad), "--database", database_url], cwd=tmp_path)
        assert code != 0 and message in err, err
    code, _, err = run(["services", "import", str(tmp_path / "missing.json"), "--database", database_url], cwd=tmp_path)
    assert code != 0 and "Cannot read" in err


def test_requests_update_closes_a_request_and_refuses_bad_input(tmp_path, database_url):
    server = Server(tmp_path, database_url)
    try:
        import requests
        first = requests.get(server.open311 + "/requests.json?status=open").json()[0]["service_request_id"]
        code, out, err = run(["requests", "update", first, "--status", "closed", "--note", "Collected.", "--database", database_url], cwd=tmp_path)
        assert code == 0, err
        assert f"Request {first} is now closed, normal priority, unassigned." in out
        request = requests.get(f"{server.open311}/requests/{first}.json").json()[0]
        assert request["status"] == "closed" and request["status_notes"] == "Collected."

        # Priority and an internal note: the public status note stays as it was, the change is audited.
        code, out, err = run(["requests", "update", first, "--priority", "urgent", "--note", "Caller is elderly.",
                              "--internal", "--database", database_url], cwd=tmp_path)
        assert code == 0, err
        assert f"Request {first} is now closed, urgent priority, unassigned." in out
        request = requests.get(f"{server.open311}/requests/{first}.json").json()[0]
        assert request["status_notes"] == "Collected.", "an internal note is never shown to the public"

        for args, message in [
            ([first, "--status", "done"], "--status must be open or closed"),
            ([first, "--priority", "asap"], "--priority must be low, normal, high or urgent"),
            ([first, "--assignee", "bob"], "--assignee takes a staff id"),
            ([first, "--assignee", "4242"], "assign"),
            ([first, "--internal"], "give one with --note"),
            ([first], "Say what to change"),
            (["99999999", "--status", "open"], "no service request 99999999"),
            (["abc", "--status", "open"], "not a service request id"),
        ]:
            code, _, err = run(["requests", "update", *args, "--database", database_url], cwd=tmp_path)
            assert code != 0 and message in err, err
    finally:
        assert server.stop() == 0


def test_bad_configuration_is_a_clear_error(tmp_path):
    code, _, err = run(["migrate", "--database", "mysql://nope"], cwd=tmp_path)
    assert code != 0 and "must start with sqlite: or postgres://" in err
    code, _, err = run(["migrate"], cwd=tmp_path, env={"HTTP_PORT": "80a0"})
    assert code != 0 and "HTTP_PORT" in err and "whole number" in err, err
    code, _, err = run(["migrate"], cwd=tmp_path, env={"LOG_LEVEL": "chatty"})
    assert code != 0 and "LOG_LEVEL" in err, err
    code, _, err = run(["migrate"], cwd=tmp_path, env={"JURISDICTION_TIME_ZONE": "Mars/Olympus"})
    assert code != 0 and "is not a time zone" in err
    code, _, err = run(["migrate", "--database", f"postgres://nobody@127.0.0.1:{free_port()}/none"], cwd=tmp_path)
    assert code != 0 and "cannot be reached" in err


def test_environment_and_dotenv_configure_the_server(tmp_path):
    port = free_port()
    (tmp_path / ".env").write_text(f"HTTP_PORT={port}\nJURISDICTION_NAME=Dotenv Town\n")
    import subprocess, requests, time, signal
    from conftest import BINARY
    env = {"DATABASE_URL": "sqlite:" + str(tmp_path / "env.sqlite"), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([str(BINARY), "serve"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(300):
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        assert "Dotenv Town" in requests.get(f"http://127.0.0.1:{port}/").text
        assert (tmp_path / "env.sqlite").exists()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def test_addresses_import_and_service_settings(tmp_path, database_url):
    csv = tmp_path / "points.csv"
    csv.write_text(
        "Address,Latitude,Longitude,ZipCode\n"
        '"3400 CIVITAS TEST LN, BALTIMORE, MD, 21215",39.327420,-76.682510,21215\n'
        '"3400 CIVITAS TEST LN, BALTIMORE, MD, 21215",39.327420,-76.682510,21215\n'
        '"3016 THORNDALE AVE, BC",39,-77,21215\n'
        "12 Main St,,,\n")
    code, out, err = run(["addresses", "import", str(csv), "--database", database_url], cwd=tmp_path)
    assert code == 0, err
    assert "Imported 1 address points." in out
    assert "left out 1: duplicate address" in out and "left out 1: placeholder coordinates" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("street,x\n1 Main St,2\n")
    code, _, err = run(["addresses", "import", str(bad), "--database", database_url], cwd=tmp_path)
    assert code != 0 and "needs a header row with an address column" in err, err

    server = Server(tmp_path, database_url)
    try:
        import requests
        found = requests.get(server.base + "/addresses?q=3400 civitas").json()
        assert [item["address"] for item in found] == ["3400 Civitas Test Ln"], "the demo keeps imported address points"
        assert found[0]["zipcode"] == "21215"
    finally:
        assert server.stop() == 0
    code, out, err = run(["services", "settings", "BULKY", "--visibility", "hidden", "--duplicate-radius", "80",
                          "--database", database_url], cwd=tmp_path)
    assert code == 0 and "BULKY: duplicates within 80 m and 336 h; hidden" in out, err
    code, _, err = run(["services", "settings", "BULKY", "--visibility", "secret", "--database", database_url], cwd=tmp_path)
    assert code != 0 and "must be public, blurred or hidden" in err


def test_crews_and_a_day_plan(tmp_path, database_url):
    server = Server(tmp_path, database_url)  # the demo city, with its open requests
    assert server.stop() == 0
    db = ["--database", database_url]
    code, out, err = run(["services", "work", "BULKY", "--minutes", "10", "--load", "2", "--skill", "lift", *db], cwd=tmp_path)
    assert code == 0 and "BULKY: 10 min on site, load 2.0, needs lift" in out, err
    for args in (
        ["--name", "Bulky 1", "--depot", "39.2904,-76.6122", "--depot-name", "Central Yard", "--capacity", "20", "--skills", "lift"],
        ["--name", "Streets", "--depot", "39.27,-76.65", "--capacity", "10", "--services", "DIRTYALLEY,DUMPING,MISSED",
         "--shift", "mon-fri 06:00-14:00"],
    ):
        code, out, err = run(["crews", "add", "--department", "Public Works", *args, *db], cwd=tmp_path)
        assert code == 0, err
    code, out, err = run(["crews", "list", *db], cwd=tmp_path)
    assert "Bulky 1" in out and "DIRTYALLEY,DUMPING,MISSED" in out

    code, out, err = run(["plan", "--department", "Public Works", "--date", "2026-11-24", "--seconds", "2", "--save", *db], cwd=tmp_path)
    assert code == 0, err
    assert out.startswith("Plan for Public Works on 2026-11-24: 2 crews on shift")
    assert "Bulky 1 (Truck, 07:00–15:30): leaves Central Yard at 07:00" in out
    assert "within its 06:00–14:00 shift" in out and "has the skill “lift”" in out
    assert "feasibility checker found" not in out
    assert "Saved as version 1 of Public Works's plan for 2026-11-24." in out
    # Sunday: nobody works, and every request says so.
    code, out, err = run(["plan", "--department", "Public Works", "--date", "2026-11-29", "--seconds", "1", *db], cwd=tmp_path)
    assert code == 0 and "0 crews on shift" in out and "no crew of the department works on this day" in out

    for args, message in [
        (["plan", "--department", "Public Works", "--date", "2026-13-01"], "YYYY-MM-DD"),
        (["plan", "--department", "Water", "--date", "2026-11-24"], "has no crews yet"),
        (["crews", "add", "--department", "Water", "--name", "W", "--depot", "39.3", "--capacity", "5"], "--depot takes LAT,LONG"),
        (["crews", "add", "--department", "Water", "--name", "W", "--depot", "39.3,-76.6", "--capacity", "5", "--shift", "fri-mon 7-15"],
         "A range of days goes forward"),
        (["crews", "add", "--department", "Water", "--name", "W", "--depot", "39.3,-76.6", "--capacity", "5", "--member", "nobody@city.gov"],
         "There is no staff member nobody@city.gov"),
    ]:
        code, _, err = run([*args, *db], cwd=tmp_path)
        assert code != 0 and message in err, (args, err)
