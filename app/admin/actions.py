"""What the console can do to a customer: each action names its target and what will happen
(the confirmation page shows it) and calls the same verb as the command line.

An action's `plan` finds its object among the customer's own (None: not theirs, a 404) and
says in a sentence what confirming will do; `run` calls the verb and says what it did, or
raises `Refused` with the verb's own sentence. Nothing here commits: the page does, and
writes the audit log."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.auth.models import User
from app.billing.models import BillingInfo
from app.emails.messages import resend
from app.extensions import db
from app.history.models import Invoice
from app.history.refunds import RefundRefused, refund_invoice
from app.money import format_money
from app.outbox.models import Job
from app.reconcile.apply import sync_customer
from app.referrals.credit import grant_credit
from app.referrals.models import CreditReason
from app.subscriptions import changes
from app.subscriptions.models import Subscription
from app.timeline import current_subscription
from app.upgrades.models import UpgradeStatus, UserUpgrade
from app.upgrades.refunds import RefundNotAllowed, refund_at_stripe
from app.upgrades.service import level_after_refund


class Refused(Exception):
    """The verb said no; `str()` is its sentence. Nothing was done."""


@dataclass(frozen=True)
class Plan:
    """One action on one object of one customer, as the confirmation page shows it."""

    what: str  # what confirming will do, in a sentence
    object_id: str | None  # as the audit log names it
    amount: str | None = None  # the money it moves, shown apart
    target: Any = None


@dataclass(frozen=True)
class Action:
    name: str  # in the address, and in the audit log
    label: str  # the button's words
    money: bool  # asks for a fresh password
    plan: Callable[[User, str | None], Plan | None]
    run: Callable[[User, Plan, dict[str, Any]], str]  # (user, plan, {reason, days, entry})
    fields: tuple[str, ...] = field(default=())  # extra form fields ("days")


def _number(object_id: str | None) -> int:
    """A row id from the address (0, which no row has, for anything else)."""
    return int(object_id) if object_id and object_id.isdigit() and len(object_id) < 10 else 0


def _upgrade_plan(user: User, object_id: str | None) -> Plan | None:
    upgrade = db.session.get(UserUpgrade, _number(object_id))
    if upgrade is None or user.id not in (upgrade.purchaser_id, upgrade.recipient_id):
        return None
    buyer, recipient = upgrade.purchaser, upgrade.recipient
    gift = f", @{buyer.username}'s gift to @{recipient.username}," if buyer.id != recipient.id \
        else ""
    what = (f"Refund {upgrade.type.label} upgrade #{upgrade.id}{gift} in full at Stripe, to "
            f"@{buyer.username}'s card.")
    if upgrade.status is UpgradeStatus.COMPLETE:
        after = level_after_refund(upgrade, recipient)
        what += (f" @{recipient.username} goes from {recipient.level.label} to {after.label}."
                 if after != recipient.level else
                 f" @{recipient.username} stays {recipient.level.label}.")
    return Plan(what, f"upgrade #{upgrade.id}", format_money(upgrade.amount, upgrade.currency),
                upgrade)


def _refund_upgrade(user: User, plan: Plan, form: dict[str, Any]) -> str:
    try:
        done = refund_at_stripe(plan.target, reason=form["reason"])
    except RefundNotAllowed as exc:
        raise Refused(str(exc)) from None
    return (f"Refunded upgrade #{done.upgrade.id}: "
            f"{format_money(done.amount, done.upgrade.currency)} (refund {done.refund_id}).")


def _invoice_plan(user: User, object_id: str | None) -> Plan | None:
    row = db.session.scalar(sa.select(Invoice).where(
        Invoice.stripe_invoice_id == (object_id or ""), Invoice.user_id == user.id))
    if row is None:
        return None
    left = max(row.amount_paid - row.amount_refunded, 0)
    name = row.number or row.stripe_invoice_id
    what = (f"Refund what is left of invoice {name} ({row.description or 'subscription'}) "
            f"at Stripe, to the card that paid it.")
    if row.amount_refunded:
        what += f" {format_money(row.amount_refunded, row.currency)} was refunded already."
    return Plan(what, row.stripe_invoice_id, format_money(left, row.currency), row)


def _refund_invoice(user: User, plan: Plan, form: dict[str, Any]) -> str:
    try:
        done = refund_invoice(plan.target, reason=form["reason"])
    except RefundRefused as exc:
        raise Refused(str(exc)) from None
    return (f"Refunded {format_money(done.amount, done.currency)} of invoice "
            f"{done.invoice.number or done.invoice.stripe_invoice_id} (refund {done.refund_id}).")


def _credit_plan(user: User, object_id: str | None) -> Plan | None:
    sub = current_subscription(user.id)
    what = "Give them days of credit, after any credit they hold"
    what += (f"; their next charge at Stripe ({sub.stripe_subscription_id}) moves as many days "
             "later." if sub is not None and not sub.cancel_at_period_end else ".")
    return Plan(what, None)


def _grant_credit(user: User, plan: Plan, form: dict[str, Any]) -> str:
    entry = grant_credit(user, form["days"], CreditReason.ADMIN_GRANT, note=form["reason"])
    days = form["days"]
    return (f"Granted {days} day{'s' if days != 1 else ''} of credit: it now runs to "
            f"{entry.after:%-d %b %Y}.")


def _subscription(user: User, object_id: str | None) -> Subscription | None:
    return db.session.scalar(sa.select(Subscription).where(
        Subscription.stripe_subscription_id == (object_id or ""),
        Subscription.user_id == user.id))


def _at_period_end_plan(user: User, object_id: str | None) -> Plan | None:
    sub = _subscription(user, object_id)
    if sub is None:
        return None
    return Plan(f"Stop {sub.plan_label} from renewing: they keep it until "
                f"{sub.current_period_end:%-d %b %Y}, and are not charged again.",
                sub.stripe_subscription_id, target=sub)


def _cancel_now_plan(user: User, object_id: str | None) -> Plan | None:
    sub = _subscription(user, object_id)
    if sub is None:
        return None
    return Plan(f"End {sub.plan_label} now, at Stripe: no refund of the current period and "
                "no final invoice; what it gave them ends at once.",
                sub.stripe_subscription_id, target=sub)


def _cancelled(row: Subscription | None, sub: Subscription) -> str:
    row = row or sub
    if row.cancel_at_period_end and row.live:
        return (f"{row.stripe_subscription_id} will not renew: it ends "
                f"{row.current_period_end:%-d %b %Y}.")
    return f"{row.stripe_subscription_id} is now {row.status.label.lower()}."


def _cancel(verb: Callable[[Subscription], Subscription | None]) -> \
        Callable[[User, Plan, dict[str, Any]], str]:
    def run(user: User, plan: Plan, form: dict[str, Any]) -> str:
        try:
            return _cancelled(verb(plan.target), plan.target)
        except changes.ChangeNotAllowed as exc:
            raise Refused(str(exc)) from None
    return run


def _email_plan(user: User, object_id: str | None) -> Plan | None:
    job = db.session.get(Job, _number(object_id))
    if job is None or job.kind != "email" or job.payload.get("user_id") != user.id:
        return None
    template = str(job.payload.get("template", "?")).replace("_", " ")
    return Plan(f"Send the “{template}” e-mail (job #{job.id}) to {user.email} again, with the "
                "same content.", f"job #{job.id}", target=job)


def _resend(user: User, plan: Plan, form: dict[str, Any]) -> str:
    job: Job = plan.target
    try:
        key = resend(job.key, job.payload, str(form["entry"]))
    except ValueError as exc:
        raise Refused(f"{exc}: it cannot be sent again.") from None
    return f"Queued again as {key}: the worker sends it next."


def _sync_plan(user: User, object_id: str | None) -> Plan | None:
    return Plan("Read their customer, subscriptions and cards from Stripe now and apply what "
                "Stripe holds here.", None)


def _sync(user: User, plan: Plan, form: dict[str, Any]) -> str:
    subs = list(db.session.scalars(sa.select(Subscription.stripe_subscription_id).where(
        Subscription.user_id == user.id)))
    customers = list(db.session.scalars(sa.select(BillingInfo.stripe_customer_id).where(
        BillingInfo.user_id == user.id)))
    if not subs and not customers:
        raise Refused("They have no customer or subscription at Stripe: nothing to sync.")
    return "Synced from Stripe: " + "; ".join(sync_customer(customers, subs)) + "."


ACTIONS: dict[str, Action] = {a.name: a for a in (
    Action("refund-upgrade", "Refund upgrade", True, _upgrade_plan, _refund_upgrade),
    Action("refund-invoice", "Refund invoice", True, _invoice_plan, _refund_invoice),
    Action("grant-credit", "Grant credit", True, _credit_plan, _grant_credit, ("days",)),
    Action("cancel-at-period-end", "Cancel at period end", False, _at_period_end_plan,
           _cancel(changes.cancel_at_period_end)),
    Action("cancel-now", "Cancel now", False, _cancel_now_plan, _cancel(changes.cancel_now)),
    Action("resend-email", "Resend e-mail", False, _email_plan, _resend),
    Action("sync", "Sync from Stripe", False, _sync_plan, _sync),
)}


@dataclass(frozen=True)
class Offer:
    """A button on the customer's page: the action, its object, its words."""

    action: str
    object_id: str | None
    label: str


def offers_for(user: User, upgrades: list[UserUpgrade]) -> list[Offer]:
    """The actions that apply to this customer now, as their page offers them."""
    found = [Offer("grant-credit", None, "Grant credit"), Offer("sync", None, "Sync from Stripe")]
    sub = current_subscription(user.id)
    if sub is not None:
        if not sub.cancel_at_period_end:
            found.append(Offer("cancel-at-period-end", sub.stripe_subscription_id,
                               "Cancel at period end"))
        found.append(Offer("cancel-now", sub.stripe_subscription_id, "Cancel now"))
    found += [Offer("refund-upgrade", str(u.id), f"Refund upgrade #{u.id}") for u in upgrades
              if u.status is UpgradeStatus.COMPLETE and u.stripe_payment_intent_id]
    invoices = db.session.scalars(sa.select(Invoice).where(
        Invoice.user_id == user.id, Invoice.status == "paid",
        Invoice.amount_paid > Invoice.amount_refunded)
        .order_by(Invoice.created_at.desc(), Invoice.id.desc()))
    found += [Offer("refund-invoice", i.stripe_invoice_id,
                    f"Refund invoice {i.number or i.stripe_invoice_id} "
                    f"({format_money(i.amount_paid - i.amount_refunded, i.currency)})")
              for i in invoices]
    return found
