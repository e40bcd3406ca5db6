"""The console's actions, through its pages, on the emulator: each is confirmed, calls the
same verb as the command line, and is written to the audit log (refusals and failures
too); money actions want the operator's password, at most every 10 minutes."""

import html
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.admin.models import AuditEntry
from app.auth import models as auth_models
from app.billing import gateway
from app.extensions import db
from app.history.models import Invoice
from app.outbox.models import Job
from app.referrals.models import CreditEntry
from app.subscriptions.models import Subscription
from app.upgrades.models import UserUpgrade
from tests.conftest import PASSWORD, csrf_token
from tests.test_subscriptions_pages import pay
from tests.test_upgrades_cli import _upgrade_id_for
from tests.upgrade_helpers import level_of, upgrade_row


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def alice(make_user, client, login, synced_catalog):
    """A member, logged in on `client` (to buy and subscribe through the site)."""
    user = make_user("alice")
    login(user)
    return user


@pytest.fixture
def console(app, make_user):
    """An admin's own browser (a client of its own), logged in."""
    make_user("root", admin=True)
    browser = app.test_client()
    answer = browser.post("/login", data={"login": "root@example.com", "password": PASSWORD,
                                          "csrf_token": csrf_token(browser, "/login")})
    assert answer.status_code == 303
    return browser


@pytest.fixture
def clock():
    """Move the app's clock: `clock(minutes)`."""
    def move(minutes: float) -> None:
        auth_models.CLOCK_OFFSET = timedelta(minutes=minutes)
    yield move
    auth_models.CLOCK_OFFSET = timedelta(0)


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ",
                                                    response.get_data(as_text=True))))


def buy(app, client, emu, upgrade: str = "platinum") -> int:
    response = client.post("/user_upgrades", data={
        "upgrade": upgrade, "recipient": "",
        "csrf_token": csrf_token(client, "/user_upgrades/new")})
    session_id = response.location.rsplit("/", 1)[1]
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    upgrade_id = _upgrade_id_for(app, session_id)
    client.get(f"/user_upgrades/{upgrade_id}?session_id={session_id}")
    assert upgrade_row(app, upgrade_id).status.value == "complete"
    return upgrade_id


def act(console, user_id: int, action: str, object_id=None, *, csrf: bool = True, **form):
    """Open the action's confirmation page, then confirm it with `form`."""
    path = f"/admin/customers/{user_id}/actions/{action}" + (f"/{object_id}" if object_id else "")
    page = console.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    if csrf:
        form["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                       page.get_data(as_text=True)).group(1)
    return console.post(path, data=form)


def audit(app) -> list[tuple]:
    with app.app_context():
        return [(e.action, e.subject_id, e.object_id, e.reason, e.outcome.value, e.detail)
                for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def test_refund_an_upgrade_with_the_password_and_find_it_in_the_audit_log(
        app, client, console, alice, emu):
    upgrade_id = buy(app, client, emu)
    customer = console.get(f"/admin/customers/{alice.id}")
    assert f"/admin/customers/{alice.id}/actions/refund-upgrade/{upgrade_id}" in \
        customer.get_data(as_text=True)
    page = text(console.get(f"/admin/customers/{alice.id}/actions/refund-upgrade/{upgrade_id}"))
    assert "Refund Platinum upgrade" in page and "£40.00" in page and "Your password" in page

    # Without the CSRF token: refused before anything, and nothing written.
    no_token = act(console, alice.id, "refund-upgrade", upgrade_id, csrf=False,
                   reason="asked within 14 days", password=PASSWORD)
    assert no_token.status_code == 400
    assert audit(app) == []

    # A wrong password: nothing done, written as refused.
    wrong = act(console, alice.id, "refund-upgrade", upgrade_id,
                reason="asked within 14 days", password="not it")
    assert wrong.status_code == 422 and "That is not your password" in text(wrong)
    assert upgrade_row(app, upgrade_id).status.value == "complete"
    assert audit(app) == [("refund-upgrade", alice.id, f"upgrade #{upgrade_id}",
                           "asked within 14 days", "refused",
                           "That is not your password: nothing was done.")]

    # No reason: asked for, nothing done or written.
    no_reason = act(console, alice.id, "refund-upgrade", upgrade_id, reason=" ",
                    password=PASSWORD)
    assert no_reason.status_code == 422 and "Say why" in text(no_reason)
    assert len(audit(app)) == 1

    done = act(console, alice.id, "refund-upgrade", upgrade_id,
               reason="asked within 14 days", password=PASSWORD)
    assert done.status_code == 303 and done.location.endswith(f"/admin/customers/{alice.id}#audit")
    row = upgrade_row(app, upgrade_id)
    assert row.status.value == "refunded" and level_of(app, alice) == "member"
    with app.app_context():
        charge = gateway.client().v1.charges.retrieve(row.stripe_charge_id)
    assert charge.refunded and charge.amount_refunded == 4000
    entry = audit(app)[-1]
    assert entry[:5] == ("refund-upgrade", alice.id, f"upgrade #{upgrade_id}",
                         "asked within 14 days", "ok")
    assert entry[5].startswith(f"Refunded upgrade #{upgrade_id}: £40.00 (refund re_")

    shown = text(console.get(f"/admin/customers/{alice.id}"))
    assert entry[5] in shown  # the flash, and the customer's audit log
    assert "root@example.com Refund upgrade" in shown and "asked within 14 days Done" in shown
    listed = text(console.get("/admin/audit"))
    assert listed.index("asked within 14 days Done") < listed.index("Refused")  # newest first
    assert "alice@example.com" in listed

    # Again (a stale page): the verb refuses, in the log; Stripe refunded once.
    again = act(console, alice.id, "refund-upgrade", upgrade_id, reason="twice?")
    assert again.status_code == 303
    assert audit(app)[-1][4:] == ("refused",
                                  f"Upgrade {upgrade_id} is already refunded; nothing was done.")
    with app.app_context():
        assert len(gateway.client().v1.charges.retrieve(row.stripe_charge_id).refunds.data) == 1


def test_refund_an_invoice_from_the_console_and_the_command_shares_the_verb(
        app, site, client, console, alice, emu, runner):
    pay(client, emu, "monthly")
    emu("POST", "flush")
    with app.app_context():
        invoice = db.session.scalar(sa.select(Invoice))
        invoice_id = invoice.stripe_invoice_id
        # Refunded in part at Stripe already (the Dashboard): the console refunds the rest.
        pi = gateway.invoice_payment_intent(invoice_id)
        gateway.create_refund(pi, idempotency_key="dashboard", amount=200)
    emu("POST", "flush")
    done = act(console, alice.id, "refund-invoice", invoice_id, reason="double charged",
               password=PASSWORD)
    assert done.status_code == 303
    assert audit(app)[-1][4] == "ok" and "Refunded £5.00 of invoice" in audit(app)[-1][5]
    with app.app_context():
        row = db.session.scalar(sa.select(Invoice))
        assert (row.amount_paid, row.amount_refunded) == (700, 700)
        charge = gateway.invoice_charge(invoice_id)
        assert charge.amount_refunded == 700
    emu("POST", "flush")  # its charge.refunded changes nothing more
    assert "Refunded" in text(client.get("/settings/payments"))
    again = runner.invoke(args=["billing", "refund-invoice", invoice_id])
    assert again.exit_code != 0 and "refunded in full already" in again.output


def test_the_password_is_asked_again_after_10_minutes_and_logging_in_does_not_count(
        app, console, make_user, clock):
    bob = make_user("bob")
    path = f"/admin/customers/{bob.id}/actions/grant-credit"
    assert "Your password" in text(console.get(path))  # just logged in: asked all the same
    first = act(console, bob.id, "grant-credit", days="3", reason="outage", password=PASSWORD)
    assert first.status_code == 303
    clock(9)
    assert "Your password" not in text(console.get(path))
    second = act(console, bob.id, "grant-credit", days="2", reason="outage, again")
    assert second.status_code == 303
    clock(10.5)
    assert "Your password" in text(console.get(path))
    third = act(console, bob.id, "grant-credit", days="1", reason="no password")
    assert third.status_code == 422
    with app.app_context():
        assert [e.days for e in db.session.scalars(sa.select(CreditEntry))] == [3, 2]
    assert [e[4] for e in audit(app)] == ["ok", "ok", "refused"]
    assert audit(app)[0][5].startswith("Granted 3 days of credit: it now runs to ")


def test_cancel_at_period_end_then_now_and_sync(app, site, client, console, alice, emu):
    pay(client, emu, "monthly")
    emu("POST", "flush")
    with app.app_context():
        sub_id = db.session.scalar(sa.select(Subscription.stripe_subscription_id))
    page = text(console.get(f"/admin/customers/{alice.id}/actions/cancel-at-period-end/{sub_id}"))
    assert "Stop Premium" in page and "Your password" not in page  # not a money action
    assert act(console, alice.id, "cancel-at-period-end", sub_id,
               reason="asked by e-mail").status_code == 303
    with app.app_context():
        assert gateway.retrieve_subscription(sub_id).cancel_at_period_end
        # Our row made wrong on purpose: sync puts Stripe's state back.
        db.session.execute(sa.update(Subscription).values(cancel_at_period_end=False))
        db.session.commit()
    assert act(console, alice.id, "sync", reason="row looked wrong").status_code == 303
    assert audit(app)[-1][4] == "ok" and sub_id in audit(app)[-1][5]
    with app.app_context():
        assert db.session.scalar(sa.select(Subscription.cancel_at_period_end))
    assert act(console, alice.id, "cancel-now", sub_id, reason="fraud").status_code == 303
    with app.app_context():
        assert gateway.retrieve_subscription(sub_id).status == "canceled"
        assert db.session.scalar(sa.select(Subscription.status)).value == "canceled"
    assert [e[:5] for e in audit(app)] == [
        ("cancel-at-period-end", alice.id, sub_id, "asked by e-mail", "ok"),
        ("sync", alice.id, None, "row looked wrong", "ok"),
        ("cancel-now", alice.id, sub_id, "fraud", "ok")]
    assert audit(app)[-1][5] == f"{sub_id} is now cancelled."


def test_resend_an_email_queues_a_new_job_with_the_same_message(app, console, make_user):
    from app.emails.messages import queue_email

    bob = make_user("bob")
    with app.app_context():
        queue_email("referral_credit", bob.id, record="entry-9", days=45)
        db.session.commit()
        job_id = db.session.scalar(sa.select(Job.id))
    assert act(console, bob.id, "resend-email", job_id, reason="never arrived").status_code == 303
    [entry] = audit(app)
    with app.app_context():
        entry_id = db.session.scalar(sa.select(AuditEntry.id))
        jobs = list(db.session.scalars(sa.select(Job).order_by(Job.id)))
        assert [j.key for j in jobs] == [
            f"email:referral_credit:entry-9:{bob.id}",
            f"email:referral_credit:entry-9:{bob.id}:resend:{entry_id}"]
        assert jobs[1].payload == {**jobs[0].payload, "key": jobs[1].key}
    assert entry[4] == "ok"


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_actions_and_the_audit_log_are_404_for_anyone_else(app, make_user, who):
    bob = make_user("bob")
    browser = app.test_client()
    if who == "member":
        browser.post("/login", data={"login": "bob@example.com", "password": PASSWORD,
                                     "csrf_token": csrf_token(browser, "/login")})
    token = csrf_token(browser)
    for path in ("/admin/audit", f"/admin/customers/{bob.id}/actions/grant-credit",
                 f"/admin/customers/{bob.id}/actions/sync"):
        assert browser.get(path).status_code == 404
    for path in (f"/admin/customers/{bob.id}/actions/grant-credit",
                 f"/admin/customers/{bob.id}/actions/sync"):
        assert browser.post(path, data={"csrf_token": token, "reason": "x", "days": "5",
                                        "password": PASSWORD}).status_code == 404
    assert audit(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserUpgrade)) == 0


def test_an_unknown_action_or_someone_else_s_object_is_404(app, console, make_user):
    bob, carol = make_user("bob"), make_user("carol")
    with app.app_context():
        from app.emails.messages import queue_email
        queue_email("referral_credit", carol.id, record="x", days=1)
        db.session.commit()
        job_id = db.session.scalar(sa.select(Job.id))
    assert console.get(f"/admin/customers/{bob.id}/actions/delete-everything").status_code == 404
    assert console.get(f"/admin/customers/{bob.id}/actions/resend-email/{job_id}").status_code \
        == 404
    assert console.get(f"/admin/customers/{bob.id}/actions/refund-invoice/in_nope").status_code \
        == 404


def test_a_failure_at_stripe_is_written_as_failed(app, console, make_user):
    from app.billing.models import BillingInfo

    bob = make_user("bob")
    with app.app_context():
        db.session.add(BillingInfo(user_id=bob.id, stripe_customer_id="cus_bob"))
        db.session.commit()
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # Stripe stops answering
    app.extensions.pop("stripe_client", None)
    answer = act(console, bob.id, "sync", reason="checking")
    assert answer.status_code == 303
    [entry] = audit(app)
    assert entry[:5] == ("sync", bob.id, None, "checking", "failed") and entry[5]
    assert "Sync from Stripe: failed." in text(console.get(f"/admin/customers/{bob.id}"))


def test_cancel_subscription_on_the_command_line(app, site, client, alice, emu, runner):
    pay(client, emu, "monthly")
    with app.app_context():
        sub_id = db.session.scalar(sa.select(Subscription.stripe_subscription_id))
    ends = runner.invoke(args=["billing", "cancel-subscription", sub_id])
    assert ends.exit_code == 0 and f"{sub_id}: active, ends " in ends.output
    again = runner.invoke(args=["billing", "cancel-subscription", sub_id])
    assert again.exit_code != 0 and "not renewing" in again.output
    now = runner.invoke(args=["billing", "cancel-subscription", sub_id, "--now"])
    assert now.exit_code == 0 and now.output.strip() == f"{sub_id}: canceled."
    with app.app_context():
        assert gateway.retrieve_subscription(sub_id).status == "canceled"
