"""Invoice events that only the billing history needs (the subscription handlers apply
`invoice.paid` and `invoice.payment_failed`, and record them here too)."""

from app.history import service
from app.history.views import InvoiceView
from app.webhooks.registry import Event, handles


@handles("invoice.finalized", "invoice.voided", "invoice.marked_uncollectible",
         view=InvoiceView)
def invoice_changed(event: Event[InvoiceView]) -> None:
    service.record(event.object)
