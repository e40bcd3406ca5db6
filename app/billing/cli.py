"""`flask billing …`: operators' commands that talk to Stripe or read the event log."""

import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

import click
from flask import current_app

from app.billing.errors import BillingError
from app.commands import OperatorGroup
from app.extensions import db
from app.text import control_character

billing = OperatorGroup("billing", help="Stripe catalog, webhooks and payments.")

_DURATION = re.compile(r"^\s*([0-9]+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION_DAYS = 3650  # ten years: far beyond any use, far below date arithmetic's limits

P = ParamSpec("P")
R = TypeVar("R")


def parse_duration(text: str) -> timedelta:
    """'3d', '12h', '90d', '2w', '30m' (at most ten years) → timedelta; ClickException otherwise."""
    match = _DURATION.match(text or "")
    if not match:
        raise click.ClickException(
            f"Invalid duration {text!r}: use a number and a unit, like 30m, 12h, 3d or 2w.")
    digits, unit = match.groups()
    # Not int() of a thousand digits: any number that long is over the limit anyway.
    seconds = int(digits) * _UNIT_SECONDS[unit] if len(digits.lstrip("0")) <= 12 else None
    if seconds is None or seconds > MAX_DURATION_DAYS * 86400:
        raise click.ClickException(
            f"Invalid duration {text!r}: at most {MAX_DURATION_DAYS} days (ten years).")
    return timedelta(seconds=seconds)


def check_url(url: str) -> str | None:
    """Why `url` is not a full http(s) address Stripe could post to, or None."""
    if any(char.isspace() for char in url) or control_character(url):
        return "it contains spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
    except ValueError as exc:
        return f"it cannot be parsed ({exc})"
    if parts.scheme not in ("http", "https"):
        return "it must start with https:// (or http:// for a local test)"
    if not parts.hostname:
        return "it has no host name"
    return None


def needs_stripe(command: Callable[P, R]) -> Callable[P, R]:
    """Refuse clearly when billing is disabled; turn Stripe errors into one-line failures."""
    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_app.config["BILLING_ENABLED"]:
            raise click.ClickException(
                "Billing is disabled: STRIPE_SECRET_KEY is not set, so Stripe cannot be reached.")
        try:
            return command(*args, **kwargs)
        except BillingError as exc:
            db.session.rollback()
            raise click.ClickException(exc.operator_message) from None
    return wrapper


@billing.command("sync-catalog")
@needs_stripe
def sync_catalog_command() -> None:
    """Create or update the catalog's products and prices at Stripe (idempotent)."""
    from app.catalog.sync import sync_catalog

    for line in sync_catalog():
        click.echo(line)
    db.session.commit()


@billing.command("webhook-setup")
@click.argument("url")
@click.option("--secret-only", is_flag=True, help="Print only the signing secret (for scripts).")
@needs_stripe
def webhook_setup(url: str, secret_only: bool) -> None:
    """Create the webhook endpoint at Stripe for exactly the handled event types."""
    from app.billing import gateway
    from app.webhooks.registry import handled_types

    problem = check_url(url)
    if problem:
        raise click.ClickException(f"Invalid URL {url!r}: {problem}. Give the full address, "
                                   "like https://example.com/webhooks/stripe.")
    types = handled_types()
    if not types:
        raise click.ClickException("No event handlers are registered; nothing to subscribe to.")
    endpoint = gateway.create_webhook_endpoint(url, types)
    if secret_only:
        click.echo(endpoint.secret)
        return
    click.echo(f"Created webhook endpoint {endpoint.id} for {url}")
    click.echo(f"Events ({len(types)}): {', '.join(types)}")
    click.echo(f"Signing secret: {endpoint.secret}")
    click.echo("Set STRIPE_WEBHOOK_SECRET to this secret (in .env or the environment) "
               "and restart the app.")
