"""Two `flask worker` processes on one PostgreSQL queue (FOR UPDATE SKIP LOCKED): 200 due
e-mails, each sent exactly once, the work shared between them."""

from collections import Counter

import pytest
import sqlalchemy as sa

from app.auth.models import User
from app.emails import queue_email
from app.emails.messages import email_key
from app.emails.send import message_id
from app.extensions import db
from app.outbox.models import Job, JobStatus
from tests.conftest import need
from tests.mailbox import free_port
from tests.outbox_helpers import SITE_URL, WorkerProcess, jobs, smtp_on, wait_until, worker_env

COUNT = 200
CREDIT = {"days": 45, "reason": "admin", "until": "2027-01-15T10:00:00+00:00",
          "subscribed": False}


@pytest.fixture
def app_config() -> dict:
    return {"SITE_URL": SITE_URL}  # the workers' too, so Message-IDs can be compared


def done_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Job)
                                 .where(Job.status == JobStatus.DONE)) or 0


@pytest.mark.postgres
def test_two_workers_send_200_emails_each_exactly_once(app, database_url, tmp_path):
    need(database_url.startswith("postgres"), "TEST_DATABASE_URL (PostgreSQL) is not set")
    port = free_port()
    with smtp_on(port) as mailbox:
        # A slow RCPT (20 ms) makes a message take long enough that neither worker can
        # empty the queue before the other wakes: the sharing is then visible.
        mailbox.stall_rcpt = 0.02
        env = worker_env(database_url, port)
        workers = [WorkerProcess(name, env, tmp_path) for name in ("w1", "w2")]
        try:
            for worker in workers:
                worker.wait_started()
            with app.app_context():
                users = [User(email=f"reader{i}@example.com", username=f"reader{i}",
                              password_hash="unused") for i in range(COUNT)]
                db.session.add_all(users)
                db.session.flush()
                for user in users:
                    queue_email("referral_credit", user.id, record=f"grant:{user.id}", **CREDIT)
                db.session.commit()
                expected = {user.email: message_id(email_key("referral_credit",
                                                             f"grant:{user.id}", user.id))
                            for user in users}

            wait_until(lambda: done_count(app) == COUNT, 120, f"{COUNT} jobs done",
                       interval=0.25)
        finally:
            codes = [worker.terminate() for worker in workers]
        logs = {worker.name: worker.log() for worker in workers}
        messages = list(mailbox.messages)

    assert codes == [0, 0], logs
    # Each recipient got one message, with the Message-ID of its job: nothing twice.
    assert Counter(str(m["To"]) for m in messages) == Counter(expected.keys())
    assert sorted(str(m["Message-ID"]) for m in messages) == sorted(expected.values())

    rows = jobs(app)
    assert len(rows) == COUNT
    assert {(row.status, row.attempts) for row in rows} == {(JobStatus.DONE, 1)}
    assert all(row.result.startswith("sent to user ") for row in rows)
    shares = Counter(row.locked_by for row in rows)
    assert set(shares) == {"w1", "w2"}, shares  # both did some of the work
    for worker in workers:
        assert f"Worker {worker.name} stopped after {shares[worker.name]} job(s)." in \
            logs[worker.name], logs[worker.name]
