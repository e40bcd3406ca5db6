"""Several features handle one event type, each taking the objects that are theirs."""

import pytest

from app.billing.objects import StripeId, StripeView
from app.webhooks import registry
from tests.stripe_objects import event, stripe_object
from tests.webhook_effects import count_effects, effect_user


class Session(StripeView):
    id: StripeId
    mode: str


def test_two_features_register_into_one_type_by_mode(monkeypatch):
    monkeypatch.setattr(registry, "HANDLERS", {})
    pay, sub = (lambda e: None), (lambda e: None)
    registry.add("checkout.session.completed", registry.Registration(pay, Session,
                                                                     {"mode": "payment"}))
    registry.add("checkout.session.completed", registry.Registration(sub, Session,
                                                                     {"mode": "subscription"}))
    assert registry.registration_for("checkout.session.completed",
                                     {"mode": "payment"}).handler is pay
    assert registry.registration_for("checkout.session.completed",
                                     {"mode": "subscription"}).handler is sub
    assert registry.registration_for("checkout.session.completed", {"mode": "setup"}) is None


@pytest.mark.parametrize("first,second", [({}, {"mode": "payment"}), ({"mode": "payment"}, {}),
                                          ({"mode": "payment"}, {"mode": "payment"})])
def test_two_handlers_that_could_take_one_object_are_refused(monkeypatch, first, second):
    monkeypatch.setattr(registry, "HANDLERS", {})
    registry.add("x.y", registry.Registration(lambda e: None, Session, first))
    with pytest.raises(RuntimeError, match="two handlers"):
        registry.add("x.y", registry.Registration(lambda e: None, Session, second))


@pytest.fixture
def app_config(billing_config):
    return billing_config


def test_an_object_no_feature_takes_is_stored_as_unhandled(app, post_event, monkeypatch):
    from app.extensions import db

    def record(e):
        db.session.add(effect_user(e.id))

    monkeypatch.setitem(registry.HANDLERS, "checkout.session.completed",
                        [registry.Registration(record, Session, {"mode": "payment"})])
    setup = stripe_object("checkout.session", mode="setup")
    response = post_event(event("checkout.session.completed", setup))
    assert response.json["outcome"] == "unhandled" and count_effects(app) == 0
    paid = stripe_object("checkout.session", mode="payment")
    assert post_event(event("checkout.session.completed", paid)).json["outcome"] == "processed"
    assert count_effects(app) == 1
