"""The Stripe objects the subscription handlers and services read, as strict typed views."""

from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.billing.objects import (
    Amount,
    Currency,
    DbId,
    ExpandableId,
    StripeId,
    StripeView,
    Timestamp,
)

KIND = "subscription"  # metadata "kind" on what we create at Stripe for a subscription


def _days(value: object) -> int:
    # Metadata values are strings: "45", never 45 or "45.0".
    if not (isinstance(value, str) and value.isascii() and value.isdigit()
            and len(value) <= 5):
        raise PydanticCustomError("days", "is not a whole number of days")
    return int(value)


class SubscriptionMetadata(StripeView):
    kind: str | None = None
    user_id: DbId | None = None
    credit_days: Annotated[int, BeforeValidator(_days)] | None = None  # referral credit


class Recurring(StripeView):
    interval: str


class PriceView(StripeView):
    id: StripeId
    unit_amount: Amount | None
    currency: Currency
    recurring: Recurring | None


class ItemView(StripeView):
    id: StripeId
    price: PriceView
    # Since API version 2025-03-31 the period lives on the item, not the subscription.
    current_period_start: Timestamp
    current_period_end: Timestamp


class Items(StripeView):
    data: list[ItemView] = Field(min_length=1)


class SubscriptionView(StripeView):
    id: StripeId
    customer: ExpandableId
    status: str
    items: Items
    trial_start: Timestamp | None
    trial_end: Timestamp | None
    cancel_at_period_end: bool
    cancel_at: Timestamp | None
    canceled_at: Timestamp | None
    ended_at: Timestamp | None
    latest_invoice: ExpandableId | None
    metadata: SubscriptionMetadata

    @property
    def item(self) -> ItemView:
        return self.items.data[0]


class SubscriptionCheckoutView(StripeView):
    """A subscription-mode Checkout Session; `subscription` may come expanded."""

    id: StripeId
    status: str | None
    customer: ExpandableId | None
    subscription: SubscriptionView | StripeId | None
    metadata: SubscriptionMetadata


class SubscriptionDetails(StripeView):
    subscription: ExpandableId | None


class InvoiceParent(StripeView):
    subscription_details: SubscriptionDetails | None = None


class InvoiceView(StripeView):
    id: StripeId
    customer: ExpandableId
    amount_paid: Amount
    amount_due: Amount
    currency: Currency
    created: Timestamp
    parent: InvoiceParent | None

    @property
    def subscription_id(self) -> str | None:
        details = self.parent.subscription_details if self.parent else None
        return details.subscription if details else None
