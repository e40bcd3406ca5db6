"""A paid Checkout Session completing its pending upgrade: the common case, in few statements.

Most `checkout.session.completed` events say what `service.apply_checkout_session` would do
without its object loading: one read finds the upgrade by its session and locks it with
its recipient (FOR UPDATE on PostgreSQL; on SQLite the event's claim already holds the
write lock), then two updates and the receipt job, in the webhook's transaction. Anything
less plain (no row by session id, another status, a gift, a referred buyer whose referral
may convert, a subscription to stop, an amount or payment that does not match, a charge
carried along) goes the whole way through `apply_checkout_session`, which stays the one
definition of what a session means; this only has to agree with it, and the tests run
both.

On PostgreSQL the plain case is first tried before any transaction (`complete_in_one`, the
registration's `at_once`): the same read, unlocked, then one autocommit statement that
locks the two rows as the handler's way does, and only if they are still as read
completes the upgrade, raises the level, queues the receipt and claims the event (three
round trips in all where the handler's way takes six).
"""

import functools
import logging
import typing
from datetime import datetime

import sqlalchemy as sa

from app.auth.models import User, utcnow
from app.extensions import db
from app.outbox.enqueue import enqueue_after, job_after, job_params, log_queued
from app.referrals.credit import was_referred
from app.upgrades import service
from app.upgrades.models import TRANSITIONS, UpgradeStatus, UserUpgrade
from app.upgrades.views import CheckoutSessionView
from app.webhooks.eventlog import claim_after
from app.webhooks.registry import Event

log = logging.getLogger("app.upgrades")
S = UpgradeStatus
_UPGRADES = typing.cast(sa.Table, UserUpgrade.__table__)
_USERS = typing.cast(sa.Table, User.__table__)


def apply_session(session: CheckoutSessionView, *, event_id: str | None = None) -> None:
    """Apply a Checkout Session from a webhook: a paid one of a pending upgrade at once,
    anything else through `service.apply_checkout_session`."""
    if not _complete_at_once(session, event_id):
        service.apply_checkout_session(session, event_id=event_id)


@functools.cache
def _find(*, lock: bool = True) -> sa.Select[typing.Any]:
    """The upgrade a session pays for, with its recipient's level; both locked, or read."""
    u, r = _UPGRADES, _USERS
    found = (sa.select(u.c.id, u.c.status, u.c.type, u.c.amount, u.c.currency,
                       u.c.purchaser_id, u.c.recipient_id, u.c.stripe_payment_intent_id,
                       r.c.level, was_referred(u.c.purchaser_id).label("referred"))
             .select_from(u.join(r, r.c.id == u.c.recipient_id))
             .where(u.c.stripe_checkout_session_id == sa.bindparam("session")))
    return found.with_for_update(of=[u, r]) if lock else found


@functools.cache
def _complete(*, unchanged: sa.ScalarSelect[int] | None = None) -> sa.Update:
    """The upgrade complete, its level before kept; with `unchanged`, only the upgrade that
    sub-select names."""
    upgrade = _UPGRADES.c.id == (sa.bindparam("upgrade") if unchanged is None else unchanged)
    return (sa.update(_UPGRADES).where(upgrade)
            .values(status=S.COMPLETE, completed_at=sa.bindparam("now"),
                    updated_at=sa.bindparam("now"), level_before=sa.bindparam("before"),
                    stripe_payment_intent_id=sa.bindparam("payment"))
            .returning(_UPGRADES.c.id))


@functools.cache
def _raise(after: sa.CTE | None = None) -> sa.Update:
    """The recipient's level raised; with `after`, only if that change has a row."""
    update = sa.update(_USERS).where(_USERS.c.id == sa.bindparam("user"))
    if after is not None:
        update = update.where(sa.exists(after.select()))
    return update.values(level=sa.bindparam("target"))


def _plain(session: CheckoutSessionView) -> bool:
    """Whether the session itself can be the plain case: paid, nothing else to do."""
    paid = session.status == "complete" and session.payment_status in ("paid",
                                                                       "no_payment_required")
    return paid and session.metadata.then_stop is None and session.charge is None


def _completes(row: sa.Row[typing.Any] | None,
               session: CheckoutSessionView) -> typing.TypeGuard[sa.Row[typing.Any]]:
    """Whether the session completes its upgrade (`_find`'s row) in the plain case."""
    if row is None or row.referred or row.purchaser_id != row.recipient_id \
            or S.COMPLETE not in TRANSITIONS.get(row.status, ()):
        return False
    # Anything else the whole way refuses, or warns about, in its words.
    return session.amount_total == row.amount and session.currency is not None \
        and session.currency.lower() == row.currency.lower() \
        and row.stripe_payment_intent_id in (None, session.payment_intent_id)


def _params(row: sa.Row[typing.Any], session: CheckoutSessionView,
            now: datetime) -> dict[str, typing.Any]:
    return {"upgrade": row.id, "now": now, "before": row.level, "was": row.status,
            "payment": row.stripe_payment_intent_id or session.payment_intent_id,
            "user": row.recipient_id, "target": row.type.target, "session": session.id}


def _receipt(row: sa.Row[typing.Any], now: datetime) -> tuple[str, str, dict[str, typing.Any]]:
    return service.receipt_job(row.id, row.purchaser_id, row.type, row.amount, row.currency,
                               now, gift_to=None)


def _complete_at_once(session: CheckoutSessionView, event_id: str | None) -> bool:
    """Complete the session's upgrade if the case is plain; False (nothing done) if not."""
    if not _plain(session):
        return False
    connection = db.session.connection()
    row = connection.execute(_find(), {"session": session.id}).first()
    if not _completes(row, session):
        return False
    now, raising = utcnow(), row.level < row.type.target
    # The upgrade complete, the level raised and the receipt queued: one statement on
    # PostgreSQL (both rows are locked already).
    enqueue_after((_complete(), _raise()) if raising else _complete(), _params(row, session, now),
                  *_receipt(row, now))
    _log(row, raising, event_id)
    return True


@functools.cache
def _in_one(raising: bool) -> sa.Select[typing.Any]:
    """PostgreSQL: the upgrade and its recipient locked (as the handler's way locks them)
    and, if they are as they were read (status, level, payment), completed, the level
    raised, the receipt's job queued and the event claimed."""
    locked = _find().cte("locked")
    unchanged = sa.select(locked.c.id).where(
        locked.c.status == sa.bindparam("was"), locked.c.level == sa.bindparam("before"),
        sa.or_(locked.c.stripe_payment_intent_id.is_(None),
               locked.c.stripe_payment_intent_id == sa.bindparam("payment"))).scalar_subquery()
    completed = _complete(unchanged=unchanged).cte("completed")
    job = job_after(completed)
    claimed = claim_after(job)
    statement = (sa.select(completed.c.id, job.c.id.label("job_id"),
                           claimed.c.id.label("claimed"))
                 .select_from(completed.outerjoin(job, sa.true()).outerjoin(claimed, sa.true())))
    return statement.add_cte(_raise(after=completed).cte("raised")) if raising else statement


def complete_in_one(connection: sa.Connection, event: Event[CheckoutSessionView],
                    claim: dict[str, typing.Any]) -> bool:
    """The plain case and the event's claim in one autocommit statement on PostgreSQL (the
    registration's `at_once`), after one read; whether it claimed the event."""
    session = event.object
    if not _plain(session):
        return False
    row = connection.execute(_find(lock=False), {"session": session.id}).first()
    if not _completes(row, session):
        return False
    now, raising = utcnow(), row.level < row.type.target
    kind, key, payload = _receipt(row, now)
    found = connection.execute(_in_one(raising), {
        **_params(row, session, now), **job_params(kind, key, payload), **claim}).first()
    if found is None or found.claimed is None:
        return False  # the handler goes on; anything applied here it finds done
    log_queued(key, kind, found.job_id)
    _log(row, raising, event.id)
    return True


def _log(row: sa.Row[typing.Any], raising: bool, event_id: str | None) -> None:
    target = row.type.target
    log.info("upgrade %s: %s -> %s (event %s)", row.id, row.status.value, S.COMPLETE.value,
             event_id or "-")
    if raising:
        log.info("upgrade %s: user %s level %s -> %s", row.id, row.recipient_id,
                 row.level.value, target.value)
    else:
        log.warning("upgrade %s: complete, but user %s is already %s; level unchanged. "
                    "Consider `flask billing refund-upgrade %s`.", row.id, row.recipient_id,
                    row.level.value, row.id)
