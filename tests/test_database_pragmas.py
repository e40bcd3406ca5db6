"""SQLite connections commit durably with one sync (WAL, synchronous=FULL)."""

import pytest
import sqlalchemy as sa

from app.extensions import db


def test_sqlite_connections_use_wal_and_full_sync(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only; the suite runs on PostgreSQL")
        db.engine.dispose()  # a fresh connection, as a new worker would open
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_memory_database_still_connects():
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        engine.dispose()
