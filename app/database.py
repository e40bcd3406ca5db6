"""Settings every new SQLite connection gets: durable commits with one sync, readers never
blocking the writer.

SQLite's default rollback journal syncs twice per commit and makes a writer wait for every
reader (under load: "database is locked"). Write-ahead logging commits with one sync of the
log and lets readers run beside the writer; `synchronous=FULL` keeps that sync on every
commit, so an answered request (a 2xx to Stripe) still means the row survives a power cut.
WAL needs a database file: an in-memory database keeps its "memory" journal. PostgreSQL
connections are left alone.
"""

import sqlite3

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry


@sa.event.listens_for(sa.Engine, "connect")
def _sqlite_pragmas(dbapi_connection: DBAPIConnection,
                    _connection_record: ConnectionPoolEntry) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # The journal mode is stored in the file (a no-op once set); synchronous is per connection.
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=FULL")
