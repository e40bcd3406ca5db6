"""`flask billing subscriptions | sync-subscription | cancel-subscription`: subscriptions for
operators."""

import json
import re
from typing import Any

import click
import sqlalchemy as sa

from app.auth.models import User
from app.billing.cli import billing, needs_stripe
from app.extensions import db
from app.ids import Count
from app.money import format_money
from app.subscriptions import changes, service
from app.subscriptions.models import CancellationWaiver, Subscription, SubscriptionStatus
from app.timeline import current_subscription, state_of

_STRIPE_ID = re.compile(r"sub_[A-Za-z0-9_]{1,250}")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def as_dict(sub: Subscription) -> dict[str, Any]:
    """A subscription for scripts: Stripe's `stripe_status` beside the app's `status` (a
    paid subscription whose next charge waits for credit is "active", not "trialing")."""
    return {
        "id": sub.stripe_subscription_id, "user_id": sub.user_id, "status": state_of(sub),
        "stripe_status": sub.status.value, "credit_days": sub.credit_days,
        "paid_until": _iso(sub.paid_until),
        "interval": sub.interval, "amount": sub.amount, "currency": sub.currency,
        "trial_end": _iso(sub.trial_end), "current_period_end": _iso(sub.current_period_end),
        "cancel_at_period_end": sub.cancel_at_period_end, "canceled_at": _iso(sub.canceled_at),
        "ended_at": _iso(sub.ended_at), "payment_failed_at": _iso(sub.payment_failed_at),
    }


def summary_for(user: User) -> dict[str, Any]:
    """The subscription part of `flask users show`: the current one, history, waivers."""
    rows = db.session.scalars(sa.select(Subscription).where(Subscription.user_id == user.id)
                              .order_by(Subscription.created_at, Subscription.id)).all()
    current = current_subscription(user.id)
    waivers = db.session.scalars(sa.select(CancellationWaiver)
                                 .where(CancellationWaiver.user_id == user.id)
                                 .order_by(CancellationWaiver.id)).all()
    return {
        "subscription": as_dict(current) if current is not None else None,
        "past_subscriptions": [as_dict(r) for r in rows if r is not current],
        "waivers": [{"agreed_at": w.agreed_at.isoformat(), "wording_version": w.wording_version,
                     "price": w.stripe_price_id, "amount": w.amount, "currency": w.currency}
                    for w in waivers],
    }


@billing.command("subscriptions")
@click.option("--status", type=click.Choice([s.value for s in SubscriptionStatus]),
              help="Only subscriptions in this Stripe status.")
@click.option("--limit", default=100, show_default=True, type=Count(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def subscriptions(status: str | None, limit: int, as_json: bool) -> None:
    """List local subscriptions, newest first."""
    query = sa.select(Subscription, User.email).join(User).order_by(
        Subscription.created_at.desc(), Subscription.id.desc()).limit(limit)
    if status:
        query = query.where(Subscription.status == SubscriptionStatus(status))
    rows = db.session.execute(query).all()
    if as_json:
        click.echo(json.dumps([{**as_dict(sub), "email": email} for sub, email in rows],
                              indent=2))
        return
    if not rows:
        click.echo("No subscriptions.")
        return
    for sub, email in rows:
        state = state_of(sub)
        if sub.live and not sub.cancel_at_period_end:
            when = f"next charge {sub.access_until:%Y-%m-%d}"
            if state != "trialing" and sub.status is SubscriptionStatus.TRIALING \
                    and sub.credit_days:
                when += f" (moved {sub.credit_days} days by credit)"
        else:
            when = f"ends {sub.access_until:%Y-%m-%d}"
        click.echo(f"{sub.stripe_subscription_id}  {email:<30} {state:<10} "
                   f"{sub.interval:<5} {format_money(sub.amount, sub.currency)}  {when}")


@billing.command("sync-subscription")
@click.argument("subscription_id")
@needs_stripe
def sync_subscription(subscription_id: str) -> None:
    """Fetch one subscription from Stripe and apply it here (a repair tool)."""
    if not _STRIPE_ID.fullmatch(subscription_id):
        raise click.ClickException(f"Invalid subscription id {subscription_id!r}: "
                                   "it looks like sub_…")
    row = service.refresh(subscription_id)
    if row is None:
        db.session.rollback()
        raise click.ClickException(f"Subscription {subscription_id} is not ours or not at "
                                   "Stripe; nothing was changed.")
    db.session.commit()
    click.echo(f"{subscription_id}: {row.status.value}, {row.interval}, period ends "
               f"{row.current_period_end:%Y-%m-%d} (user {row.user_id}).")


@billing.command("cancel-subscription")
@click.argument("subscription_id")
@click.option("--now", "at_once", is_flag=True,
              help="End it at once (no refund, no final invoice) instead of at period end.")
@needs_stripe
def cancel_subscription(subscription_id: str, at_once: bool) -> None:
    """Cancel a subscription at the end of its period (or at once with --now)."""
    if not _STRIPE_ID.fullmatch(subscription_id):
        raise click.ClickException(f"Invalid subscription id {subscription_id!r}: "
                                   "it looks like sub_…")
    sub = db.session.scalar(sa.select(Subscription).where(
        Subscription.stripe_subscription_id == subscription_id))
    if sub is None:
        raise click.ClickException(f"No subscription of ours is {subscription_id}.")
    try:
        row = changes.cancel_now(sub) if at_once else changes.cancel_at_period_end(sub)
    except changes.ChangeNotAllowed as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc} Nothing was changed.") from None
    db.session.commit()
    row = row or sub
    click.echo(f"{subscription_id}: {row.status.value}"
               + (", ends " + f"{row.current_period_end:%Y-%m-%d}"
                  if row.cancel_at_period_end and not at_once else "") + ".")
