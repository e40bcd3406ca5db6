"""The messages the site sends, and how one is queued: in the caller's transaction, once
per (template, record, recipient), so a replayed or duplicated event never queues a second.

Each message is two templates, `templates/emails/NAME.txt` (first line "Subject: …") and
`NAME.html`. Their context is what the caller passes (JSON: ids, amounts in minor units
with their currency, ISO dates) plus `user` and absolute links. No card data goes in.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.auth.models import User
from app.outbox.enqueue import enqueue

# Extra context computed when the message is sent (never stored): e.g. a reset link,
# whose token must not sit in the database.
Builder = Callable[[User, dict[str, Any]], dict[str, Any]]
EMAILS: dict[str, Builder | None] = {
    "upgrade_receipt": None,  # its builder (the seller and buyer) is app.history.receipts'
    "payment_receipt": None,  # the same
    "gift_received": None,
    "subscription_started": None,
    "trial_ending": None,
    "payment_failed": None,
    "payment_action_required": None,
    "access_ended": None,
    "referral_credit": None,
    "card_expiring": None,
    "password_reset": None,  # its builder is registered by app.auth.reset
}


def builder(template: str) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        EMAILS[template] = fn
        return fn

    return register


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def email_key(template: str, record: str, user_id: int) -> str:
    return f"email:{template}:{record}:{user_id}"


def queue_email(template: str, user_id: int, *, record: str, **context: Any) -> bool:
    """Queue `template` for the user, once per `record` (the event's subject: an upgrade,
    an invoice, a ledger row…). Returns whether it was queued now."""
    return enqueue(*email_job(template, user_id, record=record, **context))


def email_job(template: str, user_id: int, *, record: str,
              **context: Any) -> tuple[str, str, dict[str, Any]]:
    """The outbox job (kind, key, payload) that sends `template`: `queue_email`'s, for a
    caller that queues it alongside a change of its own (`outbox.enqueue_after`)."""
    if template not in EMAILS:
        raise ValueError(f"unknown e-mail template {template!r}")
    key = email_key(template, record, user_id)
    return "email", key, {"template": template, "user_id": user_id, "key": key,
                          "context": context}


def resend(job_key: str, payload: dict[str, Any], record: str) -> str:
    """Queue a message again, the same template and context as the queued `payload`, under
    a new key (`<key>:resend:<record>`): the outbox never runs one key twice. Returns the key."""
    template = payload.get("template")
    if template not in EMAILS:
        raise ValueError(f"unknown e-mail template {template!r}")
    key = f"{job_key}:resend:{record}"[:255]
    enqueue("email", key, {"template": template, "user_id": payload["user_id"], "key": key,
                           "context": payload.get("context") or {}})
    return key
