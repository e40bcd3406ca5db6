"""The audit log: one row per action an operator took from the console, whatever came of it."""

import enum
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from app.auth.models import User, UTCDateTime, enum_column, utcnow
from app.extensions import Model


class Outcome(enum.Enum):
    STARTED = "started"  # written before the verb runs; stays so only if the process died
    OK = "ok"
    REFUSED = "refused"  # the verb (or the password check) said no; nothing was done
    FAILED = "failed"  # an error, Stripe's or ours; the detail says which


class AuditEntry(Model):
    """Who did what to whom, when, why (typed by the operator), and what came of it."""

    __tablename__ = "audit_entries"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    # Accounts may be deleted later: the entry stays, without them.
    actor_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    subject_id: so.Mapped[int | None] = so.mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    object_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))  # in_…, sub_…, #12
    reason: so.Mapped[str] = so.mapped_column(sa.String(200))
    outcome: so.Mapped[Outcome] = so.mapped_column(enum_column(Outcome))
    detail: so.Mapped[str] = so.mapped_column(sa.Text, default="")  # the sentence, the error
    created_at: so.Mapped[datetime] = so.mapped_column(UTCDateTime(), default=utcnow,
                                                       index=True)

    actor: so.Mapped[User | None] = so.relationship(foreign_keys=[actor_id])
    subject: so.Mapped[User | None] = so.relationship(foreign_keys=[subject_id])

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.outcome.value}>"
