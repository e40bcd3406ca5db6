"""`make dev`'s set-up (emulator, migrations, catalog sync, webhook registration, the mail
settings) and a real run: the app, the worker and the local mail server together."""

import email
import email.policy
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from app import create_app
from app.auth.models import User
from app.emails import queue_email
from app.extensions import db

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dev_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a developer with no settings of their own, on a fresh database."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "FLASK_", "SITE_URL", "MAIL_", "WORKER_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/dev.db"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_dev_setup_runs_on_a_fresh_database(tmp_path):
    env = dev_env(tmp_path)
    env_file = tmp_path / "dev.env"
    emulator_port, mail_port = free_port(), free_port()
    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--no-serve", "--port", str(free_port()),
         "--emulator-port", str(emulator_port), "--env-file", str(env_file),
         "--mail-port", str(mail_port)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "gold: created product, created price" in out
    assert "webhooks registered and signed" in out
    assert "4242 4242 4242 4242" in out and "App:      http://127.0.0.1:" in out

    # The operator commands reach the same database through the written settings.
    assert f"CLI:      .venv/bin/flask --app wsgi -e {env_file} billing events" in out
    settings = dict(line.split("=", 1) for line in env_file.read_text().splitlines()
                    if not line.startswith("#"))
    assert settings["STRIPE_API_BASE"] == f"http://127.0.0.1:{emulator_port}"
    assert settings["STRIPE_WEBHOOK_SECRET"].startswith("whsec_")
    assert settings["DATABASE_URL"] == env["DATABASE_URL"]
    # Mail goes to the local server, for the app, the worker and operator commands alike
    # (with --no-serve it is not started: nothing would send).
    assert (f"Mail:     local SMTP server at 127.0.0.1:{mail_port}; "
            "messages in instance/mail/") in out
    assert (settings["MAIL_SERVER"], settings["MAIL_PORT"]) == ("127.0.0.1", str(mail_port))
    assert listening(mail_port) is False
    created = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "-e", str(env_file), "users",
         "create", "ops@example.com", "ops", "--password-stdin"],
        input="a long password\n", cwd=ROOT,
        env={k: v for k, v in env.items() if k != "DATABASE_URL"},
        capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr[-2000:]
    with sqlite3.connect(tmp_path / "dev.db") as db:
        assert db.execute("SELECT username FROM users").fetchall() == [("ops",)]


def test_dev_setup_leaves_a_mail_server_of_your_own_alone(tmp_path):
    env = {**dev_env(tmp_path), "MAIL_SERVER": "smtp.example.test", "MAIL_PORT": "2525"}
    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--no-serve", "--port", str(free_port()),
         "--emulator-port", str(free_port()), "--env-file", str(tmp_path / "dev.env")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Mail:     your MAIL_SERVER at smtp.example.test:2525" in result.stdout
    assert "local SMTP server" not in result.stdout


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds}s waiting for {what}"
        time.sleep(0.2)


def test_make_dev_sends_the_apps_mail_to_the_local_server(tmp_path):
    env = dev_env(tmp_path)
    ports = {name: free_port() for name in ("app", "emulator", "mail")}
    mail_dir = tmp_path / "mail"
    out, err = tmp_path / "dev.out", tmp_path / "dev.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        dev = subprocess.Popen(
            [sys.executable, "scripts/dev.py", "--port", str(ports["app"]),
             "--emulator-port", str(ports["emulator"]), "--mail-port", str(ports["mail"]),
             "--mail-dir", str(mail_dir), "--env-file", str(tmp_path / "dev.env")],
            cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
    try:
        def up() -> bool:
            assert dev.poll() is None, err.read_text()[-3000:]
            return "Worker " in err.read_text() and listening(ports["app"])

        wait_until(up, 120, "the app and the worker")
        assert listening(ports["mail"])

        # A message queued as the app queues it; `make dev`'s worker sends it.
        app = create_app({"TESTING": True, "SECRET_KEY": "test",
                          "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"]})
        with app.app_context():
            user = User(email="dev@example.com", username="dev", password_hash="unused")
            db.session.add(user)
            db.session.flush()
            queue_email("referral_credit", user.id, record="dev:1", days=45, reason="admin",
                        until="2027-01-15T10:00:00+00:00", subscribed=False)
            db.session.commit()
            db.engine.dispose()

        wait_until(lambda: list(mail_dir.glob("*.eml")), 30, "a message in the mail folder")
        [kept] = mail_dir.glob("*.eml")
        message = email.message_from_bytes(kept.read_bytes(), policy=email.policy.default)
        assert message["To"] == "dev@example.com"
        assert message["Subject"] == "45 days of Premium credit for you"
        text = message.get_body(("plain",)).get_content()
        assert f"http://127.0.0.1:{ports['app']}/settings" in text  # links to this app
        line = ("Mail: to dev@example.com · subject 45 days of Premium credit for you  "
                f"({kept})")
        wait_until(lambda: line in out.read_text(), 10, "the mail server's line")
    finally:
        dev.send_signal(signal.SIGTERM)
        code = dev.wait(60)
    assert code == 0, err.read_text()[-3000:]
    # Everything it started stopped with it.
    assert not any(listening(port) for port in ports.values())
