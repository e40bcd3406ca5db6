"""The way out of past due: pay the open invoice now, with the default card (Pay now) or
with a card just added or made the default.

Decided from Stripe's current state under the user's lock: the subscription and its latest
invoice are read from Stripe first, so a payment Stripe already took (a retry, another tab)
is applied rather than tried again. The idempotency key names the invoice, the card and the
attempt (the button's page, or the card's setup), so a double submission replays one
request; Stripe never pays a paid invoice twice. The answer is applied at once through the
same verbs as the webhooks (which may come before or after), so the warning goes as soon as
Stripe says paid.
"""

import logging
from dataclasses import dataclass

from app.auth.locks import lock_user
from app.auth.models import User
from app.billing import cards, gateway
from app.billing.errors import CardDeclined
from app.billing.models import PaymentMethod
from app.billing.objects import parse
from app.history import service as history
from app.history.views import InvoiceView
from app.subscriptions.models import SubscriptionStatus
from app.subscriptions.service import apply_subscription, now_snapshot, record_invoice_paid
from app.subscriptions.views import SubscriptionView
from app.timeline import current_subscription

log = logging.getLogger("app.subscriptions")
OVERDUE = (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)


@dataclass(frozen=True)
class Outcome:
    """What happened: "paid" (`amount` in `currency`), "nothing" (nothing was overdue by
    Stripe's word), "confirm" (the bank wants the customer at `url`) or "no_card"."""

    result: str
    amount: int = 0
    currency: str = ""
    url: str | None = None


def is_overdue(user: User) -> bool:
    sub = current_subscription(user.id)
    return sub is not None and sub.status in OVERDUE


def pay_open_invoice(user: User, card: PaymentMethod | None = None, *,
                     attempt: str) -> Outcome:
    """Pay the user's overdue invoice with `card` (default: their default card). A decline
    raises CardDeclined (nothing changed here); flushes, the caller commits."""
    lock_user(user.id)
    row = current_subscription(user.id)
    if row is None or row.status not in OVERDUE:
        return Outcome("nothing")
    found = gateway.retrieve_subscription(row.stripe_subscription_id)
    if found is None:
        return Outcome("nothing")
    sub = parse(SubscriptionView, found.to_dict(), f"subscription {found.id}")
    apply_subscription(sub, snapshot_at=now_snapshot(), authoritative=True)
    invoice_id = sub.latest_invoice
    fetched = gateway.retrieve_invoice(invoice_id) if invoice_id else None
    if fetched is None:
        return Outcome("nothing")
    invoice = parse(InvoiceView, fetched.to_dict(), f"invoice {fetched.id}")
    if invoice.status != "open":
        _apply_paid(invoice)  # paid meanwhile (a retry, another tab): say so now
        return Outcome("nothing")
    card = card or next(iter(cards.cards_for(user)), None)
    if card is None:
        return Outcome("no_card")
    pm = card.stripe_payment_method_id
    try:
        paid = gateway.pay_invoice(invoice.id, pm, idempotency_key=f"pay:{invoice.id}:{pm}:"
                                                                  f"{attempt}")
    except CardDeclined:
        if gateway.invoice_needs_action(invoice.id):
            history.record_failure(invoice, at=now_snapshot(), needs_action=True)
            return Outcome("confirm", url=invoice.hosted_invoice_url)
        raise
    _apply_paid(parse(InvoiceView, paid.to_dict(), f"invoice {paid.id}"))
    if not card.is_default:
        cards.make_default(user, card)  # the card that pays is the one to charge next time
    log.info("user %s paid invoice %s now with %s", user.id, invoice.id, pm)
    return Outcome("paid", amount=paid.amount_paid, currency=paid.currency)


def _apply_paid(invoice: InvoiceView) -> None:
    """A paid invoice, applied as its webhook would be; then the subscription as Stripe
    holds it (active again)."""
    if invoice.status != "paid":
        return
    recovered = record_invoice_paid(invoice)
    history.record_paid(invoice, recovered=recovered)
    sub_id = invoice.subscription_id
    found = gateway.retrieve_subscription(sub_id) if sub_id else None
    if found is not None:
        sub = parse(SubscriptionView, found.to_dict(), f"subscription {found.id}")
        apply_subscription(sub, snapshot_at=now_snapshot(), authoritative=True)
