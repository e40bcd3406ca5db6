"""Another site's form posted to ours, in Chromium: the site is served on 127.0.0.1, the other
one on "localhost" (another site to a browser). Chromium withholds the SameSite=Lax session
cookie from that post but would store one our answer set: the answer must set none, so the
user stays logged in."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from app.errors import CSRF_CROSS_SITE
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


class OtherSite:
    """A page on http://localhost:PORT/ with forms that post to our site."""

    def __init__(self, target: str):
        forms = "".join(
            f'<form method="post" action="{target}{path}">'
            f'<input type="hidden" name="upgrade" value="gold">'
            f'<button>Post to {path}</button></form>'
            for path in ("/logout", "/user_upgrades", "/subscriptions", "/pricing"))
        body = f"<!doctype html><title>Win a prize</title>{forms}".encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "OtherSite":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def other_site(live_server):
    with OtherSite(live_server.url) as site:
        yield site


def session_cookie(page) -> str | None:
    found = [c["value"] for c in page.context.cookies() if c["name"] == "session"]
    return found[0] if found else None


@pytest.mark.parametrize("path, status", [("/logout", 400), ("/user_upgrades", 400),
                                          ("/subscriptions", 400), ("/pricing", 405)])
def test_a_form_posted_from_another_site_leaves_the_user_logged_in(
        live_server, other_site, page, make_user, path, status):
    make_user("alice")
    page.goto(live_server.url + "/login")
    page.get_by_label("Email or username").fill("@alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()
    before = session_cookie(page)
    assert before

    page.goto(other_site.url)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=f"Post to {path}").click()
    response = posted.value
    assert response.status == status
    # What Chromium sent: no cookie of ours (SameSite=Lax); what we sent back: none either.
    assert "session=" not in (response.request.header_value("cookie") or "")
    assert "session=" not in (response.header_value("set-cookie") or "")
    if status == 400:
        expect(page.get_by_text(CSRF_CROSS_SITE)).to_be_visible()
    assert session_cookie(page) == before

    page.goto(live_server.url + "/settings")
    expect(page).to_have_url(live_server.url + "/settings")
    expect(page.locator(".account-name")).to_have_text("alice")
