"""Billing errors that routes and commands turn into clear pages and messages."""


class BillingError(Exception):
    """Base class. `str(error)` is a sentence fit to show a customer; `operator_message` is
    the one for operators' commands: what failed and, from Stripe, why."""

    status = 502
    default_message = "Something went wrong with the payment provider. Nothing was charged."
    default_operator_message = "A Stripe request failed."

    def __init__(self, message: str | None = None, *, operator_message: str | None = None):
        super().__init__(message or self.default_message)
        self.operator_message = operator_message or self.default_operator_message


class BillingDisabled(BillingError):
    status = 503
    default_message = ("Payments are unavailable right now. Nothing was charged; please try "
                       "again later.")
    default_operator_message = ("Billing is disabled: STRIPE_SECRET_KEY is not set, so Stripe "
                                "cannot be reached.")


class StripeUnavailable(BillingError):
    status = 503
    default_message = ("The payment provider did not answer. Nothing was charged; "
                       "please try again in a moment.")
    default_operator_message = "Stripe did not answer."


class StripeRejected(BillingError):
    """Stripe refused a request: a bug or a configuration problem on our side."""

    status = 502
    default_message = ("The payment provider refused the request. Nothing was charged; "
                       "please try again, and contact us if it keeps happening.")
    default_operator_message = "Stripe refused the request."


class CardDeclined(BillingError):
    status = 402
    default_message = "The card was declined. Nothing was charged."
    default_operator_message = "Stripe declined the card."


class CatalogNotSynced(BillingError):
    status = 503
    default_message = ("This item cannot be bought yet. Nothing was charged; please try again "
                       "later.")
    default_operator_message = ("The catalog is not synced with Stripe: run "
                                "`flask billing sync-catalog`.")


class InvalidBillingDetails(BillingError):
    """Stripe refused a billing detail the customer can correct (a tax ID's format, a postal
    code). `field` names the detail (a field of the billing details form); `str()` says what
    to fix, for that field."""

    status = 422
    default_message = "Please check this field."
    default_operator_message = "Stripe refused a billing detail as invalid."
    # What to fix, by Stripe's error code, when no sentence is given.
    messages_by_code = {
        "tax_id_invalid": "That is not a valid tax ID of this type.",
        "postal_code_invalid": "That is not a valid postal code for the country chosen.",
        "country_code_invalid": "Choose a country from the list.",
        "invalid_characters": ("Our payment provider does not accept some of the characters "
                               "in this field; please remove them."),
    }

    def __init__(self, field: str, message: str | None = None, *, code: str | None = None,
                 operator_message: str | None = None):
        super().__init__(message or self.messages_by_code.get(code or ""),
                         operator_message=operator_message)
        self.field = field
        self.code = code  # Stripe's error code, e.g. "tax_id_invalid"
