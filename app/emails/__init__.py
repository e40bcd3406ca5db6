"""E-mail: every message is queued in the outbox with the change that calls for it and sent
by the worker over SMTP (Flask-Mailman). See `messages.py` for the list."""

from app.emails.messages import queue_email

__all__ = ["queue_email"]
