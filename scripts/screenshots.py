"""`make screenshots`: the main pages as PNGs in docs/screenshots/, for the README.

The local Stripe emulator and the app run in this process, on a fresh SQLite database in a
temporary directory (as the tests run them), with the app's webhook endpoint registered at
the emulator. Debian's Chromium, through Playwright, then does what people do: Maya signs
up, subscribes monthly on the emulator's hosted Checkout and saves a second card; Sam signs
up and buys Gold; Ada subscribes, switches to annual and fills in her billing details, for
her billing history and a receipt (the worker runs in-process, e-mails kept in memory).
Grace, an admin, then walks the console. An operator's day is put in place first (rows
from bench/admin_health.py: 24 hours of webhook events, a few failed with long reasons; an
outbox with due, leased and failed jobs) and differences from Stripe of several kinds. She
refunds Sam's Gold (a wrong password first) and grants Ada credit, so the audit log has
entries. Last, before she opens the overview, a few hundred customers' 90 days are written
(bench/admin_history.py) so that every chart has a shape; they come after the drift report
because Stripe has never heard of them. Pages are shot at 1280 px, and a few (every console
page) at 390 px. Nothing but the PNGs is kept; run it again whenever the pages change.
"""

import argparse
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial
from pathlib import Path

import requests
from flask import Flask
from playwright.sync_api import Page, expect, sync_playwright
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from stripe_emulator import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench/, which is not installed

from bench import admin_health, admin_history  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"


@contextmanager
def running_site(folder: Path, port: int) -> Iterator[tuple[str, str, Flask]]:
    """The emulator and the app on 127.0.0.1: (app address, emulator address, the app). The
    app takes `port` if it is free (addresses on the pages then match `make dev`'s), else any
    port."""
    from flask_migrate import upgrade

    from app.billing import gateway
    from app.catalog.sync import sync_catalog
    from app.webhooks.registry import handled_types

    emulator = EmulatorServer(port=0).start()
    app = create_app({
        "TESTING": True, "SECRET_KEY": os.urandom(32).hex(),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'app.db'}",
        "STRIPE_SECRET_KEY": "sk_test_emulator", "BILLING_ENABLED": True,
        "STRIPE_API_BASE": emulator.url, "SERVER_NAME": None, "MAIL_BACKEND": "locmem",
        "SELLER_NAME": "Lumen Software Ltd", "SELLER_VAT_ID": "GB123456789",
        "SELLER_ADDRESS": "4 Hanover Square, London, W1S 1BP, United Kingdom",
    })
    try:
        server = make_server("127.0.0.1", port, app, threaded=True)
    except OSError:  # taken, by `make dev` say
        server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["SITE_URL"] = url
    with app.app_context():
        upgrade()  # the schema, the only way it is built: migrations
        sync_catalog()
        db.session.commit()
        endpoint = gateway.create_webhook_endpoint(url + "/webhooks/stripe", handled_types())
    app.config["STRIPE_WEBHOOK_SECRET"] = endpoint.secret
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield url, emulator.url, app
    finally:
        server.shutdown()
        thread.join(5)
        with app.app_context():
            db.engine.dispose()
        emulator.stop()


class Camera:
    """Saves full-page PNGs of a page into one folder, at the widths asked for."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.saved: list[Path] = []

    def shoot(self, page: Page, name: str, phone: bool = False) -> None:
        sizes = [("", DESKTOP)] + ([("-phone", PHONE)] if phone else [])
        for suffix, viewport in sizes:
            page.set_viewport_size(viewport)
            path = self.folder / f"{name}{suffix}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled",
                            caret="hide")
            self.saved.append(path)
        page.set_viewport_size(DESKTOP)


def sign_up(page: Page, url: str, username: str) -> None:
    page.goto(url + "/signup")
    page.get_by_label("Email", exact=True).fill(f"{username.lower()}@example.com")
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Create account")).to_have_count(0)


def on_checkout(page: Page) -> None:
    expect(page).to_have_url(re.compile(r"/checkout/cs_"))


def flush_webhooks(emulator_url: str) -> None:
    """Deliver whatever the emulator still holds, so pages show the settled state."""
    requests.post(f"{emulator_url}/_emulator/flush", timeout=30).raise_for_status()


def subscriber(page: Page, url: str, emulator_url: str, camera: Camera) -> None:
    """Maya: the home page, pricing, the hosted Checkout, settings with monthly Premium and
    two cards."""
    page.goto(url + "/")
    camera.shoot(page, "home", phone=True)
    sign_up(page, url, "maya")
    page.goto(url + "/pricing")
    camera.shoot(page, "pricing")
    page.locator("#waiver").check()
    page.get_by_role("button", name=re.compile(r"^Subscribe for")).click()
    on_checkout(page)
    page.get_by_label("Name on card").fill("Maya Lin")
    page.get_by_label("Name on card").blur()  # no focus ring in the picture
    camera.shoot(page, "checkout", phone=True)
    page.get_by_label("Visa: succeeds").check()
    page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page).to_have_url(url + "/settings")

    page.goto(url + "/settings/billing")
    page.get_by_role("button", name="Add a card").click()
    on_checkout(page)
    page.get_by_label("Mastercard: succeeds").check()
    page.get_by_role("button", name="Save card").click()
    expect(page).to_have_url(url + "/settings/billing")
    flush_webhooks(emulator_url)

    page.goto(url + "/settings")  # again, without the sentences about what just happened
    camera.shoot(page, "settings", phone=True)
    page.goto(url + "/settings/billing")
    camera.shoot(page, "settings-billing")


def run_worker(app: Flask) -> None:
    """The jobs due now, as `flask worker --once` runs them (a paid invoice's card)."""
    from app.outbox.worker import work

    with app.app_context():
        work(worker="screenshots", once=True)
        db.session.remove()


def payer(page: Page, url: str, emulator_url: str, camera: Camera, app: Flask) -> None:
    """Ada: monthly Premium, then annual; her billing details; the billing history with both
    payments, and the receipt of the switch."""
    sign_up(page, url, "ada")
    page.goto(url + "/pricing")
    page.locator("#waiver").check()
    page.get_by_role("button", name=re.compile(r"^Subscribe for")).click()
    on_checkout(page)
    page.get_by_label("Visa: succeeds").check()
    page.get_by_role("button", name="Subscribe", exact=True).click()
    expect(page).to_have_url(url + "/settings")
    page.get_by_role("link", name="Switch to annual billing").click()
    page.get_by_role("button", name="Switch to annual billing").click()
    expect(page.get_by_text("You are now on Premium (annual).")).to_be_visible()
    page.goto(url + "/settings/billing")
    page.get_by_label("Name").fill("Ada Lovelace Consulting Ltd")
    page.get_by_label("Address line 1").fill("12 St James's Square")
    page.get_by_label("Town or city").fill("London")
    page.get_by_label("Postal code").fill("SW1Y 4JH")
    page.get_by_label("Country").select_option(label="United Kingdom")
    page.get_by_role("button", name="Save billing details").click()
    expect(page.get_by_text("Billing details saved.")).to_be_visible()
    flush_webhooks(emulator_url)
    run_worker(app)

    page.goto(url + "/settings/payments")
    camera.shoot(page, "billing-history", phone=True)
    page.get_by_role("link", name="Receipt").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"paid$"))).to_be_visible()
    camera.shoot(page, "billing-receipt")


def upgrade_buyer(page: Page, url: str, emulator_url: str, camera: Camera) -> None:
    """Sam: the upgrade page, Gold paid on the hosted Checkout, its receipt."""
    sign_up(page, url, "sam")
    page.goto(url + "/user_upgrades/new")
    camera.shoot(page, "upgrade")
    page.get_by_role("button", name="Upgrade to Gold").click()
    on_checkout(page)
    camera.shoot(page, "checkout-upgrade")
    page.get_by_label("Visa: succeeds").check()
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page).to_have_url(re.compile(r"/user_upgrades/\d+"))
    flush_webhooks(emulator_url)
    page.goto(page.url.split("?")[0])  # the receipt as it stays, once Stripe has told us
    camera.shoot(page, "receipt", phone=True)


def troubles(app: Flask) -> None:
    """What an operator's week holds besides: a receipt the mail server refused and an event
    whose handler failed among a day of others (bench/admin_health.py), and differences from
    Stripe, as withheld or corrupted events leave them: Maya's renewal (her status and
    period) and her card's new expiry never arrived, a customer made for Grace at Stripe
    was never recorded, and a subscription of hers here is unknown to Stripe."""
    import sqlalchemy as sa

    from app.auth.models import User, utcnow
    from app.billing import gateway
    from app.billing.models import BillingInfo, PaymentMethod
    from app.outbox.models import Job, JobStatus
    from app.subscriptions.models import Subscription, SubscriptionStatus
    from app.webhooks.models import StripeEvent

    with app.app_context():
        job = db.session.scalar(sa.select(Job).where(Job.kind == "email")
                                .order_by(Job.id.desc()).limit(1))
        if job is not None:
            job.status, job.attempts, job.finished_at = JobStatus.FAILED, 5, utcnow()
            job.last_error = "SMTPRecipientsRefused: 452 4.2.2 Mailbox full (ada@example.com)"
        event = db.session.scalar(sa.select(StripeEvent).where(
            StripeEvent.type == "customer.updated").order_by(StripeEvent.id.desc()).limit(1))
        if event is not None:
            event.processed_at, event.attempts = None, 3
            event.last_error = "OperationalError: database is locked (retried 3 times)"
        maya = db.session.scalar(sa.select(User.id).where(User.username == "maya"))
        sub = db.session.scalar(sa.select(Subscription).where(Subscription.user_id == maya))
        if sub is not None:
            sub.current_period_end -= timedelta(days=3)
            sub.status = SubscriptionStatus.PAST_DUE
        card = db.session.scalar(sa.select(PaymentMethod).join(BillingInfo)
                                 .where(BillingInfo.user_id == maya)
                                 .order_by(PaymentMethod.priority.desc()).limit(1))
        if card is not None:
            card.exp_month, card.exp_year = 9, card.exp_year - 3
        db.session.execute(sa.update(User).where(User.username == "grace").values(is_admin=True))
        grace = db.session.scalar(sa.select(User).where(User.username == "grace"))
        assert grace is not None
        customer = gateway.create_customer(grace.email, grace.id, "screenshots-grace")
        now = utcnow()
        db.session.add(Subscription(
            user_id=grace.id, stripe_subscription_id="sub_1QhX4nKd8vR2pLm0Tz7yWc3e",
            stripe_customer_id=customer.id, status=SubscriptionStatus.ACTIVE,
            stripe_item_id="si_1QhX4nKd8vR2pLm0Qd5sNa1b", stripe_price_id="price_retired_2025",
            interval="month", amount=700, currency="gbp", current_period_start=now,
            current_period_end=now + timedelta(days=30), snapshot_at=now))
        db.session.commit()
        admin_health.events(now)
        admin_health.jobs(now)


def past_90_days(app: Flask) -> None:
    """A few hundred customers' last 90 days, so the overview's charts have a shape."""
    import sqlalchemy as sa

    from app.auth.models import User, utcnow

    with app.app_context():
        after = db.session.scalar(sa.select(sa.func.max(User.id))) or 0
        admin_history.history(360, utcnow(), first_id=after + 1)
        db.session.remove()


def operator(page: Page, url: str, emulator_url: str, camera: Camera, app: Flask) -> None:
    """Grace, an admin: every console page, with a day of events and jobs, some failed, and
    differences from Stripe; Sam's Gold refunded (a wrong password first) and Ada granted
    credit, so the audit log has entries; then 90 days of customers for the overview."""
    sign_up(page, url, "grace")
    troubles(app)
    for path, name in (("/admin/webhooks", "admin-webhooks"), ("/admin/outbox", "admin-outbox"),
                       ("/admin/drift", "admin-drift"), ("/admin/customers?q=a",
                                                         "admin-customers")):
        page.goto(url + path)
        camera.shoot(page, name, phone=True)

    page.goto(url + "/admin/customers?q=sam")
    page.get_by_role("link", name="sam@example.com").click()
    page.get_by_role("link", name=re.compile(r"^Refund upgrade #")).click()
    page.get_by_label("Reason").fill("Bought Gold by mistake; asked for a refund the same day")
    page.get_by_label("Reason").blur()
    camera.shoot(page, "admin-confirm", phone=True)
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Refund upgrade").click()
    expect(page.get_by_text("That is not your password")).to_be_visible()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Refund upgrade").click()
    expect(page.get_by_text(re.compile(r"^Refunded upgrade #"))).to_be_visible()
    flush_webhooks(emulator_url)

    page.goto(url + "/admin/customers?q=ada")
    page.get_by_role("link", name="ada@example.com").click()
    page.get_by_role("link", name="Grant credit").click()
    page.get_by_label("Days of credit").fill("7")
    page.get_by_label("Reason").fill("Receipts bounced for a week: mailbox full")
    page.get_by_role("button", name="Grant credit").click()  # no password: asked 1 min ago
    expect(page.get_by_text(re.compile(r"^Granted 7 days of credit"))).to_be_visible()
    flush_webhooks(emulator_url)
    page.reload()
    camera.shoot(page, "admin-customer", phone=True)
    page.goto(url + "/admin/audit")
    camera.shoot(page, "admin-audit", phone=True)
    past_90_days(app)
    page.goto(url + "/admin")  # last: the refund, the credit and the 90 days in its charts
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    camera.shoot(page, "admin-overview", phone=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs/screenshots",
                        help="Where the PNGs go (default docs/screenshots).")
    parser.add_argument("--port", type=int, default=5000,
                        help="The app's port if free (default 5000, as for `make dev`).")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"make screenshots: Chromium not found at {CHROMIUM} "
                 "(apt-get install chromium, or set CHROMIUM_PATH).")
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not every request, just trouble
    camera = Camera(args.out)
    with tempfile.TemporaryDirectory(prefix="lumen-shots-") as tmp, \
            running_site(Path(tmp), args.port) as (url, emulator_url, app), \
            sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        for journey in (subscriber, upgrade_buyer, partial(payer, app=app),
                        partial(operator, app=app)):
            context = browser.new_context(viewport=DESKTOP)  # each person a fresh browser
            page = context.new_page()
            page.set_default_timeout(15_000)
            journey(page, url, emulator_url, camera)
            context.close()
        browser.close()
    for path in camera.saved:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}"
              f"  {path.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
