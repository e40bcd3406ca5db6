"""Property-based tests of the webhook endpoint (Hypothesis).

Under a valid signature: arbitrary JSON, and mutations of every handled type's real example
object, never get a 5xx other than the declared retryable case, and never change users or
upgrades unless the event is well-formed. A mutation that gives a field the handler reads
another JSON type must be refused as malformed: that part of the oracle knows the fields
each handler reads, independently of the views that implement it.
"""

import copy
import json
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import handlers  # noqa: F401  (registers every handler, as create_app does)
from app.auth.models import User
from app.billing import gateway
from app.billing.customers import customer_for
from app.billing.models import PaymentMethod
from app.extensions import db
from app.upgrades.models import UserUpgrade
from app.webhooks.models import StripeEvent
from app.webhooks.registry import handled_types
from tests.conftest import WEBHOOK_SECRET
from tests.stripe_objects import event, signature_header, stripe_object
from tests.subscription_helpers import invoice, subscription, with_customer
from tests.upgrade_helpers import charge, dispute, make_upgrade, session

SETTINGS = settings(max_examples=150, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
# The retryable failures a handler may declare (a refund or dispute that overtook its payment).
RETRYABLE = ("UpgradeNotReady",)

json_scalars = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=10), children, max_size=4),
                           max_leaves=12)

# What the handlers read of each object, and the JSON types Stripe documents for it
# ("null" where the field is nullable; "dict" too where it is expandable).
READS = {
    "charge": {"id": "str", "amount": "int", "amount_refunded": "int", "refunded": "bool",
               "currency": "str", "metadata": "dict", "payment_intent": "str dict null",
               "receipt_url": "str null", "payment_method_details": "dict null",
               "payment_method_details.type": "str",
               "payment_method_details.card": "dict null",
               "payment_method_details.card.brand": "str",
               "payment_method_details.card.last4": "str"},
    "dispute": {"id": "str", "amount": "int", "currency": "str", "charge": "str dict",
                "payment_intent": "str dict null", "reason": "str", "evidence_details": "dict",
                "evidence_details.due_by": "int null"},
    "checkout.session": {"id": "str", "status": "str null", "payment_status": "str",
                         "metadata": "dict", "payment_intent": "str dict null",
                         "amount_total": "int null", "currency": "str null"},
    "subscription checkout": {"id": "str", "status": "str null", "customer": "str dict null",
                              "subscription": "str dict null", "metadata": "dict"},
    "subscription": {"id": "str", "customer": "str dict", "status": "str", "items": "dict",
                     "items.data": "list", "trial_start": "int null", "trial_end": "int null",
                     "cancel_at_period_end": "bool", "cancel_at": "int null",
                     "canceled_at": "int null", "ended_at": "int null",
                     "latest_invoice": "str dict null", "metadata": "dict"},
    "invoice": {"id": "str", "customer": "str dict", "amount_paid": "int", "amount_due": "int",
                "currency": "str", "created": "int", "parent": "dict null"},
    "upcoming invoice": {"customer": "str dict", "amount_due": "int", "currency": "str",
                         "period_end": "int", "next_payment_attempt": "int null"},
    "payment_method": {"id": "str", "customer": "str dict null"},
    "customer": {"id": "str"},
    "setup_intent": {"id": "str", "status": "str", "customer": "str dict null",
                     "payment_method": "str dict null"},
    "setup checkout": {"id": "str", "status": "str null", "customer": "str dict null",
                       "setup_intent": "str dict null"},
}
# Our keys in metadata: optional (absent on objects that are not ours).
METADATA = {"metadata.kind": "str null", "metadata.upgrade_id": "str null",
            "metadata.user_id": "str null", "metadata.credit_days": "str null"}
# Present only when the payment method is a card.
OPTIONAL = set(METADATA) | {"payment_method_details.card"}


@pytest.fixture
def app_config(emulated_config):
    return emulated_config  # a dispute may make the handler ask Stripe (the emulator)


@pytest.fixture
def world(app, make_user, client):
    """Two upgrades of ours (one complete, one pending), a subscription of carol's, and a
    card of dave's (at the emulator: the card handlers ask Stripe)."""
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    done, pending = make_upgrade(app, alice), make_upgrade(app, bob, upgrade_type="platinum")
    post(client, json.dumps(event("checkout.session.completed", session(done))))
    customer = with_customer(app, carol)
    post(client, json.dumps(event("customer.subscription.created",
                                  subscription("sub_carol", customer), created=1_700_000_000)))
    dave = make_user("dave")
    with app.app_context():
        card_customer = customer_for(db.session.get(User, dave.id))
        db.session.commit()
        card = gateway.client().v1.payment_methods.attach(
            "pm_card_visa", params={"customer": card_customer}).id
    return {"done": done, "pending": pending, "customer": customer,
            "card_customer": card_customer, "card": card}


def post(client, body: str):
    raw = body.encode()
    return client.post("/webhooks/stripe", data=raw, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": signature_header(raw, WEBHOOK_SECRET)})


def snapshot(app) -> tuple:
    with app.app_context():
        users = db.session.execute(sa.select(User.id, User.level).order_by(User.id)).all()
        upgrades = db.session.execute(sa.select(
            UserUpgrade.id, UserUpgrade.status, UserUpgrade.amount_refunded,
            UserUpgrade.disputed_at, UserUpgrade.receipt_url, UserUpgrade.level_before,
            UserUpgrade.stripe_payment_intent_id, UserUpgrade.stripe_charge_id,
            UserUpgrade.card_brand, UserUpgrade.card_last4,
        ).order_by(UserUpgrade.id)).all()
        cards = db.session.execute(sa.select(
            PaymentMethod.stripe_payment_method_id, PaymentMethod.billing_info_id,
            PaymentMethod.priority, PaymentMethod.exp_year).order_by(PaymentMethod.id)).all()
        return tuple(users), tuple(upgrades), tuple(cards)


def stored_error(app, event_id: str) -> str | None:
    with app.app_context():
        return db.session.scalar(sa.select(StripeEvent.last_error)
                                 .where(StripeEvent.stripe_id == event_id))


def check(app, client, body: str, before: tuple) -> Any:
    """Post `body`; the answer is never an undeclared 5xx, and only a processed event may
    have changed anything. Returns the response."""
    response = post(client, body)
    if response.status_code >= 500:
        error = stored_error(app, json.loads(body)["id"]) or ""
        assert error.startswith(RETRYABLE), (response.status_code, error)
    outcome = response.json.get("outcome") if response.status_code == 200 else None
    if outcome != "processed":
        assert snapshot(app) == before, (response.status_code, response.json)
    return response


# --- arbitrary JSON ---------------------------------------------------------------------

envelopes = st.fixed_dictionaries({
    "id": st.one_of(st.text(max_size=300), st.from_regex(r"evt_[A-Za-z0-9]{1,20}", fullmatch=True),
                    json_values),
    "type": st.one_of(st.sampled_from(handled_types()),
                      st.text(max_size=30), json_values),
}, optional={"created": json_values | st.integers(0, 2**40), "livemode": json_values,
             "data": json_values | st.fixed_dictionaries({"object": json_values})})


@SETTINGS
@given(body=st.one_of(json_values.map(json.dumps), envelopes.map(json.dumps)))
def test_arbitrary_json_never_gets_a_5xx_and_changes_nothing(app, client, world, body):
    before = snapshot(app)
    response = check(app, client, body, before)
    assert response.status_code in (200, 400)


# --- mutations of the real example objects ----------------------------------------------

def examples(world: dict) -> list[tuple[str, str, Any]]:
    """(event type, kind, object) for each handled type and each kind of object it takes,
    built from Stripe's example objects and about our own records."""
    ids, pending, customer = world["done"], world["pending"], world["customer"]
    card, card_customer = world["card"], world["card_customer"]
    payment_method = stripe_object("payment_method", id=card, customer=card_customer)
    setup_intent = stripe_object("setup_intent", id="seti_x", customer=card_customer,
                                 payment_method=card, status="succeeded")
    setup_session = stripe_object("checkout.session", id="cs_setup", mode="setup",
                                  customer=card_customer, setup_intent="seti_x",
                                  status="complete")
    customer_object = stripe_object("customer", id=card_customer)
    customer_object["invoice_settings"]["default_payment_method"] = card
    sub_session = stripe_object("checkout.session", id="cs_sub", mode="subscription",
                                customer=customer, subscription="sub_carol", status="complete",
                                metadata={"kind": "subscription"})
    sub = subscription("sub_carol", customer)
    return [
        ("checkout.session.completed", "checkout.session", session(pending)),
        ("checkout.session.completed", "subscription checkout", sub_session),
        ("checkout.session.async_payment_succeeded", "checkout.session", session(pending)),
        ("checkout.session.async_payment_failed", "checkout.session",
         session(pending, payment_status="unpaid")),
        ("checkout.session.expired", "checkout.session",
         session(pending, status="expired", payment_status="unpaid")),
        ("checkout.session.expired", "subscription checkout", {**sub_session,
                                                                "status": "expired"}),
        ("charge.succeeded", "charge", charge(ids)),
        ("charge.refunded", "charge", charge(ids, refunded_amount=ids["amount"])),
        ("charge.dispute.created", "dispute", dispute(ids)),
        *[(t, "subscription", sub) for t in (
            "customer.subscription.created", "customer.subscription.updated",
            "customer.subscription.deleted", "customer.subscription.trial_will_end")],
        ("invoice.paid", "invoice", invoice("sub_carol", customer)),
        ("invoice.payment_failed", "invoice", invoice("sub_carol", customer, status="open")),
        ("invoice.payment_action_required", "invoice",
         invoice("sub_carol", customer, status="open")),
        ("invoice.finalized", "invoice", invoice("sub_carol", customer, status="open")),
        ("invoice.voided", "invoice", invoice("sub_carol", customer, status="void")),
        ("invoice.marked_uncollectible", "invoice",
         invoice("sub_carol", customer, status="uncollectible")),
        ("invoice.upcoming", "upcoming invoice", {  # has no id at Stripe: not made yet
            **{k: v for k, v in invoice("sub_carol", customer, status="draft").items()
               if k != "id"}, "billing_reason": "upcoming", "next_payment_attempt": None}),
        *[(t, "payment_method", payment_method) for t in (
            "payment_method.attached", "payment_method.updated",
            "payment_method.automatically_updated")],
        ("payment_method.detached", "payment_method", {**payment_method, "customer": None}),
        ("customer.updated", "customer", customer_object),
        ("setup_intent.succeeded", "setup_intent", setup_intent),
        ("checkout.session.completed", "setup checkout", setup_session),
    ]


def test_every_handled_type_has_a_mutation_test(world):
    assert {t for t, _, _ in examples(world)} == set(handled_types())


def paths(obj: Any, prefix: str = "") -> list[str]:
    found = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            path = f"{prefix}{key}"
            found.append(path)
            found += paths(value, path + ".")
    return found


def json_type(value: Any) -> str:
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list",
            dict: "dict", type(None): "null"}[type(value)]


_DELETE = object()


def _read_fields() -> list[tuple[int, str]]:
    """(index into examples(), path) for every field each handler reads."""
    kinds = [kind for _, kind, _ in examples({"done": {"id": 1, "session": "cs", "pi": "pi",
                                                        "charge": "ch", "amount": 1},
                                               "pending": {"id": 2, "session": "cs2", "pi": "p",
                                                           "charge": "c", "amount": 1},
                                               "customer": "cus", "card_customer": "cus2",
                                               "card": "pm"})]
    return [(i, path) for i, kind in enumerate(kinds)
            for path in sorted({**READS[kind], **METADATA})]


READ_FIELDS = _read_fields()


# Every JSON type equally likely (and deletion), so each field meets each kind of wrong value.
any_type = st.one_of(
    st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20), st.lists(json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=8), json_scalars, max_size=3), st.none(), st.just(_DELETE))


@settings(SETTINGS, max_examples=10)
@given(values=st.lists(any_type, min_size=len(READ_FIELDS), max_size=len(READ_FIELDS)))
def test_every_field_a_handler_reads_is_strict(app, client, world, values):
    # One example gives every field a handler reads a value of its own.
    for (index, path), value in zip(READ_FIELDS, values, strict=True):
        mutate_and_check(app, client, world, index, path, value)


@SETTINGS
@given(data=st.data())
def test_mutating_any_field_of_the_examples_is_never_a_bug(app, client, world, data):
    index = data.draw(st.integers(0, len(examples(world)) - 1), label="example")
    obj = examples(world)[index][2]
    path = data.draw(st.sampled_from(paths(obj)), label="path")
    mutate_and_check(app, client, world, index, path,
                     data.draw(json_values | st.just(_DELETE), label="value"))


def mutate_and_check(app, client, world, index: int, path: str, value: Any) -> None:
    """Set `path` of an example object to `value` (or delete it) and post it."""
    event_type, kind, obj = examples(world)[index]
    reads = {**READS[kind], **METADATA}
    mutated = copy.deepcopy(obj)
    *parents, last = path.split(".")
    target = mutated
    for key in parents:
        target = target.get(key) if isinstance(target, dict) else None
    if not isinstance(target, dict):
        return  # the parent is not an object in this example
    original = target.get(last, _DELETE)
    if value is _DELETE:
        target.pop(last, None)
    else:
        target[last] = value

    before = snapshot(app)
    payload = event(event_type, mutated)
    response = check(app, client, json.dumps(payload), before)
    assert response.status_code in (200, 500)

    allowed = reads.get(path, "").split()
    if not allowed or original is _DELETE:
        return  # a field no handler reads, or one this example lacks
    if value is _DELETE:
        wrong = path not in OPTIONAL
    else:
        wrong = json_type(value) not in allowed
    if wrong:
        assert response.json["outcome"] == "malformed", (path, value, response.json)
