"""Webhook endpoints, signed asynchronous delivery, retries and misbehaviour."""
import json

import pytest
import stripe

from .helpers import one_time_price, payment_session


def pay(stripe_client, control):
    session = payment_session(stripe_client, one_time_price(stripe_client))
    control.post(f"/checkout/sessions/{session.id}/complete", {})
    return session


def test_endpoint_creation_returns_a_secret_once(stripe_client, receiver):
    ep = stripe_client.v1.webhook_endpoints.create(
        {"url": receiver.url, "enabled_events": ["checkout.session.completed"]})
    assert ep.secret.startswith("whsec_") and ep.status == "enabled"
    again = stripe_client.v1.webhook_endpoints.retrieve(ep.id)
    assert "secret" not in again
    assert [e.id for e in stripe_client.v1.webhook_endpoints.list().data] == [ep.id]


def test_endpoint_keeps_the_api_version_it_was_created_with(stripe_client, receiver):
    pinned = stripe_client.v1.webhook_endpoints.create(
        {"url": receiver.url, "enabled_events": ["*"], "api_version": stripe.api_version})
    assert pinned.api_version == stripe.api_version
    assert stripe_client.v1.webhook_endpoints.retrieve(pinned.id).api_version == stripe.api_version
    default = stripe_client.v1.webhook_endpoints.create({"url": receiver.url,
                                                         "enabled_events": ["*"]})
    assert default.api_version is None  # the account's default, as Stripe shows it
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client.v1.webhook_endpoints.create(
            {"url": receiver.url, "enabled_events": ["*"], "api_version": "2001-01-01"})
    assert refused.value.param == "api_version"


def test_deliveries_are_signed_like_stripe(stripe_client, control, receiver, endpoint):
    pay(stripe_client, control)
    control.flush()
    assert len(receiver.requests) == 6  # product.created and price.created first
    for request in receiver.requests:
        event = stripe.Webhook.construct_event(
            request["body"], request["headers"]["Stripe-Signature"], endpoint.secret)
        assert event.api_version == "2026-10-28.endive"
        assert request["headers"]["Content-Type"].startswith("application/json")
    assert receiver.types() == ["payment_intent.created", "charge.succeeded",
                                "payment_intent.succeeded", "checkout.session.completed"]
    completed = receiver.events()[-1]
    assert completed["data"]["object"]["payment_status"] == "paid"
    assert completed["data"]["object"]["client_reference_id"] == "upgrade-1"


def test_a_wrong_secret_fails_verification(stripe_client, control, receiver, endpoint):
    pay(stripe_client, control)
    control.flush()
    request = receiver.requests[0]
    try:
        stripe.Webhook.construct_event(request["body"],
                                       request["headers"]["Stripe-Signature"],
                                       "whsec_wrong")
    except stripe.SignatureVerificationError:
        pass
    else:
        raise AssertionError("a wrong secret must not verify")


def test_only_enabled_events_are_sent(stripe_client, control, receiver):
    stripe_client.v1.webhook_endpoints.create(
        {"url": receiver.url, "enabled_events": ["checkout.session.completed"]})
    pay(stripe_client, control)
    control.flush()
    assert receiver.types() == ["checkout.session.completed"]


def test_failed_delivery_is_retried_and_each_attempt_recorded(stripe_client, control,
                                                              receiver, endpoint):
    receiver.status = 500
    stripe_client.v1.customers.create({"email": "a@example.com"})
    control.flush()
    event = stripe_client.v1.events.list().data[0]
    attempts = control.deliveries(event=event.id)
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4]
    assert {a["status_code"] for a in attempts} == {500}
    assert all(a["error"] for a in attempts)
    assert stripe_client.v1.events.retrieve(event.id).pending_webhooks == 1
    failed = stripe_client.v1.events.list({"delivery_success": False}).data
    assert [e.id for e in failed] == [event.id]
    # The receiver recovers; a manual redelivery succeeds.
    receiver.status = 200
    control.post(f"/events/{event.id}/redeliver")
    control.flush()
    last = control.deliveries(event=event.id)[-1]
    assert last["attempt"] == 5 and last["status_code"] == 200 and last["error"] is None
    assert stripe_client.v1.events.retrieve(event.id).pending_webhooks == 0
    assert stripe_client.v1.events.list({"delivery_success": False}).data == []


def test_retry_after_a_transient_failure(stripe_client, control, receiver, endpoint):
    control.post("/config", {"retry_schedule": [0.3]})
    receiver.status = 503
    stripe_client.v1.customers.create({"email": "a@example.com"})
    assert receiver.wait_for(1)
    receiver.status = 200
    control.flush()
    assert [d["status_code"] for d in control.deliveries()] == [503, 200]


def test_unreachable_endpoint_records_the_error(stripe_client, control):
    stripe_client.v1.webhook_endpoints.create(
        {"url": "http://127.0.0.1:9/nowhere", "enabled_events": ["*"]})
    control.post("/config", {"retry_schedule": []})
    stripe_client.v1.customers.create({"email": "a@example.com"})
    control.flush()
    [attempt] = control.deliveries()
    assert attempt["status_code"] is None and "Connection" in attempt["error"]


def test_duplicate_mode_delivers_each_event_twice(stripe_client, control, receiver,
                                                 endpoint):
    control.post("/config", {"duplicate": True})
    pay(stripe_client, control)
    control.flush()
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == 8 and all(ids.count(i) == 2 for i in ids)


def test_shuffle_mode_reorders_within_the_window(stripe_client, control, receiver,
                                                endpoint):
    control.post("/config", {"shuffle_window": 8})
    created = [stripe_client.v1.customers.create({"email": f"{i}@example.com"}).id
               for i in range(8)]
    control.flush()
    received = [e["data"]["object"]["id"] for e in receiver.events()]
    assert sorted(received) == sorted(created)
    # 8! orders; the chance that a fair shuffle keeps creation order is 1 in 40320, so
    # try a second batch before calling it broken.
    if received == created:
        more = [stripe_client.v1.customers.create({"email": f"x{i}@example.com"}).id
                for i in range(8)]
        control.flush()
        assert [e["data"]["object"]["id"] for e in receiver.events()[8:]] != more


def test_delay_mode_holds_deliveries_back(stripe_client, control, receiver, endpoint):
    control.post("/config", {"delay_ms": 400})
    stripe_client.v1.customers.create({"email": "a@example.com"})
    assert not receiver.wait_for(1, timeout=0.2)
    assert receiver.wait_for(1, timeout=3)


def test_delivery_can_be_switched_off(stripe_client, control, receiver, endpoint):
    control.post("/config", {"delivery_enabled": False})
    stripe_client.v1.customers.create({"email": "a@example.com"})
    control.flush()
    assert receiver.requests == []
    assert stripe_client.v1.events.list().data[0].pending_webhooks == 1


def test_config_round_trip_and_unknown_keys(control):
    config = control.post("/config", {"duplicate": True, "delay_ms": 5})
    assert config["duplicate"] is True and config["delay_ms"] == 5
    assert control.get("/config") == config
    control.post("/config", {"nonsense": 1}, expect=400)


def test_events_filters_and_retrieve(stripe_client, control):
    pay(stripe_client, control)
    charges = stripe_client.v1.events.list({"type": "charge.succeeded"}).data
    assert [e.type for e in charges] == ["charge.succeeded"]
    event = stripe_client.v1.events.retrieve(charges[0].id)
    assert event.data.object.object == "charge" and event.request.id is None
    first = stripe_client.v1.events.list().data[-1]
    later = stripe_client.v1.events.list({"created": {"gte": first.created}}).data
    assert first.id in [e.id for e in later]
    wildcard = stripe_client.v1.events.list({"type": "payment_intent.*"}).data
    assert {e.type for e in wildcard} == {"payment_intent.created",
                                          "payment_intent.succeeded"}


def test_api_events_carry_the_request_and_idempotency_key(stripe_client):
    stripe_client.v1.customers.create({"email": "a@example.com"},
                                      {"idempotency_key": "idem-9"})
    event = stripe_client.v1.events.list().data[0]
    assert event.request.id.startswith("req_") and event.request.idempotency_key == "idem-9"
    body = json.loads(json.dumps(event.to_dict()))
    assert body["data"]["object"]["email"] == "a@example.com"
