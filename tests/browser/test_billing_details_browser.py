"""Billing details in Chromium: from Settings to /settings/billing, an invalid VAT number
refused on its field, a valid one saved at the emulator and shown again after a reload;
the page fits a phone and a desktop window with details, without, with a field error and
with billing off (LAYOUT_SHOTS=/tmp/shots saves screenshots of them)."""

import pytest
from playwright.sync_api import expect

from app.billing import gateway
from app.billing.customers import stored_customer_id
from app.extensions import db
from tests.browser.layout import layout_problems
from tests.browser.test_layout_browser import save_shot
from tests.browser.test_upgrades_browser import log_in

pytestmark = pytest.mark.browser

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def customer_at_stripe(app, user):
    with app.app_context():
        return gateway.retrieve_customer(
            stored_customer_id(db.session.get(type(user), user.id)), expand=["tax_ids"])


def fill_details(page) -> None:
    page.get_by_label("Name").fill("Ada Lovelace")
    page.get_by_label("Address line 1").fill("12 St James's Square")
    page.get_by_label("Town or city").fill("London")
    page.get_by_label("Postal code").fill("SW1Y 4JH")
    page.get_by_label("Country").select_option(label="United Kingdom")


def test_edit_billing_details_with_an_invalid_then_a_valid_vat_number(app, live_server,
                                                                       page, make_user):
    alice = make_user("alice")
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Billing details and cards").click()
    expect(page.get_by_role("heading", name="Billing details", exact=True)).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("")

    fill_details(page)
    page.get_by_label("Tax ID", exact=True).select_option("eu_vat")
    page.get_by_label("Tax ID number").fill("DE12345")
    page.get_by_role("button", name="Save billing details").click()
    number = page.get_by_label("Tax ID number")
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#tax_value-error")).to_have_text(
        "That is not a valid EU VAT number (for example DE123456789).")
    expect(page.get_by_label("Name")).to_have_value("Ada Lovelace")  # kept to correct
    assert not customer_at_stripe(app, alice).tax_ids.data

    number.fill("DE123456789")
    page.get_by_role("button", name="Save billing details").click()
    expect(page.get_by_text("Billing details saved.")).to_be_visible()
    customer = customer_at_stripe(app, alice)
    assert customer.name == "Ada Lovelace" and customer.address.country == "GB"
    assert [(t.type, t.value) for t in customer.tax_ids.data] == [("eu_vat", "DE123456789")]

    page.reload()
    expect(page.get_by_text("Billing details saved.")).to_have_count(0)
    expect(page.get_by_label("Name")).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Postal code")).to_have_value("SW1Y 4JH")
    expect(page.get_by_label("Country")).to_have_value("GB")
    expect(page.get_by_label("Tax ID", exact=True)).to_have_value("eu_vat")
    expect(page.get_by_label("Tax ID number")).to_have_value("DE123456789")
    # And removed again with "None".
    page.get_by_label("Tax ID", exact=True).select_option(label="None")
    page.get_by_label("Tax ID number").fill("")
    page.get_by_role("button", name="Save billing details").click()
    expect(page.get_by_text("Billing details saved.")).to_be_visible()
    assert customer_at_stripe(app, alice).tax_ids.data == []


@pytest.mark.parametrize("state", ["filled-in", "empty", "invalid", "billing-off"])
def test_the_page_fits_phone_and_desktop(app, live_server, page, make_user, state):
    make_user("Bartholomew_Featherstonehaugh_II")
    log_in(page, live_server, "Bartholomew_Featherstonehaugh_II")
    url = live_server.url + "/settings/billing"
    if state in ("filled-in", "invalid"):
        page.goto(url)
        fill_details(page)
        page.get_by_label("Address line 2").fill(
            "The Very Long Building Name Of The Northern Quarter, Floor 14, Suite 1401")
        page.get_by_label("Country").select_option(
            label="South Georgia & South Sandwich Islands")
        page.get_by_label("Tax ID", exact=True).select_option("ch_vat")
        page.get_by_label("Tax ID number").fill(
            "CHE-123.456.789 MWST" if state == "filled-in" else "CHE-12")
        page.get_by_role("button", name="Save billing details").click()
        expect(page.get_by_role("heading", name="Billing details", exact=True)).to_be_visible()
        # The answer's heading shows before its stylesheets have loaded; the invalid page
        # is measured as answered (no reload), so wait for them, or a loaded machine
        # measures it unstyled and too wide.
        page.wait_for_load_state("load")
    if state == "billing-off":
        app.config.update(BILLING_ENABLED=False, STRIPE_SECRET_KEY="")
    problems = []
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        if state != "invalid":  # the 422 page as it was answered
            page.goto(url)
        problems += [f"{size}: {p}" for p in layout_problems(page)]
        save_shot(page, "billing-details", state, size)  # with LAYOUT_SHOTS=/some/dir
    assert not problems, "\n".join(problems)
