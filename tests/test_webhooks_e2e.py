"""The webhook pipeline against real HTTP: concurrent deliveries, and the emulator
delivering (or not delivering) signed events to a live server."""

import json
import os
import threading
from collections import Counter

import pytest
import requests
import sqlalchemy as sa

from app.billing import gateway
from app.catalog.sync import sync_catalog
from app.extensions import db
from app.webhooks import registry
from app.webhooks.models import StripeEvent
from tests.conftest import need
from tests.stripe_objects import event, signature_header, stripe_object
from tests.webhook_effects import count_effects, recorder  # noqa: F401


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def register_endpoint(app, url: str) -> None:
    with app.app_context():
        endpoint = gateway.create_webhook_endpoint(url + "/webhooks/stripe",
                                                   ["customer.updated", "product.created",
                                                    "price.created"])
    app.config["STRIPE_WEBHOOK_SECRET"] = endpoint.secret


def run_sync(app) -> None:
    with app.app_context():
        sync_catalog()
        db.session.commit()


def stored(app) -> dict[str, StripeEvent]:
    with app.app_context():
        rows = db.session.scalars(sa.select(StripeEvent)).all()
        db.session.expunge_all()
    return {row.stripe_id: row for row in rows}


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres),
                                     "any"])
def test_concurrent_deliveries_of_one_event_have_one_effect(app, live_server, recorder,
                                                            database_url, backend):
    if backend == "postgres":
        need(database_url.startswith("postgres"), "TEST_DATABASE_URL (PostgreSQL) is not set")
    recorder.delay = 0.2  # keep the first transaction open while the others arrive
    body = json.dumps(event("customer.updated", stripe_object("customer"))).encode()
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def deliver():
        headers = {"Content-Type": "application/json",
                   "Stripe-Signature": signature_header(body, app.config["STRIPE_WEBHOOK_SECRET"])}
        barrier.wait()
        codes.append(requests.post(live_server.url + "/webhooks/stripe", data=body,
                                   headers=headers, timeout=30).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [200] * 8
    assert count_effects(app) == 1
    [row] = stored(app).values()
    assert row.status == "processed" and row.attempts == 1


@pytest.mark.parametrize("mode", [{"duplicate": True}, {"shuffle_window": 5},
                                  {"duplicate": True, "shuffle_window": 4}])
def test_emulator_deliveries_in_misbehaving_modes(app, live_server, recorder, emu, mode):
    register_endpoint(app, live_server.url)
    emu("POST", "config", **mode)
    run_sync(app)  # 5 products + 5 prices at Stripe, each an event
    emu("POST", "flush")

    deliveries = emu("GET", "deliveries")["data"]
    per_event = Counter(d["event_id"] for d in deliveries)
    assert len(per_event) == 10
    assert all(d["status_code"] == 200 for d in deliveries)
    if mode.get("duplicate"):
        assert set(per_event.values()) == {2}
    rows = stored(app)
    assert set(rows) == set(per_event)
    assert all(row.status == "processed" and row.attempts == 1 for row in rows.values())
    assert count_effects(app) == 10


def test_recover_processes_missed_events_and_leaves_processed_ones(app, runner, recorder, emu):
    emu("POST", "config", delivery_enabled=False)  # the app hears nothing
    run_sync(app)
    assert stored(app) == {}

    result = runner.invoke(args=["billing", "recover", "--since", "1h"])
    assert result.exit_code == 0, result.output
    assert "recovered: 10" in result.output
    assert count_effects(app) == 10

    again = runner.invoke(args=["billing", "recover", "--since", "1h"])
    assert again.exit_code == 0
    assert "already processed: 10" in again.output and "recovered: 0" in again.output
    assert count_effects(app) == 10


def test_recover_asks_only_for_the_types_the_endpoint_subscribes_to(app, runner, recorder,
                                                                    emu, monkeypatch):
    monkeypatch.delitem(registry.HANDLERS, "price.created")  # not handled, not subscribed
    emu("POST", "config", delivery_enabled=False)
    run_sync(app)

    result = runner.invoke(args=["billing", "recover", "--since", "1h"])
    assert result.exit_code == 0, result.output
    assert "seen: 5, already processed: 0, recovered: 5" in result.output
    assert {row.type for row in stored(app).values()} == {"product.created"}


def test_recover_retries_failed_events(app, runner, recorder, emu, live_server):
    register_endpoint(app, live_server.url)
    emu("POST", "config", retry_schedule=[])
    recorder.fail_with = RuntimeError("bad deploy")
    run_sync(app)
    emu("POST", "flush")
    assert {row.status for row in stored(app).values()} == {"failed"}

    recorder.fail_with = None
    result = runner.invoke(args=["billing", "recover", "--since", "1d"])
    assert result.exit_code == 0, result.output
    assert "retried: 10" in result.output
    assert {row.status for row in stored(app).values()} == {"processed"}
    assert count_effects(app) == 10


def test_webhook_setup_subscribes_to_exactly_the_handled_types(app, runner, emulator, recorder):
    from app.webhooks.registry import handled_types

    result = runner.invoke(args=["billing", "webhook-setup", "http://127.0.0.1:9/webhooks/stripe"])
    assert result.exit_code == 0, result.output
    assert "Signing secret: whsec_" in result.output
    listed = requests.get(emulator.url + "/v1/webhook_endpoints",
                          headers={"Authorization": "Bearer sk_test_emulator"}, timeout=10).json()
    [endpoint] = listed["data"]
    assert sorted(endpoint["enabled_events"]) == handled_types()
    secret_only = runner.invoke(args=["billing", "webhook-setup", "--secret-only",
                                      "http://127.0.0.1:9/webhooks/stripe"])
    assert secret_only.output.strip().startswith("whsec_")
    bad = runner.invoke(args=["billing", "webhook-setup", "not a url"])
    assert bad.exit_code == 1 and "Invalid URL" in bad.output
