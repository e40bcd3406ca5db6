"""Personal data never reaches the event log.

Stripe's events carry what Stripe keeps about people: a customer's name, email, phone and
address (`customer.updated`, and the old values in its `previous_attributes`), a card's
`billing_details`, a Checkout Session's `customer_details`, an invoice's `customer_*`, a tax
id's value. We keep none of that (PRODUCT.md section 6), so the stored copy of an event has
those values emptied (null) wherever anything is filled in. No handler reads them (the
views in app/*/views.py declare every field read), so a stored event replays exactly as it
was handled.

An event with nothing personal in it is stored as it was signed, byte for byte, and costs
one walk over the parsed object.
"""

import json
from typing import Any

# Keys whose values describe a person, wherever they appear in an event.
PERSONAL = frozenset({
    "name", "email", "phone", "address", "shipping", "billing_details", "customer_details",
    "customer_name", "customer_email", "customer_phone", "customer_address",
    "customer_shipping", "customer_tax_ids", "receipt_email", "individual",
})


def stored_body(body: str, payload: dict[str, Any]) -> str:
    """What the event log keeps of a signed body: the body itself, or, if it holds personal
    values, the same event with them emptied."""
    clean = _without_personal(payload)
    return body if clean is payload else json.dumps(clean, separators=(",", ":"))


def _without_personal(value: Any) -> Any:
    """`value` with personal values emptied; the very same object if there were none."""
    if isinstance(value, dict):
        changed: dict[str, Any] | None = None
        personal_value = value.get("object") == "tax_id"  # a tax id's value names someone
        for key, item in value.items():
            if (key in PERSONAL or (personal_value and key == "value")) and _holds_data(item):
                new: Any = None
            else:
                new = _without_personal(item)
            if new is not item:
                changed = changed if changed is not None else dict(value)
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, list):
        items = [_without_personal(item) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _holds_data(value: Any) -> bool:
    """Whether anything is filled in (an address of nulls, `{}` or `""` says nothing)."""
    if isinstance(value, dict):
        return any(_holds_data(item) for item in value.values())
    if isinstance(value, list):
        return any(_holds_data(item) for item in value)
    return value is not None and value != ""
