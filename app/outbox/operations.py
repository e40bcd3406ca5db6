"""What operators do to jobs, shared by `flask worker retry` and the console."""

import sqlalchemy as sa

from app.auth.models import utcnow
from app.extensions import db
from app.outbox.models import Job, JobStatus


class NotRetried(Exception):
    """Nothing was queued again; `problems` says why, job by job."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def failed_job_ids() -> list[int]:
    """Every failed job's id, oldest first."""
    return list(db.session.scalars(sa.select(Job.id).where(Job.status == JobStatus.FAILED)
                                   .order_by(Job.id)))


def retry_jobs(job_ids: list[int] | tuple[int, ...]) -> list[int]:
    """Queue failed jobs again, now, with a fresh count of attempts (flushes); their ids.
    NotRetried, changing nothing, if any is unknown or not failed."""
    jobs = {j.id: j for j in db.session.scalars(sa.select(Job).where(Job.id.in_(job_ids)))}
    problems = [f"no job #{i}" for i in job_ids if i not in jobs]
    problems += [f"job #{j.id} is {j.status.value}; only failed jobs are retried"
                 for j in jobs.values() if j.status is not JobStatus.FAILED]
    if problems:
        raise NotRetried(problems)
    for job in jobs.values():
        job.status, job.attempts, job.run_after = JobStatus.PENDING, 0, utcnow()
        job.finished_at = None
    db.session.flush()
    return sorted(jobs)
