"""The console with the rows `make screenshots` shows (bench/): 90 days of customers on the
overview, a day of events with long failure reasons on the webhook page, due, leased and
failed jobs on the outbox page. At 390 and 1280 px nothing is wider than the window and axe
finds nothing serious; on a wide screen dates, event types and job kinds are not broken
across lines. HEALTH_SHOTS=/tmp/shots-health saves a screenshot of each page and width."""

import os
from pathlib import Path

import pytest

from app.auth.models import utcnow
from app.extensions import db
from bench import admin_health
from bench.admin_history import history
from tests.browser.accessibility import serious_violations
from tests.browser.layout import layout_problems
from tests.browser.test_layout_browser import log_in

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SHOTS = os.environ.get("HEALTH_SHOTS")

# Elements kept on one line on a wide screen that the browser broke all the same.
_BROKEN = """
() => [...document.querySelectorAll(".admin-table span.keep, .admin-table time")]
  .filter((el) => new Set([...el.getClientRects()].map((r) => Math.round(r.top))).size > 1)
  .map((el) => el.textContent.trim())
"""


def test_the_console_with_a_busy_day_fits(app, live_server, page, make_user):
    now = utcnow()
    with app.app_context():
        history(360, now, first_id=1000)
        admin_health.events(now)
        admin_health.jobs(now)
        db.session.remove()
    make_user("grace", admin=True)
    log_in(page, live_server.url, "grace")
    problems = []
    for path in ("/admin", "/admin/webhooks", "/admin/outbox"):
        page.goto(live_server.url + path)
        for size, viewport in SIZES.items():
            page.set_viewport_size(viewport)
            found = layout_problems(page) + (serious_violations(page) if size == "phone" else [])
            if size == "desktop":
                found += [f"broken across lines: {t}" for t in page.evaluate(_BROKEN)]
            problems += [f"{path} {size}: {p}" for p in found]
            if SHOTS:
                Path(SHOTS).mkdir(parents=True, exist_ok=True)
                name = path.strip("/").replace("/", "-")
                page.screenshot(path=f"{SHOTS}/{name}-{viewport['width']}.png", full_page=True)
    assert not problems, "\n".join(problems)
