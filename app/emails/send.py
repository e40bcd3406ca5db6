"""The worker's side: render a queued message and hand it to the SMTP server."""

import hashlib
import logging
from datetime import datetime
from typing import Any

from babel.dates import format_date
from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives

from app.auth.models import User
from app.emails.messages import EMAILS
from app.extensions import db
from app.money import format_money
from app.outbox import PermanentFailure, job

log = logging.getLogger("app.emails")


def message_id(key: str) -> str:
    """The same Message-ID for every attempt at one message, so a receiving server (or a
    person) can tell a resend after a crash from a second message."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    host = current_app.config["SITE_URL"].split("://", 1)[-1].split("/", 1)[0].split(":")[0]
    return f"<{digest}@{host or 'localhost'}>"


def _date(value: str | datetime | None) -> str:
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_date(moment, "d MMMM y", locale=current_app.config["BILLING_LOCALE"])


def _money(amount: int, currency: str) -> str:
    return format_money(amount, currency, current_app.config["BILLING_LOCALE"])


def render(template: str, user: User, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a message, with absolute links from SITE_URL."""
    if template not in EMAILS:
        raise PermanentFailure(f"unknown e-mail template {template!r}")
    build = EMAILS[template]
    values = {**context, "user": user, "site_url": current_app.config["SITE_URL"],
              "date": _date, "money": _money}
    with current_app.test_request_context(base_url=current_app.config["SITE_URL"]):
        if build is not None:
            values.update(build(user, context))
        text = render_template(f"emails/{template}.txt", **values)
        html = render_template(f"emails/{template}.html", **values)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise PermanentFailure(f"emails/{template}.txt must start with 'Subject: '")
    return first.removeprefix("Subject: ").strip(), body.lstrip("\n"), html


@job("email")
def send_email(payload: dict[str, Any]) -> str:
    template, user_id = payload["template"], payload["user_id"]
    user = db.session.get(User, user_id)
    if user is None:
        return f"not sent: user {user_id} no longer exists"
    subject, text, html = render(template, user, payload.get("context") or {})
    message = EmailMultiAlternatives(subject, text, to=[user.email],
                                     headers={"Message-ID": message_id(payload["key"])})
    message.attach_alternative(html, "text/html")
    message.send()
    log.info("mail %s sent to user %s", template, user_id)
    return f"sent to user {user_id}"
