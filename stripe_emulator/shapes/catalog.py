"""product and price."""
from ..store import new_id


def product(now, name, **fields):
    obj = {
        "id": new_id("prod", 14), "object": "product", "active": True, "created": now,
        "default_price": None, "description": None, "images": [], "livemode": False,
        "marketing_features": [], "metadata": {}, "name": name,
        "package_dimensions": None, "shippable": None, "statement_descriptor": None,
        "tax_code": None, "unit_label": None, "updated": now, "url": None,
        "type": "service",
    }
    obj.update(fields)
    return obj


def price(now, product_id, currency, unit_amount, recurring=None, **fields):
    if recurring is not None:
        recurring = {
            "interval": recurring["interval"],
            "interval_count": recurring.get("interval_count") or 1,
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": recurring.get("trial_period_days"),
        }
    obj = {
        "id": new_id("price"), "object": "price", "active": True,
        "billing_scheme": "per_unit", "created": now, "currency": currency,
        "custom_unit_amount": None, "livemode": False, "lookup_key": None,
        "metadata": {}, "nickname": None, "product": product_id,
        "recurring": recurring, "tax_behavior": "unspecified", "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount),
    }
    obj.update(fields)
    return obj


def deleted(obj):
    return {"id": obj["id"], "object": obj["object"], "deleted": True}
