"""What a subscriber changes from settings: cancel at period end, resume, switch monthly ↔
annual, the customer portal. Each calls Stripe through the gateway and applies the
subscription Stripe returns at once, through the same verb as the webhooks."""

import math
from dataclasses import dataclass
from datetime import timedelta

from stripe.params import SubscriptionUpdateParams
from stripe.params.billing_portal import SessionCreateParamsFlowData

from app import timeline
from app.auth.locks import lock_user
from app.auth.models import User, utcnow
from app.billing import cards, gateway
from app.billing.objects import StripeView, as_datetime, parse
from app.referrals import credit
from app.referrals.credit import ChargeMoved
from app.subscriptions.checkout import plan_for
from app.subscriptions.models import ENDED, Subscription
from app.subscriptions.models import SubscriptionStatus as S
from app.subscriptions.service import apply_subscription, now_snapshot
from app.subscriptions.views import SubscriptionView

# Switching interval invoices the prorated difference at once: the subscriber pays (or is
# credited) exactly what the preview showed, today, rather than finding it on a later bill.
PRORATION = "always_invoice"


class ChangeNotAllowed(Exception):
    """The change does not apply to this subscription; `str()` says why."""


class PreviewOutOfDate(ChangeNotAllowed):
    """A switch confirmed from a preview priced in a period that has since ended (a renewal,
    a trial's or credit's end came in between): Stripe would refuse its `proration_date`,
    and the amounts it showed are no longer what a switch costs. Nothing was changed."""


def _apply(result: object) -> Subscription | None:
    view = parse(SubscriptionView, result.to_dict(),  # type: ignore[attr-defined]
                 where="subscription")
    return apply_subscription(view, snapshot_at=now_snapshot(), authoritative=True)


def _from_stripe(stripe_subscription_id: str) -> tuple[SubscriptionView, Subscription] | None:
    """The subscription as Stripe holds it now, applied to our row first: a change that
    depends on the current state is computed from this, never from a row an event in
    flight may be about to update."""
    fetched = gateway.retrieve_subscription(stripe_subscription_id)
    if fetched is None:
        return None
    view = parse(SubscriptionView, fetched.to_dict(), where=f"subscription {fetched.id}")
    row = apply_subscription(view, snapshot_at=now_snapshot(), authoritative=True)
    return (view, row) if row is not None else None


def _current(sub: Subscription) -> Subscription:
    """The subscription as Stripe holds it now (under the user's lock), applied to our row:
    what a change may do is decided from that, not from a row an event may be changing."""
    lock_user(sub.user_id)
    found = _from_stripe(sub.stripe_subscription_id)
    if found is None:
        raise ChangeNotAllowed("This subscription is no longer at our payment provider.")
    return found[1]


def cancel_at_period_end(sub: Subscription) -> Subscription | None:
    sub = _current(sub)
    if not sub.live or sub.cancel_at_period_end:
        raise ChangeNotAllowed("This subscription is not renewing, so there is nothing to "
                               "cancel.")
    return _apply(gateway.update_subscription(sub.stripe_subscription_id,
                                              {"cancel_at_period_end": True}))


def cancel_now(sub: Subscription) -> Subscription | None:
    """End the subscription at once, without a final invoice or proration (an operator's
    verb). Decided on the subscription as Stripe holds it now, under the user's lock; the
    key names the subscription, as it can end only once."""
    sub = _current(sub)
    if sub.status in ENDED:
        raise ChangeNotAllowed("This subscription has ended already, so there is nothing to "
                               "cancel.")
    return _apply(gateway.cancel_subscription(sub.stripe_subscription_id,
                                              idempotency_key=f"cancel-now-"
                                                              f"{sub.stripe_subscription_id}"))


def resume(sub: Subscription) -> Subscription | None:
    sub = _current(sub)
    if not (sub.live and sub.cancel_at_period_end):
        raise ChangeNotAllowed("This subscription is renewing already.")
    resumed = _apply(gateway.update_subscription(sub.stripe_subscription_id,
                                                 {"cancel_at_period_end": False}))
    if resumed is not None:
        _wait_for_held_credit(resumed)
    return resumed


def _wait_for_held_credit(row: Subscription) -> None:
    """Credit granted while the subscription was not renewing did not move its charge: a
    resumed subscription is first charged when the credit held runs out, as one started
    while holding credit is (no one pays for a day they hold as credit)."""
    user = row.user
    due = row.access_until
    if user.credit_until is None or user.credit_until <= due:
        return
    days = math.ceil((user.credit_until - due) / timedelta(days=1))
    token = credit.token_for(f"resume-{row.stripe_subscription_id}-"
                             f"{int(user.credit_until.timestamp())}")
    move_charge_for_credit(user, days, token)


def other_interval(sub: Subscription) -> str:
    return "monthly" if sub.interval == "year" else "annual"


class PreviewView(StripeView):
    amount_due: int
    total: int
    currency: str


@dataclass(frozen=True)
class SwitchPreview:
    sub: Subscription  # as Stripe held it when the preview was priced
    to_interval: str
    # Stripe's preview: charged today; during a trial, the first invoice at the trial's end.
    amount_due: int
    total: int  # negative when the subscriber is credited
    currency: str
    proration_date: int  # the moment the preview was priced; the switch uses the same


def preview_switch(sub: Subscription) -> SwitchPreview:
    """What switching to the other interval charges or credits today (Stripe's preview),
    priced on the subscription as Stripe holds it now: a row a renewal's event has not
    reached yet would describe the wrong period."""
    sub = _current(sub)
    if not sub.live or sub.status.value == "past_due":
        raise ChangeNotAllowed("Plans can be switched on an active or trialing subscription.")
    target = other_interval(sub)
    plan = plan_for(target)
    when = int(now_snapshot().timestamp())
    preview = gateway.preview_invoice({
        "customer": sub.stripe_customer_id, "subscription": sub.stripe_subscription_id,
        "subscription_details": {
            "items": [{"id": sub.stripe_item_id, "price": plan.price.stripe_price_id}],
            "proration_behavior": PRORATION, "proration_date": when}})
    view = parse(PreviewView, preview.to_dict(), where="invoice preview")
    return SwitchPreview(sub, target, view.amount_due, view.total, view.currency, when)


def switch(sub: Subscription, to_interval: str, proration_date: int) -> Subscription | None:
    """Move the subscription's item to the other interval's price, prorated as previewed;
    a running trial keeps its end."""
    plan = plan_for(to_interval)
    row = _current(sub)
    if row.status not in (S.TRIALING, S.ACTIVE):
        raise ChangeNotAllowed("Plans can be switched on an active or trialing subscription.")
    if other_interval(row) != to_interval:
        raise ChangeNotAllowed("That is your current plan already.")
    if not (int(row.current_period_start.timestamp()) <= proration_date
            <= int(row.current_period_end.timestamp())):
        raise PreviewOutOfDate("This preview was out of date: a new billing period has "
                               "started since it was made. Here is a fresh one; nothing "
                               "was charged.")
    params: SubscriptionUpdateParams = {
        "items": [{"id": row.stripe_item_id, "price": plan.price.stripe_price_id}],
        "proration_behavior": PRORATION, "proration_date": proration_date}
    if row.status is S.TRIALING and row.trial_end is not None:
        # A running trial (or credit) keeps its end, as Stripe holds it now.
        params["trial_end"] = int(row.trial_end.timestamp())
    key = f"switch-{row.stripe_subscription_id}-{plan.price.stripe_price_id}-{proration_date}"
    switched = _apply(gateway.update_subscription(row.stripe_subscription_id, params,
                                                  idempotency_key=key))
    # A switch to the cheaper plan leaves a credit on the customer's balance, which Stripe
    # takes off the next invoice: keep it now, so the next payment is stated right at once.
    cards.sync_default(row.stripe_customer_id)
    return switched


def portal_url(customer_id: str, return_url: str, flow: str | None = None) -> str:
    """A customer portal session's address (optionally straight into one flow, e.g.
    `payment_method_update` to fix a card)."""
    flow_data: SessionCreateParamsFlowData | None = None
    if flow is not None:
        # `flow` is one of Stripe's flow types; Stripe refuses any other.
        flow_data = {"type": flow,
                     "after_completion": {"type": "redirect",
                                          "redirect": {"return_url": return_url}}}
    session = gateway.create_portal_session(customer_id, return_url, flow_data)
    return str(session.url)



# Stripe wants a trial end in the future; an hour keeps a take-back from charging at once.
SOONEST = timedelta(hours=1)
# How many applied credit changes a subscription remembers (tokens of 12 characters, within
# Stripe's 500-character metadata value).
REMEMBERED = 20


@credit.on_credit
def move_charge_for_credit(user: User, days: int, token: str) -> ChargeMoved | None:
    """Move the subscriber's next charge `days` later (earlier when negative): referral
    credit. At Stripe, `trial_end` past the date the charge was due, with no proration;
    the metadata says how many days are credit (`credit_days`), up to when the
    subscription had been paid (`paid_until`), and which changes were made
    (`credit_applied`), so a retried transaction never moves the charge twice. Only a
    subscription that will charge (trialing or active, renewing) moves. The caller holds
    the user's lock."""
    local = timeline.current_subscription(user.id)
    if local is None:
        return None
    found = _from_stripe(local.stripe_subscription_id)
    if found is None:
        return None
    view, row = found
    if view.status not in (S.TRIALING.value, S.ACTIVE.value) or view.cancel_at_period_end:
        return None
    applied = view.metadata.credit_applied
    if token in applied:  # made already, by an attempt whose transaction rolled back
        return ChargeMoved(view.id, row.access_until)
    now = utcnow()
    on_trial = view.status == S.TRIALING.value and view.trial_end is not None \
        and as_datetime(view.trial_end) > now
    due = as_datetime(view.trial_end) if on_trial and view.trial_end is not None \
        else as_datetime(view.item.current_period_end)
    credit_days = max((view.metadata.credit_days or 0 if on_trial else 0) + days, 0)
    paid_until = view.metadata.paid_until if on_trial else view.item.current_period_end
    target = max(due + timedelta(days=days), now + SOONEST)
    metadata = {"credit_days": str(credit_days),
                "credit_applied": ",".join((*applied, token)[-REMEMBERED:])}
    if view.status == S.ACTIVE.value or paid_until is not None:
        metadata["paid_until"] = str(paid_until)
    params: SubscriptionUpdateParams = {
        "trial_end": int(target.timestamp()), "proration_behavior": "none",
        "metadata": metadata}
    # The key names the target: a replay of this change is safe, another change is new.
    moved = _apply(gateway.update_subscription(
        view.id, params, idempotency_key=f"credit-{view.id}-{token}-{int(target.timestamp())}"))
    return ChargeMoved(view.id, moved.access_until if moved is not None else target)
