"""test_helpers.test_clock."""
from ..store import new_id

# Stripe's published example deletes a clock seven days after creating it.
LIFETIME = 7 * 86400


def test_clock(now, frozen_time, name=None):
    return {
        "id": new_id("clock"), "object": "test_helpers.test_clock", "created": now,
        "deletes_after": now + LIFETIME, "frozen_time": frozen_time, "livemode": False,
        "name": name, "status": "ready", "status_details": {},
    }
