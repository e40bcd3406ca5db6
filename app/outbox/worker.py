"""The worker: claim a due job, run it, record the outcome; retry failures with backoff.

On PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so workers on several hosts share the
queue without waiting on each other; on SQLite (development) writes are serialised and one
worker is the rule. A claim is a lease (`WORKER_LEASE_SECONDS`): a worker killed mid-job
leaves the job RUNNING, and once the lease runs out the job is due again. That is why
every runner is idempotent: e-mails by their outbox key, payments by a Stripe idempotency
key.
"""

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import DBAPIError

from app.auth.models import utcnow
from app.extensions import db
from app.outbox.models import Job, JobStatus
from app.outbox.registry import JOBS, PermanentFailure

log = logging.getLogger("app.outbox")
J = JobStatus
MAX_BACKOFF = timedelta(hours=6)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def due_condition(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(sa.and_(Job.status == J.PENDING, Job.run_after <= now),
                  sa.and_(Job.status == J.RUNNING, Job.locked_until < now))


def claim(worker: str) -> int | None:
    """Take the next due job (or one whose worker's lease ran out); commits the claim."""
    now = utcnow()
    pick = sa.select(Job.id, Job.status, Job.attempts).where(due_condition(now)) \
        .order_by(Job.run_after, Job.id).limit(1)
    if db.session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    found = db.session.execute(pick).first()
    if found is None:
        db.session.rollback()
        return None
    job_id, status, attempts = found
    if status is J.RUNNING and attempts >= current_app.config["WORKER_MAX_ATTEMPTS"]:
        # Its worker died during every attempt (a job that kills its process, say):
        # running it again would only do so again.
        reason = f"the worker stopped during each of its {attempts} attempts"
        db.session.execute(sa.update(Job).where(Job.id == job_id, due_condition(now)).values(
            status=J.FAILED, finished_at=now, locked_until=None, locked_by=None,
            last_error=reason))
        db.session.commit()
        log.error("job %s failed for good: %s", job_id, reason)
        return None
    lease = timedelta(seconds=current_app.config["WORKER_LEASE_SECONDS"])
    taken = db.session.execute(
        sa.update(Job).where(Job.id == job_id, due_condition(now))
        .values(status=J.RUNNING, locked_by=worker, locked_until=now + lease,
                attempts=Job.attempts + 1))
    db.session.commit()
    # Without row locks (SQLite) another worker may have taken it between the two.
    return job_id if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def backoff(attempts: int) -> timedelta:
    base = current_app.config["WORKER_BACKOFF_SECONDS"]
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _mine(job_id: int, worker: str) -> sa.ColumnElement[bool]:
    return sa.and_(Job.id == job_id, Job.status == J.RUNNING, Job.locked_by == worker)


def run_one(job_id: int, worker: str) -> JobStatus:
    """Run a claimed job: its effects and its completion commit together."""
    job = db.session.get(Job, job_id)
    if job is None:
        return J.DONE
    key, kind, payload, attempts = job.key, job.kind, dict(job.payload), job.attempts
    try:
        runner = JOBS.get(kind)
        if runner is None:
            raise PermanentFailure(f"no runner for job kind {kind!r}")
        result = runner(payload)
        done = db.session.execute(sa.update(Job).where(_mine(job_id, worker)).values(
            status=J.DONE, result=result, finished_at=utcnow(), locked_until=None,
            last_error=None))
        db.session.commit()
        if done.rowcount != 1:  # type: ignore[attr-defined]
            log.warning("job %s (%s): finished after its lease ran out", job_id, key)
        log.info("job %s (%s) done%s", job_id, key, f": {result}" if result else "")
        return J.DONE
    except PermanentFailure as exc:
        db.session.rollback()
        return _record_failure(job_id, key, worker, str(exc), attempts, permanent=True)
    except Exception as exc:  # noqa: BLE001  (any error is kept on the job and retried)
        db.session.rollback()
        log.warning("job %s (%s) attempt %s failed", job_id, key, attempts, exc_info=True)
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        return _record_failure(job_id, key, worker, reason, attempts, permanent=False)


def _record_failure(job_id: int, key: str, worker: str, reason: str, attempts: int, *,
                    permanent: bool) -> JobStatus:
    give_up = permanent or attempts >= current_app.config["WORKER_MAX_ATTEMPTS"]
    if give_up:
        values: dict[str, object] = {"status": J.FAILED, "finished_at": utcnow()}
        log.error("job %s (%s) failed for good after %s attempt(s): %s", job_id, key,
                  attempts, reason)
    else:
        wait = backoff(attempts)
        values = {"status": J.PENDING, "run_after": utcnow() + wait}
        log.info("job %s (%s) will be retried in %ss", job_id, key, int(wait.total_seconds()))
    db.session.execute(sa.update(Job).where(_mine(job_id, worker)).values(
        last_error=reason, locked_until=None, locked_by=None, **values))
    db.session.commit()
    return J.FAILED if give_up else J.PENDING


def work(*, worker: str | None = None, once: bool = False,
         stop: threading.Event | None = None) -> int:
    """Run due jobs until stopped (or, with `once`, until none is due); returns how many
    were run. A stop request lets the current job finish."""
    worker = worker or worker_name()
    stop = stop or threading.Event()
    poll = current_app.config["WORKER_POLL_SECONDS"]
    ran = 0
    while not stop.is_set():
        try:
            job_id = claim(worker)
            if job_id is not None:
                run_one(job_id, worker)
                ran += 1
        except DBAPIError:
            # The database went away (a restart, a failover): the claim or the outcome
            # was not recorded, and the lease brings the job back. Wait and go on.
            log.warning("worker %s: database unavailable; retrying", worker, exc_info=True)
            db.session.rollback()
            job_id = None
            if once:
                raise
        finally:
            db.session.remove()  # a fresh session per job: nothing cached between them
        if job_id is None:
            if once:
                break
            stop.wait(poll)
    return ran
