"""POST /v1/invoices/create_preview: the next invoice of a subscription, or the one a
change would make, with the same prorations the update then applies. Like Stripe's
previews it has an `upcoming_in_…` id, is stored nowhere and cannot be retrieved."""
import pytest
import stripe

from .helpers import DAY, subscribe


@pytest.fixture
def setup(stripe_client, control):
    product = stripe_client.v1.products.create({"name": "Premium"})

    def price(amount, interval):
        return stripe_client.v1.prices.create({
            "product": product.id, "currency": "gbp", "unit_amount": amount,
            "recurring": {"interval": interval}})

    monthly, dearer, annual = price(700, "month"), price(1000, "month"), price(7000, "year")
    sub = subscribe(stripe_client, control, price=monthly)
    control.post("/clock/advance", {"seconds": 10 * DAY})
    return sub, dearer, annual


def preview(client, sub, price, **details):
    item = sub["items"].data[0]
    return client.v1.invoices.create_preview({
        "customer": sub.customer, "subscription": sub.id,
        "subscription_details": {"items": [{"id": item.id, "price": price.id}],
                                 **details}})


def proration_total(invoice):
    return sum(line.amount for line in invoice.lines.data
               if line.parent.subscription_item_details.proration)


def test_preview_of_create_prorations_is_the_next_invoice(stripe_client, setup):
    sub, dearer, _ = setup
    invoice = preview(stripe_client, sub, dearer, proration_behavior="create_prorations")
    assert invoice.id.startswith("upcoming_in_") and invoice.object == "invoice"
    assert invoice.billing_reason == "upcoming" and invoice.status == "draft"
    regular = [line for line in invoice.lines.data
               if not line.parent.subscription_item_details.proration]
    assert [line.amount for line in regular] == [1000]
    assert invoice.total == invoice.amount_due == 1000 + proration_total(invoice)
    assert invoice.parent.subscription_details.subscription == sub.id
    # The update then makes exactly the previewed prorations.
    item = sub["items"].data[0]
    stripe_client.v1.subscriptions.update(sub.id, {
        "items": [{"id": item.id, "price": dearer.id}],
        "proration_date": invoice.parent.subscription_details.subscription_proration_date})
    pending = stripe_client.v1.invoice_items.list({"pending": True}).data
    assert sum(i.amount for i in pending) == proration_total(invoice)


def test_preview_of_always_invoice_is_the_immediate_invoice(stripe_client, setup):
    sub, dearer, _ = setup
    invoice = preview(stripe_client, sub, dearer, proration_behavior="always_invoice")
    assert invoice.billing_reason == "subscription_update"
    assert all(line.parent.subscription_item_details.proration
               for line in invoice.lines.data)
    assert invoice.amount_due == proration_total(invoice) > 0


def test_preview_of_a_new_interval_bills_it_in_full_less_the_credit(stripe_client, setup):
    sub, _, annual = setup
    invoice = preview(stripe_client, sub, annual)
    assert invoice.billing_reason == "subscription_update"
    assert invoice.amount_due == 7000 + proration_total(invoice)
    assert proration_total(invoice) < 0


def test_proration_date_is_echoed_and_used(stripe_client, setup):
    sub, dearer, _ = setup
    start = sub["items"].data[0].current_period_start
    early = preview(stripe_client, sub, dearer, proration_date=start + DAY)
    late = preview(stripe_client, sub, dearer, proration_date=start + 20 * DAY)
    assert early.parent.subscription_details.subscription_proration_date == start + DAY
    assert proration_total(early) > proration_total(late) > 0


def test_a_preview_is_not_stored(stripe_client, setup):
    sub, dearer, _ = setup
    invoice = preview(stripe_client, sub, dearer)
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.invoices.retrieve(invoice.id)
    listed = stripe_client.v1.invoices.list({"subscription": sub.id}).data
    assert invoice.id not in {i.id for i in listed}
    assert stripe_client.v1.invoice_items.list().data == []


def test_preview_without_changes_and_by_customer(stripe_client, setup):
    sub, _, _ = setup
    invoice = stripe_client.v1.invoices.create_preview({"customer": sub.customer})
    assert invoice.parent.subscription_details.subscription == sub.id
    assert invoice.amount_due == 700
    item = sub["items"].data[0]
    assert invoice.lines.data[0].period.start == item.current_period_end


def test_nothing_upcoming_for_a_subscription_that_ends(stripe_client, control, setup):
    sub, dearer, _ = setup
    stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.invoices.create_preview({"subscription": sub.id})
    assert caught.value.code == "invoice_upcoming_none"
    # Previewing the resume shows the invoice again.
    resumed = stripe_client.v1.invoices.create_preview({
        "subscription": sub.id, "subscription_details": {"cancel_at_period_end": False}})
    assert resumed.amount_due == 700
    cleared = stripe_client.v1.invoices.create_preview({
        "subscription": sub.id, "subscription_details": {"cancel_at": ""}})
    assert cleared.amount_due == 700
    stranger = stripe_client.v1.customers.create()
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.invoices.create_preview({"customer": stranger.id})
    assert caught.value.code == "invoice_upcoming_none"


def test_preview_parameter_errors_name_the_nested_param(stripe_client, setup):
    sub, dearer, _ = setup
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.invoices.create_preview({
            "subscription": sub.id,
            "subscription_details": {"items": [{"price": dearer.id}]}})
    assert caught.value.param == "subscription_details[items][0][id]"
