"""Serialising work per user: the one lock both databases can give us."""

import typing

import sqlalchemy as sa

from app.auth.models import User
from app.extensions import db

# Core on the session's connection (its transaction): the ORM's statement machinery cost
# more than the lock itself on a webhook's path, and no object is loaded or changed.
_USERS = typing.cast(sa.Table, User.__table__)


def lock_user(user_id: int) -> None:
    """Hold the user's row until the transaction ends (several features serialise on it)."""
    lock_user_of(user_id)


def lock_user_of(user_id: int | sa.ScalarSelect[int]) -> int | None:
    """`lock_user` for a user id, or for the user a sub-select names (the owner of a Stripe
    customer, say: found and locked in one statement); their id, or None for no one."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        # No row locks: a write takes the database's write lock. The driver opens SQLite's
        # transaction at its first write (reads before it run on their own), so this write
        # waits for the lock, and the reads after it see what the holder wrote. A
        # transaction the driver has opened holds that lock already (a webhook's, from its
        # claim): a read is enough, and writes no page to sync at the commit.
        driver = connection.connection.driver_connection
        if driver is not None and driver.in_transaction:
            return connection.execute(sa.select(_USERS.c.id)
                                      .where(_USERS.c.id == user_id)).scalar()
        return connection.execute(sa.update(_USERS).where(_USERS.c.id == user_id)
                                  .values(id=_USERS.c.id).returning(_USERS.c.id)).scalar()
    return connection.execute(sa.select(_USERS.c.id).where(_USERS.c.id == user_id)
                              .with_for_update()).scalar()


def locking(user_id: int | sa.ColumnElement[int] | sa.ScalarSelect[int]) -> sa.ScalarSelect[int]:
    """The user's id as a sub-select that locks their row, for a statement that must take
    the user's lock before its own rows' (FOR UPDATE on PostgreSQL; SQLite has no row locks
    and leaves it out: there the statement's write holds the database's lock)."""
    return sa.select(_USERS.c.id).where(_USERS.c.id == user_id).with_for_update() \
        .scalar_subquery()
