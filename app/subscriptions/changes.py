"""What a subscriber changes from settings: cancel at period end, resume, switch monthly ↔
annual, the customer portal. Each calls Stripe through the gateway and applies the
subscription Stripe returns at once, through the same verb as the webhooks."""

from dataclasses import dataclass
from datetime import timedelta

from stripe.params import SubscriptionUpdateParams
from stripe.params.billing_portal import SessionCreateParamsFlowData

from app.auth.models import utcnow
from app.billing import gateway
from app.billing.objects import StripeView, parse
from app.subscriptions.checkout import plan_for
from app.subscriptions.models import Subscription
from app.subscriptions.models import SubscriptionStatus as S
from app.subscriptions.service import apply_subscription, now_snapshot
from app.subscriptions.views import SubscriptionView

# Switching interval invoices the prorated difference at once: the subscriber pays (or is
# credited) exactly what the preview showed, today, rather than finding it on a later bill.
PRORATION = "always_invoice"


class ChangeNotAllowed(Exception):
    """The change does not apply to this subscription; `str()` says why."""


def _apply(result: object) -> Subscription | None:
    view = parse(SubscriptionView, result.to_dict(),  # type: ignore[attr-defined]
                 where="subscription")
    return apply_subscription(view, snapshot_at=now_snapshot(), authoritative=True)


def cancel_at_period_end(sub: Subscription) -> Subscription | None:
    if not sub.live or sub.cancel_at_period_end:
        raise ChangeNotAllowed("This subscription is not renewing, so there is nothing to "
                               "cancel.")
    return _apply(gateway.update_subscription(sub.stripe_subscription_id,
                                              {"cancel_at_period_end": True}))


def resume(sub: Subscription) -> Subscription | None:
    if not (sub.live and sub.cancel_at_period_end):
        raise ChangeNotAllowed("This subscription is renewing already.")
    return _apply(gateway.update_subscription(sub.stripe_subscription_id,
                                              {"cancel_at_period_end": False}))


def other_interval(sub: Subscription) -> str:
    return "monthly" if sub.interval == "year" else "annual"


class PreviewView(StripeView):
    amount_due: int
    total: int
    currency: str


@dataclass(frozen=True)
class SwitchPreview:
    to_interval: str
    # Stripe's preview: charged today; during a trial, the first invoice at the trial's end.
    amount_due: int
    total: int  # negative when the subscriber is credited
    currency: str
    proration_date: int  # the moment the preview was priced; the switch uses the same


def preview_switch(sub: Subscription) -> SwitchPreview:
    """What switching to the other interval charges or credits today (Stripe's preview)."""
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
    return SwitchPreview(target, view.amount_due, view.total, view.currency, when)


def switch(sub: Subscription, to_interval: str, proration_date: int) -> Subscription | None:
    """Move the subscription's item to the other interval's price, prorated as previewed;
    a running trial keeps its end."""
    if to_interval != other_interval(sub):
        raise ChangeNotAllowed("That is your current plan already.")
    plan = plan_for(to_interval)
    params: SubscriptionUpdateParams = {
        "items": [{"id": sub.stripe_item_id, "price": plan.price.stripe_price_id}],
        "proration_behavior": PRORATION, "proration_date": proration_date}
    if sub.trial_end is not None and sub.status.value == "trialing":
        params["trial_end"] = int(sub.trial_end.timestamp())
    return _apply(gateway.update_subscription(sub.stripe_subscription_id, params))


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



def defer_next_payment(sub: Subscription, days: int, idempotency_key: str) -> None:
    """Move the subscription's next charge `days` later (earlier when negative): referral
    credit. Stripe's `trial_end` past the date the charge was due, with no proration; the
    days are noted in the subscription's metadata (`credit_days`), so pages say "includes
    N days of referral credit" rather than "free trial". Only a subscription that will
    charge (trialing or active, renewing) moves."""
    now = utcnow()
    if sub.status not in (S.TRIALING, S.ACTIVE) or sub.cancel_at_period_end:
        return
    on_trial = sub.on_trial(now)
    due = sub.trial_end if on_trial and sub.trial_end else sub.current_period_end
    credit = (sub.credit_days if on_trial else 0) + days
    # Stripe wants a trial end in the future; an hour keeps a take-back from charging at once.
    new_end = max(due + timedelta(days=days), now + timedelta(hours=1))
    params: SubscriptionUpdateParams = {
        "trial_end": int(new_end.timestamp()), "proration_behavior": "none",
        "metadata": {"credit_days": str(max(credit, 0))}}
    _apply(gateway.update_subscription(sub.stripe_subscription_id, params,
                                       idempotency_key=idempotency_key))
