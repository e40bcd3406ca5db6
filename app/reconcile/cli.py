"""`flask billing reconcile`: the drift report for operators and cron."""

import json
from typing import Any

import click
from flask import current_app

from app.billing.cli import billing
from app.billing.errors import BillingError, StripeUnavailable
from app.billing.objects import MalformedObject
from app.extensions import db
from app.reconcile.apply import apply_each
from app.reconcile.drift import Difference, find_differences

ALL = "*all*"  # `--apply` with no id


class CannotRun(click.ClickException):
    """The report could not be made: exit status 2 (1 means differences were found)."""

    exit_code = 2


def _differences() -> list[Difference]:
    try:
        return find_differences()
    except BillingError as exc:
        db.session.rollback()
        raise CannotRun(exc.operator_message) from None
    except MalformedObject as exc:
        db.session.rollback()
        raise CannotRun(f"Stripe sent an object the report cannot read: {exc}") from None


def _apply_all(differences: list[Difference], object_id: str | None) -> list[dict[str, Any]]:
    """Apply each planned difference and commit it on its own; what happened to each."""
    done = []
    try:
        for applied in apply_each(differences, object_id):
            difference = applied.difference
            entry: dict[str, Any] = {"object": difference.thing.value,
                                     "id": difference.object_id, "kinds": applied.kinds,
                                     "user_id": difference.user_id}
            entry.update({"result": applied.result} if applied.error is None
                         else {"error": applied.error})
            done.append(entry)
    except StripeUnavailable as exc:
        raise CannotRun(exc.operator_message) from None
    return done


def _summary(differences: list[Difference]) -> str:
    if not differences:
        return "No differences: the local rows match Stripe."
    kinds: dict[str, int] = {}
    for difference in differences:
        kinds[difference.kind.value] = kinds.get(difference.kind.value, 0) + 1
    stuck = sum(1 for d in differences if d.why_not)
    return (f"{len(differences)} difference{'s' if len(differences) != 1 else ''} ("
            + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + ")"
            + (f"; {stuck} cannot be settled by applying Stripe's state." if stuck else "."))


@billing.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.option("--apply", "apply_to", is_flag=False, flag_value=ALL, default=None,
              metavar="[ID]", help="Apply Stripe's state to every difference, or only to "
              "those about one object (a customer, subscription or card id); then report "
              "again.")
def reconcile(as_json: bool, apply_to: str | None) -> None:
    """List every difference between the local billing rows and Stripe's customers,
    subscriptions and cards. Exit status 0: none; 1: differences; 2: cannot run."""
    if not current_app.config["BILLING_ENABLED"]:
        raise CannotRun("Billing is disabled: STRIPE_SECRET_KEY is not set, so Stripe cannot "
                        "be reached.")
    differences = _differences()
    applied: list[dict[str, Any]] = []
    if apply_to is not None:
        object_id = None if apply_to == ALL else apply_to
        applied = _apply_all(differences, object_id)
        if object_id is not None and not applied and not as_json:
            click.echo(f"No difference about {object_id}: nothing to apply.")
        differences = _differences()
    if as_json:
        rows = [d.as_dict() for d in differences]
        click.echo(json.dumps({"applied": applied, "differences": rows} if apply_to else rows,
                              indent=2))
    else:
        for entry in applied:
            what = f"{entry['object']} {entry['id']} ({', '.join(entry['kinds'])})"
            click.echo(f"Applied {what}: {entry['result']}." if "result" in entry
                       else f"Not applied {what}: {entry['error']}.")
        for difference in differences:
            click.echo(difference.line())
        click.echo(_summary(differences))
    if differences:
        click.get_current_context().exit(1)
