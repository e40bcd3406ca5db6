"""What the state-changing kinds' events are about, written through the app's models.

    python -m bench.seed upgrade|invoice  < suffixes.json   (DATABASE_URL: the app's)

Reads a JSON list of suffixes (one per fresh event, `bench.events.suffixes`) and writes,
for each, the rows its event will find: for `upgrade` a member with a pending Gold upgrade
whose Checkout Session is `cs_<suffix>`; for `invoice` a user with a Stripe customer
`cus_<suffix>` and an active monthly subscription `sub_<suffix>`. Prints a JSON object
mapping each suffix to the id the event must name (the upgrade's id; the user's for an
invoice). One transaction per call, in the app's own engine and settings.
"""

import json
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa

from bench.servers import ROOT, BenchError

AMOUNT = {"upgrade": 1500, "invoice": 700}  # what the events charge, in pence
CURRENCY = "gbp"


def _users(db, User, suffixes: list[str]) -> list[int]:
    rows = [{"email": f"{s}@bench.example", "username": s, "password_hash": "-"}
            for s in suffixes]
    return list(db.session.scalars(
        sa.insert(User).returning(User.id, sort_by_parameter_order=True), rows))


def seed(kind: str, suffixes: list[str]) -> dict[str, int]:
    """The rows for `kind`'s events; {suffix: id the event names}."""
    from app.auth.models import Level, User, utcnow
    from app.billing.models import BillingInfo
    from app.extensions import db
    from app.subscriptions.models import Subscription, SubscriptionStatus
    from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade

    if not suffixes:
        return {}
    user_ids = _users(db, User, suffixes)
    if kind == "upgrade":
        rows = [{"purchaser_id": uid, "recipient_id": uid, "type": UpgradeType.GOLD,
                 "status": UpgradeStatus.PENDING, "amount": AMOUNT[kind],
                 "currency": CURRENCY, "level_before": Level.MEMBER,
                 "stripe_checkout_session_id": f"cs_{s}"}
                for s, uid in zip(suffixes, user_ids, strict=True)]
        ids = list(db.session.scalars(sa.insert(UserUpgrade).returning(
            UserUpgrade.id, sort_by_parameter_order=True), rows))
    elif kind == "invoice":
        now = utcnow().replace(microsecond=0)
        start = now - timedelta(days=30)
        db.session.execute(sa.insert(BillingInfo), [
            {"user_id": uid, "stripe_customer_id": f"cus_{s}"}
            for s, uid in zip(suffixes, user_ids, strict=True)])
        db.session.execute(sa.insert(Subscription), [
            {"user_id": uid, "stripe_subscription_id": f"sub_{s}",
             "stripe_customer_id": f"cus_{s}", "status": SubscriptionStatus.ACTIVE,
             "stripe_item_id": f"si_{s}", "stripe_price_id": "price_month",
             "interval": "month", "amount": AMOUNT[kind], "currency": CURRENCY,
             "current_period_start": start, "current_period_end": now + timedelta(days=1),
             "snapshot_at": start}
            for s, uid in zip(suffixes, user_ids, strict=True)])
        ids = user_ids
    else:
        raise SystemExit(f"bench.seed: unknown kind {kind!r}")
    db.session.commit()
    return dict(zip(suffixes, ids, strict=True))


def write(kind: str, suffixes: list[str], env: dict) -> dict[str, int]:
    """Seed the app's database (`env` as its servers run) in a process of its own."""
    done = subprocess.run([sys.executable, "-m", "bench.seed", kind], cwd=ROOT, env=env,
                          input=json.dumps(suffixes), capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"seeding {kind} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    from app import create_app

    kind, suffixes = sys.argv[1], json.load(sys.stdin)
    with create_app().app_context():
        print(json.dumps(seed(kind, suffixes)))


if __name__ == "__main__":
    main()
