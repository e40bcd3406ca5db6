"""Hints that lead somewhere, and usernames typed the way the site writes them ("@bob")."""

import re

import pytest

from app.auth.models import find_by_username
from app.extensions import db
from tests.conftest import PASSWORD, csrf_token
from tests.upgrade_helpers import upgrade_row


def signup(client, query: str = "", **fields):
    data = {"email": "ada@example.com", "username": "ada", "password": PASSWORD,
            "password2": PASSWORD, "csrf_token": csrf_token(client, "/signup"), **fields}
    return client.post("/signup" + query, data=data)


def email_error(html: str) -> str:
    match = re.search(r'<p class="error" id="email-error">(.*?)</p>', html, re.S)
    assert match, "no error under the email field"
    return " ".join(match.group(1).split())


# --- the sign-up page's "Log in instead" ---------------------------------------------

def test_a_taken_email_links_to_log_in_keeping_next_and_to_a_password_reset(client,
                                                                            make_user):
    make_user("ada", email="ada@example.com")
    response = signup(client, "?next=/pricing%3Finterval%3Dannual",
                      email="ADA@example.com", username="someone_else")
    assert response.status_code == 422
    error = email_error(response.get_data(as_text=True))
    assert error.startswith("An account with this email already exists.")
    assert '<a href="/login?next=/pricing?interval%3Dannual">Log in instead</a>' in error
    assert '<a href="/forgot-password">reset your password</a>' in error
    # The link works: log in there and land where the sign-up would have sent you.
    response = client.post("/login?next=/pricing?interval%3Dannual", data={
        "login": "ada@example.com", "password": PASSWORD,
        "csrf_token": csrf_token(client, "/login")})
    assert response.headers["Location"] == "/pricing?interval=annual"


def test_without_next_the_link_is_the_plain_log_in_page(client, make_user):
    make_user("ada", email="ada@example.com")
    error = email_error(signup(client, username="other").get_data(as_text=True))
    assert '<a href="/login">Log in instead</a>' in error


def test_other_errors_carry_no_log_in_link(client):
    html = signup(client, email="not-an-email").get_data(as_text=True)
    assert "Log in instead" not in email_error(html)
    assert email_error(html) == "Enter an email address, like name@example.com."


def test_a_taken_username_says_what_to_do(client, make_user):
    make_user("ada", email="first@example.com")
    html = signup(client, username="ADA").get_data(as_text=True)
    assert "That username is taken. Choose another." in html


# --- usernames with the site's "@" -----------------------------------------------------

def test_sign_up_takes_a_username_typed_with_an_at_sign(app, client):
    assert signup(client, username=" @ada ").status_code == 303
    with app.app_context():
        assert find_by_username("ada") is not None
    assert "ada" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("typed", ["@alice", " @Alice ", "alice", "ALICE@example.com "])
def test_log_in_by_username_with_or_without_the_at_sign(client, make_user, typed):
    make_user("alice")
    response = client.post("/login", data={"login": typed, "password": PASSWORD,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 303, typed


@pytest.mark.parametrize("typed", ["@bob", " @bob ", "bob", "@ bob", "@BOB"])
def test_the_gift_field_takes_a_username_with_an_at_sign(client, make_user, login, typed):
    make_user("bob")
    login(make_user("alice"))
    response = client.get("/user_upgrades/new", query_string={"user": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Gift an upgrade" in html and "<strong>@bob</strong>" in html
    assert 'class="error"' not in html
    # What the purchase form will send is the name itself (any case finds bob).
    assert re.search(r'<input id="recipient" name="recipient" type="hidden" value="bob">',
                     html, re.IGNORECASE)


@pytest.mark.parametrize("typed, named", [("@nobody", "nobody"), ("@", "@"),
                                          ("  nobody  ", "nobody")])
def test_an_unknown_recipient_is_still_a_clear_sentence(client, make_user, login, typed,
                                                        named):
    login(make_user("alice"))
    html = client.get("/user_upgrades/new", query_string={"user": typed}).get_data(
        as_text=True)
    assert f'<p class="error" id="user-error">There is no user called “{named}”. Check the ' \
           "username and try again.</p>" in html
    # Below the form's row (the button stays level with the box), still tied to the box.
    assert 'aria-describedby="user-help user-error" aria-invalid="true"' in html


class TestBuyingAGiftForAtBob:
    @pytest.fixture
    def app_config(self, emulated_config):
        return emulated_config

    def test_the_upgrade_goes_to_bob(self, app, client, make_user, login, synced_catalog):
        bob = make_user("bob")
        login(make_user("alice"))
        response = client.post("/user_upgrades", data={
            "upgrade": "gold", "recipient": " @bob ",
            "csrf_token": csrf_token(client, "/user_upgrades/new")})
        assert response.status_code == 303
        with app.app_context():
            from app.upgrades.models import UserUpgrade

            [upgrade_id] = db.session.scalars(db.select(UserUpgrade.id)).all()
        assert upgrade_row(app, upgrade_id).recipient_id == bob.id
