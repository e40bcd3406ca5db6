"""The site's frame, as a customer sees it: the header's navigation and account menu, the
footer's terms, privacy and contact pages, customer wording when payments are off, and
colours that stay readable."""

import re

import pytest

from app.auth.models import Level
from app.billing.errors import BillingDisabled, CatalogNotSynced
from tests.conftest import csrf_token
from tests.contrast import pairs
from tests.upgrade_helpers import make_upgrade

# What operators say, and customers should never read.
OPERATOR_WORDS = ("stripe key", "stripe_", "webhook", "emulator", "cli", "sync-catalog",
                  "flask ", "switched off on this server", "catalog has not been synced")


def header(html: str) -> str:
    return html[html.index('<header class="site-header"'):html.index("</header>")]


def footer(html: str) -> str:
    return html[html.index('<footer class="site-footer"'):html.index("</footer>")]


def link(html: str, href: str, role: str | None = None) -> str:
    """The one <a> to `href` (in the menu when role="menuitem", else outside it)."""
    tags = [t for t in re.findall(rf'<a [^>]*href="{re.escape(href)}"[^>]*>', html)
            if ('role="menuitem"' in t) == (role == "menuitem")]
    assert len(tags) == 1, (href, tags)
    return tags[0]


def visible_text(html: str) -> str:
    """The page's words: no tags, no scripts, no attribute values (a CSRF token, a URL)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).lower()


# --- navigation -------------------------------------------------------------------------

def test_anonymous_header_offers_the_public_pages_and_logging_in(client):
    html = header(client.get("/pricing").get_data(as_text=True))
    for href in ("/pricing", "/premium", "/user_upgrades/new", "/login", "/signup"):
        link(html, href)
    assert 'aria-current="page"' in link(html, "/pricing")
    assert "/settings" not in html and "account-menu" not in html


def test_logged_in_header_reaches_upgrades_receipts_settings_and_billing(client, make_user,
                                                                          login):
    login(make_user("alice"))
    html = header(client.get("/").get_data(as_text=True))
    link(html, "/user_upgrades/new")
    link(html, "/settings")
    for href in ("/user_upgrades", "/settings", "/settings/billing"):
        link(html, href, role="menuitem")
    assert 'role="menuitem">Log out</button>' in html
    assert "aria-current" not in html  # the home page is in neither the nav nor the menu


@pytest.mark.parametrize("path, nav, menu", [
    ("/pricing", "/pricing", None),
    ("/premium", "/premium", None),
    ("/user_upgrades/new", "/user_upgrades/new", None),
    ("/user_upgrades", None, "/user_upgrades"),
    ("/settings", "/settings", "/settings"),
    ("/settings/billing", None, "/settings/billing"),
])
def test_the_current_page_is_marked(client, make_user, login, path, nav, menu):
    login(make_user("alice"))
    response = client.get(path)
    assert response.status_code in (200, 403), path
    html = header(response.get_data(as_text=True))
    marked = re.findall(r'<a [^>]*href="([^"]+)" aria-current="page"( role="menuitem")?', html)
    assert sorted(marked) == sorted(
        ([(nav, "")] if nav else []) + ([(menu, ' role="menuitem"')] if menu else []))
    in_menu = menu is not None
    assert ('class="account-menu has-current"' in html) == in_menu


def test_pages_inside_a_section_mark_the_section(app, client, make_user, login):
    alice = make_user("alice")
    login(alice)
    upgrade = make_upgrade(app, alice)
    html = header(client.get(f"/user_upgrades/{upgrade['id']}").get_data(as_text=True))
    assert 'aria-current="true"' in link(html, "/user_upgrades", role="menuitem")
    assert 'class="account-menu has-current"' in html
    html = header(client.get("/settings/billing").get_data(as_text=True))
    assert 'aria-current="true"' in link(html, "/settings")  # the nav's Settings
    assert "aria-current" not in link(html, "/settings", role="menuitem")


def test_navigation_needs_no_javascript(client, make_user, login):
    # The account menu is a <details>: its links are plain links, there without a script.
    login(make_user("alice", level=Level.GOLD))
    html = header(client.get("/").get_data(as_text=True))
    assert re.search(r'<details class="account-menu[^"]*">\s*<summary>', html)
    assert 'class="badge badge-gold">Gold</span>' in html


# --- footer and its pages ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/pricing", "/login", "/terms", "/no/such/page"])
def test_every_page_links_terms_privacy_and_contact(client, path):
    html = footer(client.get(path).get_data(as_text=True))
    for href in ("/terms", "/privacy", "/contact"):
        link(html, href)


@pytest.mark.parametrize("path, heading", [
    ("/terms", "Terms"), ("/privacy", "Privacy"), ("/contact", "Contact")])
def test_terms_privacy_and_contact_render_for_everyone(client, make_user, login, path,
                                                      heading):
    for visitor in (None, "alice"):
        if visitor:
            login(make_user(visitor))
        response = client.get(path)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert f"<h1>{heading}</h1>" in html
        assert f"<title>{heading} · Lumen</title>" in html
        assert 'aria-current="page"' in link(footer(html), path)


def test_contact_gives_the_configured_support_address(app, client):
    html = client.get("/contact").get_data(as_text=True)
    assert '<a href="mailto:support@lumen.example">support@lumen.example</a>' in html
    app.config["SUPPORT_EMAIL"] = "help@shop.example"
    for path in ("/contact", "/privacy"):
        assert 'href="mailto:help@shop.example"' in client.get(path).get_data(as_text=True)


def test_terms_say_what_the_app_does(app, client):
    app.config["SUBSCRIPTION_GRACE_DAYS"] = 5
    text = visible_text(client.get("/terms").get_data(as_text=True))
    for words in ("lumen sells", "£7.00", "£70.00", "£20.00", "£40.00", "14-day free trial",
                  "tick a box", "lose the right to cancel within 14 days",
                  "ask within 14 days of buying", "to whoever paid for it",
                  "you keep premium for 5 days",
                  "45 days of premium"):
        assert words in text, words


def test_privacy_says_cards_stay_at_stripe_and_events_are_redacted(client):
    text = visible_text(client.get("/privacy").get_data(as_text=True))
    for words in ("your email address, your username", "your card number never reaches us",
                  "last four digits", "kept at stripe", "blank out every personal value",
                  "no analytics or advertising cookies"):
        assert words in text, words


# --- customer wording -------------------------------------------------------------------

def test_home_page_promises_only_what_is_sold(client):
    text = visible_text(client.get("/").get_data(as_text=True))
    for words in ("gold or platinum", "£7.00 a month", "£70.00 a year", "14-day free trial",
                  "45 days of premium", "your card number goes to stripe, never to us"):
        assert words in text, words
    # The level perks of another product (uploads, posts, profiles) are not this site's.
    for claim in ("upload", "comment", "profile", "early access"):
        assert claim not in text, claim


def whole_word(words: str) -> str:
    """A pattern for `words` not inside a longer word ("cli", not "click")."""
    end = "" if words[-1] in "_ " else r"\b"
    return rf"\b{re.escape(words)}{end}"


def customer_pages(app) -> list[str]:
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments
                   and not rule.rule.startswith("/static")})


def test_no_operator_wording_when_payments_are_off(app, client, make_user, login):
    assert not app.config["BILLING_ENABLED"]
    seen = {}
    for visitor in (None, "alice"):
        if visitor:
            login(make_user(visitor))
        for path in customer_pages(app):
            seen[(visitor, path)] = client.get(path).get_data(as_text=True)
    purchase = client.post("/user_upgrades", data={
        "upgrade": "gold", "csrf_token": csrf_token(client, "/user_upgrades/new")})
    assert purchase.status_code == 503
    seen["purchase"] = purchase.get_data(as_text=True)
    for where, html in seen.items():
        text = visible_text(html)
        found = [w for w in OPERATOR_WORDS if re.search(whole_word(w), text)]
        assert not found, (where, found)
    notice = "Payments are unavailable right now, so nothing can be bought. Everything else works."
    assert notice in seen[("alice", "/user_upgrades/new")]


def test_billing_errors_speak_to_customers():
    for error in (BillingDisabled(), CatalogNotSynced()):
        said = str(error).lower()
        assert "nothing was charged" in said
        assert not [w for w in (*OPERATOR_WORDS, "server", "key", "catalog") if w in said]
    assert "STRIPE_SECRET_KEY" in BillingDisabled().operator_message  # operators keep theirs
    assert "sync-catalog" in CatalogNotSynced().operator_message


# --- colours ----------------------------------------------------------------------------

def test_every_pill_notice_and_disabled_button_is_readable():
    found = pairs()
    selectors = {selector for selector, *_ in found}
    for expected in (".badge-gold", ".badge-platinum", ".status-complete", ".status-refunded",
                     ".status-past_due", ".notice-warning", ".button:disabled"):
        assert expected in selectors, expected
    low = [(s, f"{r:.2f}") for s, _, _, r in found if r < 4.5]
    assert not low, low
