"""One row per job: what to run, its idempotency key, and where it stands."""

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import UTCDateTime, enum_column, utcnow
from app.extensions import Model


class JobStatus(enum.Enum):
    PENDING = "pending"   # waiting for run_after
    RUNNING = "running"   # claimed by a worker until locked_until
    DONE = "done"
    FAILED = "failed"     # out of attempts, or can never succeed: an operator decides


class Job(Model):
    __tablename__ = "outbox_jobs"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    kind: so.Mapped[str] = so.mapped_column(sa.String(40))
    # What makes the job unique (e.g. "email:payment_failed:in_123:7"): a second enqueue
    # of the same key is a no-op, so a replayed event never queues a second copy.
    key: so.Mapped[str] = so.mapped_column(sa.String(255), unique=True)
    payload: so.Mapped[dict[str, Any]] = so.mapped_column(sa.JSON)
    status: so.Mapped[JobStatus] = so.mapped_column(enum_column(JobStatus),
                                                    default=JobStatus.PENDING)
    attempts: so.Mapped[int] = so.mapped_column(default=0)
    run_after: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    # A claim is a lease: a worker killed mid-job leaves it RUNNING, and once the lease
    # runs out another worker takes it again.
    locked_until: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())
    locked_by: so.Mapped[str | None] = so.mapped_column(sa.String(80))
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    result: so.Mapped[str | None] = so.mapped_column(sa.Text)
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(UTCDateTime())

    __table_args__ = (sa.Index("ix_outbox_jobs_due", "status", "run_after"),)

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.key} {self.status.value}>"
