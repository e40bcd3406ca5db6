"""The bare baseline: verify the Stripe signature and insert one row, nothing more.

`bench/webhooks.py` serves it with gunicorn exactly as it serves the app
(`bench.baseline_app:create_app()`), on the same database, so the app's webhook endpoint
can be reported as a ratio of the cheapest endpoint that still does the job: Flask, the
SDK's signature check, and one idempotent insert.
"""

import json
import os

import sqlalchemy as sa
import stripe
from flask import Flask, request

metadata = sa.MetaData()

events = sa.Table(
    "bench_baseline_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("event_id", sa.String(255), nullable=False, unique=True),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
)


def engine_url(url: str) -> str:
    """The psycopg 3 driver for PostgreSQL URLs, as the app does (app.config)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_table(url: str) -> None:
    """Create the baseline's table; called once by the benchmark before the servers start."""
    engine = sa.create_engine(engine_url(url))
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()


def _insert_ignoring_duplicates(dialect: str):
    # ON CONFLICT DO NOTHING: a repeated event id is answered 200 and changes nothing.
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise SystemExit(f"baseline: unsupported database {dialect!r}")
    return insert(events).on_conflict_do_nothing(index_elements=["event_id"])


def create_app() -> Flask:
    """The baseline app, configured from DATABASE_URL and STRIPE_WEBHOOK_SECRET."""
    app = Flask(__name__)
    engine = sa.create_engine(engine_url(os.environ["DATABASE_URL"]))
    secret = os.environ["STRIPE_WEBHOOK_SECRET"]
    insert = _insert_ignoring_duplicates(engine.dialect.name)

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
        with engine.begin() as conn:
            conn.execute(insert, {"event_id": event["id"], "type": event["type"],
                                  "payload": body.decode("utf-8")})
        return {"received": True}

    return app
