"""`flask billing …`: operators' commands that talk to Stripe or read the event log."""

import re
from datetime import timedelta
from functools import wraps

import click
from flask import current_app
from flask.cli import AppGroup

from app.billing.errors import BillingError
from app.extensions import db

billing = AppGroup("billing", help="Stripe catalog, webhooks and payments.")

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """'3d', '12h', '90d', '2w', '30m' → timedelta; ClickException otherwise."""
    match = _DURATION.match(text or "")
    if not match:
        raise click.ClickException(
            f"Invalid duration {text!r}: use a number and a unit, like 30m, 12h, 3d or 2w.")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def needs_stripe(command):
    """Refuse clearly when billing is disabled; turn Stripe errors into one-line failures."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        if not current_app.config["BILLING_ENABLED"]:
            raise click.ClickException(
                "Billing is disabled: STRIPE_SECRET_KEY is not set, so Stripe cannot be reached.")
        try:
            return command(*args, **kwargs)
        except BillingError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
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

    if not re.match(r"^https?://[^\s/]+", url):
        raise click.ClickException(f"Invalid URL {url!r}: give the full address, "
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
