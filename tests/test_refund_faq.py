"""The refund answers say how to ask (a mailto link to SUPPORT_EMAIL) and what then happens,
as the app really does it; error pages that say "contact us" say how."""

import re

import pytest

from tests.conftest import csrf_token


def text(response) -> str:
    return " ".join(response.get_data(as_text=True).split()).replace("&#39;", "'")


def faq(page: str) -> str:
    match = re.search(r'<section class="faq".*?</section>', page)
    assert match, "no questions section"
    return match.group(0)


UPGRADE_REFUND = [
    "Can I get a refund for an upgrade?",
    "Yes, in full, if you ask within 14 days of buying.",
    '<a href="mailto:support@lumen.example?subject=Refund%20request">support@lumen.example</a>',
    "refunds the whole amount through Stripe, to the card that paid",  # who, and where to
    "The receipt then says Refunded",
    "the level goes back to what it was before the upgrade, unless a later upgrade",
    "the 45 days of credit you each got are taken back too",
    "5 to 10 working days",  # how long
    "A gift is refunded to whoever paid for it",
]


def test_the_upgrade_page_says_how_to_ask_for_a_refund(client, make_user, login):
    login(make_user("ada"))
    answers = faq(text(client.get("/user_upgrades/new")))
    for sentence in UPGRADE_REFUND:
        assert sentence in answers, sentence


def test_pricing_answers_refunds_for_premium_and_upgrades(client):
    answers = faq(text(client.get("/pricing")))
    for sentence in UPGRADE_REFUND:
        assert sentence in answers, sentence
    # Premium: the trial is the time to decide; monthly's tick-box waives the 14 days.
    assert "<strong>Annual:</strong> The 14-day free trial is your time to decide" in answers
    assert "<strong>Monthly:</strong> Premium starts as soon as you pay, so the tick-box asks " \
           "you to confirm that you give up the 14-day right to cancel for a refund. A month " \
           "that has started is not refunded." in answers
    assert 'Cancel in <a href="/settings">your settings</a>' in answers
    assert "Premium runs to the end of the month you paid for" in answers
    assert "Charged by mistake?" in answers
    assert 'href="mailto:support@lumen.example?subject=Payment%20question"' in answers
    assert '<a href="/terms">our terms</a>' in answers


class TestAnotherSupportAddress:
    @pytest.fixture
    def app_config(self):
        return {"SUPPORT_EMAIL": "help@lumen.test"}

    def test_the_links_follow_the_configuration(self, client):
        answers = faq(text(client.get("/pricing")))
        assert "mailto:help@lumen.test?subject=Refund%20request" in answers
        assert "support@lumen.example" not in answers


def test_a_server_side_error_page_says_whom_to_write_to(client, make_user, login):
    login(make_user("ada"))
    # Billing is off in tests: a purchase is a 503 saying nothing was charged.
    response = client.post("/user_upgrades", data={
        "upgrade": "gold", "csrf_token": csrf_token(client, "/user_upgrades/new")})
    assert response.status_code == 503
    assert 'If it keeps happening, write to <a href="mailto:support@lumen.example">' \
           in text(response)


def test_a_page_not_found_does_not(client):
    assert "mailto:" not in client.get("/nowhere").get_data(as_text=True)
