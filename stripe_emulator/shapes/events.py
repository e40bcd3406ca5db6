"""event and webhook_endpoint."""
import secrets

from ..store import new_id

API_VERSION = "2026-10-28.endive"  # stripe-python 16.1's pinned version


def event(now, type_, data, request_id=None, idempotency_key=None):
    return {
        "id": new_id("evt"), "object": "event", "api_version": API_VERSION,
        "created": now, "data": data, "livemode": False, "pending_webhooks": 0,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": type_,
    }


def webhook_endpoint(now, url, enabled_events, **fields):
    obj = {
        "id": new_id("we"), "object": "webhook_endpoint", "api_version": None,
        "application": None, "created": now, "description": None,
        "enabled_events": enabled_events, "livemode": False, "metadata": {},
        "status": "enabled", "url": url,
        "secret": "whsec_" + secrets.token_urlsafe(24),
    }
    obj.update(fields)
    return obj
