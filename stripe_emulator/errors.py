"""Stripe's error object, raised anywhere in the emulator and rendered by the app."""


class StripeError(Exception):
    """An API error with Stripe's wire shape: {"error": {type, code, message, param, ...}}."""

    status = 400
    type = "invalid_request_error"
    validation = False  # refused before the endpoint ran: not kept for idempotent replay

    def __init__(self, message, code=None, param=None, status=None, **extra):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.extra = extra
        if status is not None:
            self.status = status

    def body(self):
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


class InvalidRequest(StripeError):
    """400 invalid_request_error."""


class AuthenticationFailed(StripeError):
    status = 401


class IdempotencyError(StripeError):
    type = "idempotency_error"


class CardError(StripeError):
    """402: the card was declined (or could not be charged)."""

    status = 402
    type = "card_error"


def missing(resource, ident, param="id"):
    """404 resource_missing, worded as Stripe words it."""
    return InvalidRequest(
        f"No such {resource}: '{ident}'", code="resource_missing", param=param, status=404
    )


def unknown_param(name):
    return InvalidRequest(
        f"Received unknown parameter: {name}", code="parameter_unknown", param=name
    )


def missing_param(name):
    return InvalidRequest(
        f"Missing required param: {name}.", code="parameter_missing", param=name
    )


def invalid_param(name, message):
    return InvalidRequest(message, code="parameter_invalid", param=name)


def over_limit(name, message):
    """A parameter over one of Stripe's limits. Stripe's answers for these carry a
    message and the param but no code."""
    exc = InvalidRequest(message, param=name)
    exc.validation = True
    return exc
