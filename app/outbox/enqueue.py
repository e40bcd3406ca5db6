"""Writing a job: inside the caller's transaction, once per key."""

import functools
import logging
import typing
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
    now = utcnow()
    values = {"kind": kind, "key": key, "payload": payload, "status": JobStatus.PENDING,
              "attempts": 0, "run_after": run_after or now, "created_at": now}
    # Core on the session's connection, one statement built once per dialect: the ORM's
    # insert machinery cost more than the round trip on a webhook's path.
    connection = db.session.connection()
    job_id = connection.execute(_insert(connection.dialect.name), values).scalar()
    if job_id is None:
        log.info("job %s already queued", key)
        return False
    log.info("job %s queued as %s (%s)", key, job_id, kind)
    return True


@functools.cache
def _insert(dialect: str) -> sa.Insert:
    table = typing.cast(sa.Table, Job.__table__)
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return (insert.values({c: sa.bindparam(c) for c in _COLUMNS})
            .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id))


_COLUMNS = ("kind", "key", "payload", "status", "attempts", "run_after", "created_at")


def queued(key: str) -> Job | None:
    return db.session.scalar(sa.select(Job).where(Job.key == key))
