"""Event type → handler and the view it reads. Features register one small function per type.

    @handles("charge.refunded", view=ChargeView)
    def charge_refunded(event: Event[ChargeView]) -> None: ...

Several features may handle one type when its objects say whose they are: each declares
`where`, the values of the object's discriminating fields it takes (Checkout Sessions by
`mode`: upgrades take "payment", subscriptions "subscription"). The pipeline picks the one
registration that matches, then reads `data.object` through its view before the handler
runs, so a handler only ever sees a validated object; one that does not fit is kept as
malformed.

A registration may also say, cheaply, whether an object can concern our records at all
(`ours`: one read on the event log's autocommit connection). When it cannot (a charge of
something else, most charges), the pipeline stores the event as processed, "nothing of
ours", without opening a transaction for a handler that would find nothing. The read must
find everything the handler would act on (a false "not ours" loses the event).

On PostgreSQL a registration may also apply its plain case without a transaction
(`at_once`): one statement on the event log's autocommit connection that makes the
changes and, as its last data-modifying CTE, claims the event (`eventlog.claim_after`),
so both commit or neither does; one round trip instead of BEGIN, claim, handler, COMMIT.
It returns whether it claimed the event. Its changes must be conditional updates that a
second application leaves as they are, and what the handler would do anyway: a statement
that applied part and claimed nothing (a twin delivery claimed the event, a row moved on
meanwhile) is followed by the usual way, which then finds that part done. It takes its
row locks in the handler's order, the event's row last: should a twin delivery go the
usual way at the same moment (which holds the event's row first), PostgreSQL finds the
deadlock and cancels one of them. The pipeline follows a statement that failed (rolled
back whole) with the usual way; a usual way that failed is a failed delivery like any
other, and Stripe's retry finds the event processed.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

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
# Whether an object may concern our records, read on an autocommit connection.
Ours = Callable[[sa.Connection, Any], bool]
# PostgreSQL: the plain case and the claim (its parameters given) in one autocommit
# statement; whether it claimed the event.
AtOnce = Callable[[sa.Connection, Event[Any], dict[str, Any]], bool]


@dataclass(frozen=True)
class Registration:
    handler: Handler
    view: type[StripeView]
    # The object's fields and the values this registration takes; empty: every object.
    where: Mapping[str, str] = field(default_factory=dict)
    ours: Ours | None = None
    at_once: AtOnce | None = None

    def takes(self, obj: Mapping[str, Any]) -> bool:
        return all(obj.get(key) == value for key, value in self.where.items())


HANDLERS: dict[str, list[Registration]] = {}


def handles(*event_types: str, view: type[StripeView], where: Mapping[str, str] | None = None,
            ours: Ours | None = None, at_once: AtOnce | None = None,
            ) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of `event_types` (of the objects
    `where` describes), reading `view`; `ours` and `at_once` as above."""
    def register(func: Handler) -> Handler:
        for event_type in event_types:
            add(event_type, Registration(func, view, dict(where or {}), ours, at_once))
        return func
    return register


def add(event_type: str, registration: Registration) -> None:
    """Register; refuses two registrations that could both take one object."""
    known = [r for r in HANDLERS.get(event_type, []) if r.handler is not registration.handler]
    for other in known:
        if not other.where or not registration.where or other.where == registration.where:
            raise RuntimeError(f"two handlers could take the same {event_type} object")
    HANDLERS[event_type] = [*known, registration]


def registration_for(event_type: str, obj: Mapping[str, Any]) -> Registration | None:
    """The registration that takes this object, if any."""
    return next((r for r in HANDLERS.get(event_type, []) if r.takes(obj)), None)


def handled_types() -> list[str]:
    return sorted(HANDLERS)
