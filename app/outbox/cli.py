"""`flask worker`: run the outbox; `status` and `retry` for operators."""

import json
import signal
import sys
import threading
from typing import Any

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from app.auth.models import utcnow
from app.commands import OperatorGroup
from app.extensions import db
from app.ids import DB_ID, Count
from app.outbox.models import Job, JobStatus
from app.outbox.operations import NotRetried, retry_jobs
from app.outbox.worker import due_condition, work, worker_name


# An OperatorGroup (an AppGroup) like `users` and `billing`: its subcommands get the app
# context however they are invoked (`app.test_cli_runner()` included), and the group's own
# callback, which is the worker, asks for it explicitly.
@click.group("worker", cls=OperatorGroup, invoke_without_command=True)
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option("--name", help="This worker's name in the logs and on claimed jobs.")
@with_appcontext
@click.pass_context
def worker(ctx: click.Context, once: bool, name: str | None) -> None:
    """Run queued jobs (e-mails, card retries): `flask worker`, stopped by Ctrl-C or SIGTERM
    once the current job is done."""
    if ctx.invoked_subcommand is not None:
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    name = name or worker_name()
    click.echo(f"Worker {name} started{' (once)' if once else ''}.", err=True)
    ran = work(worker=name, once=once, stop=stop)
    click.echo(f"Worker {name} stopped after {ran} job(s).", err=True)


def _row(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "key": job.key, "status": job.status.value,
            "attempts": job.attempts, "run_after": job.run_after.isoformat(),
            "locked_by": job.locked_by,
            "locked_until": job.locked_until.isoformat() if job.locked_until else None,
            "last_error": job.last_error}


@worker.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=20, show_default=True, type=Count(1, 10_000),
              help="Failed jobs to list.")
def status(as_json: bool, limit: int) -> None:
    """How many jobs are pending, running, done and failed; the failed ones with reasons."""
    counts = {s.value: 0 for s in JobStatus}
    for value, count in db.session.execute(
            sa.select(Job.status, sa.func.count()).group_by(Job.status)):
        counts[value.value] = count
    now = utcnow()
    due = db.session.scalar(sa.select(sa.func.count()).where(due_condition(now))) or 0
    failed = db.session.scalars(sa.select(Job).where(Job.status == JobStatus.FAILED)
                                .order_by(Job.id.desc()).limit(limit)).all()
    running = db.session.scalars(sa.select(Job).where(Job.status == JobStatus.RUNNING)
                                 .order_by(Job.id)).all()
    if as_json:
        click.echo(json.dumps({"counts": counts, "due_now": due,
                               "running": [_row(j) for j in running],
                               "failed": [_row(j) for j in failed]}, indent=2))
        return
    click.echo("  ".join(f"{name}: {n}" for name, n in counts.items()) + f"  (due now: {due})")
    for job in running:
        state = "lease ran out" if job.locked_until and job.locked_until < now else "running"
        click.echo(f"  #{job.id} {job.key}: {state} on {job.locked_by}, attempt {job.attempts}")
    if failed:
        click.echo("Failed (retry with `flask worker retry ID…`):")
        for job in failed:
            click.echo(f"  #{job.id} {job.key} after {job.attempts} attempt(s): "
                       f"{job.last_error}")


@worker.command("retry")
@click.argument("job_ids", nargs=-1, required=True, type=DB_ID)
def retry(job_ids: tuple[int, ...]) -> None:
    """Queue failed jobs again, now, with a fresh count of attempts."""
    try:
        queued = retry_jobs(job_ids)
    except NotRetried as exc:
        click.echo("Nothing changed: " + "; ".join(exc.problems) + ".", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"Queued again: {', '.join(f'#{i}' for i in queued)}.")
