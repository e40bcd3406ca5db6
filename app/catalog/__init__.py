"""What we sell, defined once. Each item is identified at Stripe by its price lookup_key."""

from dataclasses import dataclass
from enum import StrEnum

from flask import current_app


class Kind(StrEnum):
    ONE_TIME = "one_time"
    RECURRING = "recurring"


@dataclass(frozen=True)
class Item:
    key: str
    name: str
    description: str
    kind: Kind
    interval: str | None = None  # "month" / "year" for recurring prices

    @property
    def lookup_key(self) -> str:
        return self.key


@dataclass(frozen=True)
class Offer:
    """An item with the amount and currency it sells for."""

    item: Item
    amount: int  # minor units
    currency: str

    @property
    def key(self) -> str:
        return self.item.key


ITEMS: tuple[Item, ...] = (
    Item("premium_monthly", "Premium (monthly)", "Premium access, billed every month.",
         Kind.RECURRING, "month"),
    Item("premium_annual", "Premium (annual)",
         "Premium access, billed every year, with a 14-day free trial.", Kind.RECURRING, "year"),
    Item("gold", "Gold upgrade", "One-time upgrade to the Gold level.", Kind.ONE_TIME),
    Item("platinum", "Platinum upgrade", "One-time upgrade to the Platinum level.",
         Kind.ONE_TIME),
    Item("gold_to_platinum", "Gold to Platinum upgrade",
         "One-time upgrade from Gold to Platinum.", Kind.ONE_TIME),
)

_BY_KEY = {item.key: item for item in ITEMS}


def item(key: str) -> Item:
    return _BY_KEY[key]


def offer(key: str) -> Offer:
    """The configured amount and currency of one catalog item."""
    config = current_app.config
    return Offer(_BY_KEY[key], config["CATALOG_AMOUNTS"][key], config["BILLING_CURRENCY"])


def offers() -> list[Offer]:
    return [offer(item.key) for item in ITEMS]
