"""Configuration from the environment, and refusing to run insecurely."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app

ROOT = Path(__file__).resolve().parent.parent


def run_flask(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items()
           if k not in {"SECRET_KEY", "FLASK_DEBUG", "STRIPE_SECRET_KEY"}}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_refuses_to_start_without_secret_key_outside_debug(tmp_path):
    result = run_flask("routes", env_extra={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_starts_in_debug_without_secret_key(tmp_path):
    result = run_flask("routes", env_extra={"FLASK_DEBUG": "1",
                                            "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert result.returncode == 0, result.stderr
    assert "/pricing" in result.stdout


def test_production_settings_harden_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")  # production must choose one
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"]


def test_no_stripe_key_means_billing_disabled(monkeypatch):
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    assert create_app({"TESTING": True}).config["BILLING_ENABLED"] is False


def test_postgres_urls_use_psycopg(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@127.0.0.1/db")
    app = create_app({"TESTING": True})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@127.0.0.1/db"


def test_bad_number_in_environment_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PRICE_GOLD", "twenty")
    with pytest.raises(SystemExit, match="PRICE_GOLD must be a whole number"):
        create_app({"TESTING": True})


def test_development_processes_share_one_secret_key(tmp_path):
    """Issue 20: under `make dev` the site and the worker are two processes; with no
    SECRET_KEY each made up its own, so a reset link the worker signed never opened. The
    development key is made once and kept in the instance folder, readable by its owner."""
    import os
    import stat
    from concurrent.futures import ThreadPoolExecutor

    from app.config import development_secret_key

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: development_secret_key(str(tmp_path)), range(16)))
    [key] = keys
    assert len(key) == 64
    assert development_secret_key(str(tmp_path)) == key  # the next start reads the same
    assert stat.S_IMODE(os.stat(tmp_path / "dev-secret-key").st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev-secret-key"]
