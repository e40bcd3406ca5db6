"""Writing a job: inside the caller's transaction, once per key."""

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from app.auth.models import utcnow
from app.extensions import db
from app.outbox.models import Job, JobStatus

log = logging.getLogger("app.outbox")


def enqueue(kind: str, key: str, payload: dict[str, Any], *,
            run_after: datetime | None = None) -> bool:
    """Queue a job unless one with `key` exists; returns whether this call queued it.

    It is written in the current transaction and never commits: the job exists exactly
    when the change that called for it commits."""
    values = {"kind": kind, "key": key, "payload": payload, "status": JobStatus.PENDING,
              "attempts": 0, "run_after": run_after or utcnow(), "created_at": utcnow()}
    insert = (postgresql.insert(Job) if db.session.get_bind().dialect.name == "postgresql"
              else sqlite.insert(Job))
    result = db.session.execute(insert.values(**values)
                                .on_conflict_do_nothing(index_elements=["key"])
                                .returning(Job.id))
    job_id = result.scalar()
    if job_id is None:
        log.info("job %s already queued", key)
        return False
    log.info("job %s queued as %s (%s)", key, job_id, kind)
    return True


def queued(key: str) -> Job | None:
    return db.session.scalar(sa.select(Job).where(Job.key == key))
