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
    # At DEBUG: the change that queued the job logs itself, and the worker logs the job's run.
    if job_id is None:
        log.debug("job %s already queued", key)
        return False
    log.debug("job %s queued as %s (%s)", key, job_id, kind)
    return True


Change = sa.Insert | sa.Update


def enqueue_after(changes: Change | tuple[Change, ...], params: dict[str, Any], kind: str,
                  key: str, payload: dict[str, Any]) -> sa.Row[Any] | None:
    """Make changes and queue the job that follows from them: the first change (an INSERT or
    UPDATE of one row, RETURNING what the caller needs) decides, the others (independent
    rows, already locked) are made alongside; `params` binds them all. If the first changed
    its row, `enqueue`'s job is queued. Its row, or None if it changed nothing (and no job
    was queued). Changes should be built once: the statement around them is kept. Name
    their parameters apart from the changed tables' columns, unless one is that column's
    own value: SQLAlchemy sets a column from a parameter that bears its name.

    On PostgreSQL this is one statement (the changes as data-modifying CTEs, the job's
    INSERT selecting from the first): one round trip and one statement's overhead instead
    of one each. SQLite has no round trips to save and runs them in turn."""
    changes = changes if isinstance(changes, tuple) else (changes,)
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        row = connection.execute(changes[0], params).first()
        for change in changes[1:]:
            connection.execute(change, params)
        if row is not None:
            enqueue(kind, key, payload)
        return row
    row = connection.execute(_with_job(changes), {**params, **job_params(kind, key, payload)}
                             ).first()
    if row is not None:
        log_queued(key, kind, row.job_id)
    return row


def job_params(kind: str, key: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The parameters of `job_after`'s job."""
    now = utcnow()
    return {"job_kind": kind, "job_key": key, "job_payload": payload,
            "job_status": JobStatus.PENDING, "job_attempts": 0, "job_run_after": now,
            "job_created_at": now}


def job_after(changed: sa.CTE) -> sa.CTE:
    """PostgreSQL: the job (`job_params`) as a data-modifying CTE of the statement that
    makes a change, queued only if `changed` has a row (and no job has its key): INSERT
    INTO jobs … SELECT … WHERE EXISTS (changed) ON CONFLICT (key) DO NOTHING RETURNING id."""
    table = typing.cast(sa.Table, Job.__table__)
    return (postgresql.insert(table).from_select(_COLUMNS, sa.select(
        *(sa.bindparam(f"job_{c}", type_=table.c[c].type) for c in _COLUMNS))
        .where(sa.exists(changed.select())))
        .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id).cte("queued"))


def log_queued(key: str, kind: str, job_id: int | None) -> None:
    """What `enqueue` logs, for a job queued by `job_after` (None: it was queued before)."""
    if job_id is None:
        log.debug("job %s already queued", key)
    else:
        log.debug("job %s queued as %s (%s)", key, job_id, kind)


@functools.lru_cache(maxsize=32)
def _with_job(changes: tuple[Change, ...]) -> sa.Select[typing.Any]:
    """WITH changed AS (first), also_1 AS (…), queued AS (`job_after`) SELECT changed.*,
    queued's id. (PostgreSQL runs every data-modifying CTE, referenced or not.)"""
    changed = changes[0].cte("changed")
    job = job_after(changed)
    return sa.select(changed, sa.select(job.c.id).scalar_subquery().label("job_id")).add_cte(
        *(change.cte(f"also_{n}") for n, change in enumerate(changes[1:], 1)))


@functools.cache
def _insert(dialect: str) -> sa.Insert:
    table = typing.cast(sa.Table, Job.__table__)
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return (insert.values({c: sa.bindparam(c) for c in _COLUMNS})
            .on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id))


_COLUMNS = ("kind", "key", "payload", "status", "attempts", "run_after", "created_at")


def queued(key: str) -> Job | None:
    return db.session.scalar(sa.select(Job).where(Job.key == key))
