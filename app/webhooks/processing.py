"""Store and handle one verified Stripe event, exactly once.

A claim stores a new event as processed (INSERT … ON CONFLICT DO NOTHING RETURNING id), or
else takes over a stored one that was never processed (Stripe's retry after a failure, an
operator's replay: UPDATE … WHERE processed_at IS NULL RETURNING id); for an event
processed before neither returns a row, and the delivery is a duplicate with no effect. A
handled event already processed is recognised by one read before any of that. The handler
runs right after the claim, in the same transaction (the ORM session's), so the row and the
handler's effects commit together or not at all. A handler that raises rolls both back; a
second upsert, in a transaction of its own, then keeps the event with its error and attempt
count, ready for the retry. An event with no handler to run (an unknown type, the other
mode) is stored by the claim alone, in autocommit: no ORM session. On PostgreSQL a
handler's plain case may instead be one autocommit statement that makes its changes and
claims the event together (a registration's `at_once`, app/webhooks/registry.py); when it
claims nothing, the event goes the way above.

Before any of that, the event is read through the handler's typed view (app/webhooks/
envelope.py). A malformed one is kept by the second upsert alone, failed with its reason,
and answered 2xx: Stripe retrying the same bytes cannot help; an operator replays it once
the code that reads it is fixed. The row stores the signed body as received.

Concurrent deliveries of one event serialise on the unique event id: the second INSERT
waits for the first transaction, then does nothing, and its UPDATE finds the event
processed (no row), or claims it if the first rolled back and left it unprocessed.
"""

import enum
import json
import logging
import typing

import sqlalchemy as sa

from app.auth.models import utcnow
from app.billing import gateway
from app.billing.errors import BillingError
from app.extensions import db
from app.webhooks import eventlog
from app.webhooks.envelope import Columns, MalformedObject, columns, envelope, event_for
from app.webhooks.eventlog import event_log
from app.webhooks.models import StripeEvent
from app.webhooks.redact import stored_body
from app.webhooks.registry import HANDLERS, Event, Registration, RetryLater
from app.webhooks.turns import write_turn

log = logging.getLogger("app.webhooks")


class Outcome(enum.Enum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"  # processed before: no effect
    IGNORED = "ignored"  # stored, but for the other mode (test vs live)
    UNHANDLED = "unhandled"  # stored; no handler for the type
    MALFORMED = "malformed"  # stored as failed: no retry of the same bytes can succeed
    FAILED = "failed"  # stored as failed: Stripe's retry (or an operator's replay) may succeed

    @property
    def ok(self) -> bool:
        """Whether Stripe should stop retrying (answered 2xx)."""
        return self is not Outcome.FAILED


def receive(body: str, payload: dict[str, typing.Any] | None = None, *,
            tracebacks: bool = True) -> Outcome:
    """Store and handle a verified event (its signed body, and that body parsed); commits.

    Never raises for a handler's error or a malformed event: the outcome says what happened
    and the stored row keeps the reason. `tracebacks=False` logs failures in one line
    (operators' commands print their own).
    """
    payload = json.loads(body) if payload is None else payload
    row = columns(body, payload)
    if payload["type"] in HANDLERS and already_processed(row):
        log.debug("stripe event %s (%s): duplicate", row.stripe_id, row.type)
        return Outcome.DUPLICATE
    try:
        outcome, note, handling = _prepare(payload)
        if handling is not None and not _may_be_ours(*handling):
            note, handling = "nothing of ours", None  # stored processed, in autocommit
    except MalformedObject as exc:
        log.error("stripe event %s (%s): %s; kept as failed, not retried", row.stripe_id,
                  row.type, exc)
        return _keep_failed(row, str(exc), Outcome.MALFORMED)
    try:
        if handling is not None and _applied_at_once(row, *handling):
            claimed = True
        elif handling is not None:
            # Core on the session's own connection: one transaction with the handler's work,
            # taking turns with the other workers' on SQLite (app/webhooks/turns.py).
            with write_turn(db.engine):
                claimed = _claim(db.session.connection(), row, note)
                if claimed:
                    registration, event = handling
                    registration.handler(event)
                db.session.commit()
        else:  # nothing to run, so no ORM session: one autocommit statement stores it
            with event_log() as connection:
                claimed = _claim(connection, row, note)
    except Exception as exc:  # the handler's effects are rolled back; the event is kept
        db.session.rollback()
        _log_failure(row, exc, tracebacks)
        if isinstance(exc, MalformedObject):  # an object the handler fetched did not fit
            return _keep_failed(row, str(exc), Outcome.MALFORMED)
        return _keep_failed(row, f"{type(exc).__name__}: {exc}", Outcome.FAILED)
    if not claimed:
        outcome = Outcome.DUPLICATE
    # Every event is in the event log (`flask billing events`); handlers log what they
    # change. A line per delivery here would cost more than storing the event does.
    log.debug("stripe event %s (%s): %s", row.stripe_id, row.type, outcome.value)
    return outcome


def replay(row: StripeEvent, *, tracebacks: bool = True) -> Outcome:
    """Handle a stored event again (operators' replay); a processed one is left alone."""
    return receive(row.payload, tracebacks=tracebacks)


Handling = tuple[Registration, Event[typing.Any]]


def _prepare(payload: dict[str, typing.Any]) -> tuple[Outcome, str | None, Handling | None]:
    """What handling the event amounts to, the note to store, and the handler with the
    event it reads. MalformedObject if a field the pipeline or the handler reads is not
    Stripe's type."""
    if envelope(payload).livemode != gateway.livemode():
        return Outcome.IGNORED, "livemode mismatch", None
    if payload["type"] not in HANDLERS:
        return Outcome.UNHANDLED, "no handler", None
    handling = event_for(payload)
    if handling is None:  # e.g. a setup-mode Checkout Session, when no feature takes them
        return Outcome.UNHANDLED, "no handler for this object", None
    return Outcome.PROCESSED, None, handling


def _may_be_ours(registration: Registration, event: Event[typing.Any]) -> bool:
    """The registration's cheap read, if it has one: can the object concern our records?"""
    if registration.ours is None:
        return True
    with event_log() as connection:
        return registration.ours(connection, event.object)


def _applied_at_once(row: Columns, registration: Registration,
                     event: Event[typing.Any]) -> bool:
    """PostgreSQL: the registration's plain case, if it has one, with the event's claim in
    one autocommit statement (registry.py, `at_once`). False: not claimed, so the event
    goes the usual way, which finds anything the statement did done already."""
    if registration.at_once is None:
        return False
    try:
        with event_log() as connection:
            if connection.dialect.name != "postgresql":
                return False
            return registration.at_once(connection, event,
                                        eventlog.claim_params(_claim_values(row, None)))
    except sa.exc.DBAPIError as exc:  # rolled back (a deadlock, say): the usual way decides
        reason = str(exc.orig).strip().split("\n", 1)[0]
        log.warning("stripe event %s (%s): the plain case failed at once (%s: %s); going "
                    "the usual way", row.stripe_id, row.type, type(exc.orig).__name__, reason)
        return False


def _log_failure(row: Columns, exc: Exception, tracebacks: bool) -> None:
    expected = isinstance(exc, (RetryLater, BillingError, MalformedObject))
    if expected or not tracebacks:
        log.error("stripe event %s (%s): handling failed: %s: %s", row.stripe_id, row.type,
                  type(exc).__name__, exc)
    else:
        log.exception("stripe event %s (%s): handling failed", row.stripe_id, row.type)


def _claim(connection: sa.Connection, row: Columns, note: str | None) -> bool:
    """Store the event as processed, or mark a stored unprocessed one so, in one statement
    (app/webhooks/eventlog.py). False if it was processed before: a duplicate, with nothing
    to do; its row is neither written nor locked, so a duplicate costs no commit to disk."""
    return eventlog.statements(connection.dialect).claim.run(
        eventlog.driver_connection(connection), _claim_values(row, note)) is not None


def _claim_values(row: Columns, note: str | None) -> dict[str, typing.Any]:
    now = utcnow()
    return {**_values(row), "received_at": now, "processed_at": now, "attempts": 1,
            "note": note, "last_error": None}


def already_processed(row: Columns) -> bool:
    """Whether the event was processed before, read on the event log's own connection: a
    redelivery of a handled event is answered without opening a transaction for it."""
    with event_log() as connection:
        return eventlog.statements(connection.dialect).processed.run(
            eventlog.driver_connection(connection), {"stripe_id": row.stripe_id}) is not None


def _keep_failed(row: Columns, error: str, outcome: Outcome) -> Outcome:
    """Keep the event with its error and one more attempt, in a transaction of its own;
    DUPLICATE if a delivery processed it meanwhile (or before)."""
    try:
        with event_log() as connection:
            kept = eventlog.statements(connection.dialect).fail.run(
                eventlog.driver_connection(connection), {
                    **_values(row), "received_at": utcnow(), "processed_at": None,
                    "attempts": 1, "note": None, "last_error": error[:2000]})
    except sa.exc.SQLAlchemyError:
        log.exception("stripe event %s (%s): could not record the failure", row.stripe_id,
                      row.type)
        return Outcome.FAILED  # not stored: only Stripe's retry can bring it back
    return outcome if kept is not None else Outcome.DUPLICATE


def _values(row: Columns) -> eventlog.Values:
    return {"stripe_id": row.stripe_id, "type": row.type, "livemode": row.livemode,
            "created": row.created, "payload": stored_body(row.payload)}
