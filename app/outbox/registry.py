"""Job kinds: `@job("email")` registers the function that runs a job of that kind."""

from collections.abc import Callable
from typing import Any

Runner = Callable[[dict[str, Any]], str | None]
JOBS: dict[str, Runner] = {}


class PermanentFailure(Exception):
    """Raised by a job that no retry can fix (bad payload, unknown template): the job is
    kept as failed at once, with this message, instead of retried in vain."""


def job(kind: str) -> Callable[[Runner], Runner]:
    """Register `fn(payload) -> optional result sentence` as the runner of `kind`. It runs in
    its own transaction, committed with the job's completion; it must be safe to run again
    (a worker can die after the effect and before the commit)."""

    def register(fn: Runner) -> Runner:
        if kind in JOBS and JOBS[kind] is not fn:
            raise RuntimeError(f"two runners for job kind {kind!r}")
        JOBS[kind] = fn
        return fn

    return register
