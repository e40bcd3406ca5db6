"""The Stripe objects the card handlers read, as strict typed views."""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.billing.objects import (
    MAX_AMOUNT,
    Currency,
    ExpandableId,
    HttpsUrl,
    Metadata,
    StripeId,
    StripeView,
    db_id_or_none,
)


class CardView(StripeView):
    brand: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=1970, le=9999)]


class PaymentMethodRef(StripeView):
    """What an event about a payment method is read for: which one, and whose."""

    id: StripeId
    customer: ExpandableId | None


class PaymentMethodView(PaymentMethodRef):
    """A payment method as fetched: what a card row keeps of it."""

    card: CardView | None = None  # only for type "card"


class InvoiceSettings(StripeView):
    default_payment_method: ExpandableId | None


class CustomerRef(StripeView):
    id: StripeId


class CustomerView(CustomerRef):
    invoice_settings: InvoiceSettings
    # Negative when the customer holds a credit; Stripe applies it to the next invoice.
    balance: Annotated[int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)] = 0
    currency: Currency | None = None


class OwnedCustomerView(CustomerView):
    """A customer as listed or fetched, with the metadata naming the user it was made for."""

    metadata: Metadata = {}

    @property
    def user_id(self) -> int | None:
        """Our user's id from `metadata.user_id` (`gateway.create_customer` writes it); None
        when there is none, or it is not one of our ids (another app's customer)."""
        return db_id_or_none(self.metadata.get("user_id"))


class SetupIntentView(StripeView):
    id: StripeId
    status: str
    customer: ExpandableId | None
    payment_method: ExpandableId | None


class SetupCheckoutView(StripeView):
    """A setup-mode Checkout Session: it saves a card and charges nothing."""

    id: StripeId
    status: Literal["open", "complete", "expired"] | None
    customer: ExpandableId | None
    setup_intent: ExpandableId | None


class ChargeCard(StripeView):
    """The card a charge used, as the receipt names it ("Visa ending 4242")."""

    brand: Annotated[str, StringConstraints(min_length=1, max_length=32,
                                            pattern=r"^[a-z0-9_]+$")]
    last4: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]


class PaymentMethodDetails(StripeView):
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    card: ChargeCard | None = None  # only when `type` is "card"


class ChargeSummary(StripeView):
    """An expanded `latest_charge`: what the receipt page shows of it."""

    id: StripeId
    receipt_url: HttpsUrl | None
    payment_method_details: PaymentMethodDetails | None

    @property
    def card(self) -> ChargeCard | None:
        details = self.payment_method_details
        return details.card if details is not None else None
