"""Personal data never reaches the event log.

Stripe's events carry what Stripe keeps about people: a customer's name, email, phone and
address (`customer.updated`, and the old values in its `previous_attributes`), a card's
`billing_details`, a Checkout Session's `customer_details`, an invoice's `customer_*`, a tax
ID's value. We keep none of that (PRODUCT.md section 6), so the stored copy of an event has
every such text value replaced by null, wherever it sits; a country or state alone is kept
(it names no one). No handler reads these fields (the views in app/*/views.py declare
every field read), so a stored event replays exactly as it was handled.

It works on the signed text, not the parsed object: a key in JSON text is always a
quoted string outside any other string (quotes inside strings are escaped), so the
pattern cannot match inside a value, and the rest of the body stays byte for byte as
Stripe signed it. An event with nothing personal filled in is stored unchanged.
"""

import re

# Keys whose text values describe a person, wherever they appear in an event.
PERSONAL = ("name", "first_name", "last_name", "email", "phone", "line1", "line2", "city",
            "postal_code", "value", "receipt_email", "customer_name", "customer_email",
            "customer_phone")

# "key": "non-empty text"  (the text may hold escaped quotes)
_FILLED = re.compile(r'("(?:' + "|".join(PERSONAL) + r')"\s*:\s*)"(?:[^"\\]|\\.)+"')


def stored_body(body: str) -> str:
    """What the event log keeps of a signed body: the body with personal text nulled."""
    return _FILLED.sub(r"\1null", body)
