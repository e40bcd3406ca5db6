"""The event log's four statements, run on the DB-API connection directly.

Every webhook delivery runs one or two of these, so they skip SQLAlchemy's per-statement
machinery (execution context, result object): each is a Core statement compiled once per
dialect into its SQL text and the bind processors of its parameters, then executed on the
driver's cursor. The statements stay SQLAlchemy's, so the table's definition and the
types' conversions (UTC timestamps) are still the model's.

Event rows are written either alone, in autocommit, on a connection each thread keeps
(`event_log()`), or, when a handler runs, on the ORM session's connection, inside its
transaction.
"""

import contextlib
import threading
import typing
from collections.abc import Callable, Iterator
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.compiler import SQLCompiler

from app.extensions import db
from app.webhooks.models import StripeEvent


class Values(typing.TypedDict):
    stripe_id: str
    type: str
    livemode: bool
    created: datetime | None
    payload: str


class Compiled(typing.NamedTuple):
    """A statement as the driver takes it: SQL text, how to order and convert parameters."""

    sql: str
    names: tuple[str, ...] | None  # positional paramstyles: the order; named ones: None
    defaults: dict[str, typing.Any]  # values fixed in the statement (e.g. `attempts + 1`)
    processors: typing.Mapping[str, Callable[[typing.Any], typing.Any]]
    driver_error: type[Exception]  # the driver's base error class

    def run(self, connection: typing.Any, params: dict[str, typing.Any]) -> typing.Any:
        """Execute on a DB-API connection; the first column of the first row, or None.
        A statement that returns no rows gives the number of rows it changed, or None.
        The driver's errors come out as SQLAlchemy's, as from any other statement."""
        values = {**self.defaults, **params}
        for name, process in self.processors.items():
            values[name] = process(values[name])
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self.sql, values if self.names is None
                               else tuple(values[name] for name in self.names))
                if cursor.description is None:
                    return cursor.rowcount or None
                row = cursor.fetchone()
            finally:
                cursor.close()
        except self.driver_error as exc:
            raise sa.exc.DBAPIError.instance(self.sql, values, exc, self.driver_error) from exc
        return None if row is None else row[0]


def _compile(statement: sa.ClauseElement, dialect: sa.Dialect,
             column_keys: list[str] | None = None) -> Compiled:
    compiled = typing.cast(SQLCompiler, statement.compile(dialect=dialect,
                                                          column_keys=column_keys))
    names = compiled.positiontup
    defaults, processors = {}, {}
    for bind, name in compiled.bind_names.items():
        if not bind.required:
            defaults[name] = bind.value
        process = bind.type.bind_processor(dialect)
        if process is not None:
            processors[name] = process
    return Compiled(str(compiled), tuple(names) if names else None, defaults, processors,
                    dialect.loaded_dbapi.Error)


_COLUMNS = ["stripe_id", "type", "livemode", "created", "payload", "received_at",
            "processed_at", "attempts", "note", "last_error"]


class Statements(typing.NamedTuple):
    # Store a new event as processed, or mark a stored unprocessed one so: its id (on SQLite
    # the 1 row changed), or None for an event processed before (a duplicate: nothing
    # written or locked).
    claim: Compiled
    # SELECT id … WHERE stripe_id = … AND processed: was it processed before?
    processed: Compiled
    # INSERT … ON CONFLICT DO UPDATE SET last_error, attempts + 1 WHERE unprocessed
    fail: Compiled


_compiled: dict[tuple[str, str], Statements] = {}


def statements(dialect: sa.Dialect) -> Statements:
    """The event log's statements for a dialect and driver, compiled once."""
    key = dialect.name, dialect.driver
    if key not in _compiled:
        _compiled[key] = _statements(dialect)
    return _compiled[key]


def _statements(dialect: sa.Dialect) -> Statements:
    """Both dialects speak ON CONFLICT."""
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    table = typing.cast(sa.Table, StripeEvent.__table__)  # a declarative model's Table
    fail = insert(table)
    return Statements(
        claim=_compile(_claim(table, dialect), dialect),
        processed=_compile(sa.select(table.c.id).where(
            table.c.stripe_id == sa.bindparam("stripe_id"), table.c.processed_at.is_not(None)),
            dialect),
        fail=_compile(fail.on_conflict_do_update(
            index_elements=[table.c.stripe_id], where=table.c.processed_at.is_(None),
            set_={"last_error": fail.excluded.last_error, "attempts": table.c.attempts + 1},
        ).returning(table.c.id), dialect, _COLUMNS),
    )


def _claim(table: sa.Table, dialect: sa.Dialect) -> sa.ClauseElement:
    """One statement, so one round trip whatever the event's past.

    SQLite: an upsert whose update applies only to an unprocessed row (SQLite locks the
    whole database for any write statement anyway), without RETURNING: the count of rows
    it changed says as much for less. PostgreSQL: the same upsert would lock the row of a
    processed event, a write of its own; so INSERT … ON CONFLICT DO NOTHING
    and, only if it inserted nothing, UPDATE … WHERE processed_at IS NULL, in one statement
    (data-modifying CTEs). The UPDATE sees the statement's snapshot: never the row just
    inserted; a row another delivery is retaking, it waits for and then re-checks."""
    values = {name: sa.bindparam(name, type_=table.c[name].type) for name in _COLUMNS}
    if dialect.name != "postgresql":
        upsert = sqlite.insert(table).values(values)
        return upsert.on_conflict_do_update(
            index_elements=[table.c.stripe_id], where=table.c.processed_at.is_(None),
            set_=_retake(table, upsert.excluded.processed_at, upsert.excluded.note))
    return _claimed(table, values)


def _retake(table: sa.Table, processed_at: sa.ColumnElement[typing.Any],
            note: sa.ColumnElement[typing.Any]) -> dict[str, typing.Any]:
    """What claiming a stored, unprocessed event sets: processed, one attempt more, its
    last error gone."""
    return {"processed_at": processed_at, "note": note, "last_error": None,
            "attempts": table.c.attempts + 1}


def _claimed(table: sa.Table, values: dict[str, sa.BindParameter[typing.Any]],
             *conditions: sa.ColumnElement[bool]) -> sa.CompoundSelect[tuple[int]]:
    """PostgreSQL's claim: INSERT … ON CONFLICT DO NOTHING, else UPDATE … WHERE unprocessed,
    each only if `conditions` hold; the id of the row claimed, if any."""
    insert = postgresql.insert(table)
    insert = insert.from_select(list(values), sa.select(*values.values()).where(*conditions)) \
        if conditions else insert.values(values)
    inserted = (insert.on_conflict_do_nothing(index_elements=[table.c.stripe_id])
                .returning(table.c.id).cte("inserted"))
    retaken = (sa.update(table).values(_retake(table, values["processed_at"], values["note"]))
               .where(table.c.stripe_id == values["stripe_id"], table.c.processed_at.is_(None),
                      ~sa.exists(sa.select(inserted.c.id)), *conditions)
               .returning(table.c.id).cte("retaken"))
    return sa.select(inserted.c.id).union_all(sa.select(retaken.c.id))


def claim_after(applied: sa.CTE) -> sa.CTE:
    """PostgreSQL: the claim as data-modifying CTEs of a statement that makes an event's
    changes on the event log's autocommit connection (a registration's `at_once`): the
    event is stored as processed, or a stored unprocessed one marked so, only if `applied`
    has a row. One statement is one transaction, so the changes and the claim commit
    together, and a statement that applied less than all claims nothing. Its parameters
    are `claim_params`'; the CTE holds the claimed row's id, or nothing."""
    table = typing.cast(sa.Table, StripeEvent.__table__)
    # Named apart from the columns (see app/outbox/enqueue.py): the UPDATE would set them.
    values = {name: sa.bindparam(f"event_{name}", type_=table.c[name].type)
              for name in _COLUMNS}
    return _claimed(table, values, sa.exists(applied.select())).cte("claimed")


def claim_params(values: dict[str, typing.Any]) -> dict[str, typing.Any]:
    """`claim_after`'s parameters for the claim's values (those of `Statements.claim`)."""
    return {f"event_{name}": value for name, value in values.items()}


def driver_connection(connection: sa.Connection) -> typing.Any:
    """The DB-API connection under a SQLAlchemy one (inside its transaction, if any)."""
    return connection.connection.driver_connection


_held = threading.local()


@contextlib.contextmanager
def event_log() -> Iterator[sa.Connection]:
    """This thread's connection for writing the event log alone, in autocommit: each
    statement is its own transaction (no BEGIN/COMMIT round trips), and the connection is
    kept between requests like the floor's in bench/ (no pool checkout per event). One that
    fails is dropped, so a database restart costs one failed delivery, which Stripe retries."""
    engine = db.engine
    held: tuple[sa.Engine, sa.Connection] | None = getattr(_held, "connection", None)
    if held is None or held[0] is not engine or held[1].invalidated or held[1].closed:
        if held is not None and not held[1].closed:
            # Another engine (a new app in this process): close the old one for real, as
            # its pool may be gone and would otherwise keep it open.
            held[1].invalidate()
        held = engine, engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        _held.connection = held
    try:
        yield held[1]
    except sa.exc.DBAPIError:
        _held.connection = None
        held[1].invalidate()
        raise

