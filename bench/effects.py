"""After the run: every answered state-changing event changed exactly what it should, once.

For each seeded suffix the bench knows whether the app surely got its event (answered), may
have (in flight when wrk stopped), or never did. An event surely handled must have made its
change (and each of its rows and jobs exists once: the unique keys make a second one
impossible to store, so a count above one would be a bug in the check, never missed); one
never sent must have changed nothing; one perhaps sent may be either, but wholly. Nothing
else may have been written: the totals of jobs and invoices are exactly those expected.
"""

from dataclasses import dataclass, field

from bench.seed import AMOUNT
from bench.servers import rows


@dataclass
class Sent:
    """One kind's events to the app: seeded suffixes, and which were surely / maybe sent."""

    seeded: set[str] = field(default_factory=set)
    surely: set[str] = field(default_factory=set)
    maybe: set[str] = field(default_factory=set)


def _upgrades(url: str) -> dict[str, tuple]:
    found = rows(url, """
        SELECT u.stripe_checkout_session_id, u.status, r.level, u.stripe_payment_intent_id,
               u.completed_at IS NOT NULL,
               (SELECT count(*) FROM outbox_jobs j WHERE j.key = 'email:upgrade_receipt:upgrade-'
                    || CAST(u.id AS TEXT) || ':' || CAST(u.purchaser_id AS TEXT))
        FROM user_upgrades u JOIN users r ON r.id = u.recipient_id""")
    return {row[0].removeprefix("cs_"): tuple(row[1:]) for row in found}


def _subscriptions(url: str) -> dict[str, tuple]:
    found = rows(url, f"""
        SELECT s.stripe_subscription_id, s.status, s.latest_invoice_id,
               (SELECT count(*) FROM invoices i WHERE i.stripe_invoice_id = s.latest_invoice_id
                    AND i.user_id = s.user_id AND i.status = 'paid'
                    AND i.amount_paid = {AMOUNT["invoice"]} AND i.paid_at IS NOT NULL
                    AND i.stripe_subscription_id = s.stripe_subscription_id),
               (SELECT count(*) FROM outbox_jobs j
                    WHERE j.key = 'invoice-paid:' || s.latest_invoice_id)
        FROM subscriptions s""")
    return {row[0].removeprefix("sub_"): tuple(row[1:]) for row in found}


def check_effects(url: str, sent: dict[str, Sent]) -> list[str]:
    """What is wrong with the app's rows after the run; empty when all is right."""
    problems: list[str] = []
    expected_jobs = expected_invoices = 0
    checks = {
        "upgrade": (_upgrades, ("complete", "gold", "pi_{}", True, 1),
                    ("pending", "member", None, False, 0)),
        "invoice": (_subscriptions, ("active", "in_{}", 1, 1), ("active", None, 0, 0)),
    }
    for kind, (read, done, untouched) in checks.items():
        if kind not in sent:
            continue
        found, s = read(url), sent[kind]
        changed = 0
        for suffix in sorted(s.seeded):
            row = found.get(suffix)
            want_done = tuple(v.format(suffix) if isinstance(v, str) else v for v in done)
            if row == want_done:
                changed += 1
                if suffix in s.maybe:
                    continue
            elif row == untouched and suffix not in s.surely:
                continue
            state = ("answered" if suffix in s.surely else
                     "perhaps sent" if suffix in s.maybe else "never sent")
            problems.append(f"{kind} {suffix} ({state}): rows {row}, expected "
                            f"{want_done if suffix in s.surely else untouched}")
            if len(problems) > 10:
                return problems
        expected_jobs += changed
        expected_invoices += changed if kind == "invoice" else 0
    jobs = rows(url, "SELECT count(*) FROM outbox_jobs")[0][0]
    invoices = rows(url, "SELECT count(*) FROM invoices")[0][0]
    if (jobs, invoices) != (expected_jobs, expected_invoices):
        problems.append(f"the app wrote {jobs} jobs and {invoices} invoices, expected "
                        f"{expected_jobs} and {expected_invoices}")
    return problems
