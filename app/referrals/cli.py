"""`flask billing grant-credit | credits`: credit for operators, and the referral and
credit part of `flask users show`."""

import json
import re
from datetime import datetime
from typing import Any

import click
import sqlalchemy as sa

from app.auth.models import User, utcnow
from app.billing.cli import billing
from app.billing.errors import BillingError
from app.commands import require_user
from app.extensions import db
from app.referrals.credit import grant_credit
from app.referrals.models import CreditEntry, CreditReason, Referral
from app.referrals.overview import referral_link
from app.referrals.service import ledger_for, referral_of

MAX_GRANT_DAYS = 3650  # ten years, as for every duration operators type
MAX_NOTE_LENGTH = 200  # CreditEntry.note
_WHOLE_NUMBER = re.compile(r"[0-9]{1,12}")  # longer is over the limit anyway

REASON_WORDS = {
    CreditReason.REFERRAL_GIVEN: "referral reward",
    CreditReason.REFERRAL_RECEIVED: "referral welcome",
    CreditReason.ADMIN_GRANT: "admin grant",
    CreditReason.REVERSAL: "referral reversed (payment refunded)",
}
DELETED_USER = "(deleted user)"


class Days(click.ParamType):
    """A whole number of days from 1 to ten years; anything else is one clear line."""

    name = "days"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if _WHOLE_NUMBER.fullmatch(text) and 1 <= int(text) <= MAX_GRANT_DAYS:
            return int(text)
        shown = text if len(text) <= 20 else text[:20] + "…"
        self.fail(f"{shown!r} is not a whole number of days from 1 to {MAX_GRANT_DAYS}.",
                  param, ctx)


def _check_reason(text: str) -> str:
    """The operator's reason, trimmed; one clear line if it cannot go in the ledger."""
    reason = text.strip()
    if not reason:
        raise click.ClickException("Give a reason (--reason TEXT): the ledger keeps it.")
    if len(reason) > MAX_NOTE_LENGTH:
        raise click.ClickException(f"The reason is {len(reason)} characters long; "
                                   f"at most {MAX_NOTE_LENGTH}.")
    if not reason.isprintable():  # control characters, line breaks, invisible separators
        raise click.ClickException("The reason must be printable text on one line "
                                   "(no control characters).")
    return reason


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "none"


def _other_user(entry: CreditEntry, user: User) -> User | None:
    """The other side of the entry's referral: who `user` referred, or who referred them."""
    referral = db.session.get(Referral, entry.referral_id) if entry.referral_id else None
    if referral is None:
        return None
    other_id = referral.referrer_id if referral.referred_id == user.id else referral.referred_id
    return db.session.get(User, other_id) if other_id is not None else None


def summary_for(user: User) -> dict[str, Any]:
    """The credit and referral part of `flask users show`."""
    referral = referral_of(user)
    referrer = (db.session.get(User, referral.referrer_id)
                if referral is not None and referral.referrer_id is not None else None)
    converted = db.session.scalar(sa.select(sa.func.count()).select_from(Referral).where(
        Referral.referrer_id == user.id, Referral.converted_at.is_not(None))) or 0
    status = None if referral is None else (
        "converted" if referral.converted_at is not None else "pending")
    return {
        "credit_until": _iso(user.credit_until),
        "referral": {
            "code": user.referral_code,
            "link": referral_link(user),
            "referred_by": referrer.username if referrer is not None else None,
            "referral_status": status,
            "converted_referrals": converted,
        },
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The two lines `flask users show` prints for `summary_for`'s part."""
    until = summary["credit_until"]
    if until is None:
        credit = "Credit: none"
    elif datetime.fromisoformat(until) <= utcnow():
        credit = f"Credit: none (ended {until[:10]})"
    else:
        credit = f"Credit: until {until[:10]}"
    ref = summary["referral"]
    line = f"Referral: code {ref['code']}"
    if ref["referral_status"] is not None:
        by = f"@{ref['referred_by']}" if ref["referred_by"] else DELETED_USER
        line += f", referred by {by} ({ref['referral_status']})"
    if ref["converted_referrals"]:
        n = ref["converted_referrals"]
        line += f", {n} converted referral{'s' if n != 1 else ''}"
    return [credit, line]


@billing.command("grant-credit")
@click.argument("email")
@click.option("--days", required=True, type=Days(),
              help=f"Days of credit to add (1 to {MAX_GRANT_DAYS}).")
@click.option("--reason", required=True,
              help=f"Why (kept in the ledger; at most {MAX_NOTE_LENGTH} characters).")
def grant_credit_command(email: str, days: int, reason: str) -> None:
    """Give a user days of credit, stacked after any credit they hold (and, for a
    subscriber, move their next charge at Stripe by as many days)."""
    note = _check_reason(reason)
    user = require_user(email)
    try:
        entry = grant_credit(user, days, CreditReason.ADMIN_GRANT, note=note)
    except BillingError as exc:
        db.session.rollback()
        said = exc.operator_message.rstrip()
        raise click.ClickException(f"{said}{'' if said.endswith('.') else '.'} "
                                   "No credit was granted.") from None
    before, after = entry.before, entry.after
    db.session.commit()
    if before is None:
        was = "had none"
    elif before <= entry.created_at:
        was = f"had run out {_day(before)}"
    else:
        was = f"was {_day(before)}"
    click.echo(f"Granted {days} day{'s' if days != 1 else ''} to {user.email}: "
               f"credit now runs to {_day(after)} ({was}).")


@billing.command("credits")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def credits_command(email: str, as_json: bool) -> None:
    """Show a user's credit ledger, newest first, and how long their credit runs."""
    user = require_user(email)
    rows = [(entry, _other_user(entry, user)) for entry in ledger_for(user)]
    if as_json:
        click.echo(json.dumps({
            "email": user.email,
            "credit_until": _iso(user.credit_until),
            "entries": [{
                "days": entry.days, "reason": entry.reason.value,
                "referral_id": entry.referral_id,
                "other_user": ({"id": other.id, "email": other.email,
                                "username": other.username} if other is not None else None),
                "note": entry.note, "before": _iso(entry.before), "after": _iso(entry.after),
                "created_at": entry.created_at.isoformat(),
            } for entry, other in rows],
        }, indent=2))
        return
    for entry, other in rows:
        words = REASON_WORDS[entry.reason]
        if entry.reason is not CreditReason.ADMIN_GRANT:
            who = f"{other.email} (@{other.username})" if other is not None else DELETED_USER
            words += f", with {who}"
        if entry.note:
            words += f", note: {entry.note}"
        click.echo(f"{entry.created_at:%Y-%m-%d %H:%M}  {entry.days:+d} days  {words}  "
                   f"{_day(entry.before)} → {_day(entry.after)}")
    if user.credit_until is None:
        click.echo("No credit.")
    elif user.credit_until <= utcnow():
        click.echo(f"No credit (it ran out {user.credit_until:%Y-%m-%d %H:%M} UTC).")
    else:
        click.echo(f"Credit runs to {user.credit_until:%Y-%m-%d %H:%M} UTC.")
