"""The console's acceptance walk in Chromium, on the emulator: an admin goes from the
overview to a customer who paid for an upgrade, refunds it (confirming with their
password), and finds the refund in the audit log; Stripe holds the refund."""

import re

import pytest
from playwright.sync_api import expect

from app.billing import gateway
from tests.browser.test_layout_browser import log_in
from tests.conftest import PASSWORD
from tests.test_admin_actions import alice, audit, buy  # noqa: F401  (a fixture)
from tests.upgrade_helpers import level_of, upgrade_row

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def test_overview_customer_refund_with_password_audit_log(app, site, client, emu, page,
                                                          make_user, alice):  # noqa: F811
    upgrade_id = buy(app, client, emu, "gold")  # alice pays £20.00 through Checkout
    make_user("root", admin=True)
    log_in(page, site.url, "root")

    page.goto(site.url + "/admin")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    console = page.get_by_role("navigation", name="Console")
    console.get_by_role("link", name="Customers").click()
    page.get_by_label("E-mail or username").fill("alice")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="alice@example.com").click()
    expect(page.get_by_role("heading", name="alice@example.com")).to_be_visible()

    page.get_by_role("link", name=f"Refund upgrade #{upgrade_id}").click()
    expect(page.get_by_role("heading", name="Refund upgrade")).to_be_visible()
    expect(page.locator(".admin-confirm")).to_contain_text("£20.00")
    page.get_by_label("Reason").fill("Bought by mistake, asked the same day")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Refund upgrade").click()
    expect(page.get_by_text("That is not your password: nothing was done.")).to_be_visible()
    assert upgrade_row(app, upgrade_id).status.value == "complete"

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Refund upgrade").click()
    expect(page).to_have_url(re.compile(rf"/admin/customers/{alice.id}#audit$"))
    expect(page.locator(".flashes")).to_contain_text(f"Refunded upgrade #{upgrade_id}: £20.00")

    console.get_by_role("link", name="Audit log").click()
    newest = page.locator(".admin-table tbody tr").first
    expect(newest).to_contain_text("root@example.com")
    expect(newest).to_contain_text("Refund upgrade")
    expect(newest).to_contain_text("alice@example.com")
    expect(newest).to_contain_text("Bought by mistake, asked the same day")
    expect(newest).to_contain_text("Done")
    expect(page.locator(".admin-table tbody tr").nth(1)).to_contain_text("Refused")

    row = upgrade_row(app, upgrade_id)
    assert row.status.value == "refunded" and level_of(app, alice) == "member"
    with app.app_context():
        assert gateway.client().v1.charges.retrieve(row.stripe_charge_id).amount_refunded == 2000
    assert [e[4] for e in audit(app)] == ["refused", "ok"]
