"""The invoice as Stripe sends it, read strictly: what the subscription handlers and the
billing history use of it."""

from pydantic import Field

from app.billing.objects import (
    MAX_AMOUNT,
    Amount,
    Currency,
    ExpandableId,
    HttpsUrl,
    StripeId,
    StripeView,
    Timestamp,
)
from app.billing.views import ChargeSummary


class SubscriptionDetails(StripeView):
    subscription: ExpandableId | None


class InvoiceParent(StripeView):
    subscription_details: SubscriptionDetails | None = None


class Period(StripeView):
    start: Timestamp
    end: Timestamp


class ItemDetails(StripeView):
    proration: bool


class LineParent(StripeView):
    subscription_item_details: ItemDetails | None = None


class InvoiceLine(StripeView):
    amount: int = Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)  # a proration's credit is negative
    description: str | None = Field(default=None, max_length=500)
    period: Period
    parent: LineParent | None = None

    @property
    def proration(self) -> bool:
        details = self.parent.subscription_item_details if self.parent else None
        return bool(details and details.proration)


class Lines(StripeView):
    data: list[InvoiceLine] = Field(default_factory=list, max_length=1000)


class StatusTransitions(StripeView):
    paid_at: Timestamp | None = None


class TaxAmount(StripeView):
    amount: Amount


class InvoiceView(StripeView):
    id: StripeId
    customer: ExpandableId
    amount_paid: Amount
    amount_due: Amount
    currency: Currency
    created: Timestamp
    parent: InvoiceParent | None
    # What the billing history keeps (Stripe always sends them; older test objects may not).
    status: str | None = Field(default=None, max_length=32)
    number: str | None = Field(default=None, max_length=64)
    billing_reason: str | None = Field(default=None, max_length=40)
    hosted_invoice_url: HttpsUrl | None = None
    invoice_pdf: HttpsUrl | None = None
    status_transitions: StatusTransitions | None = None
    lines: Lines | None = None
    total_taxes: list[TaxAmount] | None = None

    @property
    def tax(self) -> int:
        return min(sum(t.amount for t in self.total_taxes or []), MAX_AMOUNT)

    @property
    def subscription_id(self) -> str | None:
        details = self.parent.subscription_details if self.parent else None
        return details.subscription if details else None

    @property
    def plan_line(self) -> InvoiceLine | None:
        """The line of the period paid for (not a proration), else the first."""
        lines = self.lines.data if self.lines else []
        plain = [line for line in lines if not line.proration]
        if plain:
            return plain[-1]
        return lines[0] if lines else None


class PaidCharge(ChargeSummary):
    """The charge that paid an invoice: its card, and what of it was refunded already."""

    payment_intent: ExpandableId | None
    amount_refunded: Amount
