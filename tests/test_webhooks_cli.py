"""Operators' event tools: events, replay, prune-events, webhook-setup, disabled billing."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import utcnow
from app.extensions import db
from app.webhooks import registry
from app.webhooks.models import StripeEvent
from tests.stripe_objects import event, stripe_object
from tests.webhook_effects import count_effects, recorder  # noqa: F401


@pytest.fixture
def app_config(billing_config):
    return billing_config


def customer_event() -> dict:
    return event("customer.updated", stripe_object("customer"))


def test_events_lists_and_filters(runner, post_event, recorder):
    ok, bad = customer_event(), customer_event()
    post_event(ok)
    recorder.fail_with = ValueError("boom")
    post_event(bad)
    post_event(event("customer.discount.created", stripe_object("customer")))

    result = runner.invoke(args=["billing", "events", "--json"])
    assert result.exit_code == 0
    assert [e["status"] for e in json.loads(result.output)] == ["processed", "failed", "processed"]

    failed = json.loads(runner.invoke(args=["billing", "events", "--failed", "--json"]).output)
    assert [e["id"] for e in failed] == [bad["id"]]
    assert failed[0]["last_error"] == "ValueError: boom" and failed[0]["attempts"] == 1

    typed = runner.invoke(args=["billing", "events", "--type", "customer.discount.created"])
    assert "customer.discount.created" in typed.output and ok["id"] not in typed.output


def test_replay_failed_from_cli_after_fix(app, runner, post_event, recorder):
    payload = customer_event()
    recorder.fail_with = RuntimeError("bug")
    assert post_event(payload).status_code == 500

    still = runner.invoke(args=["billing", "replay", "--failed"])
    assert still.exit_code == 1 and "failed" in still.output
    recorder.fail_with = None
    result = runner.invoke(args=["billing", "replay", "--failed"])
    assert result.exit_code == 0, result.output
    assert f"{payload['id']} (customer.updated): processed" in result.output
    assert count_effects(app) == 1

    again = runner.invoke(args=["billing", "replay", payload["id"]])
    assert again.exit_code == 0 and "duplicate" in again.output
    assert count_effects(app) == 1
    replayed = runner.invoke(args=["billing", "replay", "--failed"])
    assert replayed.output.strip() == "Nothing to replay."


def test_replay_of_a_failed_event_whose_handler_is_gone(app, runner, post_event, recorder,
                                                        monkeypatch):
    payload = customer_event()
    recorder.fail_with = RuntimeError("bug")
    assert post_event(payload).status_code == 500
    monkeypatch.delitem(registry.HANDLERS, "customer.updated")  # a release drops the handler

    result = runner.invoke(args=["billing", "replay", "--failed"])
    assert result.exit_code == 0, result.output
    assert f"{payload['id']} (customer.updated): unhandled" in result.output
    listed = json.loads(runner.invoke(args=["billing", "events", "--json"]).output)
    assert [(e["status"], e["attempts"], e["note"], e["last_error"]) for e in listed] == [
        ("processed", 2, "no handler", None)]
    assert count_effects(app) == 0


def test_replay_bad_input(runner):
    assert runner.invoke(args=["billing", "replay"]).exit_code == 1
    result = runner.invoke(args=["billing", "replay", "evt_nope"])
    assert result.exit_code == 1 and "Unknown event id(s): evt_nope" in result.output


def test_prune_keeps_recent_and_failed_events(app, runner, post_event, recorder):
    old_ok, old_failed, recent = customer_event(), customer_event(), customer_event()
    post_event(old_ok)
    post_event(recent)
    recorder.fail_with = RuntimeError("x")
    post_event(old_failed)
    with app.app_context():
        db.session.execute(sa.update(StripeEvent)
                           .where(StripeEvent.stripe_id.in_([old_ok["id"], old_failed["id"]]))
                           .values(received_at=utcnow() - timedelta(days=100)))
        db.session.commit()
    result = runner.invoke(args=["billing", "prune-events", "--older-than", "90d"])
    assert result.exit_code == 0 and "Deleted 1 processed event(s)" in result.output
    with app.app_context():
        left = set(db.session.scalars(sa.select(StripeEvent.stripe_id)))
    assert left == {old_failed["id"], recent["id"]}


@pytest.mark.parametrize("value", ["90", "ninety days", "3x", ""])
def test_prune_rejects_bad_durations(runner, value):
    result = runner.invoke(args=["billing", "prune-events", "--older-than", value])
    assert result.exit_code == 1 and "Invalid duration" in result.output


def test_stripe_commands_refuse_when_billing_disabled(app, runner):
    app.config["BILLING_ENABLED"] = False
    for args in (["billing", "sync-catalog"], ["billing", "recover", "--since", "1d"],
                 ["billing", "webhook-setup", "https://example.com/webhooks/stripe"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert "Billing is disabled: STRIPE_SECRET_KEY is not set" in result.output


def test_stripe_unreachable_is_a_one_line_error(runner):
    # billing_config points the API at a closed port on 127.0.0.1.
    result = runner.invoke(args=["billing", "sync-catalog"])
    assert result.exit_code == 1
    # Operators get what failed and where, not the customers' "Nothing was charged".
    assert result.output.strip().splitlines() == [
        "Error: Stripe request failed: list prices: APIConnectionError: "
        "no answer from http://127.0.0.1:9 (ConnectionError)"]
