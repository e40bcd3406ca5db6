"""Serialising work per user: the one lock both databases can give us."""

import sqlalchemy as sa

from app.auth.models import User
from app.extensions import db


def lock_user(user_id: int) -> None:
    """Hold the user's row until the transaction ends (several features serialise on it)."""
    if db.session.get_bind().dialect.name == "sqlite":
        # No row locks: a write takes the database's write lock. The driver opens SQLite's
        # transaction at its first write (reads before it run on their own), so this write
        # waits for the lock, and the reads after it see what the holder wrote.
        db.session.execute(sa.update(User).where(User.id == user_id).values(id=User.id))
    else:
        db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())


def lock_user_of(user_id: sa.ScalarSelect[int]) -> int | None:
    """`lock_user` for the user a sub-select names (the owner of a Stripe customer, say),
    found and locked in one statement; their id, or None when it names no one."""
    if db.session.get_bind().dialect.name == "sqlite":
        return db.session.scalar(sa.update(User).where(User.id == user_id).values(id=User.id)
                                 .returning(User.id)
                                 .execution_options(synchronize_session=False))
    return db.session.scalar(sa.select(User.id).where(User.id == user_id).with_for_update())
