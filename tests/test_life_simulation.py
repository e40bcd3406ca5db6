"""The life simulation, small (issue 19): 40 users living 12 months on the emulator's
calendar, every event delivered duplicated and shuffled, the invariants checked after each
step (see tests/simulation/). On SQLite, and on PostgreSQL when TEST_DATABASE_URL names
one. `make simulate` runs a large one."""

import os

import pytest

from app import create_app
from app.extensions import db
from tests import conftest
from tests.conftest import need, reset_schema
from tests.mail_fixtures import smtp  # noqa: F401  (fixture)
from tests.simulation import Settings, app_config, memory_backed, simulate

SMALL = Settings(users=40, months=12, seed=19)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request, tmp_path_factory, database_url) -> str:
    """A SQLite file of the simulation's own, or the test PostgreSQL database."""
    if request.param == "postgres":
        need(database_url.startswith("postgres"), "TEST_DATABASE_URL (PostgreSQL) is not set")
        yield database_url  # migrated by `_migrated`, emptied after each test
        return
    directory = memory_backed() or str(tmp_path_factory.mktemp("simulation"))
    path = os.path.join(directory, f"simulation-{os.getpid()}.db")
    yield f"sqlite:///{path}"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def test_forty_users_live_a_year_and_every_invariant_holds(database, emulator, emu, smtp,  # noqa: F811
                                                           _migrated):
    emu("POST", "reset")
    smtp.mailbox.clear()
    app = create_app(conftest.test_config(database, **app_config(database, emulator.url,
                                                                 smtp.port)))
    if database.startswith("sqlite"):
        reset_schema(app)
    try:
        report = simulate(app, emulator.url, smtp.mailbox, SMALL,
                          "PostgreSQL" if database.startswith("postgres") else "SQLite")
    finally:
        with app.app_context():
            db.session.remove()
            if database.startswith("postgres"):
                conftest.empty_every_table()
            db.engine.dispose()
        emu("POST", "reset")
    print(report.text())
    assert report.ok, report.text() + "\n" + report.traces()
    assert report.events > 500 and report.checked["row equals Stripe's subscription"] > 500
