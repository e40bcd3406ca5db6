"""The audit log: every console action is written here, whatever came of it, in
transactions of its own (an entry before the verb runs, its result after), so an action
that fails, or a process that dies half-way, still leaves its entry. `/admin/audit` lists
them, newest first; the customer's page shows theirs."""

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import render_template, request
from flask_login import current_user

from app.admin import bp
from app.admin.models import AuditEntry, Outcome
from app.extensions import db

PER_PAGE = 50
SHOWN_ON_CUSTOMER = 50


def begin(action: str, subject_id: int, object_id: str | None, reason: str) -> int:
    """Write (and commit) the entry of an action about to run; its id."""
    entry = AuditEntry(actor_id=current_user.id, action=action, subject_id=subject_id,
                       object_id=object_id, reason=reason, outcome=Outcome.STARTED, detail="")
    db.session.add(entry)
    db.session.commit()
    return entry.id


def finish(entry_id: int, outcome: Outcome, detail: str) -> None:
    """Write (and commit) what came of the action; the caller has committed or rolled back
    the action's own transaction already."""
    db.session.execute(sa.update(AuditEntry).where(AuditEntry.id == entry_id)
                       .values(outcome=outcome, detail=detail))
    db.session.commit()


def record(action: str, subject_id: int, object_id: str | None, reason: str,
           outcome: Outcome, detail: str) -> int:
    """An action that was refused before it ran (a wrong password): one entry, committed."""
    entry_id = begin(action, subject_id, object_id, reason)
    finish(entry_id, outcome, detail)
    return entry_id


def _newest() -> sa.Select[AuditEntry]:
    return (sa.select(AuditEntry)
            .options(so.joinedload(AuditEntry.actor), so.joinedload(AuditEntry.subject))
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()))


def entries_for(user_id: int) -> list[AuditEntry]:
    """The newest actions about this customer."""
    return list(db.session.scalars(_newest().where(AuditEntry.subject_id == user_id)
                                   .limit(SHOWN_ON_CUSTOMER)))


@bp.get("/audit")
def audit() -> str:
    page = db.paginate(_newest(), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render_template("admin/audit.html", page=page,
                           page_number=request.args.get("page", 1, type=int))
