"""Billing errors that routes and commands turn into clear pages and messages."""


class BillingError(Exception):
    """Base class; `str(error)` is a sentence fit to show a user."""

    status = 502

    def __init__(self, message: str | None = None):
        super().__init__(message or self.default_message)

    default_message = "Something went wrong with the payment provider. Nothing was charged."


class BillingDisabled(BillingError):
    status = 503
    default_message = ("Payments are switched off on this server (no Stripe key is configured). "
                       "Nothing was charged.")


class StripeUnavailable(BillingError):
    status = 503
    default_message = ("The payment provider did not answer. Nothing was charged; "
                       "please try again in a moment.")


class StripeRejected(BillingError):
    """Stripe refused a request: a bug or a configuration problem on our side."""

    status = 502
    default_message = ("The payment provider refused the request. Nothing was charged; "
                       "please try again, and contact us if it keeps happening.")


class CardDeclined(BillingError):
    status = 402
    default_message = "The card was declined. Nothing was charged."


class CatalogNotSynced(BillingError):
    status = 503
    default_message = ("This item is not on sale yet: the catalog has not been synced with the "
                       "payment provider. Nothing was charged.")
