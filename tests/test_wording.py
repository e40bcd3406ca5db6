"""Wording families (issue 20): one phrase for one thing, sentence case, people's words
rather than codes, pages that lead somewhere. Each checks every template, not one page."""

from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def every_template() -> list[tuple[str, str]]:
    return [(str(path.relative_to(TEMPLATES)), path.read_text())
            for path in sorted(TEMPLATES.rglob("*")) if path.suffix in (".html", ".txt")]


@pytest.mark.parametrize("phrase", [
    "didn't go through", "didn’t go through",  # "did not go through", everywhere
    "Everything a Member gets",
    "Gift Account Upgrade", "Account Upgrade",  # sentence case, like the rest of the site
])
def test_no_template_says(phrase):
    found = [name for name, text in every_template() if phrase in text]
    assert found == [], f"{phrase!r} in {found}"


def test_a_failed_payment_is_said_one_way_in_pages_and_emails():
    said = {name for name, text in every_template() if "did not go through" in text}
    assert {"emails/payment_failed.txt", "emails/payment_failed.html"} <= said


def test_the_upgrade_pages_are_in_sentence_case(client, make_user, login):
    login(make_user("ada"))
    make_user("bob")
    assert "<h1>Upgrade your account</h1>" in client.get("/user_upgrades/new").get_data(
        as_text=True)
    gift = client.get("/user_upgrades/new?user=bob").get_data(as_text=True)
    assert "<h1>Gift an upgrade</h1>" in gift and "<title>Gift an upgrade" in gift


def test_starter_reads_naturally(client):
    page = client.get("/pricing").get_data(as_text=True)
    assert "<li>Everything in a free account</li>" in page


def test_the_premium_link_leads_a_visitor_to_a_page_about_premium(client):
    """The header's Premium link, followed by someone not logged in: a 200 that says what
    Premium is and how to get it, with sign-up and log-in (not a 403)."""
    home = client.get("/").get_data(as_text=True)
    assert 'href="/premium"' in home
    response = client.get("/premium")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>Premium</h1>" in page
    assert "Gold or Platinum upgrade" in page and "subscription" in page
    assert 'href="/signup?next=/pricing"' in page and 'href="/login?next=/premium"' in page
    assert 'href="/pricing"' in page


def test_the_gate_still_stands_for_an_account_without_access(client, make_user, login):
    login(make_user("ada"))
    response = client.get("/premium")
    assert response.status_code == 403
    assert "does not include Premium access" in response.get_data(as_text=True)
