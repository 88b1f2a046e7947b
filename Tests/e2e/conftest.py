"""End-to-end fixtures: the real `civitas` binary, a fresh database (SQLite file or PostgreSQL), a running server."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import uuid

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _binary():
    for configuration in ("debug", "release"):
        path = ROOT / ".build" / configuration / "civitas"
        if path.exists():
            return path
    raise RuntimeError("civitas is not built: run scripts/test (or swift build) first")


BINARY = _binary()


def wait_until_gone(driver, element, timeout=15):
    """Waits for the next page after a click: until `element` is no longer in the document. Chromium may answer "node
    does not belong to the document" instead of "stale" while the next page loads; both mean it is gone."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_):
        try:
            element.is_enabled()
            return False
        except WebDriverException:
            return True

    WebDriverWait(driver, timeout).until(gone)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, cwd, env=None, timeout=120):
    """Runs a civitas verb; returns (exit code, stdout, stderr)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "HTTP_", "JURISDICTION_"))}
    full_env.update(env or {})
    done = subprocess.run([str(BINARY), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def _postgres_database():
    admin = os.environ.get("CIVITAS_TEST_POSTGRES_URL")
    if not admin:
        raise RuntimeError("CIVITAS_TEST_POSTGRES_URL is not set: run scripts/test, which starts PostgreSQL")
    name = "civitas_e2e_" + uuid.uuid4().hex[:12]
    psql = shutil.which("psql") or sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
    subprocess.run([str(psql), admin.split("?")[0], "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    parts = urllib.parse.urlsplit(admin)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def execute_sql(database_url, statement):
    """Runs one statement on the database behind Civitas's back (to tamper with it, as an insider could)."""
    if database_url.startswith("sqlite:"):
        import sqlite3
        connection = sqlite3.connect(database_url[len("sqlite:"):])
        with connection:
            connection.execute(statement)
        connection.close()
    else:
        psql = shutil.which("psql") or sorted(pathlib.Path("/usr/lib/postgresql").glob("*/bin/psql"))[-1]
        # Civitas's URL options (e.g. `tlsmode`) are not libpq's, so psql gets the URL without them.
        done = subprocess.run([str(psql), database_url.split("?")[0], "-qc", statement], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return "sqlite:" + str(tmp_path / "data" / "civitas.sqlite")
    return _postgres_database()


class Server:
    def __init__(self, cwd, database_url, demo=True, env=None, args=()):
        self.cwd = cwd
        self.database_url = database_url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.open311 = self.base + "/open311/v2"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "HTTP_", "JURISDICTION_"))}
        # Tests send many requests from one address; those that test the limits set their own.
        full_env.update({"RATE_LIMIT_SUBMISSIONS_PER_MINUTE": "1000000", "RATE_LIMIT_API_PER_MINUTE": "1000000",
                         "RATE_LIMIT_SIGN_IN_PER_MINUTE": "1000000"})
        # The demo's address points come from the repository's fixture, the same in every clone, whatever lies beside it.
        full_env["CIVITAS_DEMO_ADDRESSES"] = str(ROOT / "Tests" / "Fixtures" / "311" / "baltimore_addresses.sample.csv")
        full_env.update(env or {})
        command = [str(BINARY), "serve", "--http-port", str(self.port), "--database", database_url, *args]
        if demo:
            command.append("--demo")
        self.log = open(pathlib.Path(cwd) / f"serve-{self.port}.log", "w+")
        self.process = subprocess.Popen(command, cwd=cwd, env=full_env, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("civitas serve exited early:\n" + self.output())
            try:
                if requests.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("civitas serve did not become healthy:\n" + self.output())

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode

    def apikey(self, name="e2e"):
        code, out, err = run(["apikey", "create", "--name", name, "--database", self.database_url], cwd=self.cwd)
        assert code == 0, err
        return out.strip()


@pytest.fixture
def server(tmp_path, database_url):
    s = Server(tmp_path, database_url)
    yield s
    code = s.stop()
    assert code == 0, "SIGTERM should shut civitas down cleanly:\n" + s.output()
