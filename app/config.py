"""Configuration, read from the environment (and `.env` in development)."""

import os
import secrets
import tempfile
from pathlib import Path


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(
            f"Configuration error: {name} must be a whole number, got {raw!r}."
        ) from None


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for PostgreSQL URLs however they are spelled."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def from_env(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables."""
    default_db = "sqlite:///" + str(Path(instance_path) / "app.db")
    secret_key = os.environ.get("SECRET_KEY", "")
    stripe_key = os.environ.get("STRIPE_SECRET_KEY", "")
    return {
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            os.environ.get("DATABASE_URL") or default_db
        ),
        "SITE_URL": os.environ.get("SITE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "STRIPE_SECRET_KEY": stripe_key,
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        # Empty means Stripe's real API; development points this at the emulator.
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", "").rstrip("/"),
        "BILLING_ENABLED": bool(stripe_key),
        "BILLING_CURRENCY": os.environ.get("BILLING_CURRENCY", "gbp").lower(),
        "BILLING_LOCALE": os.environ.get("BILLING_LOCALE", "en_GB"),
        # Optional overrides of catalog amounts, in minor units (see app/catalog).
        "CATALOG_AMOUNTS": {
            key: _int(f"PRICE_{key.upper()}", default)
            for key, default in (
                ("premium_monthly", 700),
                ("premium_annual", 7000),
                ("gold", 2000),
                ("platinum", 4000),
                ("gold_to_platinum", 2000),
            )
        },
        # Premium access kept after a failed renewal while Stripe retries the card.
        "SUBSCRIPTION_GRACE_DAYS": _int("SUBSCRIPTION_GRACE_DAYS", 7),
        "WEBHOOK_MAX_BYTES": _int("WEBHOOK_MAX_BYTES", 256 * 1024),
        "WEBHOOK_TOLERANCE_SECONDS": _int("WEBHOOK_TOLERANCE_SECONDS", 300),
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        # Empty: memory:// in development and tests; production refuses to start (see
        # choose_ratelimit_storage). Every worker must count in one place.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "").strip(),
        # Storage down (Redis restarting, say): each worker counts in its own memory until
        # it answers again, rather than failing the request; errors are logged, not raised.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_HEADERS_ENABLED": False,  # computing them costs every request, webhooks too
        "TRUSTED_PROXIES": _int("TRUSTED_PROXIES", 0),
        # No pool_pre_ping: it costs a round trip on every request, the webhook's included.
        # Connections are recycled instead; one that died with a database restart fails
        # one request (Stripe retries webhooks) and is then replaced.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_recycle": 1800},
        # Outgoing mail (Flask-Mailman, SMTP). `make dev` points this at its local server.
        "MAIL_BACKEND": os.environ.get("MAIL_BACKEND", "smtp"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": _int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool(os.environ.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(os.environ.get("MAIL_USE_SSL")),
        "MAIL_DEFAULT_SENDER": os.environ.get("MAIL_FROM") or "Lumen <no-reply@localhost>",
        "MAIL_TIMEOUT": _int("MAIL_TIMEOUT", 10),
        # Where support requests go; shown in messages and receipts.
        "SUPPORT_EMAIL": os.environ.get("SUPPORT_EMAIL", "support@lumen.example"),
        # The seller on receipts and invoices (a business files them): the legal name, the
        # address (commas between its lines) and the VAT number; blank ones are left out.
        "SELLER_NAME": os.environ.get("SELLER_NAME", "Lumen"),
        "SELLER_ADDRESS": os.environ.get("SELLER_ADDRESS", ""),
        "SELLER_VAT_ID": os.environ.get("SELLER_VAT_ID", ""),
        # The background worker (app/outbox): a claimed job is someone else's after the
        # lease; a failing one is retried after 30 s, 60 s, 120 s… up to the limit.
        "WORKER_LEASE_SECONDS": _int("WORKER_LEASE_SECONDS", 300),
        "WORKER_MAX_ATTEMPTS": _int("WORKER_MAX_ATTEMPTS", 8),
        "WORKER_BACKOFF_SECONDS": _int("WORKER_BACKOFF_SECONDS", 30),
        "WORKER_POLL_SECONDS": _int("WORKER_POLL_SECONDS", 1),
        # How long a password reset link works, in seconds (app/auth/reset.py).
        "PASSWORD_RESET_MAX_AGE": _int("PASSWORD_RESET_MAX_AGE", 3600),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
    }


HSTS = "max-age=31536000; includeSubDomains"
MEMORY_STORAGE = "memory://"
RATELIMIT_STORAGE_MISSING = (
    "Refusing to start: RATELIMIT_STORAGE_URI is not set. Outside development each worker "
    "would count rate limits on its own, so with `gunicorn -w 2` twice as many log-in "
    "attempts get through. Point every worker at one store, e.g. "
    "RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379, or set RATELIMIT_STORAGE_URI=memory:// "
    "to choose per-process counting on a single-worker host."
)


def choose_ratelimit_storage(config: dict, production: bool) -> None:
    """Settle where rate limits are counted: never silently per process in production."""
    uri = config.get("RATELIMIT_STORAGE_URI") or ""
    if not uri:
        if production:
            raise SystemExit(RATELIMIT_STORAGE_MISSING)
        uri = MEMORY_STORAGE
    config["RATELIMIT_STORAGE_URI"] = uri
    if uri.split("://", 1)[0] in {"redis", "rediss"}:
        # Without timeouts an unreachable Redis host holds each log-in for the kernel's
        # connect timeout (minutes) before the in-memory fallback takes over.
        config.setdefault("RATELIMIT_STORAGE_OPTIONS",
                          {"socket_connect_timeout": 0.5, "socket_timeout": 0.5})


def harden_for_production(config: dict) -> None:
    """Secure cookie flags for anything that is neither development nor a test run."""
    config.update(
        SESSION_COOKIE_SECURE=True,
        REMEMBER_COOKIE_SECURE=True,
        PREFERRED_URL_SCHEME="https",
    )


def development_secret_key(instance_path: str) -> str:
    """The development SECRET_KEY: made once (random) and kept in `instance/dev-secret-key`
    (readable by its owner only), so every process of `make dev` signs with the same key."""
    path = Path(instance_path) / "dev-secret-key"
    if not path.exists():
        # Written aside and linked into place: two processes starting at once both end up
        # reading the one key that got there first, never a half-written file.
        fd, aside = tempfile.mkstemp(dir=instance_path, prefix=".dev-secret-key.")
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(aside, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(aside)
    return path.read_text().strip()
