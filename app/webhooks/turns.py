"""On SQLite, webhook transactions that write take turns on a file lock beside the database.

SQLite has one write lock. A writer that finds it taken is put to sleep by SQLite's busy
handler in growing steps (1, 2, 5, 10 … 100 ms) and retries; with two workers each holding
the lock from an event's claim to its commit, the other mostly sleeps past the moment the
lock came free (a third of the time and most of the p99 on a state-changing event). A
blocking `flock` wakes the next worker as soon as the holder lets go. It only orders the
webhook pipeline's own transactions: SQLite's lock still guards every write (other
requests, the worker, commands do not take turns here and wait as before), so nothing
depends on it for correctness. PostgreSQL (row locks, no global write lock) and an
in-memory database need no turns.
"""

import contextlib
import os
import threading
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # not on Linux or macOS: SQLite's busy handler alone, as before
    fcntl = None  # type: ignore[assignment]

import sqlalchemy as sa

_lock = threading.Lock()  # threads of one process share the file's lock: they queue here
_files: dict[tuple[int, str], int] = {}  # per process: a forked child opens its own


def _lock_file(url: sa.URL) -> int | None:
    """The open lock file for a SQLite database file, or None when no turns are taken."""
    path = url.database
    if fcntl is None or url.get_backend_name() != "sqlite" or not path or path == ":memory:" \
            or path.startswith("file:"):
        return None
    key = (os.getpid(), path)
    if key not in _files:
        _files[key] = os.open(f"{path}-webhooks.lock", os.O_RDWR | os.O_CREAT, 0o600)
    return _files[key]


@contextlib.contextmanager
def write_turn(engine: sa.Engine) -> Iterator[None]:
    """Hold the turn for a webhook's write transaction (a no-op unless SQLite on a file)."""
    fd = _lock_file(engine.url)
    if fd is None:
        yield
        return
    with _lock:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
