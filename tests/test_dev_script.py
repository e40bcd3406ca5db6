"""`make dev`'s set-up: emulator, migrations, catalog sync and webhook registration."""

import os
import socket
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
    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--no-serve", "--port", str(free_port()),
         "--emulator-port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "gold: created product, created price" in out
    assert "webhooks registered and signed" in out
    assert "4242 4242 4242 4242" in out and "App:      http://127.0.0.1:" in out
