"""A form posted from another site is refused with a 400 and a sentence, and never touches the
session: the user stays logged in, whatever the browser sends or withholds."""

import pytest

from app.errors import CSRF_CROSS_SITE, CSRF_OUT_OF_DATE
from tests.conftest import csrf_token

ELSEWHERE = {"Origin": "https://evil.example", "Referer": "https://evil.example/win-a-prize",
             "Sec-Fetch-Site": "cross-site"}
# Form endpoints of every kind: log-out, a purchase, a subscription, a card action.
FORM_POSTS = ["/logout", "/user_upgrades", "/subscriptions", "/subscriptions/cancel",
              "/settings/billing/cards", "/settings/billing/details"]


@pytest.fixture
def app_config(billing_config):
    return billing_config  # the purchase endpoints answer (Stripe is never reached here)


@pytest.fixture
def logged_in(client, make_user, login):
    login(make_user("alice"))
    client.get("/")  # shows (and so clears) the log-in's flashed message
    return client


def session_cookies(response) -> list[str]:
    return [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]


def assert_logged_in(client) -> None:
    response = client.get("/settings")
    assert response.status_code == 200
    assert "alice" in response.get_data(as_text=True)


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split()).replace("&#39;", "'")


@pytest.mark.parametrize("path", FORM_POSTS)
def test_a_post_from_another_site_with_our_cookies_changes_nothing(logged_in, path):
    # An old browser (no SameSite) sends the session along: the page must not rewrite it.
    before = logged_in.get_cookie("session").value
    response = logged_in.post(path, data={"upgrade": "gold"}, headers=ELSEWHERE)
    assert response.status_code == 400
    assert CSRF_CROSS_SITE in text(response)
    assert session_cookies(response) == []
    assert logged_in.get_cookie("session").value == before
    assert_logged_in(logged_in)


@pytest.mark.parametrize("path", [*FORM_POSTS, "/login", "/signup", "/pricing", "/nowhere"])
def test_a_post_from_another_site_without_our_cookies_sets_none(app, logged_in, path):
    """What a browser really does: SameSite=Lax keeps the session cookie from another site's
    form post, but it keeps a cookie the answer sets. A new, empty session's cookie would
    replace the real one: the answer (a 400, or a 404/405 for a page that takes no posts)
    must set no session cookie at all."""
    stranger = app.test_client(use_cookies=False)
    response = stranger.post(path, data={"login": "x"}, headers=ELSEWHERE)
    assert response.status_code in (400, 404, 405)
    assert session_cookies(response) == [], response.headers.getlist("Set-Cookie")
    assert_logged_in(logged_in)


def test_the_cross_site_page_says_nothing_was_done_and_the_user_is_still_logged_in(app):
    response = app.test_client(use_cookies=False).post("/logout", headers=ELSEWHERE)
    page = text(response)
    assert "Nothing was done" in page and "If you were logged in, you still are." in page


def test_without_fetch_metadata_the_origin_or_referer_tells(app, logged_in):
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "http://evil.example/"},
                    {"Origin": "null"}):
        response = logged_in.post("/logout", headers=headers)
        assert response.status_code == 400
        assert CSRF_CROSS_SITE in text(response), headers
    assert_logged_in(logged_in)


def test_a_form_of_ours_that_is_out_of_date_says_so_and_offers_the_page_again(logged_in):
    response = logged_in.post("/subscriptions", data={"csrf_token": "stale"}, headers={
        "Origin": "http://localhost", "Referer": "http://localhost/pricing?interval=annual",
        "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 400
    page = text(response)
    assert CSRF_OUT_OF_DATE in page
    assert '<a class="button button-primary" href="/pricing?interval=annual">' in page
    assert session_cookies(response) == []
    assert_logged_in(logged_in)


@pytest.mark.parametrize("referer", ["http://evil.example/pricing",
                                     "http://localhost//evil.example/x",
                                     "http://localhost/\\evil.example"])
def test_the_way_back_is_only_ever_a_page_of_ours(logged_in, referer):
    response = logged_in.post("/subscriptions", headers={"Referer": referer})
    assert response.status_code == 400
    assert "Open the page again</a>" not in text(response)


def test_a_logged_in_post_with_its_token_still_works(logged_in):
    response = logged_in.post("/logout", data={"csrf_token": csrf_token(logged_in)})
    assert response.status_code == 303
    assert "Log in" in logged_in.get("/").get_data(as_text=True)


def test_a_first_visit_still_gets_a_session_and_can_log_in(app, make_user):
    make_user("bob")
    client = app.test_client()
    response = client.get("/login")
    assert session_cookies(response)  # the form's CSRF token lives in it
    response = client.post("/login", data={"login": "bob", "password": "correct horse battery",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 303 and session_cookies(response)


def test_json_clients_get_the_sentence_too(app):
    response = app.test_client(use_cookies=False).post(
        "/logout", headers={**ELSEWHERE, "Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json() == {"error": CSRF_CROSS_SITE}
