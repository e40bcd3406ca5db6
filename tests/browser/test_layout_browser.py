"""Every page at phone (390 px) and desktop (1280 px) widths in Chromium, as each kind of
visitor that sees a different page, with billing on and off: nothing is wider than the
window, the main column spans the page like the header, and no control is cut off. At
390 px axe-core also checks each page (once per visitor and billing mode: the markup is
the same at both widths, and axe is the slow part); a serious or critical violation fails.

The visitors: anonymous; a member (alice: upgrades bought, gifted, refunded, a failed gift
to her, a pending referral); a subscriber (sam: monthly Premium, subscribed through the
emulator's hosted Checkout with billing on, which axe checks too; a row as the webhooks
write it with billing off; his card's Remove page); a gift recipient (a Platinum friend
with the longest name, Platinum by alice's gift, with referral credit, long billing details
and a partly refunded invoice: its rows in the billing history, and its receipt); an admin.

The pages come from the app's URL map, so a new GET page without parameters is visited
without anyone adding it here; a page with parameters must be added to `plan`, or
`test_every_page_is_in_the_plan` fails. LAYOUT_SHOTS=/tmp/shots saves a screenshot of
each visit, to look at.
"""

import os
import re
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from app import create_app
from app.auth.models import Level, utcnow
from app.extensions import db
from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade
from tests.browser.accessibility import serious_violations
from tests.browser.layout import layout_problems
from tests.conftest import PASSWORD
from tests.conftest import test_config as config_for
from tests.test_subscriptions_pages import add_subscription

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
AXE_SIZE = "phone"
VISITORS = ("anonymous", "member", "subscriber", "gift_recipient", "admin")
# The longest username there can be, so the header and receipts are tried with it.
LONG_NAME = "Bartholomew_Featherstonehaugh_II"
SHOTS = os.environ.get("LAYOUT_SHOTS")


@dataclass(frozen=True)
class Seed:
    """Ids of the upgrades the visitors look at."""

    bought: int = 1    # the member's own purchase (refunded)
    gift_out: int = 1  # the member's gift to LONG_NAME (complete)
    gift_in: int = 1   # a gift to the member (its payment failed)
    referral_code: str = "23456789"  # the member's
    invoice: int = 1   # the gift recipient's paid subscription invoice (its receipt)
    card: int = 1      # the subscriber's card, saved by Checkout (its Remove page)
    customer: int = 1  # the gift recipient's user id (their page in the console)


def get_pages(app) -> list[str]:
    """Every GET page without parameters, from the URL map."""
    return sorted({rule.rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and not rule.arguments})


def plan(app, seed: Seed) -> dict[str, list[str]]:
    """What each visitor opens: every page without parameters, and the ones that differ.

    `/settings/billing` is one of the pages without parameters; with billing on, the
    gift recipient's has billing details filled in at Stripe (`billing_details`), the
    subscriber's has the card Checkout saved, the member's is empty, and with billing off it
    is the switched-off form."""
    pages = get_pages(app)
    return {
        "anonymous": pages + ["/no-such-page", f"/r/{seed.referral_code}",
                              "/reset-password/not-a-token"],
        "member": pages + [f"/user_upgrades/new?user={LONG_NAME}",
                           f"/user_upgrades/{seed.bought}", f"/user_upgrades/{seed.gift_in}"],
        "subscriber": pages + [f"/settings/billing/cards/{seed.card}/remove"],
        "gift_recipient": pages + [f"/user_upgrades/{seed.gift_out}",
                                   f"/settings/payments/{seed.invoice}"],
        "admin": pages + [f"/user_upgrades/{seed.gift_out}", "/user_upgrades/new?user=alice",
                          "/admin/customers?q=a", f"/admin/customers/{seed.customer}",
                          f"/admin/customers/{seed.customer}/actions/refund-invoice/in_layout",
                          f"/admin/customers/{seed.customer}/actions/grant-credit"],
    }


def endpoint(app, url: str) -> str | None:
    from werkzeug.exceptions import NotFound

    try:
        return app.url_map.bind("localhost").match(url.split("?")[0], method="GET")[0]
    except NotFound:
        return None


def test_every_page_is_in_the_plan(database_url):
    """A GET page with parameters (a receipt, a future /settings/<id>) needs a visit here."""
    app = create_app(config_for(database_url))  # only its URL map is read
    planned = {endpoint(app, url) for urls in plan(app, Seed()).values() for url in urls}
    missing = sorted(rule.rule for rule in app.url_map.iter_rules()
                     if "GET" in rule.methods and rule.endpoint != "static"
                     and rule.endpoint not in planned)
    assert not missing, f"pages no visitor opens in the layout test: {missing}"


# --- the browser test ------------------------------------------------------------------

@pytest.fixture(params=["billing-off", "billing-on"])
def billing(request) -> str:
    return request.param


@pytest.fixture
def app_config(request, billing):
    return request.getfixturevalue("emulated_config") if billing == "billing-on" else {}


def make_upgrade(app, purchaser, recipient, upgrade_type: str, status: UpgradeStatus,
                 amount: int, **fields) -> int:
    with app.app_context():
        now = utcnow()
        upgrade = UserUpgrade(
            purchaser_id=purchaser.id, recipient_id=recipient.id,
            type=UpgradeType(upgrade_type), status=status, amount=amount, currency="gbp",
            level_before=Level.MEMBER, created_at=now - timedelta(days=3), **fields)
        db.session.add(upgrade)
        db.session.commit()
        return upgrade.id


def seed(app, make_user) -> Seed:
    """A member with a few upgrades each way, a Platinum friend with a long name, an admin,
    and sam, who subscribes (his subscription is made by the test: see `subscribe`)."""
    alice = make_user("alice")
    make_user("sam")
    friend = make_user(LONG_NAME, level=Level.PLATINUM)
    carol = make_user("carol")
    admin = make_user("admin", admin=True)
    receipt = "https://pay.stripe.com/receipts/payment/" + "CAcaFwoVYWNjdF8xTEx1bWVu" * 3
    now = utcnow()
    bought = make_upgrade(app, alice, alice, "gold", UpgradeStatus.REFUNDED, 2000,
                          amount_refunded=2000, completed_at=now - timedelta(days=3),
                          refunded_at=now - timedelta(days=1), receipt_url=receipt)
    make_upgrade(app, alice, alice, "platinum", UpgradeStatus.EXPIRED, 4000,
                 closed_at=now - timedelta(days=2))
    gift_out = make_upgrade(app, alice, friend, "platinum", UpgradeStatus.COMPLETE, 4000,
                            completed_at=now - timedelta(days=2), receipt_url=receipt)
    gift_in = make_upgrade(app, carol, alice, "gold", UpgradeStatus.FAILED, 2000,
                           closed_at=now)
    seed_referrals(app, alice, friend, carol)
    audited(app, admin, friend)
    return Seed(bought=bought, gift_out=gift_out, gift_in=gift_in,
                referral_code=alice.referral_code, invoice=paid_invoice(app, friend),
                customer=friend.id)


def paid_invoice(app, user) -> int:
    """A paid annual invoice, as the invoice events and the worker record it: a row of the
    billing history, and a receipt (its buyer read from Stripe: the long billing details
    with billing on, "could not be loaded" with billing off)."""
    from app.history.models import Invoice

    with app.app_context():
        now = utcnow()
        invoice = Invoice(
            user_id=user.id, stripe_invoice_id="in_layout", stripe_subscription_id="sub_layout",
            number="A1B2C3D4-0001", billing_reason="subscription_cycle",
            description="1 × Premium (annual)", period_start=now - timedelta(days=2),
            period_end=now + timedelta(days=363), status="paid", amount_due=7000,
            amount_paid=7000, amount_refunded=2000, currency="gbp",
            created_at=now - timedelta(days=2), paid_at=now - timedelta(days=2),
            refunded_at=now - timedelta(days=1), card_brand="mastercard", card_last4="4444",
            hosted_invoice_url="https://invoice.stripe.com/i/acct_layout/test_" + "Y" * 60)
        db.session.add(invoice)
        db.session.commit()
        return invoice.id


def audited(app, admin, customer) -> None:
    """An action in the console's audit log, with a long reason and a refusal's sentence."""
    from app.admin.models import AuditEntry, Outcome

    with app.app_context():
        db.session.add(AuditEntry(
            actor_id=admin.id, action="refund-invoice", subject_id=customer.id,
            object_id="in_layout", outcome=Outcome.REFUSED,
            reason="Charged twice for the annual plan in the same week, asked by e-mail",
            detail="Invoice A1B2C3D4-0001 is refunded in full already; nothing was done."))
        db.session.commit()


def saved_card(app) -> int | None:
    """The id of the card Checkout saved for the subscriber (none with billing off)."""
    from app.billing.models import PaymentMethod

    with app.app_context():
        return db.session.scalar(db.select(PaymentMethod.id))


def seed_referrals(app, alice, friend, carol) -> None:
    """Alice came through carol's link and has not paid (the banner). Carol came through the
    Platinum friend's link and paid, was refunded, paid again: the friend's credit and
    ledger (Platinum has Premium anyway, so no visitor's access changes)."""
    from app.auth.models import User
    from app.referrals.models import CreditEntry, CreditReason, Referral

    with app.app_context():
        now = utcnow()
        db.session.add(Referral(referrer_id=carol.id, referred_id=alice.id))
        paid = Referral(referrer_id=friend.id, referred_id=carol.id, conversions=2,
                        converted_at=now - timedelta(days=2), credited_at=now - timedelta(days=2))
        db.session.add(paid)
        db.session.flush()
        for days_ago, days, reason, conversion in (
                (40, 45, CreditReason.REFERRAL_GIVEN, 1), (30, -45, CreditReason.REVERSAL, 1),
                (2, 45, CreditReason.REFERRAL_GIVEN, 2)):
            db.session.add(CreditEntry(user_id=friend.id, days=days, reason=reason,
                                       referral_id=paid.id, conversion=conversion,
                                       created_at=now - timedelta(days=days_ago)))
        db.session.add(CreditEntry(user_id=friend.id, days=10, reason=CreditReason.ADMIN_GRANT,
                                   note="Sorry about the outage on the 3rd: ten days on us",
                                   created_at=now - timedelta(days=1)))
        db.session.get(User, friend.id).credit_until = now + timedelta(days=55)
        db.session.commit()


LOGINS = {"anonymous": None, "member": "alice", "subscriber": "sam",
          "gift_recipient": LONG_NAME, "admin": "admin"}


def billing_details(app, username: str) -> None:
    """Long billing details on the user's Stripe customer (the emulator's)."""
    from app.auth.models import User
    from app.billing.details import BillingDetails, save_details

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.username == username))
        save_details(user, BillingDetails(
            name="Bartholomew Featherstonehaugh-Cholmondeley Holdings International Ltd",
            line1="Flat 14, The Very Long Building Name Of The Northern Quarter",
            line2="1401 Extraordinarily Long Street Name Avenue", city="Llanfairpwllgwyngyll",
            postal_code="LL61 5UJ", country="GS", tax_type="ch_vat",
            tax_value="CHE-123.456.789 MWST"))
        db.session.commit()


def log_in(page, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Email or username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("You are logged in.")).to_be_visible()


def checks(page, size: str) -> list[str]:
    """The layout's problems at every size, and axe's serious findings at AXE_SIZE."""
    return layout_problems(page) + (serious_violations(page) if size == AXE_SIZE else [])


def subscribe(app, page, url: str, billing: str) -> list[str]:
    """Sam's monthly Premium: through pricing and the emulator's hosted Checkout when billing
    is on (the Checkout page is checked like ours on the way), else a row as the webhooks
    would have written it. The problems found on the Checkout page."""
    if billing == "billing-off":
        from app.auth.models import User

        with app.app_context():
            sam = db.session.scalar(db.select(User).where(User.username == "sam"))
        add_subscription(app, sam)
        return []
    page.set_viewport_size(SIZES[AXE_SIZE])
    page.goto(url + "/pricing")
    page.locator("#waiver").check()
    page.get_by_role("button", name=re.compile(r"^Subscribe for")).click()
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))
    where = f"the emulator's Checkout at {SIZES[AXE_SIZE]['width']} px"
    problems = [f"{where}: {p}" for p in checks(page, AXE_SIZE)]
    page.get_by_label("Visa: succeeds").check()
    page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page).to_have_url(url + "/settings")
    expect(page.locator(".plan-line")).to_contain_text("Premium (monthly)")
    return problems


def save_shot(page, *parts: str) -> None:
    """With LAYOUT_SHOTS set, a full-page screenshot named after the visit."""
    if SHOTS:
        name = "-".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_") or "home" for p in parts)
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(full_page=True, path=str(Path(SHOTS) / f"{name}.png"))


@pytest.mark.browser
@pytest.mark.parametrize("visitor", VISITORS)
def test_pages_fit_the_window_and_pass_axe(request, app, billing, visitor, live_server, page,
                                           make_user):
    # With billing on, the emulator delivers its webhooks to the live server, as Stripe would.
    site = request.getfixturevalue("site") if billing == "billing-on" else live_server
    seeded = seed(app, make_user)
    urls = plan(app, seeded)[visitor]
    if billing == "billing-on" and visitor == "gift_recipient":
        billing_details(app, LONG_NAME)
    # Everything the pages load comes from here or the emulator: axe-core included, no CDN.
    elsewhere: list[str] = []

    def note_request(sent) -> None:
        address = urlsplit(sent.url)
        if address.scheme in ("http", "https") and address.hostname != "127.0.0.1":
            elsewhere.append(sent.url)

    page.on("request", note_request)
    if LOGINS[visitor]:
        log_in(page, site.url, LOGINS[visitor])

    problems, visited = [], set()
    if visitor == "subscriber":
        problems += subscribe(app, page, site.url, billing)
        urls = plan(app, replace(seeded, card=saved_card(app) or seeded.card))[visitor]
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        for url in urls:
            response = page.goto(site.url + url)
            # Error pages are laid out too (a 503 while billing is off is by design); a 500
            # would be a crash, with no page of ours to check.
            assert response is not None and response.status != 500, f"{url} crashed"
            visited.add(endpoint(app, url))
            problems += [f"{url} at {viewport['width']} px: {p}" for p in checks(page, size)]
            save_shot(page, billing, visitor, url, size)
        if LOGINS[visitor]:  # the account menu, open, stays inside the window too
            page.locator(".account-menu summary").click()
            expect(page.get_by_role("menuitem", name="Log out")).to_be_visible()
            problems += [f"{url} with the account menu open at {viewport['width']} px: {p}"
                         for p in checks(page, size)]
            save_shot(page, billing, visitor, url, size, "menu")

    assert not problems, f"{visitor}, {billing}:\n" + "\n".join(problems)
    assert not elsewhere, f"requests that left 127.0.0.1: {elsewhere}"
    expected = {r.endpoint for r in app.url_map.iter_rules()
                if "GET" in r.methods and not r.arguments}
    assert expected <= visited, f"not visited: {sorted(expected - visited)}"
