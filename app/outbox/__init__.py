"""The transactional outbox: work that follows a state change (mail, paying an invoice with
another card) is written as a row in the same transaction as the change, and a worker
(`flask worker`) runs it afterwards, retrying with backoff. See README "Background work"."""

from app.outbox.enqueue import enqueue
from app.outbox.registry import PermanentFailure, job

__all__ = ["PermanentFailure", "enqueue", "job"]
