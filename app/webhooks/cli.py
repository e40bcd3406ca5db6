"""`flask billing events | replay | recover | prune-events`: the event log for operators."""

import json
import time
from datetime import timedelta
from typing import Any, cast

import click
import sqlalchemy as sa
import stripe

from app.auth.models import utcnow
from app.billing import gateway
from app.billing.cli import billing, needs_stripe, parse_duration
from app.extensions import db
from app.ids import Count
from app.webhooks.models import StripeEvent
from app.webhooks.operations import failed_condition, failed_events, replay_events
from app.webhooks.processing import Outcome, receive
from app.webhooks.registry import handled_types

STRIPE_MAX_TYPES_PER_LIST = 20  # the `types` filter of Stripe's List Events


def _as_dict(row: StripeEvent) -> dict[str, Any]:
    return {
        "id": row.stripe_id, "type": row.type, "status": row.status, "livemode": row.livemode,
        "created": row.created.isoformat() if row.created else None,
        "received_at": row.received_at.isoformat(),
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
        "attempts": row.attempts, "last_error": row.last_error, "note": row.note,
    }


@billing.command("events")
@click.option("--failed", is_flag=True, help="Only events not processed yet (failed handling).")
@click.option("--type", "event_type", help="Only events of this type.")
@click.option("--limit", default=50, show_default=True, type=Count(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def events(failed: bool, event_type: str | None, limit: int, as_json: bool) -> None:
    """List received Stripe events, newest first."""
    query = sa.select(StripeEvent).order_by(StripeEvent.received_at.desc(), StripeEvent.id.desc())
    if failed:
        query = query.where(failed_condition())
    if event_type:
        query = query.where(StripeEvent.type == event_type)
    rows = db.session.scalars(query.limit(limit)).all()
    if as_json:
        click.echo(json.dumps([_as_dict(row) for row in rows], indent=2))
        return
    if not rows:
        click.echo("No events.")
        return
    for row in rows:
        extra = row.last_error or row.note or ""
        click.echo(f"{row.received_at:%Y-%m-%d %H:%M:%S}  {row.stripe_id}  {row.type:<40} "
                   f"{row.status:<9} attempts={row.attempts}  {extra}".rstrip())


@billing.command("replay")
@click.argument("event_ids", nargs=-1)
@click.option("--failed", is_flag=True, help="Replay every event not processed yet.")
def replay_command(event_ids: tuple[str, ...], failed: bool) -> None:
    """Handle stored events again; processed ones are left alone."""
    if bool(event_ids) == failed:
        raise click.ClickException("Give event ids or --failed (not both).")
    if failed:
        rows = failed_events()
    else:
        found = {r.stripe_id: r for r in db.session.scalars(
            sa.select(StripeEvent).where(StripeEvent.stripe_id.in_(event_ids)))}
        missing = [eid for eid in event_ids if eid not in found]
        if missing:
            raise click.ClickException(f"Unknown event id(s): {', '.join(missing)}")
        rows = [found[eid] for eid in event_ids]
    if not rows:
        click.echo("Nothing to replay.")
        return
    failures = 0
    for replayed in replay_events(rows):
        failures += replayed.failed
        # A malformed event's error already begins "malformed: …".
        said = replayed.outcome.value
        if replayed.outcome is Outcome.MALFORMED:
            said = replayed.error or said
        elif replayed.outcome is Outcome.FAILED:
            said += f": {replayed.error}"
        click.echo(f"{replayed.stripe_id} ({replayed.type}): {said}")
    if failures:
        raise click.ClickException(
            f"{failures} event(s) still failing; see `flask billing events --failed`.")


@billing.command("recover")
@click.option("--since", "since", default="3d", show_default=True,
              help="How far back to ask Stripe, e.g. 12h, 3d (Stripe keeps 30 days).")
@needs_stripe
def recover(since: str) -> None:
    """Ask Stripe for recent events and process the ones missed or failed."""
    cutoff = int(time.time() - parse_duration(since).total_seconds())
    counts = {"seen": 0, "already processed": 0, "recovered": 0, "retried": 0, "failed": 0}
    for event in _handled_events_since(cutoff):
        counts["seen"] += 1
        payload = event.to_dict(for_json=True)
        row = db.session.scalar(sa.select(StripeEvent).where(StripeEvent.stripe_id == event.id))
        if row is not None and row.processed_at is not None:
            counts["already processed"] += 1
            continue
        outcome = receive(json.dumps(payload), payload, tracebacks=False)
        if outcome in (Outcome.FAILED, Outcome.MALFORMED):
            counts["failed"] += 1
        else:
            counts["retried" if row is not None else "recovered"] += 1
        click.echo(f"{event.id} ({event.type}): {outcome.value}")
    click.echo(", ".join(f"{name}: {n}" for name, n in counts.items()))
    if counts["failed"]:
        raise click.ClickException(f"{counts['failed']} event(s) still failing.")


def _handled_events_since(cutoff: int) -> list[stripe.Event]:
    """Stripe's events of the types our endpoint subscribes to (the only ones it was ever
    sent), oldest first, so effects are applied in the order they happened."""
    types = handled_types()
    found: list[stripe.Event] = []
    for start in range(0, len(types), STRIPE_MAX_TYPES_PER_LIST):
        newest_first = gateway.iter_events(cutoff, types[start:start + STRIPE_MAX_TYPES_PER_LIST])
        found += reversed(list(newest_first))
    return sorted(found, key=lambda event: event.created)  # stable: same-second order kept


@billing.command("prune-events")
@click.option("--older-than", "older_than", required=True, help="Age, e.g. 90d.")
def prune_events(older_than: str) -> None:
    """Delete processed events received before the cutoff (failed ones are kept)."""
    age = parse_duration(older_than)
    if age < timedelta(days=1):
        raise click.ClickException("Refusing to prune events younger than a day.")
    cutoff = utcnow() - age
    # A DML statement's result is a CursorResult (the session's signature says Result).
    result = cast(sa.CursorResult[Any], db.session.execute(sa.delete(StripeEvent).where(
        StripeEvent.received_at < cutoff, StripeEvent.processed_at.is_not(None))))
    db.session.commit()
    click.echo(f"Deleted {result.rowcount} processed event(s) received before "
               f"{cutoff:%Y-%m-%d %H:%M} UTC.")
