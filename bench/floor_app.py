"""The floor: the least a webhook endpoint can do and still do the job, with durability.

Flask, the SDK's `stripe.WebhookSignature.verify_header`, `json.loads`, and one
`INSERT … ON CONFLICT DO NOTHING` on a DB-API connection each worker keeps open: sqlite3
in WAL mode with `synchronous=FULL` (one sync per commit, so a 2xx means the row survives a
power cut), or psycopg in autocommit on PostgreSQL. No SQLAlchemy, no pool, no ORM: the
signed body is stored as received. `bench/webhooks.py` serves it with gunicorn exactly as
it serves the app (`bench.floor_app:create_app()`), and reports the app against it.
"""

import json
import os

import stripe
from flask import Flask, request

TABLE = "bench_floor_events"
SCHEMA = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, "
              "event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, payload TEXT NOT NULL)",
    "postgresql": f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGSERIAL PRIMARY KEY, "
                  "event_id VARCHAR(255) NOT NULL UNIQUE, type VARCHAR(100) NOT NULL, "
                  "payload TEXT NOT NULL)",
}
INSERT = {
    "sqlite": f"INSERT INTO {TABLE} (event_id, type, payload) VALUES (?, ?, ?) "
              "ON CONFLICT (event_id) DO NOTHING",
    "postgresql": f"INSERT INTO {TABLE} (event_id, type, payload) VALUES (%s, %s, %s) "
                  "ON CONFLICT (event_id) DO NOTHING",
}


def connect(url: str):
    """(dialect, an autocommit DB-API connection) for a sqlite:/// or postgresql:// URL."""
    if url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)  # autocommit
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return "sqlite", conn
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg

        return "postgresql", psycopg.connect(url, autocommit=True)
    raise SystemExit(f"floor: unsupported database URL {url!r}")


def create_table(url: str) -> None:
    """Create the floor's table; called once by the benchmark before the servers start."""
    dialect, conn = connect(url)
    try:
        conn.execute(SCHEMA[dialect])
    finally:
        conn.close()


def count_rows(url: str) -> int:
    dialect, conn = connect(url)
    try:
        return conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    finally:
        conn.close()


def create_app() -> Flask:
    """The floor app, configured from DATABASE_URL and STRIPE_WEBHOOK_SECRET."""
    app = Flask(__name__)
    url, secret = os.environ["DATABASE_URL"], os.environ["STRIPE_WEBHOOK_SECRET"]
    held = []  # this worker's connection, opened by its first request (after the fork)

    @app.post("/webhooks/stripe")
    def stripe_webhook():
        body = request.get_data()
        try:
            stripe.WebhookSignature.verify_header(
                body.decode("utf-8", "replace"), request.headers.get("Stripe-Signature", ""),
                secret, tolerance=300)
        except stripe.SignatureVerificationError:
            return {"error": "invalid signature"}, 400
        event = json.loads(body)
        if not held:
            held.append(connect(url))
        dialect, conn = held[0]
        conn.execute(INSERT[dialect], (event["id"], event["type"], body.decode("utf-8")))
        return {"received": True}

    return app
