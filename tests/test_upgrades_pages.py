"""Upgrade pages and their rules: choosing, gifting, buying, receipts, billing switched off."""

import re

import pytest

from app.auth.models import Level
from app.extensions import db
from app.upgrades.models import UserUpgrade
from tests.conftest import csrf_token
from tests.upgrade_helpers import make_upgrade, upgrade_row


def buy(client, upgrade: str, recipient: str = ""):
    return client.post("/user_upgrades", data={
        "upgrade": upgrade, "recipient": recipient,
        "csrf_token": csrf_token(client, "/user_upgrades/new")})


def rows(app) -> list[UserUpgrade]:
    with app.app_context():
        found = db.session.scalars(db.select(UserUpgrade).order_by(UserUpgrade.id)).all()
        for row in found:
            db.session.expunge(row)
        return found


def button(html: str, value: str) -> str:
    match = re.search(rf'<button[^>]*value="{value}"[^>]*>', html)
    assert match, f"no button for {value}"
    return match.group(0)


# --- billing switched off (the default test configuration) ---------------------------

def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/user_upgrades/new?user=bob")
    assert response.status_code == 302 and "/login" in response.location
    assert client.get("/user_upgrades").status_code == 302
    assert client.get("/user_upgrades/1").status_code == 302


def test_page_renders_with_buttons_disabled_when_billing_is_off(client, make_user, login):
    login(make_user("alice"))
    html = client.get("/user_upgrades/new").get_data(as_text=True)
    assert "<h1>Upgrade your account</h1>" in html
    assert "Payments are unavailable right now" in html
    assert "disabled" in button(html, "gold") and "disabled" in button(html, "platinum")
    for text in ("Member", "Gold", "Platinum", "£20.00", "£40.00", "one-time",
                 "Is this a subscription?", "refund"):
        assert text in html


def test_post_answers_503_when_billing_is_off(app, client, make_user, login):
    login(make_user("alice"))
    response = buy(client, "gold")
    assert response.status_code == 503
    assert "Payments are unavailable right now" in response.get_data(as_text=True)
    assert rows(app) == []


def test_buttons_follow_the_recipients_level(client, make_user, login):
    login(make_user("alice"))
    make_user("goldie", level=Level.GOLD)
    make_user("plato", level=Level.PLATINUM)
    html = client.get("/user_upgrades/new?user=goldie").get_data(as_text=True)
    assert "<h1>Gift an upgrade</h1>" in html and "@goldie" in html
    assert 'value="gold"' not in html  # Gold cannot be given: no button to buy it
    assert "disabled" in button(html, "gold_to_platinum")  # billing is off here
    assert "Gift Platinum</button>" in html
    html = client.get("/user_upgrades/new?user=plato").get_data(as_text=True)
    assert "There is no upgrade you can give @plato." in html
    assert 'type="submit"' not in html.split("<tbody>")[1].split("</tbody>")[0]


class TestGiftPrivacy:
    """A buyer learns which gifts can be given (that is what they buy), never the
    recipient's level in words: no badge, no "currently at", no "already has Gold"."""

    @pytest.fixture
    def app_config(self, billing_config):
        return billing_config

    REFUSED = {Level.MEMBER: ["gold_to_platinum"], Level.GOLD: ["gold", "platinum"],
               Level.PLATINUM: ["gold", "platinum", "gold_to_platinum"]}

    @pytest.mark.parametrize("level", list(Level))
    def test_the_gift_form_does_not_tell_the_recipients_level(self, app, client, make_user,
                                                               login, level):
        login(make_user("alice"))
        make_user("bob", level=level)
        html = " ".join(client.get("/user_upgrades/new?user=bob").get_data(as_text=True)
                        .split())
        for telling in ("currently at", "Their level", "Your level", "Included",
                        "level</span>", "the highest level", "already has",
                        "Gold to Platinum"):
            assert telling not in html, telling
        assert "Choosing a gift for <strong>@bob</strong>." in html
        if level is not Level.MEMBER:
            assert "Not available for @bob" in html
        for upgrade in self.REFUSED[level]:  # a refused gift says no more than the form
            response = buy(client, upgrade, recipient="bob")
            assert response.status_code == 422
            said = " ".join(response.get_data(as_text=True).split())
            assert "That upgrade cannot be given to @bob." in said
            for telling in ("already has", "the Gold level", "the Platinum level",
                            "only for accounts at", "choose Gold to Platinum"):
                assert telling not in said, (upgrade, telling)
        assert rows(app) == []


def test_own_platinum_account_is_told_there_is_nothing_more(client, make_user, login):
    login(make_user("plato", level=Level.PLATINUM))
    html = client.get("/user_upgrades/new").get_data(as_text=True)
    assert "You already have Platinum, the highest level" in html


def test_unknown_gift_recipient_is_a_form_error(client, make_user, login):
    login(make_user("alice"))
    html = client.get("/user_upgrades/new?user=nobody").get_data(as_text=True)
    assert "<h1>Gift an upgrade</h1>" in html
    assert 'class="error"' in html and "There is no user called “nobody”" in html
    assert 'aria-invalid="true"' in html


# --- receipts ------------------------------------------------------------------------

def complete(app, ids):
    with app.app_context():
        row = db.session.get(UserUpgrade, ids["id"])
        row.move_to(row.status.COMPLETE)
        row.receipt_url = "https://pay.stripe.com/receipts/x"
        db.session.commit()


def test_receipt_rules_for_purchaser_recipient_admin_and_others(app, client, make_user, login):
    alice, bob = make_user("alice"), make_user("bob")
    mallory, admin = make_user("mallory"), make_user("root", admin=True)
    ids = make_upgrade(app, alice, bob, "platinum", amount=4000)
    complete(app, ids)
    path = f"/user_upgrades/{ids['id']}"

    login(alice)
    html = client.get(path).get_data(as_text=True)
    assert "£40.00" in html and "Stripe receipt" in html and "@bob" in html
    assert "@bob has Platinum now." in html and 'http-equiv="refresh"' not in html
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    login(bob)
    html = client.get(path).get_data(as_text=True)
    assert "Gift from @alice" in html
    assert "£40.00" not in html and "Stripe receipt" not in html  # a gift's price stays private
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    login(mallory)
    assert client.get(path).status_code == 404
    assert client.get("/user_upgrades/999999").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client)})

    login(admin)
    assert "£40.00" in client.get(path).get_data(as_text=True)


def test_pending_receipt_checks_politely_instead_of_reloading(app, client, make_user, login):
    alice = make_user("alice")
    ids = make_upgrade(app, alice)
    login(alice)
    html = client.get(f"/user_upgrades/{ids['id']}").get_data(as_text=True)
    # No <meta refresh> (a page that reloads under a screen reader): a script asks the
    # status address and updates the live region; without it, a Refresh link.
    assert 'http-equiv="refresh"' not in html and "Awaiting payment" in html
    assert f'data-poll="/user_upgrades/{ids["id"]}?format=json"' in html
    assert 'role="status" aria-live="polite"' in html and "js/payment-status.js" in html
    assert f'<a href="/user_upgrades/{ids["id"]}">Refresh</a>' in html


def test_index_lists_upgrades_as_purchaser_and_recipient(app, client, make_user, login):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    make_upgrade(app, alice, bob)
    make_upgrade(app, carol, alice, "platinum", amount=4000)
    make_upgrade(app, carol, carol)
    login(alice)
    html = client.get("/user_upgrades").get_data(as_text=True)
    assert "Gift for @bob" in html and "Gift from @carol" in html
    assert html.count("Receipt</a>") == 2
    assert "£40.00" not in html  # alice received that one


# --- the server-side rules (billing on; the rules refuse before Stripe is called) -----

class TestRules:
    @pytest.fixture
    def app_config(self, billing_config):
        return billing_config

    @pytest.mark.parametrize("level, upgrade, message", [
        (Level.GOLD, "gold", "already have the Gold level"),
        (Level.PLATINUM, "gold_to_platinum", "already have the Platinum level"),
        (Level.MEMBER, "gold_to_platinum", "only for accounts at the Gold level"),
        (Level.GOLD, "platinum", "choose Gold to Platinum instead"),
        (Level.MEMBER, "diamond", "Choose one of the upgrades shown"),
    ])
    def test_no_upgrade_that_is_not_a_step_up(self, app, client, make_user, login,
                                              level, upgrade, message):
        login(make_user("alice", level=level))
        response = buy(client, upgrade)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        assert rows(app) == []

    def test_gift_for_someone_who_has_the_level_already(self, app, client, make_user, login):
        login(make_user("alice"))
        make_user("goldie", level=Level.GOLD)
        response = buy(client, "gold", recipient="goldie")
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert "That upgrade cannot be given to @goldie." in html
        assert "Gold level" not in html

    def test_no_second_upgrade_while_one_is_being_paid_for(self, app, client, make_user,
                                                           login):
        alice = make_user("alice")
        ids = make_upgrade(app, make_user("bob"), alice)
        with app.app_context():
            row = db.session.get(UserUpgrade, ids["id"])
            row.move_to(row.status.PROCESSING)
            db.session.commit()
        login(alice)
        response = buy(client, "gold")
        assert response.status_code == 422
        assert "already being paid for" in response.get_data(as_text=True)

    def test_purchases_are_rate_limited(self, app, client, make_user, login):
        login(make_user("alice", level=Level.GOLD))
        codes = [buy(client, "gold").status_code for _ in range(11)]
        assert codes[:10] == [422] * 10 and codes[10] == 429

    def test_unknown_recipient_is_refused(self, app, client, make_user, login):
        login(make_user("alice"))
        response = buy(client, "gold", recipient="nobody")
        assert response.status_code == 422
        assert "There is no user called “nobody”" in response.get_data(as_text=True)
        assert rows(app) == []

    def test_unsynced_catalog_charges_nothing(self, app, client, make_user, login):
        login(make_user("alice"))
        response = buy(client, "gold")
        assert response.status_code == 503
        assert "This item cannot be bought yet" in response.get_data(as_text=True)
        assert rows(app) == []

    def test_stripe_down_shows_a_clear_page_and_closes_the_row(self, app, client, make_user,
                                                               login):
        from app.catalog.models import CatalogPrice

        with app.app_context():
            db.session.add(CatalogPrice(lookup_key="gold", stripe_price_id="price_x",
                                        stripe_product_id="prod_x", amount=2000,
                                        currency="gbp"))
            db.session.commit()
        login(make_user("alice"))
        response = buy(client, "gold")
        assert response.status_code == 503
        assert "did not answer" in response.get_data(as_text=True)
        [row] = rows(app)
        assert row.status.value == "expired" and row.stripe_checkout_session_id is None

    def test_stripe_down_on_arrival_shows_the_stored_state(self, app, client, make_user,
                                                          login):
        alice = make_user("alice")
        ids = make_upgrade(app, alice)
        login(alice)
        response = client.get(f"/user_upgrades/{ids['id']}?session_id={ids['session']}")
        assert response.status_code == 200
        assert "Awaiting payment" in response.get_data(as_text=True)
        assert upgrade_row(app, ids["id"]).status.value == "pending"
