"""The outbox in one process: a job is written with the caller's transaction, once per key;
the worker claims it, runs it, and records done, a retry with backoff, or a failure an
operator must see; e-mail jobs go out over real SMTP."""

import hashlib
import typing
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import User, utcnow
from app.emails import queue_email
from app.emails.messages import email_key
from app.emails.send import send_email
from app.extensions import db
from app.outbox import PermanentFailure, enqueue, job
from app.outbox.models import Job, JobStatus
from app.outbox.worker import claim, run_one, work
from tests.mailbox import free_port, html_of, text_of
from tests.outbox_helpers import SITE_URL, jobs, smtp_on

CALLS: list[dict] = []


@job("test-outbox-echo")
def echo(payload: dict) -> str:
    CALLS.append(payload)
    return f"echoed {payload['n']}"


@job("test-outbox-flaky")
def flaky(payload: dict) -> None:
    raise RuntimeError("the far end said no")


@job("test-outbox-hopeless")
def hopeless(payload: dict) -> None:
    raise PermanentFailure("the payload names no invoice")


@pytest.fixture(autouse=True)
def _forget_calls():
    CALLS.clear()


@pytest.fixture
def mail_port() -> int:
    return free_port()


@pytest.fixture
def app_config(mail_port) -> dict:
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": mail_port, "SITE_URL": SITE_URL,
            "WORKER_MAX_ATTEMPTS": 3, "WORKER_BACKOFF_SECONDS": 10,
            "WORKER_LEASE_SECONDS": 60}


@pytest.fixture
def mailbox(mail_port):
    with smtp_on(mail_port) as box:
        yield box


def queue(app, kind: str, key: str, payload: dict | None = None, **kwargs) -> bool:
    with app.app_context():
        queued = enqueue(kind, key, payload or {}, **kwargs)
        db.session.commit()
        return queued


def the_job(app) -> Job:
    [row] = jobs(app)
    return row


def claim_and_run(app, worker: str = "w1") -> JobStatus | None:
    with app.app_context():
        job_id = claim(worker)
        return None if job_id is None else run_one(job_id, worker)


def make_due(app, job_id: int) -> None:
    """As if the backoff had passed."""
    with app.app_context():
        db.session.execute(sa.update(Job).where(Job.id == job_id).values(run_after=utcnow()))
        db.session.commit()


def about(delta: timedelta, seconds: float) -> bool:
    return abs(delta.total_seconds() - seconds) < 5


# --- writing jobs ----------------------------------------------------------------------

def test_enqueue_is_once_per_key(app):
    assert queue(app, "test-outbox-echo", "echo:1", {"n": 1}) is True
    assert queue(app, "test-outbox-echo", "echo:1", {"n": 2}) is False
    row = the_job(app)
    assert (row.key, row.payload, row.status, row.attempts) == (
        "echo:1", {"n": 1}, JobStatus.PENDING, 0)


def test_a_job_exists_only_if_the_callers_transaction_commits(app):
    with app.app_context():
        db.session.add(User(email="ann@example.com", username="ann", password_hash="x"))
        assert enqueue("test-outbox-echo", "echo:ann", {"n": 1}) is True
        db.session.rollback()
    assert jobs(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0

    # The key is free again: the rolled-back insert reserved nothing.
    assert queue(app, "test-outbox-echo", "echo:ann", {"n": 2}) is True
    assert the_job(app).payload == {"n": 2}


def test_enqueue_after_queues_the_job_only_with_the_change_it_follows(app, make_user):
    """One statement on PostgreSQL, two on SQLite; the same answers on both."""
    from app.auth.models import Level
    from app.outbox.enqueue import enqueue_after

    ann = make_user("ann")
    users = typing.cast(sa.Table, User.__table__)
    rename = (sa.update(users).where(users.c.id == sa.bindparam("user"))
              .values(username=sa.bindparam("name")).returning(users.c.id))
    raise_level = (sa.update(users).where(users.c.id == sa.bindparam("other"))
                   .values(level=sa.bindparam("target")))
    bob = make_user("bob")
    with app.app_context():
        changed = enqueue_after((rename, raise_level), {
            "user": ann.id, "name": "ann2", "other": bob.id, "target": Level.GOLD},
            "test-outbox-echo", "echo:ann", {"n": 1})
        assert changed is not None and changed.id == ann.id
        # The change made, the job already there: the row, and no second job.
        again = enqueue_after(rename, {"user": ann.id, "name": "ann3"}, "test-outbox-echo",
                              "echo:ann", {"n": 2})
        assert again is not None and again.id == ann.id
        # Nothing changed: no row, and no job.
        assert enqueue_after(rename, {"user": 10**6, "name": "nobody"}, "test-outbox-echo",
                             "echo:nobody", {"n": 3}) is None
        db.session.commit()
    with app.app_context():
        assert db.session.get(User, ann.id).username == "ann3"
        assert db.session.get(User, bob.id).level is Level.GOLD  # the other change, made too
    assert [(row.key, row.payload) for row in jobs(app)] == [("echo:ann", {"n": 1})]


# --- running them ----------------------------------------------------------------------

def test_a_claimed_job_runs_and_is_done_with_its_result(app):
    queue(app, "test-outbox-echo", "echo:7", {"n": 7})
    with app.app_context():
        job_id = claim("w1")
        assert job_id is not None
    claimed = the_job(app)
    assert (claimed.status, claimed.locked_by, claimed.attempts) == (JobStatus.RUNNING, "w1", 1)
    assert about(claimed.locked_until - utcnow(), 60)

    with app.app_context():
        assert run_one(job_id, "w1") is JobStatus.DONE
    done = the_job(app)
    assert (done.status, done.result, done.attempts) == (JobStatus.DONE, "echoed 7", 1)
    assert done.finished_at is not None and done.locked_until is None
    assert CALLS == [{"n": 7}]
    assert claim_and_run(app) is None  # nothing left


def test_a_job_not_yet_due_waits(app):
    queue(app, "test-outbox-echo", "echo:later", {"n": 1},
          run_after=utcnow() + timedelta(minutes=5))
    with app.app_context():
        assert work(worker="w1", once=True) == 0
    assert the_job(app).status is JobStatus.PENDING and CALLS == []


def test_an_error_is_retried_with_backoff_then_kept_as_failed(app):
    queue(app, "test-outbox-flaky", "flaky:1")
    job_id = the_job(app).id
    # WORKER_BACKOFF_SECONDS=10: the n-th failure waits 10 * 2**(n-1) seconds.
    for attempt, wait in ((1, 10), (2, 20)):
        assert claim_and_run(app) is JobStatus.PENDING
        row = the_job(app)
        assert row.attempts == attempt and row.locked_by is None
        assert row.last_error == "RuntimeError: the far end said no"
        assert about(row.run_after - utcnow(), wait)
        assert claim_and_run(app) is None  # not due before the backoff has passed
        make_due(app, job_id)

    assert claim_and_run(app) is JobStatus.FAILED  # WORKER_MAX_ATTEMPTS=3
    row = the_job(app)
    assert (row.status, row.attempts, row.last_error) == (
        JobStatus.FAILED, 3, "RuntimeError: the far end said no")
    assert row.finished_at is not None
    make_due(app, job_id)
    assert claim_and_run(app) is None  # failed jobs wait for an operator


def test_a_permanent_failure_fails_at_once(app):
    queue(app, "test-outbox-hopeless", "hopeless:1")
    assert claim_and_run(app) is JobStatus.FAILED
    row = the_job(app)
    assert (row.status, row.attempts, row.last_error) == (
        JobStatus.FAILED, 1, "the payload names no invoice")


def test_a_job_of_an_unknown_kind_fails_permanently(app):
    queue(app, "test-outbox-nobody-runs-this", "nobody:1")
    assert claim_and_run(app) is JobStatus.FAILED
    row = the_job(app)
    assert (row.status, row.attempts) == (JobStatus.FAILED, 1)
    assert row.last_error == "no runner for job kind 'test-outbox-nobody-runs-this'"


def test_a_running_job_is_claimed_again_only_once_its_lease_ran_out(app):
    queue(app, "test-outbox-echo", "echo:lease", {"n": 1})
    with app.app_context():
        job_id = claim("dead-worker")
        assert claim("w2") is None  # the lease is live: the job is someone's
        # The worker died; its lease (60 s) runs out.
        db.session.execute(sa.update(Job).where(Job.id == job_id)
                           .values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert claim("w2") == job_id
    row = the_job(app)
    assert (row.status, row.locked_by, row.attempts) == (JobStatus.RUNNING, "w2", 2)

    with app.app_context():
        # Had the first worker only stalled, its late report is not recorded over w2's claim.
        run_one(job_id, "dead-worker")
        assert the_job(app).locked_by == "w2"
        assert run_one(job_id, "w2") is JobStatus.DONE
    assert the_job(app).status is JobStatus.DONE


def test_a_job_whose_worker_dies_every_time_fails_after_the_limit(app):
    """A job that kills its process would otherwise be taken again at every lease's end."""
    queue(app, "test-outbox-echo", "echo:fatal", {"n": 1})
    limit = app.config["WORKER_MAX_ATTEMPTS"]
    with app.app_context():
        for _ in range(limit):
            job_id = claim("doomed-worker")
            assert job_id is not None
            db.session.execute(sa.update(Job).where(Job.id == job_id)
                               .values(locked_until=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        assert claim("next-worker") is None
    row = the_job(app)
    assert (row.status, row.attempts) == (JobStatus.FAILED, limit)
    assert row.last_error == f"the worker stopped during each of its {limit} attempts"


# --- e-mail ----------------------------------------------------------------------------

CREDIT = {"days": 45, "reason": "referral_given", "friend": "alice",
          "until": "2027-01-15T10:00:00+00:00", "subscribed": False}


def test_an_email_arrives_over_smtp_with_text_html_and_absolute_links(app, make_user, mailbox):
    bob = make_user("bob")
    with app.app_context():
        assert queue_email("referral_credit", bob.id, record="ledger:1", **CREDIT) is True
        assert queue_email("referral_credit", bob.id, record="ledger:1", **CREDIT) is False
        db.session.commit()
        assert work(worker="w1", once=True) == 1

    [message] = mailbox.wait_for(1)
    assert message["To"] == "bob@example.com"
    assert message["From"] == "Lumen <no-reply@localhost>"
    assert message["Subject"] == "45 days of Premium credit for you"
    assert message.get_content_type() == "multipart/alternative"
    text, html = text_of(message), html_of(message)
    assert text.startswith("Hello bob,") and "Subject:" not in text
    assert "@alice joined Lumen with your link and paid" in text
    assert "runs until 15 January 2027" in text
    assert f"See your credit: {SITE_URL}/settings" in text
    assert f'href="{SITE_URL}/settings"' in html and 'href="/' not in html
    assert "<strong>45 days</strong>" in html

    # The Message-ID comes from the job's key: every attempt at this message carries it.
    key = email_key("referral_credit", "ledger:1", bob.id)
    expected = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@lumen.example>"
    assert message["Message-ID"] == expected
    row = the_job(app)
    assert (row.status, row.result) == (JobStatus.DONE, f"sent to user {bob.id}")
    with app.app_context():
        send_email(row.payload)  # what a worker that died before recording "done" redoes
    assert [m["Message-ID"] for m in mailbox.wait_for(2)] == [expected, expected]


def test_an_email_to_a_user_who_is_gone_is_done_and_not_sent(app, make_user, mailbox):
    carol = make_user("carol")
    with app.app_context():
        queue_email("referral_credit", carol.id, record="ledger:2", **CREDIT)
        db.session.delete(db.session.get(User, carol.id))
        db.session.commit()
        assert work(worker="w1", once=True) == 1
    row = the_job(app)
    assert (row.status, row.result) == (
        JobStatus.DONE, f"not sent: user {carol.id} no longer exists")
    assert mailbox.messages == []


def test_an_email_is_kept_and_retried_while_the_smtp_server_is_down(app, make_user,
                                                                   mail_port):
    dan = make_user("dan")
    with app.app_context():
        queue_email("referral_credit", dan.id, record="ledger:3", **CREDIT)
        db.session.commit()
        work(worker="w1", once=True)  # nothing listens on MAIL_PORT
    row = the_job(app)
    assert (row.status, row.attempts) == (JobStatus.PENDING, 1)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert about(row.run_after - utcnow(), 10)

    make_due(app, row.id)
    with smtp_on(mail_port) as mailbox:
        with app.app_context():
            assert work(worker="w1", once=True) == 1
        [message] = mailbox.wait_for(1)
    assert message["To"] == "dan@example.com"
    row = the_job(app)
    assert (row.status, row.attempts, row.last_error) == (JobStatus.DONE, 2, None)
