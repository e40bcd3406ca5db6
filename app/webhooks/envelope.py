"""Reading a signed webhook body: what is an event at all, and what is a well-formed one.

Two kinds of bad input, answered differently. A body that is not an event (not UTF-8, not
standard JSON, no usable id or type) cannot even be stored under an id: `NotAnEvent`, a 400.
An event whose fields are malformed is stored under its id and kept as failed with the
reason (`MalformedObject`): answered 2xx, because Stripe retrying the same bytes cannot help.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.billing.objects import (
    MAX_TIMESTAMP,
    MalformedObject,
    StripeView,
    Timestamp,
    as_datetime,
    parse,
)
from app.webhooks.registry import Event, Registration, registration_for

# The widths of the stripe_id and type columns; Stripe's ids and types are plain ASCII.
_EVENT_ID = re.compile(r"[A-Za-z0-9_]{1,255}")
_EVENT_TYPE = re.compile(r"[a-z0-9_.]{1,100}")


class NotAnEvent(ValueError):
    """The body is not a Stripe event; `str()` is the sentence for the 400 answer."""


def _non_standard(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def decode(body: bytes) -> str:
    """The body as Stripe signed it: UTF-8 text. NotAnEvent if it is not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotAnEvent("Body is not UTF-8.") from None


def read_body(text: str) -> dict[str, Any]:
    """The parsed body; NotAnEvent unless it is standard JSON with a valid id and type."""
    try:
        payload = json.loads(text, parse_constant=_non_standard)
    except (ValueError, RecursionError):  # NaN/Infinity, bad syntax, nesting past the limit
        raise NotAnEvent("Body is not standard JSON.") from None
    if not isinstance(payload, dict):
        raise NotAnEvent("Body is not a JSON object.")
    event_id, event_type = payload.get("id"), payload.get("type")
    if not (isinstance(event_id, str) and _EVENT_ID.fullmatch(event_id)):
        raise NotAnEvent("Event has no valid id (letters, digits and _; at most 255).")
    if not (isinstance(event_type, str) and _EVENT_TYPE.fullmatch(event_type)):
        raise NotAnEvent("Event has no valid type (a-z, 0-9, '.' and '_'; at most 100).")
    return payload


class Envelope(StripeView):
    created: Timestamp
    livemode: bool


class EventData(StripeView):
    object: dict[str, Any]


@dataclass(frozen=True)
class Columns:
    """What the event log stores of an event, read without trusting any field (the payload
    loses its personal values as it is stored: app/webhooks/redact.py)."""

    stripe_id: str
    type: str
    livemode: bool
    created: datetime | None
    payload: str


def columns(body: str, payload: dict[str, Any]) -> Columns:
    created = payload.get("created")
    well_formed = type(created) is int and 0 <= created <= MAX_TIMESTAMP
    return Columns(stripe_id=payload["id"], type=payload["type"],
                   livemode=payload.get("livemode") is True,
                   created=as_datetime(created) if well_formed else None,  # type: ignore[arg-type]
                   payload=body)


def envelope(payload: dict[str, Any]) -> Envelope:
    """The envelope's own fields; MalformedObject if they are not Stripe's types."""
    return parse(Envelope, payload, where="")


def event_for(payload: dict[str, Any]) -> tuple[Registration, Event[Any]] | None:
    """The registration that takes the event's object and the event as its handler reads
    it; None if no feature takes this object; MalformedObject if it does not fit."""
    head = envelope(payload)
    data = parse(EventData, payload.get("data"), where="data")
    registration = registration_for(payload["type"], data.object)
    if registration is None:
        return None
    event = Event(id=payload["id"], type=payload["type"], created=as_datetime(head.created),
                  livemode=head.livemode, object=parse(registration.view, data.object,
                                                       where="data.object"))
    return registration, event


__all__ = ["MalformedObject", "NotAnEvent", "decode", "read_body", "columns", "envelope",
           "event_for"]
