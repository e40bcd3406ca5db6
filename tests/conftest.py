"""Shared fixtures: an app on a migrated database, cleaned after every test."""

import os
import re
import threading
import time

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.auth.models import Level, User
from app.config import normalise_database_url
from app.extensions import db, limiter

IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "correct horse battery"


def need(condition: bool, reason: str) -> None:
    """Skip when a service is missing locally; in CI a missing service is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


def test_config(database_url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "STRIPE_SECRET_KEY": "",
        "BILLING_ENABLED": False,
        "SERVER_NAME": None,
        # Said every time: the limiter is one object for the whole run, and its init_app
        # keeps the previous app's setting when the config has none (the life simulation
        # turns limits off for its app).
        "RATELIMIT_ENABLED": True,
    }
    config.update(extra)
    return config


def reset_schema(app) -> None:
    """Drop whatever is there and build the schema the only way it is built: migrations."""
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            else:
                meta = sa.MetaData()
                meta.reflect(conn)
                meta.drop_all(conn)
        upgrade()


@pytest.fixture(scope="session")
def _migrated(database_url):
    reset_schema(create_app(test_config(database_url)))


@pytest.fixture
def app_config(database_url) -> dict:
    """Override in a test module to change configuration before the app is built."""
    return {}


@pytest.fixture
def app(database_url, _migrated, app_config):
    app = create_app(test_config(database_url, **app_config))
    limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        empty_every_table()
        db.engine.dispose()


def empty_every_table(attempts: int = 5) -> None:
    """Leave the database empty for the next test. On PostgreSQL a request still in flight
    when a test ends (a live server's thread answering a browser's last fetch) can hold a
    lock the TRUNCATE needs and deadlock with it: end such stragglers, and try again."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    for attempt in range(attempts):
        try:
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
                    names = ", ".join(f'"{t.name}"' for t in tables)
                    conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                else:
                    for table in tables:
                        conn.execute(table.delete())
            return
        except sa.exc.OperationalError:
            if attempt == attempts - 1:
                raise
            db.engine.dispose()
            time.sleep(0.2)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create a user and return it, loaded and detached, for use outside app contexts."""
    counter = iter(range(1, 10_000))

    def make(username: str | None = None, *, email: str | None = None,
             level: Level = Level.MEMBER, password: str = PASSWORD, admin: bool = False) -> User:
        n = next(counter)
        username = username or f"user{n}"
        with app.app_context():
            user = User(email=email or f"{username.lower()}@example.com", username=username,
                        level=level, is_admin=admin)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return make


def csrf_token(client, path: str = "/") -> str:
    """The CSRF token a browser would have, read from the page's meta tag."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def login(client):
    def do(user_or_login, password: str = PASSWORD):
        name = getattr(user_or_login, "email", user_or_login)
        response = client.post("/login", data={
            "login": name, "password": password, "csrf_token": csrf_token(client, "/login"),
        })
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    return do


WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def billing_config() -> dict:
    """Configuration with billing on (the Stripe base address is unreachable on purpose)."""
    return {"STRIPE_SECRET_KEY": "sk_test_emulator", "BILLING_ENABLED": True,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET, "STRIPE_API_BASE": "http://127.0.0.1:9"}


@pytest.fixture
def post_event(client):
    """POST a payload to the webhook endpoint, signed like Stripe signs it."""
    import json as _json

    from tests.stripe_objects import signature_header

    def post(payload: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
        body = _json.dumps(payload).encode()
        return client.post("/webhooks/stripe", data=body, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature_header(body, secret, timestamp)})

    return post


# --- a real server, and the local Stripe emulator -------------------------------------

class LiveServer:
    """The app served over HTTP by Werkzeug's threaded server, in a background thread."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app):
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def emulator():
    """The project's Stripe emulator, in-process on a free 127.0.0.1 port."""
    from stripe_emulator import EmulatorServer

    server = EmulatorServer(port=0)
    server.start()
    yield server
    server.stop()


class EmulatorControl:
    """The emulator's private control endpoints, for tests."""

    def __init__(self, url: str):
        self.url = url

    def __call__(self, method: str, path: str, **body):
        import requests

        response = requests.request(method, f"{self.url}/_emulator/{path.lstrip('/')}",
                                    json=body or None, timeout=30)
        assert response.status_code < 500, response.text
        return response.json() if response.content else None


@pytest.fixture
def emulated_config(emulator) -> dict:
    """App configuration pointing at a freshly reset emulator."""
    control = EmulatorControl(emulator.url)
    control("POST", "reset")
    return {"STRIPE_SECRET_KEY": "sk_test_emulator", "BILLING_ENABLED": True,
            "STRIPE_API_BASE": emulator.url, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


@pytest.fixture
def emu(emulator) -> EmulatorControl:
    return EmulatorControl(emulator.url)


@pytest.fixture
def synced_catalog(app):
    """The catalog synced to the emulator (use with `app_config` = `emulated_config`)."""
    from app.catalog.sync import sync_catalog

    with app.app_context():
        sync_catalog()
        db.session.commit()


@pytest.fixture
def site(app, live_server, synced_catalog):
    """A live server whose webhook endpoint is registered at the emulator, as in production."""
    from app.billing import gateway
    from app.webhooks.registry import handled_types

    with app.app_context():
        endpoint = gateway.create_webhook_endpoint(live_server.url + "/webhooks/stripe",
                                                   handled_types() or ["*"])
    app.config["STRIPE_WEBHOOK_SECRET"] = endpoint.secret
    app.config["SITE_URL"] = live_server.url
    return live_server


# --- Debian's Chromium, driven by Playwright -------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    need(os.path.exists(CHROMIUM),
         f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        need(False, "the playwright package is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def pytest_terminal_summary(terminalreporter):
    """Say how many browser, PostgreSQL and Redis tests ran, so CI output shows none skipped."""
    for marker in ("browser", "postgres", "redis"):
        counts = {}
        for outcome in ("passed", "failed", "skipped", "error"):
            reports = [r for r in terminalreporter.stats.get(outcome, [])
                       if getattr(r, "when", "call") in ("call", "setup")
                       and marker in getattr(r, "keywords", {})]
            if reports:
                counts[outcome] = len({r.nodeid for r in reports})
        summary = ", ".join(f"{n} {o}" for o, n in counts.items()) or "none collected"
        terminalreporter.write_line(f"{marker} tests: {summary}")
