"""`flask worker --once`, `flask worker status [--json]` and `flask worker retry ID…`."""

import json
import signal
from datetime import timedelta

import pytest

from app.auth.models import utcnow
from app.extensions import db
from app.outbox import PermanentFailure, job
from app.outbox.models import Job, JobStatus
from tests.outbox_helpers import jobs

FIXED: set[str] = set()  # keys whose far end has been repaired


@job("test-cli-echo")
def echo(payload: dict) -> str:
    return f"echoed {payload['n']}"


@job("test-cli-broken")
def broken(payload: dict) -> str:
    if payload["key"] not in FIXED:
        raise PermanentFailure("the card was removed")
    return "worked this time"


@pytest.fixture(autouse=True)
def _keep_signal_handlers():
    """`flask worker` installs SIGINT/SIGTERM handlers; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    FIXED.clear()
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def add(app, key: str, status: JobStatus = JobStatus.PENDING, *, kind: str = "test-cli-echo",
        **values) -> int:
    now = utcnow()
    with app.app_context():
        row = Job(kind=kind, key=key, payload={"n": 1, "key": key}, status=status,
                  attempts=values.pop("attempts", 0), run_after=values.pop("run_after", now),
                  **values)
        db.session.add(row)
        db.session.commit()
        return row.id


def by_key(app) -> dict[str, Job]:
    return {row.key: row for row in jobs(app)}


@pytest.fixture
def board(app) -> dict[str, int]:
    """One job in each state an operator can meet."""
    now = utcnow()
    return {
        "due": add(app, "email:due"),
        "later": add(app, "email:later", run_after=now + timedelta(hours=1)),
        "running": add(app, "email:running", JobStatus.RUNNING, attempts=1,
                       locked_by="host-a:41", locked_until=now + timedelta(minutes=5)),
        "stale": add(app, "email:stale", JobStatus.RUNNING, attempts=2,
                     locked_by="host-b:7", locked_until=now - timedelta(minutes=1)),
        "done": add(app, "email:done", JobStatus.DONE, attempts=1, result="sent to user 1",
                    finished_at=now),
        "failed": add(app, "card:failed", JobStatus.FAILED, kind="test-cli-broken", attempts=8,
                      last_error="CardError: the card was declined", finished_at=now),
    }


def test_worker_once_runs_what_is_due_and_stops(app, runner):
    add(app, "echo:now")
    add(app, "echo:later", run_after=utcnow() + timedelta(hours=1))

    result = runner.invoke(args=["worker", "--once", "--name", "cli-1"])

    assert result.exit_code == 0, result.output
    assert "Worker cli-1 started (once)." in result.output
    assert "Worker cli-1 stopped after 1 job(s)." in result.output
    rows = by_key(app)
    assert (rows["echo:now"].status, rows["echo:now"].result, rows["echo:now"].locked_by) == (
        JobStatus.DONE, "echoed 1", "cli-1")
    assert rows["echo:later"].status is JobStatus.PENDING


def test_status_counts_jobs_and_shows_running_and_failed_ones(app, runner, board):
    result = runner.invoke(args=["worker", "status"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "pending: 2  running: 2  done: 1  failed: 1  (due now: 2)"
    assert f"  #{board['running']} email:running: running on host-a:41, attempt 1" in lines
    assert f"  #{board['stale']} email:stale: lease ran out on host-b:7, attempt 2" in lines
    assert "Failed (retry with `flask worker retry ID…`):" in lines
    assert (f"  #{board['failed']} card:failed after 8 attempt(s): "
            "CardError: the card was declined") in lines
    assert "email:done" not in result.output and "email:due" not in result.output


def test_status_json(app, runner, board):
    result = runner.invoke(args=["worker", "status", "--json"])

    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["counts"] == {"pending": 2, "running": 2, "done": 1, "failed": 1}
    assert status["due_now"] == 2  # the pending one, and the one whose lease ran out
    assert [(r["id"], r["locked_by"], r["attempts"]) for r in status["running"]] == [
        (board["running"], "host-a:41", 1), (board["stale"], "host-b:7", 2)]
    [failed] = status["failed"]
    assert (failed["id"], failed["key"], failed["kind"], failed["status"]) == (
        board["failed"], "card:failed", "test-cli-broken", "failed")
    assert failed["last_error"] == "CardError: the card was declined"
    assert failed["attempts"] == 8


def test_status_of_an_empty_queue(app, runner):
    result = runner.invoke(args=["worker", "status"])
    assert result.exit_code == 0
    assert result.output == "pending: 0  running: 0  done: 0  failed: 0  (due now: 0)\n"


def test_retry_queues_failed_jobs_again_and_the_worker_runs_them(app, runner, board):
    FIXED.add("card:failed")
    result = runner.invoke(args=["worker", "retry", str(board["failed"])])

    assert result.exit_code == 0, result.output
    assert result.output == f"Queued again: #{board['failed']}.\n"
    row = by_key(app)["card:failed"]
    assert (row.status, row.attempts, row.finished_at) == (JobStatus.PENDING, 0, None)
    assert row.run_after <= utcnow()

    ran = runner.invoke(args=["worker", "--once", "--name", "cli-2"])
    assert ran.exit_code == 0, ran.output
    row = by_key(app)["card:failed"]
    assert (row.status, row.attempts, row.result) == (JobStatus.DONE, 1, "worked this time")


@pytest.mark.parametrize("case", ["unknown", "not failed"])
def test_retry_changes_nothing_when_one_id_is_wrong(app, runner, board, case):
    other = 999 if case == "unknown" else board["done"]
    before = {row.id: (row.status, row.attempts, row.run_after) for row in jobs(app)}

    result = runner.invoke(args=["worker", "retry", str(board["failed"]), str(other)])

    assert result.exit_code == 1
    reason = ("no job #999" if case == "unknown"
              else f"job #{board['done']} is done; only failed jobs are retried")
    assert result.stderr == f"Nothing changed: {reason}.\n"
    assert {row.id: (row.status, row.attempts, row.run_after) for row in jobs(app)} == before


@pytest.mark.parametrize("args", [
    ["worker", "retry", "99999999999999999999999"],
    ["worker", "retry", "١"],
    ["worker", "status", "--limit", "99999999999999999999"],
    ["worker", "status", "--limit", "١"],
    ["worker", "status", "--limit", "0"],
    ["billing", "events", "--limit", "٢"],
    ["billing", "subscriptions", "--limit", "1_0"],
])
def test_numbers_out_of_range_or_not_ascii_are_refused_with_a_reason(app, runner, board, args):
    """Issue 20: a huge id or limit, or an Arabic-Indic digit, is refused by the command
    (exit 2, a sentence, no traceback) and nothing changes."""
    before = {key: (job.status, job.attempts) for key, job in by_key(app).items()}
    result = runner.invoke(args=args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert "is not a whole number" in result.output or "is not between" in result.output
    assert {key: (job.status, job.attempts) for key, job in by_key(app).items()} == before
