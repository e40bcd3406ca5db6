"""Rate limits in production: one count shared by every gunicorn worker, or a refusal to start.

The site runs here as it runs in production: gunicorn, SECRET_KEY set, FLASK_DEBUG unset,
a migrated database, and RATELIMIT_STORAGE_URI pointing at Redis (TEST_REDIS_URL).
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app import create_app
from tests.conftest import PASSWORD, need
from tests.gunicorn_ready import READY

ROOT = Path(__file__).resolve().parent.parent
EMAIL = "limited@example.com"
PRODUCTION_ENV = {"SECRET_KEY": "p" * 64, "FLASK_DEBUG": "", "STRIPE_SECRET_KEY": "",
                  "TRUSTED_PROXIES": "0", "PYTHONDONTWRITEBYTECODE": "1"}


def production_env(database: Path, storage_uri: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "RATELIMIT_"))}
    env.update(PRODUCTION_ENV, DATABASE_URL=f"sqlite:///{database}",
               RATELIMIT_STORAGE_URI=storage_uri)
    return env


def flask(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                          env=env, input=stdin, capture_output=True, text=True, timeout=60)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def site_database(tmp_path_factory) -> Path:
    """A SQLite file migrated by `flask db upgrade`, with one account made by `flask users`."""
    database = tmp_path_factory.mktemp("site") / "site.db"
    env = production_env(database, "memory://")
    for args, stdin in ((("db", "upgrade"), None),
                        (("users", "create", EMAIL, "limited", "--password-stdin"), PASSWORD)):
        done = flask(env, *args, stdin=stdin)
        assert done.returncode == 0, done.stdout + done.stderr
    return database


class Gunicorn:
    """`gunicorn -w N wsgi:app` on a free 127.0.0.1 port, in a session of its own."""

    def __init__(self, env: dict, log: Path, workers: int):
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", "127.0.0.1:0",
                 "--log-level", "info", "-c", "python:tests.gunicorn_ready", "wsgi:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.url = self._wait_ready(workers)

    def _wait_ready(self, workers: int, timeout: float = 30) -> str:
        """The address, once every worker has loaded the app and the log-in page answers.
        ("Booting worker" is logged before a worker imports the app: a request sent then
        waits for the import, which on a busy machine outlasted the request's timeout.)"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"gunicorn exited:\n{self.output()}"
            text = self.output()
            listening = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", text)
            if listening and text.count(READY) >= workers:
                response = requests.get(listening.group(1) + "/login", timeout=5)
                assert response.ok, response.text[-2000:]
                return listening.group(1)
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not load the app in {timeout:.0f}s:\n"
                             f"{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session holds only gunicorn
            self.proc.wait()


@pytest.fixture
def serve(site_database, tmp_path):
    """Start the site under gunicorn with a given rate-limit store; stopped by pid afterwards."""
    servers = []

    def start(storage_uri: str, workers: int) -> Gunicorn:
        server = Gunicorn(production_env(site_database, storage_uri),
                          tmp_path / f"gunicorn-{len(servers)}.log", workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


class Visitor:
    """A browser, as far as log-in goes: it keeps the session cookie and the CSRF token.

    Production marks the cookie Secure, and `requests` rightly keeps a Secure cookie off
    plain http, so the visitor sends it back itself (as a browser behind TLS would).
    """

    def __init__(self, url: str):
        self.url, self.cookie = url, None

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Cookie": f"session={self.cookie}"} if self.cookie else {}
        response = requests.request(method, self.url + path, headers=headers,
                                    allow_redirects=False, timeout=10, **kwargs)
        self.cookie = response.cookies.get("session", self.cookie)
        return response

    def failed_logins(self, count: int) -> list[int]:
        page = self.request("GET", "/login").text
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        return [self.request("POST", "/login", data={
            "login": EMAIL, "password": "not the password", "csrf_token": token}).status_code
            for _ in range(count)]


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "")
    need(bool(url), "TEST_REDIS_URL is not set (a Redis for the shared rate-limit test)")
    from limits.storage import storage_from_string

    storage = storage_from_string(url)
    assert storage.check(), f"Redis at {url} does not answer"
    storage.reset()  # the limiter's own keys only (LIMITS:…)
    yield url
    storage.reset()


@pytest.mark.redis
def test_two_workers_share_the_failed_login_limit(serve, redis_url):
    site = serve(redis_url, workers=2)
    codes = Visitor(site.url).failed_logins(8)
    # Counted per worker, up to 10 of these would get through; counted in Redis, 5 do.
    assert codes == [422] * 5 + [429] * 3, site.output()
    import redis

    assert redis.Redis.from_url(redis_url).keys("LIMITS:*"), "no rate-limit keys in Redis"


def test_log_in_survives_redis_going_away(serve):
    """Redis unreachable: no 500, and each worker keeps counting in its own memory."""
    site = serve(f"redis://127.0.0.1:{closed_port()}/0", workers=1)
    assert Visitor(site.url).failed_logins(6) == [422] * 5 + [429]
    assert "falling back to in-memory storage" in site.output()
    assert "Traceback" not in site.output()


# --- choosing the store --------------------------------------------------------------

@pytest.fixture
def production(monkeypatch, tmp_path):
    """A production environment (create_app() outside debug and tests), store unset."""
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FLASK_DEBUG")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    return monkeypatch


def test_production_refuses_per_process_counting_it_was_not_told_to_use(production):
    with pytest.raises(SystemExit) as refused:
        create_app()
    message = str(refused.value)
    assert message.startswith("Refusing to start: RATELIMIT_STORAGE_URI is not set.")
    assert "RATELIMIT_STORAGE_URI=redis://" in message
    assert "RATELIMIT_STORAGE_URI=memory://" in message


def test_refusal_is_one_clear_line_from_the_command_line(tmp_path):
    env = production_env(tmp_path / "x.db", "")
    del env["RATELIMIT_STORAGE_URI"]
    done = flask(env, "routes")
    assert done.returncode != 0
    assert "RATELIMIT_STORAGE_URI is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_production_with_memory_chosen_starts_and_warns(production, caplog):
    production.setenv("RATELIMIT_STORAGE_URI", "memory://")
    app = create_app()
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert "counted per process" in caplog.text


def test_production_with_redis_starts_without_connecting(production):
    production.setenv("RATELIMIT_STORAGE_URI", f"redis://127.0.0.1:{closed_port()}/0")
    app = create_app()
    # Short timeouts: a Redis host gone silent must not hold log-ins for minutes.
    assert app.config["RATELIMIT_STORAGE_OPTIONS"]["socket_connect_timeout"] <= 1


def test_development_and_tests_count_in_memory_by_default(monkeypatch):
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    assert create_app({"TESTING": True}).config["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "memory://"
