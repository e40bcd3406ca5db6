"""The Stripe objects the subscription handlers and services read, as strict typed views."""

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.billing.objects import (
    MAX_TIMESTAMP,
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


def _timestamp(value: object) -> int:
    # A Unix time in metadata: digits only, within what a datetime can hold.
    if not (isinstance(value, str) and value.isascii() and value.isdigit()
            and len(value) <= 11 and int(value) <= MAX_TIMESTAMP):
        raise PydanticCustomError("timestamp", "is not a Unix time")
    return int(value)


def _tokens(value: object) -> tuple[str, ...]:
    # The credit changes already applied at Stripe: short tokens joined by commas.
    if not (isinstance(value, str) and len(value) <= 500):
        raise PydanticCustomError("tokens", "is not a list of credit changes")
    return tuple(token for token in value.split(",") if token)


class SubscriptionMetadata(StripeView):
    kind: str | None = None
    user_id: DbId | None = None
    credit_days: Annotated[int, BeforeValidator(_days)] | None = None  # referral credit
    # Up to when the subscription had been paid when credit moved its next charge.
    paid_until: Annotated[int, BeforeValidator(_timestamp)] | None = None
    credit_applied: Annotated[tuple[str, ...], BeforeValidator(_tokens)] = ()


class Recurring(StripeView):
    # Stripe's intervals are day, week, month and year; the app sells only these two.
    interval: Literal["month", "year"]


class PriceView(StripeView):
    id: StripeId
    unit_amount: Amount | None
    currency: Currency
    recurring: Recurring  # a subscription's price always recurs


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
