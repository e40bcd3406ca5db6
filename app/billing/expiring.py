"""Expiring cards: a user whose default card will have expired by the next charge, with no
other card that would pay it, is told so before Stripe tries.

The e-mail follows Stripe's calendar: it goes when Stripe announces the renewal
(`invoice.upcoming`, some days before; test clocks included), once per card and expiry.
The warning on the settings pages is worked out from our rows as they render (the cards
and the timeline's next charge), never stored, so it goes as soon as a card is added.

A card is good through the last day of its expiry month: 04/2027 pays on 30 April 2027
and is declined from 1 May 2027 (UTC, as Stripe's test clocks count).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app.auth.models import User
from app.billing.cards import cards_for
from app.billing.models import BillingInfo, PaymentMethod
from app.billing.objects import (
    Amount,
    Currency,
    ExpandableId,
    StripeId,
    StripeView,
    Timestamp,
    as_datetime,
)
from app.emails.messages import iso, queue_email
from app.extensions import db
from app.timeline import Timeline, timeline_for
from app.webhooks.registry import Event, handles


class UpcomingInvoiceView(StripeView):
    """The invoice Stripe will make for the next renewal, as `invoice.upcoming` carries it."""

    id: StripeId | None = None  # an upcoming invoice has no id at Stripe (not made yet)
    customer: ExpandableId
    amount_due: Amount
    currency: Currency
    period_end: Timestamp
    next_payment_attempt: Timestamp | None

    @property
    def charged_at(self) -> datetime:
        """When Stripe will charge it: its next attempt, else the period's end."""
        return as_datetime(self.next_payment_attempt or self.period_end)


@dataclass(frozen=True)
class ExpiringCard:
    """The default card that will not pay the next charge, and when that charge comes."""

    card: PaymentMethod
    charge_at: datetime

    @property
    def last_month(self) -> str:
        """The card's last valid month: "March 2027"."""
        return f"{datetime(self.card.exp_year, self.card.exp_month, 1):%B %Y}"


def good_until(card: PaymentMethod) -> datetime:
    """The first moment the card no longer pays: the start of the month after its expiry."""
    year, month = divmod(card.exp_year * 12 + card.exp_month, 12)
    return datetime(year, month + 1, 1, tzinfo=UTC)


def would_pay(card: PaymentMethod, at: datetime) -> bool:
    return at < good_until(card)


def expiring_default(cards: Sequence[PaymentMethod], at: datetime) -> PaymentMethod | None:
    """The default card (first in `cards`) if it will have expired at `at` and no other card
    would pay then; otherwise None."""
    if not cards or would_pay(cards[0], at):
        return None
    if any(would_pay(other, at) for other in cards[1:]):
        return None  # a failed charge is retried with the user's other cards (dunning)
    return cards[0]


def expiring_card(user: User, timeline: Timeline | None = None) -> ExpiringCard | None:
    """For the settings pages: the user's default card if it will not pay their next charge
    (the billing timeline's, given when the page has it already) and no other card would.
    Reads our rows only."""
    charge = (timeline or timeline_for(user)).next_charge
    if charge is None or charge.amount <= 0:
        return None
    card = expiring_default(cards_for(user), charge.at)
    return None if card is None else ExpiringCard(card, charge.at)


def warn_of_expiring_card(invoice: UpcomingInvoiceView) -> bool:
    """Stripe announced a charge: e-mail the customer's user if their default card will
    have expired by then and no other card would pay. Once per card and expiry (a repeat
    of the announcement, or the next renewal's, sends nothing more). Returns whether an
    e-mail was queued now."""
    if invoice.amount_due <= 0:
        return False  # nothing will be charged (a credit covers it)
    user = db.session.scalar(sa.select(User).join(BillingInfo, BillingInfo.user_id == User.id)
                             .where(BillingInfo.stripe_customer_id == invoice.customer))
    if user is None:
        return False
    card = expiring_default(cards_for(user), invoice.charged_at)
    if card is None:
        return False
    return queue_email(
        "card_expiring", user.id,
        record=f"{card.stripe_payment_method_id}:{card.exp_year:04d}-{card.exp_month:02d}",
        card=card.label, expiry=card.expiry, charge_at=iso(invoice.charged_at),
        amount=invoice.amount_due, currency=invoice.currency)


@handles("invoice.upcoming", view=UpcomingInvoiceView)
def invoice_upcoming(event: Event[UpcomingInvoiceView]) -> None:
    warn_of_expiring_card(event.object)
