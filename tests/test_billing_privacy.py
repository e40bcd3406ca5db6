"""Billing details live at Stripe only: after editing them, no table of ours (any column, as
text) and no log line (every logger at DEBUG) holds the name, the address or the tax ID."""

import logging

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import csrf_token

SECRETS = {"name": "Zebulon Quixotic-Farnsworth", "line1": "77 Xylophone Lane",
           "line2": "Vexillology Wing", "city": "Quuxhampton", "postal_code": "QX7 7ZQ",
           "tax_value": "DE987654321"}
MOVED = {"line1": "78 Xylophone Lane", "city": "Zorbington"}
LOOKED_FOR = [*SECRETS.values(), *MOVED.values(), "Xylophone", "Quixotic", "987654321"]


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def every_log(caplog):
    """Every logger at DEBUG, captured; but the Stripe SDK's own, which the app keeps at
    WARNING (its DEBUG lines are the request and response bodies)."""
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved = [(logger, logger.level) for logger in loggers]
    caplog.set_level(logging.DEBUG)
    for logger in loggers:
        if logger.name != "stripe" and not logger.name.startswith("stripe."):
            logger.setLevel(logging.DEBUG)
    yield caplog
    for logger, level in saved:
        logger.setLevel(level)


def edit_details(client, page: str = "/settings/billing") -> None:
    """Save the details, try an invalid VAT number, move house; look at the page each time."""
    def save(**fields):
        data = {"country": "GB", "tax_type": "eu_vat", **SECRETS, **fields,
                "csrf_token": csrf_token(client, page)}
        return client.post("/settings/billing/details", data=data)

    assert save().status_code == 303
    assert SECRETS["name"] in client.get(page).get_data(as_text=True)  # read from Stripe
    invalid = save(tax_value="DE12")
    assert invalid.status_code == 422 and SECRETS["name"] in invalid.get_data(as_text=True)
    assert save(**MOVED).status_code == 303
    assert MOVED["city"] in client.get(page).get_data(as_text=True)


def found_in_tables(app) -> list[str]:
    """Each table, column and string looked for that a row of ours holds (as text)."""
    found = []
    with app.app_context():
        inspector = sa.inspect(db.engine)
        tables = inspector.get_table_names()
        assert {"users", "billing_info", "stripe_events"} <= set(tables)
        with db.engine.connect() as conn:
            for table in tables:
                columns = [c["name"] for c in inspector.get_columns(table)]
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
                for row in rows:
                    for column, value in zip(columns, row, strict=True):
                        text = "" if value is None else str(value)
                        found += [f"{table}.{column}: {s!r}" for s in LOOKED_FOR
                                  if s.casefold() in text.casefold()]
    return found


def found_in_logs(caplog) -> list[str]:
    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    assert caplog.records, "nothing was logged: the capture is not working"
    return [s for s in LOOKED_FOR if s.casefold() in text.casefold()]


def test_the_app_keeps_the_stripe_sdk_quiet(app):
    # Its DEBUG and INFO lines hold whole request and response bodies: names, addresses.
    assert logging.getLogger("stripe").getEffectiveLevel() >= logging.WARNING


def test_billing_details_are_kept_in_no_table_and_no_log(app, client, make_user, login,
                                                         every_log):
    login(make_user("zeb"))
    edit_details(client)
    assert found_in_tables(app) == []
    assert found_in_logs(every_log) == []


def test_nor_by_the_webhooks_stripe_sends_about_them(app, site, client, make_user, login,
                                                     emu, every_log):
    """With the webhook endpoint registered (the handled event types, as `flask billing
    webhook-setup` registers it), every event Stripe delivers meanwhile is stored: none
    may carry the details into our tables."""
    login(make_user("zeb"))
    edit_details(client)
    emu("POST", "flush")
    delivered = [d["type"] for d in emu("GET", "deliveries")["data"]]
    assert found_in_tables(app) == [], f"events delivered: {delivered}"
    assert found_in_logs(every_log) == []
