"""The benchmark's own pieces: the events it sends, and the floor it measures against."""

import json

import pytest
import stripe

from app.webhooks.registry import HANDLERS
from bench import floor_app
from bench.effects import Sent, check_effects
from bench.events import HANDLED, UNHANDLED, check_types, fresh, ids_sent, suffixes, write_requests
from bench.seed import seed
from bench.servers import BenchError, scalar
from tests.conftest import WEBHOOK_SECRET
from tests.stripe_objects import signature_header

SECRET = "whsec_test_bench"


def test_fresh_events_repeat_earlier_ones_never_a_neighbour():
    batch = fresh("t", 2000, [UNHANDLED], 0.3, seed=5, gap=64)
    assert len(batch.bodies) == len(batch.ids) == 2000
    first_seen = {}
    repeats = 0
    for position, (body, event_id) in enumerate(zip(batch.bodies, batch.ids, strict=True)):
        payload = json.loads(body)
        assert (payload["id"], payload["type"]) == (event_id, UNHANDLED[0])
        if event_id in first_seen:
            repeats += 1
            assert position - first_seen[event_id] > 64
            assert body == batch.bodies[first_seen[event_id]]  # a retry resends the same bytes
        else:
            first_seen[event_id] = position
    assert 0.25 < repeats / 2000 < 0.32


def test_requests_are_signed_for_the_bytes_sent(tmp_path):
    batch = fresh("s", 5, [HANDLED], 0.0, seed=1)
    write_requests(tmp_path / "r.bin", batch.bodies, SECRET)
    data = (tmp_path / "r.bin").read_bytes()
    for body in batch.bodies:
        header, _, data = data.partition(b"\n")
        signature, length = header.decode().split(" ")
        sent, data = data[:int(length)], data[int(length):]
        assert sent == body
        stripe.WebhookSignature.verify_header(sent.decode(), signature, SECRET, tolerance=300)
    assert data == b""


def test_ids_sent_follow_each_wrk_thread_through_its_share():
    ids = [f"e{i}" for i in range(10)]  # thread 0 sends e0 e2 e4 ..., thread 1 e1 e3 ...
    assert ids_sent(ids, [2, 1]) == {"e0", "e2", "e1"}
    assert ids_sent(ids, [2, 1], unanswered=1) == {"e0"}
    assert ids_sent(ids, [7, 0]) == {"e0", "e2", "e4", "e6", "e8"}  # started over


def test_the_chosen_types_still_mean_what_the_bench_says():
    from app import handlers  # noqa: F401

    check_types(set(HANDLERS))
    with pytest.raises(BenchError):
        check_types(set(HANDLERS) | {UNHANDLED[0]})


def test_floor_stores_each_event_once_durably(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/floor.db"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    floor_app.create_table(url)
    client = floor_app.create_app().test_client()
    body = fresh("f", 1, [UNHANDLED], 0.0, seed=1).bodies[0]

    def post(signature: str):
        return client.post("/webhooks/stripe", data=body,
                           headers={"Stripe-Signature": signature})

    assert post(signature_header(body, SECRET)).status_code == 200
    assert post(signature_header(body, SECRET)).status_code == 200  # a repeat: no new row
    assert post(signature_header(body, "whsec_wrong")).status_code == 400
    assert scalar(url, f"SELECT count(*) FROM {floor_app.TABLE}") == 1
    assert scalar(url, "PRAGMA journal_mode") == "wal"


@pytest.fixture
def app_config(billing_config):
    return billing_config  # Stripe unreachable: the seeded events need no Stripe call


@pytest.mark.parametrize("kind", ["upgrade", "invoice"])
def test_seeded_events_change_exactly_what_the_check_expects(app, client, database_url, kind):
    new = suffixes("q", 3, 0.0, seed=1)
    with app.app_context():
        refs = seed(kind, new)
    batch = fresh("q", 3, [kind], 0.0, seed=1, refs=refs)
    for body in (batch.bodies[0], batch.bodies[1], batch.bodies[0]):  # and a redelivery
        response = client.post("/webhooks/stripe", data=body, headers={
            "Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
        assert response.status_code == 200
    # The first surely answered, the second perhaps (in flight at the end), the third never.
    assert check_effects(database_url, {kind: Sent(set(new), {new[0]}, {new[0], new[1]})}) == []
    assert check_effects(database_url, {kind: Sent(set(new), set(new), set(new))})  # 3rd unchanged
    assert check_effects(database_url, {kind: Sent(set(new), {new[0]}, {new[0]})})  # 2nd changed


def test_a_session_not_ours_changes_nothing(app, client, database_url):
    body = fresh("n", 1, ["foreign"], 0.0, seed=1).bodies[0]
    response = client.post("/webhooks/stripe", data=body, headers={
        "Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    assert response.status_code == 200
    assert check_effects(database_url, {"foreign": Sent()}) == []
