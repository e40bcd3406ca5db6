"""Object builders. Each starts from the key set of Stripe's fixture for its type
(`../shared/stripe/fixtures3.json`, checked by tests/emulator/test_conformance.py) and
fills the values the emulator knows; the rest get Stripe's empty value for that field."""


def address(data=None):
    """Stripe's address hash, every key present."""
    keys = ("city", "country", "line1", "line2", "postal_code", "state")
    data = data or {}
    return {k: data.get(k) or None for k in keys}


def list_object(data, url, has_more=False):
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
