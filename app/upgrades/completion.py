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
"""

import functools
import logging
import typing

import sqlalchemy as sa

from app.auth.models import User, utcnow
from app.extensions import db
from app.outbox.enqueue import enqueue_after
from app.referrals.credit import was_referred
from app.upgrades import service
from app.upgrades.models import TRANSITIONS, UpgradeStatus, UserUpgrade
from app.upgrades.views import CheckoutSessionView

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
def _find() -> sa.Select[typing.Any]:
    u, r = _UPGRADES, _USERS
    return (sa.select(u.c.id, u.c.status, u.c.type, u.c.amount, u.c.currency,
                      u.c.purchaser_id, u.c.recipient_id, u.c.stripe_payment_intent_id,
                      r.c.level, was_referred(u.c.purchaser_id).label("referred"))
            .select_from(u.join(r, r.c.id == u.c.recipient_id))
            .where(u.c.stripe_checkout_session_id == sa.bindparam("session"))
            .with_for_update(of=[u, r]))


@functools.cache
def _complete() -> sa.Update:
    return (sa.update(_UPGRADES).where(_UPGRADES.c.id == sa.bindparam("upgrade"))
            .values(status=S.COMPLETE, completed_at=sa.bindparam("now"),
                    updated_at=sa.bindparam("now"), level_before=sa.bindparam("before"),
                    stripe_payment_intent_id=sa.bindparam("payment"))
            .returning(_UPGRADES.c.id))


@functools.cache
def _raise() -> sa.Update:
    return (sa.update(_USERS).where(_USERS.c.id == sa.bindparam("user"))
            .values(level=sa.bindparam("target")))


def _complete_at_once(session: CheckoutSessionView, event_id: str | None) -> bool:
    """Complete the session's upgrade if the case is plain; False (nothing done) if not."""
    paid = session.status == "complete" and session.payment_status in ("paid",
                                                                       "no_payment_required")
    if not paid or session.metadata.then_stop is not None or session.charge is not None:
        return False
    connection = db.session.connection()
    row = connection.execute(_find(), {"session": session.id}).first()
    if row is None or row.referred or row.purchaser_id != row.recipient_id \
            or S.COMPLETE not in TRANSITIONS.get(row.status, ()):
        return False
    payment = session.payment_intent_id
    if session.amount_total != row.amount or session.currency is None \
            or session.currency.lower() != row.currency.lower() \
            or row.stripe_payment_intent_id not in (None, payment):
        return False  # the whole way refuses it, or warns, in its words
    now, target = utcnow(), row.type.target
    raising = row.level < target
    # The upgrade complete, the level raised and the receipt queued: one statement on
    # PostgreSQL (both rows are locked already).
    enqueue_after((_complete(), _raise()) if raising else _complete(), {
        "upgrade": row.id, "now": now, "before": row.level,
        "payment": row.stripe_payment_intent_id or payment, "user": row.recipient_id,
        "target": target}, *service.receipt_job(row.id, row.purchaser_id, row.type, row.amount,
                                                row.currency, now, gift_to=None))
    log.info("upgrade %s: %s -> %s (event %s)", row.id, row.status.value, S.COMPLETE.value,
             event_id or "-")
    if raising:
        log.info("upgrade %s: user %s level %s -> %s", row.id, row.recipient_id,
                 row.level.value, target.value)
    else:
        log.warning("upgrade %s: complete, but user %s is already %s; level unchanged. "
                    "Consider `flask billing refund-upgrade %s`.", row.id, row.recipient_id,
                    row.level.value, row.id)
    return True
