"""The subscribe form (pricing page) and the forms behind the settings page's actions."""

import secrets

from wtforms import BooleanField, HiddenField, IntegerField
from wtforms.validators import AnyOf, DataRequired, NumberRange, Regexp

from app.forms import Form
from app.subscriptions.checkout import INTERVALS, WAIVER_TEXT


class ConsentField(BooleanField):
    """A tick-box whose record is legal proof: only the box's own value ("y", what a
    ticked box sends) is consent; "n", "0", "off", "no", "False" and a blank are not."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = bool(valuelist) and valuelist[0] == "y"


class SubscribeForm(Form):
    """Start Premium. Whether the tick-box is needed is the checkout's rule, not the form's:
    `begin_checkout` refuses a monthly subscription without it and the route shows why."""

    interval = HiddenField(validators=[
        DataRequired(message="Choose monthly or annual billing."),
        AnyOf(list(INTERVALS), message="Choose monthly or annual billing."),
    ])
    waiver = ConsentField(WAIVER_TEXT)


class ActionForm(Form):
    """A settings button that changes something (cancel, resume, portal): CSRF only."""


def _attempt() -> str:
    return secrets.token_urlsafe(12)


class PayNowForm(Form):
    """Pay the overdue invoice now. `attempt` is new with each page, so a double submission
    of one page is one request at Stripe (its idempotency key) and a later try is another."""

    attempt = HiddenField(default=_attempt, validators=[
        DataRequired(message="That form expired; please try again."),
        Regexp(r"^[A-Za-z0-9_-]{8,32}$", message="That form expired; please try again.")])


# The switch form's fields are hidden: only an old or altered page gets them wrong.
PREVIEW_OUT_OF_DATE = "That preview is out of date. Look at the switch again."


class SwitchForm(Form):
    """Confirm a switch at the price the preview showed (`proration_date` is its moment)."""

    to_interval = HiddenField(validators=[
        DataRequired(message="Choose monthly or annual billing."),
        AnyOf(list(INTERVALS), message="Choose monthly or annual billing.")])
    proration_date = IntegerField(invalid_value_message=PREVIEW_OUT_OF_DATE, validators=[
        DataRequired(message=PREVIEW_OUT_OF_DATE),
        NumberRange(min=1, max=2**40, message=PREVIEW_OUT_OF_DATE)])
