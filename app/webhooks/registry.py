"""Event type → handler. Feature packages register one small function per type."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Event:
    """What a handler sees: the event's identity and the Stripe object it carries."""

    id: str
    type: str
    created: datetime
    livemode: bool
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None

    @classmethod
    def from_payload(cls, payload: dict) -> "Event":
        data = payload.get("data") or {}
        return cls(
            id=payload["id"],
            type=payload["type"],
            created=datetime.fromtimestamp(int(payload.get("created") or 0), timezone.utc),
            livemode=bool(payload.get("livemode")),
            object=data.get("object") or {},
            previous_attributes=data.get("previous_attributes"),
        )


Handler = Callable[[Event], None]
HANDLERS: dict[str, Handler] = {}


def handles(*event_types: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `event_types`."""
    def register(func: Handler) -> Handler:
        for event_type in event_types:
            if event_type in HANDLERS and HANDLERS[event_type] is not func:
                raise RuntimeError(f"two handlers for {event_type}")
            HANDLERS[event_type] = func
        return func
    return register


def handled_types() -> list[str]:
    return sorted(HANDLERS)
