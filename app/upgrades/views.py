"""The Stripe objects the upgrade handlers and services read, as strict typed views."""



from app.billing.objects import (
    Amount,
    Currency,
    DbId,
    ExpandableId,
    StripeId,
    StripeView,
    Timestamp,
)
from app.billing.views import ChargeSummary


class UpgradeMetadata(StripeView):
    """Our keys in an object's metadata (Stripe metadata values are always strings)."""

    kind: str | None = None
    upgrade_id: DbId | None = None
    # The buyer's subscription to stop at the end of its paid period once the upgrade is
    # paid (the upgrade form's tick-box); kept on the Checkout Session, not on our row.
    then_stop: StripeId | None = None


class ChargeView(ChargeSummary):
    amount: Amount
    amount_refunded: Amount
    refunded: bool
    currency: Currency
    payment_intent: ExpandableId | None
    metadata: UpgradeMetadata


class PaymentIntentView(StripeView):
    id: StripeId
    metadata: UpgradeMetadata
    latest_charge: ChargeSummary | StripeId | None = None


class CheckoutSessionView(StripeView):
    id: StripeId
    status: str | None
    payment_status: str
    # The id, or the object when the session was fetched with `expand`.
    payment_intent: PaymentIntentView | StripeId | None
    metadata: UpgradeMetadata
    # What it charges: always set in payment mode, checked against the upgrade.
    amount_total: Amount | None
    currency: Currency | None

    @property
    def payment_intent_id(self) -> str | None:
        pi = self.payment_intent
        return pi.id if isinstance(pi, PaymentIntentView) else pi

    @property
    def charge(self) -> ChargeSummary | StripeId | None:
        pi = self.payment_intent
        return pi.latest_charge if isinstance(pi, PaymentIntentView) else None


class EvidenceDetails(StripeView):
    due_by: Timestamp | None


class DisputeView(StripeView):
    id: StripeId
    charge: ExpandableId
    payment_intent: ExpandableId | None
    amount: Amount
    currency: Currency
    reason: str
    evidence_details: EvidenceDetails
