"""Event type → handler and the view it reads. Features register one small function per type.

    @handles("charge.refunded", view=ChargeView)
    def charge_refunded(event: Event[ChargeView]) -> None: ...

The pipeline reads `data.object` through the view before the handler runs, so a handler
only ever sees a validated object; one that does not fit is kept as malformed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from app.billing.objects import StripeView

V = TypeVar("V", bound=StripeView)


@dataclass(frozen=True)
class Event(Generic[V]):
    """What a handler sees: the event's identity and its object, read through the view."""

    id: str
    type: str
    created: datetime
    livemode: bool
    object: V


class RetryLater(Exception):
    """A handler cannot apply the event yet (it refers to a payment not applied so far).

    Raising it fails the delivery, so Stripe retries later: an expected state, logged in one
    line, not a bug.
    """


Handler = Callable[[Event[Any]], None]


@dataclass(frozen=True)
class Registration:
    handler: Handler
    view: type[StripeView]


HANDLERS: dict[str, Registration] = {}


def handles(*event_types: str, view: type[StripeView]) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `event_types`, reading `view`."""
    def register(func: Handler) -> Handler:
        for event_type in event_types:
            known = HANDLERS.get(event_type)
            if known is not None and known.handler is not func:
                raise RuntimeError(f"two handlers for {event_type}")
            HANDLERS[event_type] = Registration(func, view)
        return func
    return register


def handled_types() -> list[str]:
    return sorted(HANDLERS)
