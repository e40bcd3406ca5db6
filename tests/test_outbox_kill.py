"""A worker killed mid-send (SIGKILL: no clean-up, as when a host dies) and a new one
started: every message arrives exactly once and every job ends done.

Why the kill comes during RCPT TO: that is the honest "mid-job" point. By then the worker
has claimed the job (it is RUNNING under a lease), rendered the message and opened the SMTP
connection, but a message is delivered only when the server accepts its DATA; before that,
whatever happens to the sender, nothing has gone out, so running the job again is the only
copy. The one window no outbox can close without a two-phase commit with the SMTP server is
after the server accepted DATA and before the worker recorded "done": a kill there resends.
That resend carries the same Message-ID (it comes from the job's key, see
test_outbox.test_an_email_arrives_over_smtp…), so a receiving server or a person can tell
it is the same message.
"""

from collections import Counter

import pytest
import sqlalchemy as sa

from app import create_app
from app.auth.models import User
from app.emails import queue_email
from app.extensions import db
from app.outbox.models import JobStatus
from tests import conftest
from tests.conftest import need, reset_schema
from tests.mailbox import free_port
from tests.outbox_helpers import (
    SITE_URL,
    WatchedMailbox,
    WorkerProcess,
    jobs,
    smtp_on,
    wait_until,
    worker_env,
)

READERS = ("ann", "bob", "cat")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def queue_db(request, tmp_path, database_url):
    """(app, url) on a SQLite file of its own, or on the test PostgreSQL database."""
    if request.param == "postgres":
        need(database_url.startswith("postgres"), "TEST_DATABASE_URL (PostgreSQL) is not set")
        yield request.getfixturevalue("app"), database_url
        return
    url = f"sqlite:///{tmp_path}/kill.db"
    app = create_app(conftest.test_config(url, SITE_URL=SITE_URL))
    reset_schema(app)
    yield app, url
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_config() -> dict:
    return {"SITE_URL": SITE_URL}


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(queue_db, tmp_path):
    app, url = queue_db
    with app.app_context():
        readers = [User(email=f"{name}@example.com", username=name, password_hash="unused")
                   for name in READERS]
        db.session.add_all(readers)
        db.session.flush()
        for user in readers:
            queue_email("referral_credit", user.id, record=f"grant:{user.id}", days=45,
                        reason="admin", until="2027-01-15T10:00:00+00:00", subscribed=False)
        db.session.commit()

    port = free_port()
    env = worker_env(url, port, WORKER_LEASE_SECONDS="2")
    with smtp_on(port, WatchedMailbox()) as mailbox:
        mailbox.stall_rcpt = 5  # hold the first sender at RCPT TO
        first = WorkerProcess("first", env, tmp_path)
        try:
            assert mailbox.in_rcpt.wait(60), first.log()
            [running] = [row for row in jobs(app) if row.status is JobStatus.RUNNING]
            assert (running.locked_by, running.attempts) == ("first", 1)
            first.kill()
        finally:
            first.close()
        assert mailbox.messages == []  # killed before the server accepted anything

        mailbox.stall_rcpt = 0
        second = WorkerProcess("second", env, tmp_path)
        try:
            # The two untouched jobs at once; the killed one when its 2-second lease is out.
            wait_until(lambda: all(row.status is JobStatus.DONE for row in jobs(app)), 60,
                       "every job done")
        finally:
            code = second.terminate()
        messages = list(mailbox.messages)

    assert code == 0, second.log()
    assert Counter(str(m["To"]) for m in messages) == Counter(
        f"{name}@example.com" for name in READERS)
    assert len({str(m["Message-ID"]) for m in messages}) == len(READERS)
    rows = {row.id: row for row in jobs(app)}
    assert rows[running.id].attempts == 2  # the killed attempt, then the one that sent it
    assert {(row.status, row.locked_by) for row in rows.values()} == {
        (JobStatus.DONE, "second")}
    assert all(row.attempts == 1 for row in rows.values() if row.id != running.id)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 3
