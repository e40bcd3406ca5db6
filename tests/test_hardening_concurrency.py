"""Identical requests at the same moment, against a real threaded server: sign-ups with one
name make one account (the rest get the form error), and purchases open one checkout."""

import re
import threading

import pytest
import requests
import sqlalchemy as sa

from app.auth.models import User
from app.billing import gateway
from app.extensions import db
from app.upgrades.models import UserUpgrade
from tests.conftest import PASSWORD


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def token_from(session: requests.Session, url: str) -> str:
    html = session.get(url, timeout=30).text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


def all_at_once(requests_to_send) -> list[requests.Response]:
    """Send each prepared request from its own thread, released together."""
    barrier = threading.Barrier(len(requests_to_send))
    results: list = [None] * len(requests_to_send)

    def send(i, send_one):
        barrier.wait()
        try:
            results[i] = send_one()
        except Exception as exc:  # noqa: BLE001  (reported below, not lost in a thread)
            results[i] = exc

    threads = [threading.Thread(target=send, args=(i, s)) for i, s in enumerate(requests_to_send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(isinstance(r, requests.Response) for r in results), results
    return results


def rows(app, model) -> list:
    with app.app_context():
        return db.session.scalars(sa.select(model)).all()


# --- sign-ups ----------------------------------------------------------------------------

TAKEN = "That username is taken."
EXISTS = "An account with this email already exists"
SIGNUPS = {
    # what the eight share: (email of the i-th, username of the i-th, errors the losers see)
    "both": (lambda i: "ada@example.com", lambda i: ["ada", "Ada", "ADA"][i % 3], [TAKEN, EXISTS]),
    "username": (lambda i: f"ada{i}@example.com", lambda i: ["ada", "ADA"][i % 2], [TAKEN]),
    "email": (lambda i: "ada@example.com", lambda i: f"ada{i}", [EXISTS]),
}


@pytest.mark.parametrize("shared", SIGNUPS)
def test_simultaneous_signups_make_one_account(app, live_server, shared):
    email, username, errors = SIGNUPS[shared]
    senders = []
    for i in range(8):
        session = requests.Session()
        token = token_from(session, live_server.url + "/signup")
        data = {"email": email(i), "username": username(i), "password": PASSWORD,
                "password2": PASSWORD, "csrf_token": token}
        senders.append(lambda s=session, d=data: s.post(
            live_server.url + "/signup", data=d, allow_redirects=False, timeout=60))

    responses = all_at_once(senders)

    assert sorted(r.status_code for r in responses) == [303] + [422] * 7
    for response in responses:
        if response.status_code == 422:
            for error in errors:
                assert error in response.text
    assert len(rows(app, User)) == 1


# --- purchases ---------------------------------------------------------------------------

@pytest.fixture
def slow_steps(monkeypatch):
    """Widen both windows a race needs: between the check for an open purchase and the
    insert, and between the insert and the Checkout Session being stored."""
    import time

    from app.upgrades import purchase as upgrade_purchase

    def slowed(function):
        def slow(*args, **kwargs):
            time.sleep(0.3)
            return function(*args, **kwargs)
        return slow

    monkeypatch.setattr(upgrade_purchase, "check_allowed",
                        slowed(upgrade_purchase.check_allowed))
    monkeypatch.setattr(gateway, "create_checkout_session",
                        slowed(gateway.create_checkout_session))


def logged_in_session(live_server, who: str) -> requests.Session:
    session = requests.Session()
    response = session.post(live_server.url + "/login", allow_redirects=False, timeout=30, data={
        "login": who, "password": PASSWORD,
        "csrf_token": token_from(session, live_server.url + "/login")})
    assert response.status_code == 303
    return session


@pytest.mark.parametrize("widened", [False, True], ids=["as-is", "widened"])
def test_simultaneous_identical_purchases_open_one_checkout(
        app, request, live_server, synced_catalog, make_user, widened):
    if widened:
        request.getfixturevalue("slow_steps")
    app.config["SITE_URL"] = live_server.url
    make_user("ada")
    make_user("bob")
    session = logged_in_session(live_server, "ada")
    data = {"upgrade": "gold", "recipient": "bob",
            "csrf_token": token_from(session, live_server.url + "/user_upgrades/new")}

    senders = []
    for _ in range(4):  # four tabs of one browser: one log-in cookie, separate connections
        tab = requests.Session()
        tab.cookies.update(session.cookies)
        senders.append(lambda t=tab: t.post(live_server.url + "/user_upgrades", data=data,
                                            allow_redirects=False, timeout=60))

    responses = all_at_once(senders)

    assert [r.status_code for r in responses] == [303] * 4, [r.text[-300:] for r in responses]
    assert len({r.headers["Location"] for r in responses}) == 1  # all sent to one session
    [upgrade] = rows(app, UserUpgrade)
    assert upgrade.status.value == "pending"
    with app.app_context():
        sessions = gateway.client().v1.checkout.sessions.list(params={"limit": 100}).data
    assert [s.id for s in sessions] == [upgrade.stripe_checkout_session_id]
    assert responses[0].headers["Location"] == sessions[0].url
