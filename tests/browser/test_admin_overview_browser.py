"""The console's overview in Chromium, with the hand-built business of the metrics test:
every chart fits a 390 px phone and a 1280 px desktop, its table opens, and axe finds
nothing serious. OVERVIEW_SHOTS=/tmp/shots-overview saves a screenshot of each width."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import serious_violations
from tests.browser.layout import layout_problems
from tests.browser.test_layout_browser import log_in
from tests.test_admin_metrics import customers  # noqa: F401  (the hand-built business)
from tests.test_admin_overview import on_the_day  # noqa: F401  (the app's clock on its day)

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SHOTS = os.environ.get("OVERVIEW_SHOTS")


def test_the_overview_fits_and_opens_its_tables(app, live_server, page, make_user,
                                                customers, on_the_day):  # noqa: F811
    make_user("boss", admin=True)
    log_in(page, live_server.url, "boss")
    page.goto(f"{live_server.url}/admin")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    expect(page.get_by_text("£50.00 today, £40.00 on the first day.")).to_be_visible()
    problems = []
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        charts = page.locator(".admin-svg")
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box and 0 < box["width"] <= viewport["width"] and box["height"] > 50, box
        problems += [f"{size}: {p}" for p in layout_problems(page) + serious_violations(page)]
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SHOTS}/overview-{viewport['width']}.png", full_page=True)
            page.screenshot(path=f"{SHOTS}/overview-{viewport['width']}-top.png")
    assert not problems, "\n".join(problems)

    mrr = page.locator(".admin-chart").first
    mrr.get_by_text("Show the figures").click()  # on the phone
    table = mrr.get_by_role("table")
    expect(table.get_by_role("row").nth(1)).to_contain_text("2025-06-30")
    expect(table.get_by_role("row").nth(1)).to_contain_text("£50.00")
    if SHOTS:
        mrr.scroll_into_view_if_needed()
        page.screenshot(path=f"{SHOTS}/overview-figures-390.png")
