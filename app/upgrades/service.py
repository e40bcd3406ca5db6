"""Upgrade verbs: apply Stripe's checkout and charge state, refund, flag disputes.

Every function flushes and never commits: the route, webhook or CLI command owns the
transaction. Status moves go through `UserUpgrade.move_to`, and the recipient's level
changes only here, in the same transaction as the status change.
"""

import functools
import logging
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
import stripe

from app.auth.models import Level, User, utcnow
from app.billing import gateway
from app.billing.errors import StripeRejected
from app.billing.objects import MalformedObject, as_datetime, parse
from app.billing.views import ChargeSummary
from app.extensions import db
from app.money import format_money
from app.outbox.enqueue import enqueue
from app.referrals.credit import convert_referral, was_referred
from app.timeline import STOP_UNNEEDED_SUBSCRIPTION
from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade
from app.upgrades.purchase import KIND
from app.upgrades.views import (
    ChargeView,
    CheckoutSessionView,
    DisputeView,
    PaymentIntentView,
    UpgradeMetadata,
)
from app.webhooks.registry import RetryLater

log = logging.getLogger("app.upgrades")
S = UpgradeStatus


class UpgradeNotReady(RetryLater):
    """An event refers to a payment we have not applied yet; failing makes Stripe retry."""


# --- finding the upgrade a Stripe object belongs to ---------------------------------

M = TypeVar("M", UserUpgrade, User)


def _locked(model: type[M], *conditions: sa.ColumnElement[bool]) -> M | None:
    """The row, locked for this transaction (FOR UPDATE on PostgreSQL), freshly loaded."""
    return db.session.scalar(sa.select(model).where(*conditions).with_for_update()
                             .execution_options(populate_existing=True))


def _ours(metadata: UpgradeMetadata) -> int | None:
    """The upgrade id our metadata names, if the object is one of our upgrades'."""
    return metadata.upgrade_id if metadata.kind == KIND else None


def upgrade_for_session(session: CheckoutSessionView) -> UserUpgrade | None:
    """The upgrade a Checkout Session pays for, or None if it is not one of ours."""
    upgrade = _locked(UserUpgrade, UserUpgrade.stripe_checkout_session_id == session.id)
    if upgrade is not None:
        return upgrade
    upgrade_id = _ours(session.metadata)
    upgrade = _locked(UserUpgrade, UserUpgrade.id == upgrade_id) if upgrade_id else None
    if upgrade is None:
        log.info("checkout session %s: not an upgrade of ours, ignored", session.id)
        return None
    if upgrade.stripe_checkout_session_id not in (None, session.id):
        log.warning("checkout session %s claims upgrade %s, which belongs to session %s; "
                    "ignored", session.id, upgrade.id, upgrade.stripe_checkout_session_id)
        return None
    # Created at Stripe, but we never stored it (the request died after the call).
    upgrade.stripe_checkout_session_id = session.id
    return upgrade


@functools.cache
def _any_by_session() -> sa.Select[tuple[int]]:
    table = UserUpgrade.__table__
    return sa.select(table.c.id).where(
        table.c.stripe_checkout_session_id == sa.bindparam("session")).limit(1)


def session_may_be_ours(connection: sa.Connection, session: CheckoutSessionView) -> bool:
    """Whether a Checkout Session can be one of our upgrades': the look-up of
    `upgrade_for_session`, unlocked, on a connection of the caller's. Our metadata says so
    at once (the handler then decides, and warns about a session that is not the one
    we stored); otherwise one light read by session id."""
    if _ours(session.metadata) is not None:
        return True
    return connection.execute(_any_by_session(), {"session": session.id}).first() is not None


def _names_payment() -> sa.ColumnElement[bool]:
    table = UserUpgrade.__table__
    return sa.or_(table.c.stripe_payment_intent_id == sa.bindparam("pi"),
                  table.c.stripe_charge_id == sa.bindparam("charge"),
                  table.c.id == sa.bindparam("upgrade_id"))


@functools.cache
def _by_payment() -> sa.Select[tuple[int, str | None, str | None]]:
    """The ids a payment may name, locked: Core, built once. A charge of something else
    (most charges) costs this one light query and loads no object."""
    table = UserUpgrade.__table__
    return (sa.select(table.c.id, table.c.stripe_payment_intent_id, table.c.stripe_charge_id)
            .where(_names_payment()).with_for_update())


@functools.cache
def _any_by_payment() -> sa.Select[tuple[int]]:
    return sa.select(UserUpgrade.__table__.c.id).where(_names_payment()).limit(1)


def payment_may_be_ours(connection: sa.Connection, payment_intent_id: str | None,
                        charge_id: str | None, metadata: UpgradeMetadata | None) -> bool:
    """Whether a payment can belong to one of our upgrades: the look-up of
    `upgrade_for_payment`, unlocked, on a connection of the caller's (the webhook
    pipeline's autocommit one: no transaction for a charge of something else)."""
    upgrade_id = _ours(metadata) if metadata is not None else None
    if not (payment_intent_id or charge_id or upgrade_id):
        return False
    return connection.execute(_any_by_payment(), {
        "pi": payment_intent_id, "charge": charge_id, "upgrade_id": upgrade_id},
    ).first() is not None


def upgrade_for_payment(payment_intent_id: str | None, charge_id: str | None,
                        metadata: UpgradeMetadata | None = None) -> UserUpgrade | None:
    """The upgrade paid by a payment intent or charge (or named in metadata), in that order
    of trust; locked and freshly loaded (a NULL parameter matches nothing)."""
    upgrade_id = _ours(metadata) if metadata is not None else None
    if not (payment_intent_id or charge_id or upgrade_id):
        return None
    found = db.session.connection().execute(_by_payment(), {
        "pi": payment_intent_id, "charge": charge_id, "upgrade_id": upgrade_id}).all()
    trusted_first = (("stripe_payment_intent_id", payment_intent_id),
                     ("stripe_charge_id", charge_id), ("id", upgrade_id))
    for column, value in trusted_first:
        match = next((row.id for row in found if value and row._mapping[column] == value),
                     None)
        if match is not None:
            return db.session.get(UserUpgrade, match, populate_existing=True,
                                  with_for_update=True)
    return None


def remember_payment(upgrade: UserUpgrade, payment_intent_id: str | None,
                     charge: ChargeSummary | str | None = None, *, paid: bool = False) -> None:
    """Store the payment intent, charge id, receipt link and card once known. `paid`: the
    charge is the one that paid, replacing an earlier (declined) attempt's."""
    if payment_intent_id and upgrade.stripe_payment_intent_id is None:
        upgrade.stripe_payment_intent_id = payment_intent_id
    elif payment_intent_id and upgrade.stripe_payment_intent_id != payment_intent_id:
        log.warning("upgrade %s: payment intent %s differs from the stored %s; kept the "
                    "stored one", upgrade.id, payment_intent_id, upgrade.stripe_payment_intent_id)
    if isinstance(charge, ChargeSummary):  # a ChargeView is one too
        if paid or upgrade.stripe_charge_id is None:
            upgrade.stripe_charge_id = charge.id
        upgrade.receipt_url = charge.receipt_url or upgrade.receipt_url
        if charge.card is not None and charge.id == upgrade.stripe_charge_id:
            # Kept for the receipt, which never asks Stripe.
            upgrade.card_brand, upgrade.card_last4 = charge.card.brand, charge.card.last4
    elif charge:
        upgrade.stripe_charge_id = upgrade.stripe_charge_id or charge


# --- what Stripe's objects must agree with --------------------------------------------
# Stripe never sends an upgrade's session, charge or dispute that contradicts the upgrade.
# A signed event that does is refused before it changes anything: MalformedObject keeps it
# as failed with the reason and answers 2xx, since no retry of the same bytes can succeed.

def _check_session(upgrade: UserUpgrade, session: CheckoutSessionView) -> None:
    """An upgrade's Checkout Session charges the upgrade's amount in its currency."""
    same_currency = _same_currency(session.currency, upgrade.currency)
    if session.amount_total != upgrade.amount or not same_currency:
        raise MalformedObject(
            f"checkout session {session.id} charges {session.amount_total} "
            f"{session.currency}, but upgrade {upgrade.id} costs {upgrade.amount} "
            f"{upgrade.currency}")


def _same_currency(theirs: str | None, ours: str) -> bool:
    return theirs is not None and theirs.lower() == ours.lower()  # ISO codes ignore case


def _paid_by(upgrade: UserUpgrade, payment_intent: str | None, charge_id: str) -> bool:
    """Whether a charge can be the one that paid the upgrade, as far as we know its payment."""
    known_intent, known_charge = upgrade.stripe_payment_intent_id, upgrade.stripe_charge_id
    if known_intent and payment_intent:
        # A payment intent succeeds once, so its charge (refunded or disputed) is the one
        # that paid, even when we stored an earlier declined attempt's.
        return payment_intent == known_intent
    if known_intent or known_charge:
        return charge_id == known_charge
    return True  # nothing known yet to contradict: the charge overtook the checkout events


def _check_payment(upgrade: UserUpgrade, what: str, payment_intent: str | None,
                  charge_id: str, currency: str | None = None) -> None:
    """A charge (or its refund, or dispute) of an upgrade is of the payment that paid it,
    in its currency; `what` names the object for the stored reason."""
    if currency is not None and not _same_currency(currency, upgrade.currency):
        raise MalformedObject(f"{what} is in {currency}, but upgrade {upgrade.id} was paid "
                              f"in {upgrade.currency}")
    if not _paid_by(upgrade, payment_intent, charge_id):
        raise MalformedObject(
            f"{what} (payment intent {payment_intent or 'none'}) is not the payment of "
            f"upgrade {upgrade.id} (payment intent {upgrade.stripe_payment_intent_id}, "
            f"charge {upgrade.stripe_charge_id or 'not known yet'})")


# --- applying Stripe state -----------------------------------------------------------

def apply_checkout_session(session: CheckoutSessionView, *,
                           event_id: str | None = None) -> UserUpgrade | None:
    """Apply a Checkout Session (from a webhook, or fetched from Stripe) to its upgrade."""
    upgrade = upgrade_for_session(session)
    if upgrade is None:
        return None
    _check_session(upgrade, session)
    status, payment = session.status, session.payment_status
    paid = status == "complete" and payment in ("paid", "no_payment_required")
    remember_payment(upgrade, session.payment_intent_id, session.charge, paid=paid)
    if paid and complete_upgrade(upgrade, event_id=event_id):
        _stop_unneeded_subscription(upgrade, session.metadata.then_stop)
    elif status == "complete":  # a delayed payment method: the money is on its way
        upgrade.move_to(S.PROCESSING, event_id=event_id)
    elif status == "expired" and upgrade.status is S.CANCELLED:
        log.info("upgrade %s: session %s expired, as we asked when the buyer left (event %s)",
                 upgrade.id, session.id, event_id or "-")
    elif status == "expired":
        upgrade.move_to(S.EXPIRED, event_id=event_id)
    db.session.flush()
    return upgrade


def cancel_checkout(upgrade: UserUpgrade) -> UserUpgrade | None:
    """The buyer left Checkout: expire its session at Stripe, so it can no longer be paid,
    and mark the upgrade cancelled. A session that had been paid (in another tab) or had
    expired is applied as Stripe has it instead. The upgrade is locked only after the call.
    """
    session_id = upgrade.stripe_checkout_session_id
    if session_id is None or upgrade.status is not S.PENDING:
        return upgrade
    try:
        expired = gateway.expire_checkout_session(session_id)
    except StripeRejected:  # no longer open: paid, or expired already
        return refresh_from_stripe(upgrade)
    view = _session_view(expired, upgrade.id)
    found = upgrade_for_session(view)
    if found is not None and view.status == "expired":
        found.move_to(S.CANCELLED)
        db.session.flush()
    return found


def fail_checkout_session(session: CheckoutSessionView, *,
                          event_id: str | None = None) -> UserUpgrade | None:
    """The delayed payment of a completed Checkout Session failed."""
    upgrade = upgrade_for_session(session)
    if upgrade is None:
        return None
    _check_session(upgrade, session)
    remember_payment(upgrade, session.payment_intent_id, session.charge)
    if upgrade.status is S.PENDING:
        # The failure arrived before `completed`: it proves checkout completed unpaid.
        upgrade.move_to(S.PROCESSING, event_id=event_id)
    upgrade.move_to(S.FAILED, event_id=event_id)
    db.session.flush()
    return upgrade


def _locked_user(user_id: int) -> User:
    user = _locked(User, User.id == user_id)
    assert user is not None, f"user {user_id} has an upgrade, so exists (foreign key)"
    return user


def complete_upgrade(upgrade: UserUpgrade, *, event_id: str | None = None) -> bool:
    """Mark the upgrade paid and raise the recipient to its level; True if it changed."""
    # The recipient locked, and whether the buyer was referred, in one statement.
    recipient, referred = db.session.execute(
        sa.select(User, was_referred(upgrade.purchaser_id)).where(
            User.id == upgrade.recipient_id).with_for_update(of=User)
        .execution_options(populate_existing=True)).one()
    before = recipient.level
    if not upgrade.move_to(S.COMPLETE, event_id=event_id):
        return False
    upgrade.level_before = before
    target = upgrade.type.target
    if before < target:
        recipient.level = target
        log.info("upgrade %s: user %s level %s -> %s", upgrade.id, recipient.id,
                 before.value, target.value)
    else:
        # Paid for, but something else got there first (e.g. two purchases at once).
        log.warning("upgrade %s: complete, but user %s is already %s; level unchanged. "
                    "Consider `flask billing refund-upgrade %s`.", upgrade.id, recipient.id,
                    before.value, upgrade.id)
    db.session.flush()
    if upgrade.amount > 0 and referred:  # the buyer really paid: their referral converts
        convert_referral(upgrade.purchaser_id, payment_intent=upgrade.stripe_payment_intent_id)
    _send_receipts(upgrade, recipient)
    return True


def _stop_unneeded_subscription(upgrade: UserUpgrade, subscription_id: str | None) -> None:
    """The buyer asked to stop their subscription once the upgrade is paid: it is, so the
    worker stops it at the end of its paid period (a job queued in this transaction, once
    per upgrade: no Stripe call while the upgrade's row is locked)."""
    if subscription_id is None or upgrade.is_gift or upgrade.type.target < Level.GOLD:
        return
    enqueue(STOP_UNNEEDED_SUBSCRIPTION, f"stop-unneeded-{upgrade.id}",
            {"subscription": subscription_id, "upgrade": upgrade.id})


def _send_receipts(upgrade: UserUpgrade, recipient: User) -> None:
    """The purchaser's receipt, and for a gift the recipient's news (without the amount)."""
    from app.emails.messages import queue_email

    record = f"upgrade-{upgrade.id}"
    gift_to = recipient.username if upgrade.is_gift else None
    queue_receipt(upgrade.id, upgrade.purchaser_id, upgrade.type, upgrade.amount,
                  upgrade.currency, upgrade.completed_at, gift_to=gift_to)
    if upgrade.is_gift:
        purchaser = db.session.get(User, upgrade.purchaser_id)
        queue_email("gift_received", recipient.id, record=record,
                    from_username=purchaser.username if purchaser else "a friend",
                    level=upgrade.type.target.label, upgrade_id=upgrade.id)


def queue_receipt(upgrade_id: int, purchaser_id: int, upgrade_type: UpgradeType, amount: int,
                  currency: str, paid_at: datetime | None, *, gift_to: str | None) -> None:
    """The purchaser's receipt e-mail, once per upgrade."""
    enqueue(*receipt_job(upgrade_id, purchaser_id, upgrade_type, amount, currency, paid_at,
                         gift_to=gift_to))


def receipt_job(upgrade_id: int, purchaser_id: int, upgrade_type: UpgradeType, amount: int,
                currency: str, paid_at: datetime | None, *,
                gift_to: str | None) -> tuple[str, str, dict[str, Any]]:
    """The outbox job (kind, key, payload) of `queue_receipt`."""
    from app.emails.messages import email_job, iso

    return email_job("upgrade_receipt", purchaser_id, record=f"upgrade-{upgrade_id}",
                     item=f"{upgrade_type.label} upgrade", amount=amount, currency=currency,
                     paid_at=iso(paid_at), upgrade_id=upgrade_id, gift_to=gift_to)


def level_after_refund(upgrade: UserUpgrade, recipient: User) -> Level:
    """The recipient's level once `upgrade` no longer counts."""
    current = recipient.level
    if upgrade.type.target < current:
        return current  # a later upgrade (or an operator) raised it past this one
    applied = db.session.scalars(sa.select(UserUpgrade).where(
        UserUpgrade.recipient_id == recipient.id, UserUpgrade.completed_at.is_not(None),
    ).order_by(UserUpgrade.completed_at, UserUpgrade.id)).all()
    # The level before the first upgrade ever applied, raised by those still complete.
    base = applied[0].level_before if applied else upgrade.level_before
    levels = [base] + [u.type.target for u in applied
                       if u.status is S.COMPLETE and u.id != upgrade.id]
    return min(current, max(levels, key=lambda level: level.rank), key=lambda level: level.rank)


def refund_upgrade(upgrade: UserUpgrade, *, amount_refunded: int | None = None,
                   event_id: str | None = None) -> bool:
    """Mark a complete upgrade refunded and take back its level; True if it changed."""
    upgrade.amount_refunded = max(upgrade.amount_refunded or 0,
                                  upgrade.amount if amount_refunded is None else amount_refunded)
    recipient = _locked_user(upgrade.recipient_id)
    if not upgrade.move_to(S.REFUNDED, event_id=event_id):
        db.session.flush()
        return False
    before, after = recipient.level, level_after_refund(upgrade, recipient)
    recipient.level = after
    log.info("upgrade %s: refunded; user %s level %s -> %s", upgrade.id, recipient.id,
             before.value, after.value)
    db.session.flush()
    return True


def apply_charge_refund(charge: ChargeView, *, event_id: str | None = None) -> UserUpgrade | None:
    """A charge was refunded at Stripe: a full refund refunds its upgrade."""
    upgrade = upgrade_for_payment(charge.payment_intent, charge.id, charge.metadata)
    if upgrade is None:
        log.debug("charge %s refunded: no upgrade of ours, ignored (event %s)",
                 charge.id, event_id)
        return None
    _check_payment(upgrade, f"refunded charge {charge.id}", charge.payment_intent, charge.id,
                  charge.currency)
    full = charge.refunded or (charge.amount > 0 and charge.amount_refunded >= charge.amount)
    if upgrade.status.waiting:
        # The refund overtook the checkout events. Fail so the event is retried once
        # the payment is applied, rather than lose the refund.
        raise UpgradeNotReady(f"upgrade {upgrade.id} is {upgrade.status.value}; its refund "
                              "must wait until the payment is applied")
    remember_payment(upgrade, charge.payment_intent, charge)
    if not full:
        upgrade.amount_refunded = max(upgrade.amount_refunded or 0, charge.amount_refunded)
        log.warning("upgrade %s: partial refund of charge %s (%s of %s); status and level "
                    "unchanged (event %s)", upgrade.id, charge.id,
                    format_money(charge.amount_refunded, charge.currency),
                    format_money(charge.amount, charge.currency), event_id)
        db.session.flush()
        return upgrade
    refund_upgrade(upgrade, amount_refunded=charge.amount_refunded, event_id=event_id)
    return upgrade


def record_charge(charge: ChargeView, *, event_id: str | None = None) -> UserUpgrade | None:
    """A charge succeeded: keep its id, receipt link and card on the upgrade it paid for
    (a webhook completes an upgrade without them). Changes no status."""
    upgrade = upgrade_for_payment(charge.payment_intent, charge.id, charge.metadata)
    if upgrade is None:
        log.debug("charge %s succeeded: no upgrade of ours (event %s)", charge.id, event_id)
        return None
    _check_payment(upgrade, f"charge {charge.id}", charge.payment_intent, charge.id,
                  charge.currency)
    remember_payment(upgrade, charge.payment_intent, charge, paid=True)
    db.session.flush()
    return upgrade


def _disputed_upgrade(dispute: DisputeView) -> UserUpgrade | None:
    """The upgrade a disputed payment paid for, asking Stripe when we have not stored the
    payment yet (the dispute overtook the checkout events)."""
    upgrade = upgrade_for_payment(dispute.payment_intent, dispute.charge)
    if upgrade is not None:
        return upgrade
    found: stripe.PaymentIntent | stripe.Charge | None
    if dispute.payment_intent:
        found = gateway.retrieve_payment_intent(dispute.payment_intent)
        view: type[PaymentIntentView] | type[ChargeView] = PaymentIntentView
    else:
        found, view = gateway.retrieve_charge(dispute.charge), ChargeView
    if found is None:  # Stripe knows no such payment: not one of ours
        return None
    metadata = parse(view, found.to_dict(), where=f"{found.object} {found.id}").metadata
    upgrade = upgrade_for_payment(None, None, metadata)
    if upgrade is None or upgrade.stripe_payment_intent_id not in (None, dispute.payment_intent):
        return None  # named in metadata, but paid by another payment: not this dispute's
    remember_payment(upgrade, dispute.payment_intent)
    return upgrade


def flag_dispute(dispute: DisputeView, *, event_id: str | None = None) -> UserUpgrade | None:
    """A customer disputed a charge: flag its upgrade and tell the operator."""
    upgrade = _disputed_upgrade(dispute)
    if upgrade is not None:
        _check_payment(upgrade, f"dispute {dispute.id} of charge {dispute.charge}",
                      dispute.payment_intent, dispute.charge)
    due = dispute.evidence_details.due_by
    due_text = as_datetime(due).strftime("%Y-%m-%d") if due is not None else "?"
    amount = format_money(dispute.amount, dispute.currency)
    if upgrade is None:
        log.warning("DISPUTE %s on charge %s (%s, reason %s): no upgrade of ours (event %s). "
                    "Respond in the Stripe Dashboard by %s.", dispute.id, dispute.charge,
                    amount, dispute.reason, event_id, due_text)
        return None
    upgrade.disputed_at = upgrade.disputed_at or utcnow()
    log.warning("DISPUTE %s on upgrade %s (charge %s, %s, reason %s, purchaser %s, "
                "recipient %s, event %s). Respond in the Stripe Dashboard by %s.",
                dispute.id, upgrade.id, dispute.charge, amount, dispute.reason,
                upgrade.purchaser_id, upgrade.recipient_id, event_id, due_text)
    db.session.flush()
    return upgrade


def refresh_from_stripe(upgrade: UserUpgrade) -> UserUpgrade | None:
    """Fetch the upgrade's Checkout Session from Stripe and apply it (the receipt page)."""
    if upgrade.stripe_checkout_session_id is None:
        return None  # checkout never started: nothing at Stripe to read
    session = gateway.retrieve_checkout_session(upgrade.stripe_checkout_session_id,
                                                expand=["payment_intent.latest_charge"])
    try:
        return apply_checkout_session(_session_view(session, upgrade.id))
    except MalformedObject as exc:  # contradicts the upgrade: the page says Stripe failed
        log.error("upgrade %s: %s", upgrade.id, exc)
        raise StripeRejected() from exc


def _session_view(session: stripe.checkout.Session, upgrade_id: int) -> CheckoutSessionView:
    try:
        return parse(CheckoutSessionView, session.to_dict(),
                     where=f"checkout session {session.id}")
    except MalformedObject as exc:
        log.error("upgrade %s: %s", upgrade_id, exc)
        raise StripeRejected() from exc


def summaries_for(user: User) -> list[dict[str, Any]]:
    """The user's upgrades, as purchaser or recipient, for `flask users show --json`."""
    rows = db.session.scalars(sa.select(UserUpgrade).where(sa.or_(
        UserUpgrade.purchaser_id == user.id, UserUpgrade.recipient_id == user.id,
    )).order_by(UserUpgrade.created_at, UserUpgrade.id)).all()
    return [{
        "id": u.id, "type": u.type.value, "status": u.status.value,
        "role": "purchaser" if u.purchaser_id == user.id else "recipient",
        "gift": u.is_gift, "amount": u.amount, "currency": u.currency,
        "created_at": u.created_at.isoformat(),
        "completed_at": u.completed_at.isoformat() if u.completed_at else None,
        "refunded_at": u.refunded_at.isoformat() if u.refunded_at else None,
    } for u in rows]
