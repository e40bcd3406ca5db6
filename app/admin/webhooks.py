"""Webhook and outbox health, with replay of failed events and retry of failed jobs: the
same verbs as `flask billing replay` and `flask worker retry`.

Replaying and retrying are operational (they change no customer's money by themselves), so
for now they are written to the log, not to the audit log that the console's actions get.
"""

import logging

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin.health import outbox_health, webhook_health
from app.auth.models import utcnow
from app.extensions import db
from app.outbox.models import Job
from app.outbox.operations import NotRetried, failed_job_ids, retry_jobs
from app.webhooks.models import StripeEvent
from app.webhooks.operations import Replayed, failed_events, replay_events

log = logging.getLogger("app.admin")


@bp.get("/webhooks")
def webhooks() -> str:
    return render_template("admin/webhooks.html", health=webhook_health(utcnow()))


def _said(done: list[Replayed]) -> None:
    for replayed in done:
        log.info("operator %s replayed event %s (%s): %s%s", current_user.email,
                 replayed.stripe_id, replayed.type, replayed.outcome.value,
                 f": {replayed.error}" if replayed.error else "")
    still = [r for r in done if r.failed]
    if not done:
        flash("Nothing to replay: no event is waiting.", "info")
    elif len(done) == 1:
        r = done[0]
        if r.failed:
            flash(f"{r.stripe_id} ({r.type}) still fails: {r.error}", "error")
        else:
            flash(f"{r.stripe_id} ({r.type}): {r.outcome.value}.", "success")
    elif still:
        flash(f"Replayed {len(done)} events: {len(still)} still fail (listed below).", "error")
    else:
        flash(f"Replayed {len(done)} events: none fails now.", "success")


@bp.post("/webhooks/<dbid:event_id>/replay")
def webhooks_replay(event_id: int) -> Response:
    row = db.session.get(StripeEvent, event_id)
    if row is None:
        abort(404)
    if row.processed_at is not None:
        flash(f"{row.stripe_id} was processed already: nothing to replay.", "info")
    else:
        _said(list(replay_events([row])))
    return redirect(url_for("admin.webhooks"), 303)


@bp.post("/webhooks/replay-failed")
def webhooks_replay_failed() -> Response:
    _said(list(replay_events(failed_events())))
    return redirect(url_for("admin.webhooks"), 303)


@bp.get("/outbox")
def outbox() -> str:
    return render_template("admin/outbox.html", health=outbox_health(utcnow()))


def _retry(job_ids: list[int]) -> Response:
    if not job_ids:
        flash("Nothing to retry: no job has failed.", "info")
        return redirect(url_for("admin.outbox"), 303)
    try:
        queued = retry_jobs(job_ids)
    except NotRetried as exc:
        db.session.rollback()
        flash("Nothing changed: " + "; ".join(exc.problems) + ".", "error")
        return redirect(url_for("admin.outbox"), 303)
    db.session.commit()
    log.info("operator %s queued jobs again: %s", current_user.email,
             ", ".join(f"#{i}" for i in queued))
    flash(f"Queued again: {', '.join(f'#{i}' for i in queued)}. The worker runs "
          f"{'it' if len(queued) == 1 else 'them'} next.", "success")
    return redirect(url_for("admin.outbox"), 303)


@bp.post("/outbox/<dbid:job_id>/retry")
def outbox_retry(job_id: int) -> Response:
    if db.session.get(Job, job_id) is None:
        abort(404)
    return _retry([job_id])


@bp.post("/outbox/retry-failed")
def outbox_retry_failed() -> Response:
    return _retry(failed_job_ids())
