"""Referral capture: the link and `?ref=` remember a valid code in a signed cookie, sign-up
records the Referral and clears the cookie; anything else is ignored and never stops a
sign-up."""

import logging
import time
from http.cookies import SimpleCookie

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app.auth.models import User
from app.extensions import db
from app.referrals import capture, service
from app.referrals.models import Referral
from tests.conftest import PASSWORD, csrf_token

THIRTY_DAYS = 30 * 24 * 3600


def sign_up(client, username: str, path: str = "/signup"):
    return client.post(path, data={
        "email": f"{username}@example.com", "username": username, "password": PASSWORD,
        "password2": PASSWORD, "csrf_token": csrf_token(client, "/signup")})


def referrals(app) -> list[tuple[str | None, str]]:
    """(referrer, referred) usernames of every Referral row."""
    with app.app_context():
        users = {u.id: u.username for u in db.session.scalars(sa.select(User))}
        return [(users.get(r.referrer_id), users[r.referred_id])
                for r in db.session.scalars(sa.select(Referral))]


def ref_cookie(response) -> SimpleCookie | None:
    """The `ref` cookie the response sets (or clears), parsed; None if it does not."""
    for header in response.headers.getlist("Set-Cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if "ref" in cookie:
            return cookie
    return None


def signed(app, value, secret: str | None = None) -> str:
    """`value` signed as the cookie is (or with another `secret`)."""
    with app.test_request_context():
        if secret is None:
            return capture._serializer().dumps(value)
        return URLSafeTimedSerializer(secret, salt="referral-code").dumps(value)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


# --- the link and ?ref= ----------------------------------------------------------------

def test_the_link_remembers_the_code_and_sign_up_records_the_referral(app, client, alice):
    response = client.get(f"/r/{alice.referral_code.upper()}")  # read aloud, typed in capitals
    assert response.status_code == 303 and response.location == "/signup"
    cookie = ref_cookie(response)["ref"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == THIRTY_DAYS and not cookie["secure"]
    assert response.headers["Cache-Control"] == "no-store"
    # Signed, holding the code as stored (lower case) and nothing else.
    with app.test_request_context():
        assert capture._serializer().loads(cookie.value) == alice.referral_code
    assert alice.referral_code not in cookie.value.split(".")[-1]

    client.get("/")  # the visitor looks around first
    client.get("/pricing")
    assert client.get_cookie("ref") is not None
    signed_up = sign_up(client, "bob")
    assert signed_up.status_code == 303
    cleared = ref_cookie(signed_up)["ref"]
    assert cleared.value == "" and int(cleared["max-age"]) == 0
    assert client.get_cookie("ref") is None
    assert referrals(app) == [("alice", "bob")]


def test_the_cookie_is_secure_where_the_session_cookie_is(app, client, alice):
    app.config["SESSION_COOKIE_SECURE"] = True
    assert ref_cookie(client.get(f"/r/{alice.referral_code}"))["ref"]["secure"]


@pytest.mark.parametrize("path", ["/", "/pricing", "/login", "/no-such-page"])
def test_ref_on_any_page_is_remembered_without_a_redirect(app, client, alice, path):
    response = client.get(f"{path}?ref={alice.referral_code}")
    assert response.status_code in (200, 404)
    assert ref_cookie(response)["ref"]["httponly"]
    assert response.headers["Cache-Control"] == "no-store"
    assert sign_up(client, "bob").status_code == 303
    assert referrals(app) == [("alice", "bob")]
    assert client.get_cookie("ref") is None


def test_ref_on_the_sign_up_form_itself_counts_without_the_cookie(app, client, alice):
    """The form posts back to its own address, `?ref=` included: that is enough."""
    url = f"/signup?ref={alice.referral_code}"
    assert ref_cookie(client.get(url))
    client.delete_cookie("ref")
    response = sign_up(client, "bob", path=url)
    assert response.status_code == 303
    assert ref_cookie(response) is None  # not set again for the user just signed up
    assert referrals(app) == [("alice", "bob")]


def test_the_latest_link_followed_wins(app, client, alice, make_user):
    carol = make_user("carol")
    client.get(f"/r/{alice.referral_code}")
    client.get(f"/?ref={carol.referral_code}")
    sign_up(client, "bob")
    assert referrals(app) == [("carol", "bob")]


def test_static_files_ignore_ref(client, alice):
    assert ref_cookie(client.get(f"/static/css/app.css?ref={alice.referral_code}")) is None


def test_a_logged_in_visitor_is_not_referred(client, alice, make_user, login):
    login(make_user("carol"))
    response = client.get(f"/r/{alice.referral_code}")
    assert response.status_code == 303 and response.location == "/"
    assert ref_cookie(response) is None
    assert ref_cookie(client.get(f"/pricing?ref={alice.referral_code}")) is None


def test_the_link_lands_on_a_sign_up_page_that_says_who_invited_you_and_what_you_both_get(
        client, alice):
    page = client.get(f"/r/{alice.referral_code}", follow_redirects=True)
    assert page.status_code == 200 and page.request.path == "/signup"
    html = " ".join(page.get_data(as_text=True).split())
    assert ('<p class="notice notice-info invitation"><strong>@alice</strong> invited you. '
            "When you first pay for Premium or an upgrade, you both get 45 days of Premium "
            "free.</p>") in html
    assert html.index("invited you") < html.index('<form method="post"')  # then the form
    # Still said on a later visit (the code is remembered), and for ?ref= on the page itself.
    assert "@alice</strong> invited you" in client.get("/signup").get_data(as_text=True)
    other = client.application.test_client()
    assert "@alice</strong> invited you" in \
        other.get(f"/signup?ref={alice.referral_code}").get_data(as_text=True)


@pytest.mark.parametrize("code", ["zzzzzzzz", "<script>"])
def test_an_unknown_code_lands_on_a_plain_sign_up(client, alice, code):
    page = client.get(f"/r/{code}", follow_redirects=True)
    assert page.status_code == 200 and page.request.path == "/signup"
    html = page.get_data(as_text=True)
    assert "invited you" not in html and "Create your account" in html


# --- what is ignored -------------------------------------------------------------------

BAD_CODES = ["zzzzzzzz",  # the right shape, nobody's
             "abc", "0oo1lli0", "a" * 200, "<script>", "%00", "%0d%0aSet-Cookie:%20x=1",
             "abcdefgh%00"]


@pytest.mark.parametrize("code", BAD_CODES)
def test_unknown_or_malformed_codes_are_ignored_quietly(app, client, alice, code):
    response = client.get(f"/r/{code}")
    assert response.status_code == 303 and response.location == "/signup"
    assert ref_cookie(response) is None
    page = client.get(f"/pricing?ref={code}")
    assert page.status_code == 200 and ref_cookie(page) is None
    assert sign_up(client, "bob").status_code == 303
    assert referrals(app) == []


def test_a_tampered_or_foreign_cookie_is_ignored(app, client, alice, monkeypatch):
    good = signed(app, alice.referral_code)
    payload, stamp, signature = good.split(".")
    past = time.time() - THIRTY_DAYS - 60
    with monkeypatch.context() as m:  # signed (correctly) 30 days and a minute ago
        m.setattr(TimestampSigner, "get_timestamp", lambda self: int(past))
        expired = signed(app, alice.referral_code)
    other = signed(app, "zzzzzzzz")  # validly signed, but nobody's code
    forged = signed(app, alice.referral_code, secret="not-our-secret")
    swapped = ".".join([other.split(".")[0], stamp, signature])  # another payload
    for n, value in enumerate([alice.referral_code, good[:-2] + "xx", forged, swapped,
                               expired, other, signed(app, ["a list"]), "", "...",
                               signed(app, 12345678)]):
        client.set_cookie("ref", value)
        assert sign_up(client, f"bob{n}").status_code == 303, value
        client.post("/logout", data={"csrf_token": csrf_token(client, "/settings")})
    assert referrals(app) == []


# --- the rules of record_referral ------------------------------------------------------

def test_no_one_refers_themselves(app, alice):
    with app.app_context():
        me = db.session.get(User, alice.id)
        assert service.record_referral(me, alice.referral_code) is None
        db.session.commit()
    assert referrals(app) == []


def test_a_user_is_referred_once(app, alice, make_user):
    carol, bob = make_user("carol"), make_user("bob")
    with app.app_context():
        referred = db.session.get(User, bob.id)
        assert service.record_referral(referred, alice.referral_code) is not None
        db.session.commit()
        with pytest.raises(IntegrityError):
            service.record_referral(referred, carol.referral_code)
        db.session.rollback()
    assert referrals(app) == [("alice", "bob")]


def test_a_referral_that_fails_never_fails_the_sign_up(app, client, alice, monkeypatch,
                                                      caplog):
    def broken(referred, code):
        # A real database error inside the savepoint: the same user referred twice.
        db.session.add(Referral(referrer_id=alice.id, referred_id=referred.id))
        db.session.add(Referral(referrer_id=alice.id, referred_id=referred.id))
        db.session.flush()

    monkeypatch.setattr(service, "record_referral", broken)
    client.get(f"/r/{alice.referral_code}")
    with caplog.at_level(logging.ERROR, logger="app.referrals"):
        response = sign_up(client, "bob")
    assert response.status_code == 303
    assert "Welcome, bob!" in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "bob")) is not None
    assert referrals(app) == []
    assert "could not record the referral" in caplog.text
    assert client.get_cookie("ref") is None


def test_a_sign_up_refused_keeps_the_cookie_for_the_next_try(app, client, alice):
    client.get(f"/r/{alice.referral_code}")
    response = client.post("/signup", data={"email": "bob@example.com", "username": "b",
                                            "csrf_token": csrf_token(client, "/signup")})
    assert response.status_code == 422 and ref_cookie(response) is None
    assert client.get_cookie("ref") is not None
    assert sign_up(client, "bob").status_code == 303
    assert referrals(app) == [("alice", "bob")]
