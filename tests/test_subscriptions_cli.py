"""Operators' view of subscriptions: users show, billing subscriptions, sync-subscription."""

import json
import time

import pytest

from tests.stripe_objects import event, new_id
from tests.subscription_helpers import subscription, subscription_row, with_customer


@pytest.fixture
def app_config(billing_config):
    return billing_config


@pytest.fixture
def subscribed(app, make_user, post_event):
    alice = make_user("alice")
    customer = with_customer(app, alice)
    sub_id = new_id("sub")
    t = int(time.time())
    assert post_event(event("customer.subscription.created",
                            subscription(sub_id, customer, status="trialing", trial_days=14,
                                         interval="year", amount=7000, start=t),
                            created=t)).status_code == 200
    return alice, sub_id


def test_users_show_json_includes_the_subscription(runner, subscribed):
    alice, sub_id = subscribed
    result = runner.invoke(args=["users", "show", alice.email, "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)["subscription"]
    assert (shown["id"], shown["status"], shown["interval"]) == (sub_id, "trialing", "year")
    assert shown["trial_end"] and shown["current_period_end"]
    assert shown["cancel_at_period_end"] is False
    assert json.loads(result.output)["waivers"] == []
    text = runner.invoke(args=["users", "show", alice.email])
    assert f"Subscription: {sub_id} trialing, year, trial ends" in text.output


def test_billing_subscriptions_lists_and_filters(runner, subscribed):
    alice, sub_id = subscribed
    listed = runner.invoke(args=["billing", "subscriptions"])
    assert sub_id in listed.output and alice.email in listed.output
    assert "£70.00" in listed.output
    trialing = json.loads(runner.invoke(args=["billing", "subscriptions", "--status",
                                              "trialing", "--json"]).output)
    assert [s["id"] for s in trialing] == [sub_id]
    assert runner.invoke(args=["billing", "subscriptions", "--status", "active"]).output \
        .strip() == "No subscriptions."
    bad = runner.invoke(args=["billing", "subscriptions", "--status", "nonsense"])
    assert bad.exit_code == 2


def test_sync_subscription_refuses_a_bad_id_and_reports_stripe_trouble(app, runner,
                                                                       subscribed):
    bad = runner.invoke(args=["billing", "sync-subscription", "x y"])
    assert bad.exit_code == 1 and "Invalid subscription id" in bad.output
    alice, sub_id = subscribed
    down = runner.invoke(args=["billing", "sync-subscription", sub_id])  # Stripe unreachable
    assert down.exit_code == 1 and "Traceback" not in down.output
    assert subscription_row(app, sub_id).status.value == "trialing"
