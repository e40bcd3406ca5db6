"""Operators' credit commands: `flask billing grant-credit | credits`, and the credit and
referral part of `flask users show`."""

import json
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import User, find_by_email, utcnow
from app.extensions import db
from app.referrals.models import CreditEntry, CreditReason, Referral
from tests.stripe_objects import event, new_id
from tests.subscription_helpers import subscription, with_customer


def one_line_failure(result) -> str:
    """The single line a refused command prints; fails on a traceback or a usage screen."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def grant(runner, email: str, days: str, reason: str = "goodwill after the outage"):
    return runner.invoke(args=["billing", "grant-credit", email, "--days", days,
                               "--reason", reason])


def credit_until(app, email: str):
    with app.app_context():
        return find_by_email(email).credit_until


def ledger(app, email: str) -> list[CreditEntry]:
    with app.app_context():
        user = find_by_email(email)
        rows = db.session.scalars(sa.select(CreditEntry).where(CreditEntry.user_id == user.id)
                                  .order_by(CreditEntry.id)).all()
        db.session.expunge_all()
        return list(rows)


# --- grant-credit ---------------------------------------------------------------------

def test_grants_stack_each_after_the_last(app, runner, make_user):
    alice = make_user("alice")
    start = utcnow()
    first = grant(runner, alice.email, "10")
    assert first.exit_code == 0, first.output
    first_end = credit_until(app, alice.email)
    assert start + timedelta(days=10) <= first_end <= utcnow() + timedelta(days=10)
    assert first.output == (f"Granted 10 days to alice@example.com: credit now runs to "
                            f"{first_end:%Y-%m-%d} (had none).\n")

    second = grant(runner, alice.email, "5", "a second apology")
    assert second.exit_code == 0, second.output
    second_end = credit_until(app, alice.email)
    assert second_end == first_end + timedelta(days=5)  # anchored at the first's end
    assert second.output == (f"Granted 5 days to alice@example.com: credit now runs to "
                             f"{second_end:%Y-%m-%d} (was {first_end:%Y-%m-%d}).\n")

    rows = ledger(app, alice.email)
    assert [(r.days, r.reason, r.note, r.before, r.after) for r in rows] == [
        (10, CreditReason.ADMIN_GRANT, "goodwill after the outage", None, first_end),
        (5, CreditReason.ADMIN_GRANT, "a second apology", first_end, second_end),
    ]


def test_a_grant_after_credit_ran_out_starts_now(app, runner, make_user):
    bob = make_user("bob")
    expired = utcnow() - timedelta(days=3)
    with app.app_context():
        find_by_email(bob.email).credit_until = expired
        db.session.commit()
    start = utcnow()
    result = grant(runner, bob.email, "7")
    assert result.exit_code == 0, result.output
    end = credit_until(app, bob.email)
    assert start + timedelta(days=7) <= end <= utcnow() + timedelta(days=7)
    assert f"(had run out {expired:%Y-%m-%d})" in result.output
    [row] = ledger(app, bob.email)
    assert (row.days, row.before, row.after) == (7, expired, end)


def test_reason_is_trimmed_and_one_day_is_singular(app, runner, make_user):
    carol = make_user("carol")
    result = grant(runner, "  Carol@Example.com ", "1", "  typo fixed  ")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Granted 1 day to carol@example.com: ")
    assert [r.note for r in ledger(app, carol.email)] == ["typo fixed"]


@pytest.mark.parametrize("args, says", [
    (["--days", "0", "--reason", "r"], "'0' is not a whole number of days from 1 to 3650."),
    (["--days", "-5", "--reason", "r"], "'-5' is not a whole number of days"),
    (["--days=-5", "--reason", "r"], "'-5' is not a whole number of days"),
    (["--days", "1e9", "--reason", "r"], "'1e9' is not a whole number of days"),
    (["--days", "1000000000", "--reason", "r"], "'1000000000' is not a whole number"),
    (["--days", "9" * 5000, "--reason", "r"], "'99999999999999999999…' is not a whole"),
    (["--days", "3651", "--reason", "r"], "'3651' is not a whole number of days"),
    (["--days", "x", "--reason", "r"], "'x' is not a whole number of days"),
    (["--days", "2.5", "--reason", "r"], "'2.5' is not a whole number of days"),
    (["--days", "", "--reason", "r"], "'' is not a whole number of days"),
    (["--days", "10"], "Missing option '--reason'."),
    (["--reason", "r"], "Missing option '--days'."),
    (["--days", "10", "--reason", ""], "Give a reason"),
    (["--days", "10", "--reason", "   "], "Give a reason"),
    (["--days", "10", "--reason", "x" * 201], "201 characters long; at most 200"),
    (["--days", "10", "--reason", "line\nbreak"], "no control characters"),
    (["--days", "10", "--reason", "nul\x00"], "no control characters"),
    (["--days", "10", "--reason", "esc\x1b[31m"], "no control characters"),
    (["--days", "10", "--reason", "tab\there"], "no control characters"),
])
def test_bad_input_is_one_line_and_grants_nothing(app, runner, make_user, args, says):
    make_user("dave")
    result = runner.invoke(args=["billing", "grant-credit", "dave@example.com", *args])
    assert says in one_line_failure(result)
    assert credit_until(app, "dave@example.com") is None
    assert ledger(app, "dave@example.com") == []


def test_an_unknown_email_is_one_line(app, runner):
    assert one_line_failure(grant(runner, "nobody@example.com", "10")) == \
        "Error: No user with email 'nobody@example.com'."
    assert one_line_failure(runner.invoke(args=["billing", "credits", "nobody@example.com"])) \
        == "Error: No user with email 'nobody@example.com'."
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditEntry)) == 0


class TestStripeRefusal:
    """A subscriber's grant moves their next charge at Stripe first; when Stripe cannot be
    reached (the configured address is closed on purpose), nothing is granted."""

    @pytest.fixture
    def app_config(self, billing_config):
        return billing_config

    def test_nothing_is_granted_when_stripe_fails(self, app, runner, make_user, post_event):
        erin = make_user("erin")
        customer = with_customer(app, erin)
        t = int(time.time())
        assert post_event(event("customer.subscription.created",
                                subscription(new_id("sub"), customer, start=t),
                                created=t)).status_code == 200
        line = one_line_failure(grant(runner, erin.email, "10"))
        # Stripe's side in the operator's words, then ours.
        assert line.startswith("Error: Stripe request failed: retrieve subscription sub_")
        assert line.endswith("(ConnectionError). No credit was granted.")
        assert credit_until(app, erin.email) is None
        assert ledger(app, erin.email) == []


# --- credits ----------------------------------------------------------------------------

@pytest.fixture
def referred_pair(app, make_user):
    """frank referred grace; she paid, and both got their 45 days (as the ledger has it)."""
    frank, grace = make_user("frank"), make_user("grace")
    now = utcnow()
    with app.app_context():
        referral = Referral(referrer_id=frank.id, referred_id=grace.id, converted_at=now,
                            credited_at=now, conversions=1)
        db.session.add(referral)
        db.session.flush()
        for user_id, reason in ((grace.id, CreditReason.REFERRAL_RECEIVED),
                                (frank.id, CreditReason.REFERRAL_GIVEN)):
            db.session.get(User, user_id).credit_until = now + timedelta(days=45)
            db.session.add(CreditEntry(user_id=user_id, days=45, reason=reason,
                                       referral_id=referral.id, conversion=1, before=None,
                                       after=now + timedelta(days=45),
                                       created_at=now - timedelta(hours=1)))
        db.session.commit()
    return frank, grace


def test_credits_text_lists_the_ledger_newest_first(app, runner, referred_pair):
    frank, grace = referred_pair
    assert grant(runner, frank.email, "10", "support ticket 4411").exit_code == 0
    end = credit_until(app, frank.email)
    lines = runner.invoke(args=["billing", "credits", frank.email]).output.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith(f"  +10 days  admin grant, note: support ticket 4411  "
                             f"{end - timedelta(days=10):%Y-%m-%d} → {end:%Y-%m-%d}")
    assert lines[1].endswith(f"  +45 days  referral reward, with grace@example.com (@grace)  "
                             f"none → {end - timedelta(days=10):%Y-%m-%d}")
    assert lines[2] == f"Credit runs to {end:%Y-%m-%d %H:%M} UTC."

    received = runner.invoke(args=["billing", "credits", grace.email]).output
    assert "+45 days  referral welcome, with frank@example.com (@frank)" in received


def test_credits_name_a_deleted_referrer(app, runner, referred_pair):
    frank, grace = referred_pair
    with app.app_context():
        db.session.delete(db.session.get(User, frank.id))
        db.session.commit()
    text = runner.invoke(args=["billing", "credits", grace.email]).output
    assert "referral welcome, with (deleted user)" in text
    data = json.loads(runner.invoke(args=["billing", "credits", grace.email, "--json"]).output)
    assert data["entries"][0]["other_user"] is None
    assert data["entries"][0]["referral_id"] is not None


def test_credits_json(app, runner, referred_pair):
    frank, grace = referred_pair
    assert grant(runner, frank.email, "3", "bug bounty").exit_code == 0
    result = runner.invoke(args=["billing", "credits", frank.email, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    end = credit_until(app, frank.email)
    assert (data["email"], data["credit_until"]) == ("frank@example.com", end.isoformat())
    granted, reward = data["entries"]
    assert granted == {"days": 3, "reason": "admin_grant", "referral_id": None,
                       "other_user": None, "note": "bug bounty",
                       "before": (end - timedelta(days=3)).isoformat(),
                       "after": end.isoformat(), "created_at": granted["created_at"]}
    assert granted["created_at"].endswith("+00:00")
    assert reward["reason"] == "referral_given" and reward["days"] == 45
    assert reward["other_user"] == {"id": grace.id, "email": "grace@example.com",
                                    "username": "grace"}
    assert reward["before"] is None and reward["note"] is None


def test_credits_with_no_credit(app, runner, make_user):
    henry = make_user("henry")
    assert runner.invoke(args=["billing", "credits", henry.email]).output == "No credit.\n"
    data = json.loads(runner.invoke(args=["billing", "credits", henry.email, "--json"]).output)
    assert data == {"email": "henry@example.com", "credit_until": None, "entries": []}
    with app.app_context():
        find_by_email(henry.email).credit_until = utcnow() - timedelta(days=1)
        db.session.commit()
    text = runner.invoke(args=["billing", "credits", henry.email]).output
    assert text.startswith("No credit (it ran out ")


# --- users show -------------------------------------------------------------------------

def test_users_show_json_has_credit_and_referral(app, runner, referred_pair):
    frank, grace = referred_pair
    app.config["SITE_URL"] = "https://billing.example.com"
    shown = json.loads(runner.invoke(args=["users", "show", grace.email, "--json"]).output)
    assert shown["credit_until"] == credit_until(app, grace.email).isoformat()
    assert shown["referral"] == {
        "code": grace.referral_code,
        "link": f"https://billing.example.com/r/{grace.referral_code}",
        "referred_by": "frank", "referral_status": "converted", "converted_referrals": 0}
    referrer = json.loads(runner.invoke(args=["users", "show", frank.email, "--json"]).output)
    assert referrer["referral"]["referred_by"] is None
    assert referrer["referral"]["referral_status"] is None
    assert referrer["referral"]["converted_referrals"] == 1


def test_users_show_text_has_credit_and_referral(app, runner, make_user):
    ivy = make_user("ivy")
    jack = make_user("jack")
    with app.app_context():
        db.session.add(Referral(referrer_id=ivy.id, referred_id=jack.id))
        db.session.commit()
    text = runner.invoke(args=["users", "show", jack.email]).output.splitlines()
    assert "Credit: none" in text
    assert f"Referral: code {jack.referral_code}, referred by @ivy (pending)" in text
    assert grant(runner, jack.email, "30").exit_code == 0
    text = runner.invoke(args=["users", "show", jack.email]).output.splitlines()
    assert f"Credit: until {credit_until(app, jack.email):%Y-%m-%d}" in text
    plain = runner.invoke(args=["users", "show", ivy.email]).output.splitlines()
    assert f"Referral: code {ivy.referral_code}" in plain
