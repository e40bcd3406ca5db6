"""SQLite connections commit durably with one sync (WAL, synchronous=FULL)."""

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from tests.conftest import test_config as config_for


def test_sqlite_connections_use_wal_and_full_sync(tmp_path):
    # Its own SQLite file, so it runs in CI too, where the suite's database is PostgreSQL.
    app = create_app(config_for("sqlite:///" + str(tmp_path / "pragmas.db")))
    with app.app_context():
        try:
            with db.engine.connect() as conn:  # a fresh connection, as a new worker opens
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        finally:
            db.engine.dispose()


def test_memory_database_still_connects():
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        engine.dispose()
