"""Products and prices as the app's catalog sync uses them."""
import pytest
import stripe

from .conftest import event_types

CATALOG = [
    ("premium_monthly", "Premium", 700, {"interval": "month"}),
    ("premium_annual", "Premium", 7000, {"interval": "year"}),
    ("gold", "Gold", 2000, None),
    ("platinum", "Platinum", 4000, None),
]


def sync(client, catalog, currency="gbp"):
    """What a catalog sync does: find prices by lookup key, create what is missing."""
    keys = [key for key, *_ in catalog]
    existing = {p.lookup_key: p for p in client.v1.prices.list(
        {"lookup_keys": keys, "active": True, "expand": ["data.product"], "limit": 100}).data}
    products = {p.name: p for p in client.v1.products.list({"limit": 100}).data}
    for key, name, amount, recurring in catalog:
        product = products.get(name) or client.v1.products.create({"name": name})
        products[name] = product
        client.v1.products.update(product.id, {"name": name, "active": True})
        price = existing.get(key)
        if price and price.unit_amount == amount and price.currency == currency:
            continue
        params = {"product": product.id, "currency": currency, "unit_amount": amount,
                  "lookup_key": key, "transfer_lookup_key": True}
        if recurring:
            params["recurring"] = recurring
        client.v1.prices.create(params)


def test_sync_twice_changes_nothing_the_second_time(stripe_client):
    sync(stripe_client, CATALOG)
    first = event_types(stripe_client, skip=())
    assert first.count("price.created") == 4 and first.count("product.created") == 3
    sync(stripe_client, CATALOG)
    assert event_types(stripe_client, skip=()) == first
    prices = stripe_client.v1.prices.list({"lookup_keys": ["premium_monthly", "gold"]})
    assert sorted(p.lookup_key for p in prices.data) == ["gold", "premium_monthly"]
    monthly = next(p for p in prices.data if p.lookup_key == "premium_monthly")
    assert monthly.recurring.interval == "month" and monthly.type == "recurring"


def test_changing_an_amount_transfers_the_lookup_key(stripe_client):
    sync(stripe_client, CATALOG)
    old = stripe_client.v1.prices.list({"lookup_keys": ["gold"]}).data[0]
    sync(stripe_client, [("gold", "Gold", 2500, None)])
    new = stripe_client.v1.prices.list({"lookup_keys": ["gold"]}).data
    assert [p.unit_amount for p in new] == [2500]
    assert stripe_client.v1.prices.retrieve(old.id).lookup_key is None
    updated = stripe_client.v1.events.list({"type": "price.updated"}).data[0]
    assert updated.data.previous_attributes["lookup_key"] == "gold"


def test_lookup_key_in_use_without_transfer_is_refused(stripe_client):
    product = stripe_client.v1.products.create({"name": "Gold"})
    params = {"product": product.id, "currency": "gbp", "unit_amount": 1, "lookup_key": "k"}
    stripe_client.v1.prices.create(params)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.prices.create(params)
    assert exc.value.param == "lookup_key"


def test_search_prices_and_products(stripe_client):
    sync(stripe_client, CATALOG)
    found = stripe_client.v1.prices.search({"query": "lookup_key:'gold'"})
    assert [p.lookup_key for p in found.data] == ["gold"]
    found = stripe_client.v1.products.search({"query": "name:'Platinum' AND active:'true'"})
    assert [p.name for p in found.data] == ["Platinum"]


def test_deactivate_price_and_filter_active(stripe_client):
    sync(stripe_client, CATALOG)
    gold = stripe_client.v1.prices.list({"lookup_keys": ["gold"]}).data[0]
    stripe_client.v1.prices.update(gold.id, {"active": False})
    active = stripe_client.v1.prices.list({"active": True, "limit": 100}).data
    assert gold.id not in [p.id for p in active]


def test_product_with_default_price_data(stripe_client):
    product = stripe_client.v1.products.create(
        {"name": "Thing", "default_price_data": {"currency": "gbp", "unit_amount": 500}})
    price = stripe_client.v1.prices.retrieve(product.default_price)
    assert price.unit_amount == 500 and price.product == product.id


def test_metadata_updates_merge_key_by_key(stripe_client):
    product = stripe_client.v1.products.create({"name": "P", "metadata": {"a": "1", "b": "2"}})
    product = stripe_client.v1.products.update(product.id, {"metadata": {"b": "", "c": "3"}})
    assert product.metadata.to_dict() == {"a": "1", "c": "3"}
    product = stripe_client.v1.products.update(product.id, {"metadata": ""})
    assert product.metadata.to_dict() == {}
