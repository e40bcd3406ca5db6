"""POST /webhooks/stripe: checks in order, storage, idempotency, failures and retries."""

import json
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.webhooks.models import StripeEvent
from tests.stripe_objects import event, signature_header, stripe_object
from tests.webhook_effects import count_effects, recorder  # noqa: F401


@pytest.fixture
def app_config(billing_config):
    return billing_config


def customer_event(**kwargs) -> dict:
    return event("customer.updated", stripe_object("customer"), **kwargs)


def stored_events(app) -> list[StripeEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(StripeEvent).order_by(StripeEvent.id)).all()
        db.session.expunge_all()
        return rows


def raw_post(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/webhooks/stripe", data=body, headers=headers)


def test_valid_event_is_stored_and_handled(app, post_event, recorder):
    nobody = stripe_object("customer")
    nobody.update(dict.fromkeys(("name", "email", "phone", "address", "shipping")))
    payload = event("customer.updated", nobody)  # nothing personal: kept exactly as signed
    response = post_event(payload)
    assert response.status_code == 200
    assert response.json["outcome"] == "processed"
    [row] = stored_events(app)
    assert (row.stripe_id, row.type, row.status, row.attempts) == (
        payload["id"], "customer.updated", "processed", 1)
    assert row.payload == json.dumps(payload)  # the signed body, byte for byte
    assert row.data["data"]["object"]["object"] == "customer"
    assert row.created.timestamp() == payload["created"]
    assert count_effects(app) == 1


@pytest.mark.parametrize("case", ["missing", "malformed", "wrong secret", "stale", "future"])
def test_bad_signatures_are_refused_and_nothing_stored(app, client, recorder, case):
    body = json.dumps(customer_event()).encode()
    signature = {
        "missing": None,
        "malformed": "this is not a signature",
        "wrong secret": signature_header(body, "whsec_someone_else"),
        "stale": signature_header(body, "whsec_test_secret", int(time.time()) - 301),
        "future": signature_header(body, "whsec_test_secret", int(time.time()) + 330),
    }[case]
    response = raw_post(client, body, signature)
    assert response.status_code == 400
    assert response.json["error"]
    assert stored_events(app) == [] and count_effects(app) == 0


def test_signature_inside_tolerance_is_accepted(app, post_event, recorder):
    assert post_event(customer_event(), timestamp=int(time.time()) - 290).status_code == 200


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"type": "customer.updated"}',
                                  b'{"id": "evt_1"}', b'{"id": "", "type": "x"}'])
def test_signed_but_malformed_events_are_refused(app, client, body):
    response = raw_post(client, body, signature_header(body, "whsec_test_secret"))
    assert response.status_code == 400
    assert stored_events(app) == []


def test_oversized_body_gets_413_before_signature_check(app, client):
    app.config["WEBHOOK_MAX_BYTES"] = 1000
    payload = customer_event()
    payload["data"]["object"]["description"] = "x" * 2000
    body = json.dumps(payload).encode()
    response = raw_post(client, body, signature_header(body, "whsec_test_secret"))
    assert response.status_code == 413
    assert stored_events(app) == []


def test_billing_disabled_answers_503_first(app, client, post_event):
    app.config["BILLING_ENABLED"] = False
    response = raw_post(client, b"whatever", None)
    assert response.status_code == 503
    assert "Billing is disabled" in response.json["error"]
    assert post_event(customer_event()).status_code == 503
    assert stored_events(app) == []


def test_no_csrf_token_needed(app, post_event, recorder):
    assert post_event(customer_event()).status_code == 200


def test_other_webhook_requests_get_a_json_sentence(client):
    # /webhooks/ is the lean webhook app (app/webhooks/mount.py): no HTML pages there.
    wrong_method = client.get("/webhooks/stripe")
    assert wrong_method.status_code == 405 and wrong_method.json["error"]
    nothing_here = client.post("/webhooks/elsewhere", data=b"{}")
    assert nothing_here.status_code == 404 and nothing_here.json["error"]
    assert "Set-Cookie" not in wrong_method.headers


def test_a_bug_outside_the_handlers_is_a_json_500_not_a_traceback(app, post_event,
                                                                     monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("bug in the pipeline")

    monkeypatch.setattr("app.webhooks.routes.receive", broken)
    response = post_event(customer_event())
    assert response.status_code == 500  # Stripe retries
    assert response.json == {"error": "Something went wrong on our side; Stripe will retry."}
    assert "bug in the pipeline" in caplog.text


def test_same_event_five_times_has_one_effect(app, post_event, recorder):
    payload = customer_event()
    responses = [post_event(payload) for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert [r.json["outcome"] for r in responses] == ["processed"] + ["duplicate"] * 4
    assert count_effects(app) == 1
    [row] = stored_events(app)
    assert row.attempts == 1


def test_unknown_type_is_stored_and_answered_200(app, post_event):
    response = post_event(event("customer.discount.created", stripe_object("customer")))
    assert response.status_code == 200 and response.json["outcome"] == "unhandled"
    [row] = stored_events(app)
    assert row.status == "processed" and row.note == "no handler"


def test_other_mode_events_are_stored_and_ignored(app, post_event, recorder):
    response = post_event(customer_event(livemode=True))
    assert response.status_code == 200 and response.json["outcome"] == "ignored"
    [row] = stored_events(app)
    assert row.note == "livemode mismatch" and row.livemode is True
    assert count_effects(app) == 0


def test_failing_handler_rolls_back_keeps_error_and_succeeds_on_retry(app, post_event, recorder):
    recorder.fail_with = RuntimeError("database of record is asleep")
    payload = customer_event()
    response = post_event(payload)
    assert response.status_code == 500
    assert count_effects(app) == 0  # the handler's row was rolled back with it
    [row] = stored_events(app)
    assert row.status == "failed" and row.attempts == 1
    assert "database of record is asleep" in row.last_error

    assert post_event(payload).status_code == 500
    assert stored_events(app)[0].attempts == 2

    recorder.fail_with = None  # "the fix is deployed"; Stripe retries
    response = post_event(payload)
    assert response.status_code == 200 and response.json["outcome"] == "processed"
    [row] = stored_events(app)
    assert row.status == "processed" and row.attempts == 3 and row.last_error is None
    assert count_effects(app) == 1


def test_log_lines_name_event_id_and_type(app, post_event, recorder, caplog):
    """One line per delivery, at DEBUG: the event log has every event, and a line at INFO
    for each would cost more than storing it."""
    payload = customer_event()
    with caplog.at_level("INFO", logger="app.webhooks"):
        post_event(customer_event())
    assert not [r for r in caplog.records if r.name == "app.webhooks"]
    with caplog.at_level("DEBUG", logger="app.webhooks"):
        post_event(payload)
        post_event(payload)
    records = [r for r in caplog.records if r.name == "app.webhooks"]
    assert [r.getMessage().rsplit(": ", 1)[1] for r in records] == [
        "processed", "duplicate"]
    assert all(payload["id"] in r.getMessage() and "customer.updated" in r.getMessage()
               for r in records)


def test_a_charge_of_something_else_is_stored_without_a_transaction(app, post_event,
                                                                    monkeypatch):
    """charge.refunded's registration reads cheaply whether the charge can be ours; a
    charge of something else is stored as processed, "nothing of ours", and its handler
    (which would open a transaction to find nothing) never runs."""
    from app.upgrades import handlers as upgrade_handlers
    from app.webhooks import registry

    ran = []
    [registration] = registry.HANDLERS["charge.refunded"]
    monkeypatch.setitem(registry.HANDLERS, "charge.refunded", [registry.Registration(
        lambda e: ran.append(e.id), registration.view, registration.where,
        upgrade_handlers._charge_may_be_ours)])
    payload = event("charge.refunded", stripe_object("charge", refunded=True))
    assert post_event(payload).json["outcome"] == "processed"
    [row] = stored_events(app)
    assert (row.status, row.note) == ("processed", "nothing of ours") and ran == []
