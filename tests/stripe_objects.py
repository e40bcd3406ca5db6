"""Stripe objects and events for handler tests, built from Stripe's own example objects.

Payloads start from `tests/data/stripe_examples.json` (extracted from Stripe's published
fixtures by scripts/extract_stripe_examples.py) and only the fields a test cares about
are overridden, so handlers are exercised with complete, realistic shapes.
"""

import copy
import hashlib
import hmac
import itertools
import json
import time
from pathlib import Path

EXAMPLES = json.loads((Path(__file__).parent / "data/stripe_examples.json").read_text())
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test{next(_ids):06d}{int(time.time() * 1000) % 100000:05d}"


def stripe_object(object_type: str, **overrides) -> dict:
    """A full example object of `object_type` with `overrides` applied (top level)."""
    obj = copy.deepcopy(EXAMPLES[object_type])
    unknown = set(overrides) - set(obj)
    assert not unknown, f"{object_type} has no fields {unknown}"
    obj.update(overrides)
    return obj


def event(event_type: str, obj: dict, *, event_id: str | None = None,
          created: int | None = None, previous_attributes: dict | None = None,
          livemode: bool = False) -> dict:
    """An event envelope (Stripe's example event) carrying `obj`."""
    payload = copy.deepcopy(EXAMPLES["event"])
    payload.update(
        id=event_id or new_id("evt"), type=event_type, livemode=livemode,
        created=created or int(time.time()), api_version="2026-10-28.endive",
        data={"object": obj, **({"previous_attributes": previous_attributes}
                                 if previous_attributes is not None else {})},
    )
    return payload


def signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header exactly as Stripe builds it."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"
