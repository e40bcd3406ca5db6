"""A test-only event handler with a visible, transactional effect: one row per event."""

import hashlib

import pytest
import sqlalchemy as sa

from app.auth.models import User
from app.billing.objects import StripeId, StripeView
from app.extensions import db
from app.webhooks import registry


def effect_user(event_id: str) -> User:
    """The row the test handler writes for `event_id` (a user is simply a handy table)."""
    name = "e" + hashlib.sha1(event_id.encode()).hexdigest()[:20]
    return User(email=f"{name}@effects.test", username=name, password_hash="-")


def count_effects(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User)
                                 .where(User.email.like("%@effects.test")))


class StripeObject(StripeView):
    """Any Stripe object: the test handler reads only its id."""

    id: StripeId


class Recorder:
    """Handler that records one effect per call; can be told to fail or to dawdle."""

    def __init__(self):
        self.fail_with: Exception | None = None
        self.delay = 0.0

    def __call__(self, event: registry.Event[StripeObject]) -> None:
        import time

        db.session.add(effect_user(event.id))
        db.session.flush()
        if self.delay:
            time.sleep(self.delay)
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
def recorder(monkeypatch):
    """Register a Recorder for customer.updated (and the catalog's product/price events)."""
    handler = Recorder()
    for event_type in ("customer.updated", "product.created", "price.created"):
        monkeypatch.setitem(registry.HANDLERS, event_type,
                            [registry.Registration(handler, StripeObject)])
    return handler
