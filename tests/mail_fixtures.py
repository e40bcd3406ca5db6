"""Fixtures for tests that send mail: a real SMTP server and an app configured to use it,
the worker run in-process, and the app's clock moved with the emulator's."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import app.auth.models as auth_models
from app.extensions import db
from app.outbox.models import Job
from app.outbox.worker import work
from tests.mailbox import SMTPServer


@pytest.fixture(scope="session")
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def mailbox(smtp):
    smtp.mailbox.clear()
    yield smtp.mailbox
    smtp.mailbox.clear()


@pytest.fixture
def mail_config(smtp) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def run_worker(app) -> int:
    """Run every job due now (as `flask worker --once` would)."""
    with app.app_context():
        ran = work(worker="test-worker", once=True)
        db.session.remove()
    return ran


def jobs(app, prefix: str = "") -> list[tuple[str, str]]:
    """(key, status) of every job whose key starts with `prefix`, oldest first."""
    with app.app_context():
        return [(j.key, j.status.value) for j in db.session.scalars(
            sa.select(Job).where(Job.key.startswith(prefix)).order_by(Job.id))]


@pytest.fixture
def app_clock():
    """`app_clock(emu, extra)`: the app's now becomes the emulator's now plus `extra`.

    The emulator's clock is wall time plus a whole number of seconds (`offset`); ours takes
    the same offset, so both read the same second at every moment. (Taken from `now`, which
    is whole seconds, ours would lag by up to a second, and a snapshot we stamp could look
    older than an event Stripe stamped at the same moment.)"""

    def follow(emu, extra: timedelta = timedelta(0)) -> datetime:
        offset = emu("GET", "clock")["offset"]
        auth_models.CLOCK_OFFSET = timedelta(seconds=offset) + extra
        return auth_models.utcnow()

    yield follow
    auth_models.CLOCK_OFFSET = timedelta(0)
