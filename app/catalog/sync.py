"""Make Stripe's products and prices match the catalog, and remember their ids locally.

Idempotent: a second run with nothing changed creates nothing. A changed amount creates a
new price and moves the lookup_key to it (Stripe prices are immutable), deactivating the old.
"""

from typing import cast

import stripe
from stripe.params import PriceCreateParams

from app.billing import gateway
from app.catalog import Offer, offers
from app.catalog.models import CatalogPrice, stored_price
from app.extensions import db
from app.money import format_money


def _matches(price: stripe.Price, offer: Offer) -> bool:
    interval = price.recurring.interval if price.recurring else None
    return (price.unit_amount == offer.amount and price.currency == offer.currency
            and interval == offer.item.interval and price.active)


def _price_params(offer: Offer, product_id: str) -> PriceCreateParams:
    params: PriceCreateParams = {
        "product": product_id, "unit_amount": offer.amount, "currency": offer.currency,
        "lookup_key": offer.item.lookup_key, "transfer_lookup_key": True,
        "metadata": {"catalog_key": offer.key},
    }
    if offer.item.interval:
        params["recurring"] = {"interval": offer.item.interval}
    return params


def sync_catalog() -> list[str]:
    """Bring Stripe in line with the catalog; returns one line per item. Flushes, no commit."""
    current = offers()
    at_stripe = gateway.prices_by_lookup_key([o.item.lookup_key for o in current])
    report = []
    for offer in current:
        item = offer.item
        price = at_stripe.get(item.lookup_key)
        # Listed with the product expanded: an object, not its id.
        product = cast(stripe.Product, price.product) if price is not None else None
        changes = []
        if product is None:
            product = gateway.create_product(item.name, item.description, item.key,
                                             idempotency_key=f"catalog-product-{item.key}")
            changes.append("created product")
        elif product.name != item.name or product.description != item.description:
            product = gateway.update_product(product.id, name=item.name,
                                             description=item.description)
            changes.append("updated product")
        if price is None or not _matches(price, offer):
            key = f"catalog-price-{item.key}-{offer.amount}-{offer.currency}-{item.interval}"
            price = gateway.create_price(_price_params(offer, product.id), idempotency_key=key)
            changes.append(f"created price {price.id}")
        if _remember(offer, price.id, product.id):
            changes.append("saved locally")
        amount = format_money(offer.amount, offer.currency)
        per = f" per {item.interval}" if item.interval else ""
        report.append(f"{item.key}: {', '.join(changes) or 'unchanged'} ({amount}{per})")
    db.session.flush()
    return report


def _remember(offer: Offer, price_id: str, product_id: str) -> bool:
    """Store the price's ids and amount locally; True if anything changed."""
    row = stored_price(offer.item.lookup_key) or CatalogPrice(lookup_key=offer.item.lookup_key)
    values = dict(stripe_price_id=price_id, stripe_product_id=product_id, amount=offer.amount,
                  currency=offer.currency, interval=offer.item.interval)
    if row.id is None or any(getattr(row, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(row, key, value)
        db.session.add(row)
        return True
    return False
