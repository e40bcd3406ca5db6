"""Forgotten passwords: a signed, expiring, single-use link by e-mail.

The token is never stored. It carries the user's id and a fingerprint of the password
hash, signed with SECRET_KEY: once the password changes (the link was used) the
fingerprint no longer matches, and after PASSWORD_RESET_MAX_AGE seconds the signature
is too old. It is made when the worker sends the e-mail (the builder below), so it never
sits in the outbox either.
"""

import hashlib
import logging
import secrets
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from limits import parse

from app.auth.models import User
from app.emails.messages import builder, queue_email
from app.extensions import db, limiter

log = logging.getLogger("app.auth")
SALT = "password-reset"
# Reset e-mails one account gets, whoever asks: more requests get the same answer and
# queue nothing (the links already sent still work). Counted where the rate limits are.
EMAILS_PER_ACCOUNT = parse("3 per hour")


class ResetLinkInvalid(Exception):
    """The link is not one of ours, was cut short, has expired or was already used."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired or used" if expired else "not valid")
        self.expired = expired


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def max_age() -> int:
    return int(current_app.config["PASSWORD_RESET_MAX_AGE"])


def valid_for() -> str:
    """How long a link works, for people: "1 hour", "30 minutes", "2 days"."""
    seconds = max_age()
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def _fingerprint(user: User) -> str:
    # Changes whenever the password does (each hash has its own salt), and reveals nothing
    # of the hash to someone reading the (signed, not encrypted) token.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user)})


def user_for_token(token: str) -> User:
    """The user a valid, unused, unexpired token was made for; else ResetLinkInvalid."""
    try:
        data = _serializer().loads(token, max_age=max_age())
    except SignatureExpired:
        raise ResetLinkInvalid(expired=True) from None
    except BadData:
        raise ResetLinkInvalid(expired=False) from None
    if not (isinstance(data, dict) and isinstance(data.get("u"), int)
            and isinstance(data.get("p"), str)):
        raise ResetLinkInvalid(expired=False)
    user = db.session.get(User, data["u"])
    if user is None or not secrets.compare_digest(data["p"], _fingerprint(user)):
        # Signed by us, so it was a real link: its password has changed since (used).
        raise ResetLinkInvalid(expired=True)
    return user


def _within_account_limit(user: User) -> bool:
    try:
        return limiter.limiter.hit(EMAILS_PER_ACCOUNT, SALT, str(user.id))
    except Exception:  # noqa: BLE001  (the store is down: the per-address limit still holds)
        log.warning("password reset: rate limit store unavailable", exc_info=True)
        return True


def request_reset(user: User) -> bool:
    """Queue a reset e-mail for `user`, unless EMAILS_PER_ACCOUNT were queued already.
    Never commits; returns whether one was queued."""
    if not _within_account_limit(user):
        log.info("password reset for user %s: not queued, too many this hour", user.id)
        return False
    # Every request is its own message: the record only has to be unique.
    return queue_email("password_reset", user.id, record=secrets.token_urlsafe(12))


def reset_password(user: User, password: str) -> None:
    """Set the new password; every browser signed in as the user is logged out with it
    (User.set_password), and the link that led here stops working."""
    user.set_password(password)
    db.session.flush()


@builder("password_reset")
def reset_email_context(user: User, context: dict[str, Any]) -> dict[str, Any]:
    """The link, made as the message is sent (the worker renders in a request context)."""
    return {"reset_url": url_for("auth.reset_password", token=make_token(user),
                                 _external=True),
            "valid_for": valid_for()}
