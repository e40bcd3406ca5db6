"""The clock (`POST /_emulator/clock/advance`): trial reminders exactly three days
before a trial ends, renewal invoices draft (at the period's end) → finalized → paid or
failed (an hour later), retries on the configured schedule, then canceled or unpaid;
subscriptions set to cancel end at their period end. Invoices name their subscription
under parent.subscription_details. (Event by event, on test clocks: test_calendar.py.)"""
from .conftest import event_types
from .helpers import DAY, HOUR, events_of, subscribe

RENEWAL_PAID = ["customer.subscription.updated", "invoice.created", "invoice.finalized",
                "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                "invoice.paid", "invoice.payment_succeeded", "invoice_payment.paid",
                "invoice.updated"]


def invoice_events(client):
    return [e for e in reversed(client.v1.events.list({"limit": 100}).data)
            if e.type.startswith("invoice.")]


def test_trial_will_end_is_dated_three_days_before_the_trial_ends(stripe_client, control):
    sub = subscribe(stripe_client, control, trial=14)
    control.post("/clock/advance", {"seconds": 10 * DAY})
    assert events_of(stripe_client, "customer.subscription.trial_will_end") == []
    control.post("/clock/advance", {"seconds": 30 * DAY})  # one jump past the trial
    reminders = events_of(stripe_client, "customer.subscription.trial_will_end")
    assert [e.created for e in reminders] == [sub.trial_end - 3 * DAY]
    assert reminders[0].data.object.status == "trialing"


def test_a_trial_ends_with_a_paid_first_invoice(stripe_client, control):
    sub = subscribe(stripe_client, control, trial=14)
    first = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert first.amount_paid == 0 and first.status == "paid"
    control.post("/clock/advance", {"seconds": 14 * DAY + HOUR + 60})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "active"
    invoice = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert invoice.billing_reason == "subscription_cycle" and invoice.amount_paid == 700
    assert invoice.created == sub.trial_end  # at the trial's end, not when the clock landed
    assert event_types(stripe_client)[-len(RENEWAL_PAID):] == RENEWAL_PAID


def test_a_renewal_goes_draft_finalized_paid(stripe_client, control):
    sub = subscribe(stripe_client, control)
    end = sub["items"].data[0].current_period_end
    control.post("/clock/advance", {"seconds": end - sub.created + HOUR + 60})
    events = invoice_events(stripe_client)[-5:]
    assert [(e.type, e.data.object.status) for e in events] == [
        ("invoice.created", "draft"), ("invoice.finalized", "open"),
        ("invoice.paid", "paid"), ("invoice.payment_succeeded", "paid"),
        ("invoice.updated", "paid")]
    assert events[-1].data.previous_attributes["status"] == "open"
    invoice = events[0].data.object
    assert invoice.period_end == end  # the period just over, as Stripe reports it
    assert "subscription" not in invoice
    assert invoice.parent.type == "subscription_details"
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.parent.subscription_details.metadata["user_id"] == "7"


def test_invoices_are_listed_by_subscription(stripe_client, control):
    sub = subscribe(stripe_client, control)
    other = subscribe(stripe_client, control)
    listed = stripe_client.v1.invoices.list({"subscription": sub.id}).data
    assert [i.id for i in listed] == [sub.latest_invoice]
    assert other.latest_invoice not in {i.id for i in listed}


def test_a_failed_renewal_is_retried_on_schedule_then_canceled(stripe_client, control):
    control.post("/config", {"payment_retry_days": [1, 2]})
    sub = subscribe(stripe_client, control, card="4000000000000341", trial=7)
    control.post("/clock/advance", {"seconds": 30 * DAY})
    failures = events_of(stripe_client, "invoice.payment_failed")
    assert [e.created - sub.trial_end for e in failures] == [
        HOUR, HOUR + DAY, HOUR + 3 * DAY]
    assert [e.data.object.next_payment_attempt for e in failures][-1] is None
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "canceled"
    assert sub.cancellation_details.reason == "payment_failed"
    statuses = [e.data.object.status
                for e in events_of(stripe_client, "customer.subscription.updated")]
    assert statuses[-1] == "past_due"
    assert event_types(stripe_client)[-1] == "customer.subscription.deleted"


def test_after_the_retries_a_subscription_can_be_left_unpaid(stripe_client, control):
    control.post("/config", {"payment_retry_days": [1], "after_payment_retries": "unpaid"})
    sub = subscribe(stripe_client, control, card="4000000000000341", trial=7)
    control.post("/clock/advance", {"seconds": 7 * DAY + 2 * DAY})
    sub = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert sub.status == "unpaid"
    # An unpaid subscription's next invoices stay drafts: nothing more is attempted.
    control.post("/clock/advance", {"seconds": 31 * DAY})
    latest = stripe_client.v1.invoices.retrieve(
        stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice)
    assert latest.status == "draft" and latest.auto_advance is False
    assert len(events_of(stripe_client, "invoice.payment_failed")) == 2
    # Paying the open invoice with a good card makes it active again.
    good = stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                   {"customer": sub.customer})
    failed = stripe_client.v1.invoices.list({"subscription": sub.id,
                                             "status": "open"}).data[0]
    stripe_client.v1.invoices.pay(failed.id, {"payment_method": good.id})
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"


def test_the_retry_settings_are_checked(control):
    control.post("/config", {"after_payment_retries": "paused"}, expect=400)
    assert control.get("/config")["after_payment_retries"] == "canceled"


def test_cancel_at_period_end_ends_with_deleted_at_the_period_end(stripe_client, control):
    sub = subscribe(stripe_client, control)
    end = sub["items"].data[0].current_period_end
    stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    control.post("/clock/advance", {"seconds": 60 * DAY})
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert ended.status == "canceled" and ended.ended_at == end
    assert ended.cancel_at_period_end  # "did cancel at the end of the period"
    deleted = events_of(stripe_client, "customer.subscription.deleted")
    assert [e.created for e in deleted] == [end]
    assert len(stripe_client.v1.invoices.list({"subscription": sub.id}).data) == 1


def test_events_of_one_advance_come_in_time_order(stripe_client, control):
    subscribe(stripe_client, control, trial=14)
    subscribe(stripe_client, control)
    control.post("/clock/advance", {"seconds": 70 * DAY})
    created = [e.created for e in reversed(stripe_client.v1.events.list(
        {"limit": 100}).data)]
    assert created == sorted(created)
