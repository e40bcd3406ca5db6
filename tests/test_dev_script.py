"""`make dev`'s set-up: emulator, migrations, catalog sync and webhook registration."""

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dev_setup_runs_on_a_fresh_database(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STRIPE_", "FLASK_", "SITE_URL"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/dev.db"
    env_file = tmp_path / "dev.env"
    emulator_port = free_port()
    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--no-serve", "--port", str(free_port()),
         "--emulator-port", str(emulator_port), "--env-file", str(env_file)],
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
    created = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "-e", str(env_file), "users",
         "create", "ops@example.com", "ops", "--password-stdin"],
        input="a long password\n", cwd=ROOT,
        env={k: v for k, v in env.items() if k != "DATABASE_URL"},
        capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr[-2000:]
    with sqlite3.connect(tmp_path / "dev.db") as db:
        assert db.execute("SELECT username FROM users").fetchall() == [("ops",)]
