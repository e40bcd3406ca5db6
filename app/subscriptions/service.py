"""Subscription verbs: apply Stripe's subscription and invoice state, whatever the order.

Every function flushes and never commits. The rule that keeps the row right under
duplicated, late and shuffled events lives in `apply_subscription`: a snapshot older than
the one the row reflects is ignored, a tie in the same second is settled by asking Stripe,
and an ended subscription is never revived.
"""

import logging
from datetime import datetime

import sqlalchemy as sa

from app import timeline
from app.auth.locks import lock_user
from app.auth.models import User, utcnow
from app.billing import gateway
from app.billing.errors import BillingError
from app.billing.models import BillingInfo
from app.billing.objects import MalformedObject, as_datetime, parse
from app.extensions import db
from app.history.views import InvoiceView
from app.referrals.credit import convert_referral, was_referred
from app.referrals.service import has_pending_referral
from app.subscriptions import dunning
from app.subscriptions.models import (
    CheckoutStatus,
    Subscription,
    SubscriptionCheckout,
    SubscriptionStatus,
)
from app.subscriptions.views import KIND, SubscriptionCheckoutView, SubscriptionView

log = logging.getLogger("app.subscriptions")
S = SubscriptionStatus


def now_snapshot() -> datetime:
    """The snapshot time of an object Stripe just returned to us: this second. Events carry
    whole seconds, so a later event in the same second ties and is settled by asking Stripe."""
    return utcnow().replace(microsecond=0)


def _locked(stripe_id: str) -> Subscription | None:
    return db.session.scalar(sa.select(Subscription)
                             .where(Subscription.stripe_subscription_id == stripe_id)
                             .with_for_update().execution_options(populate_existing=True))


def _owner(sub: SubscriptionView) -> int | None:
    """The user a Stripe subscription belongs to: by our customer, else by our metadata."""
    user_id = db.session.scalar(sa.select(BillingInfo.user_id)
                                .where(BillingInfo.stripe_customer_id == sub.customer))
    if user_id is None and sub.metadata.kind == KIND and sub.metadata.user_id:
        user_id = db.session.scalar(sa.select(User.id).where(User.id == sub.metadata.user_id))
    return user_id


def _when(timestamp: int | None) -> datetime | None:
    return as_datetime(timestamp) if timestamp is not None else None


def _copy(row: Subscription, sub: SubscriptionView, snapshot_at: datetime) -> None:
    item = sub.item
    row.status = S(sub.status)
    row.stripe_customer_id = sub.customer
    row.stripe_item_id, row.stripe_price_id = item.id, item.price.id
    row.interval = item.price.recurring.interval if item.price.recurring else "month"
    row.amount, row.currency = item.price.unit_amount or 0, item.price.currency
    row.current_period_start = as_datetime(item.current_period_start)
    row.current_period_end = as_datetime(item.current_period_end)
    row.trial_start, row.trial_end = _when(sub.trial_start), _when(sub.trial_end)
    row.credit_days = sub.metadata.credit_days or 0
    row.paid_until = _when(sub.metadata.paid_until)
    row.cancel_at_period_end, row.cancel_at = sub.cancel_at_period_end, _when(sub.cancel_at)
    row.canceled_at, row.ended_at = _when(sub.canceled_at), _when(sub.ended_at)
    row.latest_invoice_id = sub.latest_invoice
    if row.status in (S.ACTIVE, S.TRIALING):
        row.payment_failed_at = None
    row.snapshot_at = snapshot_at


def apply_subscription(sub: SubscriptionView, *, snapshot_at: datetime,
                       authoritative: bool = False,
                       event_id: str | None = None) -> Subscription | None:
    """Apply a Stripe subscription snapshot taken at `snapshot_at` (an event's `created`,
    or `now_snapshot()` for an object Stripe just returned: `authoritative`)."""
    if sub.status not in {s.value for s in S}:
        log.error("subscription %s: unknown status %r ignored (event %s)", sub.id, sub.status,
                  event_id)
        return None
    row = _locked(sub.id)
    if row is None:
        user_id = _owner(sub)
        if user_id is None:
            log.info("subscription %s: not ours (customer %s), ignored", sub.id, sub.customer)
            return None
        # The return from Checkout and the webhook may both find no row: serialise on the
        # user and look again, so the second updates the first's row instead of a duplicate.
        lock_user(user_id)
        row = _locked(sub.id)
        if row is None:
            row = Subscription(user_id=user_id, stripe_subscription_id=sub.id)
            db.session.add(row)
            _copy(row, sub, snapshot_at)
            db.session.flush()
            log.info("subscription %s: recorded for user %s, %s (event %s)", sub.id, user_id,
                     row.status.value, event_id or "-")
            _tell_the_user(row, before=None)
            return row
    if row.stripe_customer_id != sub.customer:
        # Stripe never moves a subscription to another customer: whatever says so is not
        # Stripe's subscription as we know it.
        raise MalformedObject(f"subscription {sub.id} belongs to customer "
                              f"{row.stripe_customer_id}, not {sub.customer}")
    if row.ended:
        log.info("subscription %s: already %s; %s snapshot ignored (event %s)", sub.id,
                 row.status.value, sub.status, event_id or "-")
        return row
    if snapshot_at < row.snapshot_at and not authoritative:
        log.info("subscription %s: stale snapshot from %s ignored (have %s; event %s)", sub.id,
                 snapshot_at.isoformat(), row.snapshot_at.isoformat(), event_id or "-")
        return row
    if snapshot_at == row.snapshot_at and not authoritative:
        # Two snapshots in one second: their order is unknowable, Stripe's answer is not.
        found = gateway.retrieve_subscription(sub.id)
        if found is None:
            log.warning("subscription %s: Stripe has no such subscription; snapshot ignored "
                        "(event %s)", sub.id, event_id)
            return row
        fetched = parse(SubscriptionView, found.to_dict(), where=f"subscription {sub.id}")
        return apply_subscription(fetched, snapshot_at=snapshot_at, authoritative=True,
                                  event_id=event_id)
    before = row.status
    _copy(row, sub, max(snapshot_at, row.snapshot_at))
    db.session.flush()
    log.info("subscription %s: %s -> %s (event %s)", sub.id, before.value, row.status.value,
             event_id or "-")
    if row.status is not before:
        _tell_the_user(row, before=before)
    return row


STARTED = (S.TRIALING, S.ACTIVE)
ENDING = (S.CANCELED, S.UNPAID)


def _tell_the_user(row: Subscription, *, before: SubscriptionStatus | None) -> None:
    """Queue the e-mail a change of status calls for: started (or trial started) once per
    subscription, and "access ended" when a subscription that gave access ends."""
    from app.emails.messages import iso, queue_email

    now = utcnow()
    if row.status in STARTED and before in (None, S.INCOMPLETE):
        t = timeline.timeline_with(row.user, row, now)
        charge = t.next_charge
        queue_email("subscription_started", row.user_id, record=row.stripe_subscription_id,
                    plan=row.plan_label, amount=row.amount, currency=row.currency,
                    trial=t.state == "trialing", trial_end=iso(t.trial_until),
                    credit_days=t.credit_days,
                    next_payment=iso(charge.at if charge is not None else row.access_until))
    elif row.status in ENDING and before in (*STARTED, S.PAST_DUE):
        kept = timeline.timeline_for(row.user).sources
        failed = row.payment_failed_at is not None
        queue_email("access_ended", row.user_id, record=row.stripe_subscription_id,
                    plan=row.plan_label, reason="payment_failed" if failed else "ended",
                    ended_at=iso(row.ended_at or now),
                    kept=kept[0].label if kept else None)


def refresh(stripe_subscription_id: str) -> Subscription | None:
    """Fetch a subscription from Stripe and apply it (repair tool, return from Checkout).
    The owner's lock is taken first, so an answer fetched before a change made meanwhile
    (a cancel, whose own answer is applied under the same lock) cannot overwrite it."""
    owner = db.session.scalar(sa.select(Subscription.user_id).where(
        Subscription.stripe_subscription_id == stripe_subscription_id))
    if owner is not None:
        lock_user(owner)
    fetched = gateway.retrieve_subscription(stripe_subscription_id)
    if fetched is None:
        log.warning("subscription %s: Stripe has no such subscription", stripe_subscription_id)
        return None
    view = parse(SubscriptionView, fetched.to_dict(), where=f"subscription {fetched.id}")
    return apply_subscription(view, snapshot_at=now_snapshot(), authoritative=True)


def apply_checkout_session(session: SubscriptionCheckoutView, *,
                           event_id: str | None = None) -> SubscriptionCheckout | None:
    """A subscription-mode Checkout Session completed or expired: close our checkout record
    and apply the subscription it created."""
    checkout = db.session.scalar(sa.select(SubscriptionCheckout).where(
        SubscriptionCheckout.stripe_checkout_session_id == session.id).with_for_update())
    if checkout is None:
        log.info("checkout session %s: not a subscription checkout of ours", session.id)
        return None
    if session.status == "expired" and checkout.status is CheckoutStatus.PENDING:
        checkout.status = CheckoutStatus.EXPIRED
    elif session.status == "complete":
        checkout.status = CheckoutStatus.COMPLETE
        sub = session.subscription
        if isinstance(sub, SubscriptionView):
            checkout.stripe_subscription_id = sub.id
            apply_subscription(sub, snapshot_at=now_snapshot(), authoritative=True,
                               event_id=event_id)
        elif sub is not None:
            checkout.stripe_subscription_id = sub
            refresh(sub)
    db.session.flush()
    return checkout


def _subscription_of(invoice: InvoiceView) -> Subscription | None:
    """The invoice's subscription, locked. One not known here yet (its own event is still
    on the way) is fetched from Stripe when the invoice's customer is ours, so what the
    invoice means (a conversion, a failure) never depends on which event came first."""
    return _subscription_and_referral(invoice)[0]


def _subscription_and_referral(invoice: InvoiceView) -> tuple[Subscription | None, bool]:
    """`_subscription_of`, and whether its subscriber was referred (read with the lock)."""
    sub_id = invoice.subscription_id
    if not sub_id:
        return None, False
    found = db.session.execute(
        sa.select(Subscription, was_referred(Subscription.user_id))
        .where(Subscription.stripe_subscription_id == sub_id).with_for_update(of=Subscription)
        .execution_options(populate_existing=True)).first()
    row, referred = (found[0], found[1]) if found is not None else (None, False)
    if row is None and db.session.scalar(sa.select(BillingInfo.user_id).where(
            BillingInfo.stripe_customer_id == invoice.customer)) is not None:
        row = refresh(sub_id)
        referred = row is not None  # fetched just now: let the caller look
    if row is not None and row.stripe_customer_id != invoice.customer:
        raise MalformedObject(f"invoice {invoice.id} is for customer {invoice.customer}, "
                              f"but its subscription {sub_id} is customer "
                              f"{row.stripe_customer_id}'s")
    return row, referred


def renewed(invoice: InvoiceView, user_id: int, referred: bool, *,
            event_id: str | None) -> None:
    """What follows a renewal's plain case having applied (app/subscriptions/renewal.py):
    a referral the payment converts."""
    _convert_referral(invoice, user_id, referred)
    log.info("invoice %s paid for subscription %s (event %s)", invoice.id,
             invoice.subscription_id, event_id)


def _convert_referral(invoice: InvoiceView, user_id: int, referred: bool) -> None:
    # Only a subscriber who was referred can convert a referral: no look-up for the others.
    if invoice.amount_paid > 0 and referred and has_pending_referral(user_id):
        # A real payment (a trial's £0 invoice is not): the subscriber's referral converts,
        # remembering the payment whose full refund would take the credit back.
        convert_referral(user_id, payment_intent=gateway.invoice_payment_intent(invoice.id))


def record_invoice_paid(invoice: InvoiceView, *, event_id: str | None = None) -> bool:
    """A subscription invoice was paid: any failure streak is over. Whether it was one
    (the account is back in good standing)."""
    row, referred = _subscription_and_referral(invoice)
    if row is None:
        log.info("invoice %s paid: no subscription of ours (event %s)", invoice.id, event_id)
        return False
    row.latest_invoice_id = invoice.id
    # The failing invoice itself, paid at last (or a later one); an older one paid late
    # says nothing about the current streak.
    recovered = row.payment_failed_at is not None and as_datetime(invoice.created) >= \
        row.payment_failed_at
    if recovered:
        row.payment_failed_at = None
        if row.status in (S.PAST_DUE, S.UNPAID):
            # Paying the open invoice makes Stripe's subscription active; its own event
            # says so too, and may come before or after this one.
            row.status = S.ACTIVE
    db.session.flush()
    _convert_referral(invoice, row.user_id, referred)
    log.info("invoice %s paid for subscription %s (event %s)", invoice.id,
             row.stripe_subscription_id, event_id)
    return recovered


def _past_due(row: Subscription, invoice: InvoiceView, at: datetime) -> datetime | None:
    """An attempt to pay the row's invoice failed at `at`: past due unless a newer
    snapshot says otherwise; the grace period's end while past due, else None."""
    # The streak is dated by its invoice.
    row.payment_failed_at = row.payment_failed_at or as_datetime(invoice.created)
    # Whether the row's snapshot is older than the failure is decided by the failed
    # attempt's time, not the invoice's: at Stripe a renewal's invoice is created at the
    # rollover and charged about an hour later, so the rollover's snapshot is older than
    # the failure although the invoice is not.
    if row.status in (S.ACTIVE, S.TRIALING) and at >= row.snapshot_at:
        row.status = S.PAST_DUE
    db.session.flush()
    grace_ends = row.grace_ends(timeline.grace_period())
    return grace_ends if row.status is S.PAST_DUE else None


def record_payment_failed(invoice: InvoiceView, *, at: datetime,
                          event_id: str | None = None, needs_action: bool = False) -> None:
    """A subscription invoice's payment failed at `at` (the event's time): past due, and
    the grace period starts. `needs_action`: it waits for the customer to confirm it
    (3-D Secure), whose own e-mail says so instead of "payment failed"."""
    row = _subscription_of(invoice)
    if row is None:
        log.info("invoice %s failed: no subscription of ours (event %s)", invoice.id, event_id)
        return
    failed_at = as_datetime(invoice.created)
    grace_ends = _past_due(row, invoice, at)
    if grace_ends is not None:
        dunning.payment_failed(row, invoice_id=invoice.id, amount=invoice.amount_due,
                               currency=invoice.currency, failed_at=failed_at,
                               grace_ends=grace_ends, tell=not needs_action)
    log.warning("invoice %s: payment failed for subscription %s (user %s); grace until %s "
                "(event %s)", invoice.id, row.stripe_subscription_id, row.user_id,
                row.grace_ends(timeline.grace_period()), event_id)


def invoice_needs_action(invoice: InvoiceView) -> bool:
    """Whether an open subscription invoice of ours waits for the customer to confirm its
    payment (asked of Stripe: `invoice.payment_failed` does not say, and
    `invoice.payment_action_required` may come after it). False when Stripe cannot say."""
    if invoice.status != "open" or _subscription_of(invoice) is None:
        return False
    try:
        return gateway.invoice_needs_action(invoice.id)
    except BillingError as exc:
        log.warning("invoice %s: could not ask Stripe whether it needs action: %s",
                    invoice.id, exc)
        return False


def record_payment_action_required(invoice: InvoiceView, *, at: datetime,
                                   event_id: str | None = None) -> None:
    """A renewal's payment waits for the customer to confirm it (3-D Secure, off-session):
    past due with the grace period, as for a failure, and one e-mail with the link to
    Stripe's hosted invoice page. A first invoice is confirmed at Checkout, where the
    customer is: nothing to do."""
    row = _subscription_of(invoice)
    if row is None or invoice.billing_reason == "subscription_create":
        return
    grace_ends = _past_due(row, invoice, at)
    if grace_ends is not None:
        dunning.payment_action_required(
            row, invoice_id=invoice.id, amount=invoice.amount_due, currency=invoice.currency,
            confirm_url=invoice.hosted_invoice_url, grace_ends=grace_ends)
    log.warning("invoice %s: payment of subscription %s (user %s) needs the customer to "
                "confirm it (event %s)", invoice.id, row.stripe_subscription_id,
                row.user_id, event_id)


def record_trial_will_end(sub: SubscriptionView, *, at: datetime,
                          event_id: str | None = None) -> None:
    row = _locked(sub.id)
    if row is None:
        return
    row.trial_will_end_at = row.trial_will_end_at or at
    db.session.flush()
    # The event's own snapshot says what the reminder is about (events come in any order);
    # one replayed after the trial, or about a trial cancelled since, says nothing true.
    trial_end = _when(sub.trial_end)
    if sub.status == S.TRIALING.value and trial_end is not None and utcnow() < trial_end \
            and not (sub.cancel_at_period_end or row.cancel_at_period_end or row.ended):
        from app.emails.messages import iso, queue_email

        queue_email("trial_ending", row.user_id,
                    record=f"{row.stripe_subscription_id}:{sub.trial_end}",
                    plan=row.plan_label, amount=row.amount, currency=row.currency,
                    trial_end=iso(trial_end), credit=bool(sub.metadata.credit_days))
    log.info("subscription %s: trial ends %s (event %s)", sub.id, sub.trial_end, event_id)


