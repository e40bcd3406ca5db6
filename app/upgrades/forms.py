"""The upgrade purchase form and the gift recipient picker."""

from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.forms import Form, username_as_typed
from app.upgrades.models import UpgradeType

NAME_TOO_LONG = "No one has a username that long: usernames have at most 32 characters."


class RecipientForm(Form):
    """Choose a gift recipient (a GET form: it changes nothing, so it needs no CSRF)."""

    class Meta:
        csrf = False

    # "@bob" and " bob " are bob: the site writes usernames with an "@".
    user = StringField("Gift to (username)", filters=[username_as_typed],
                       validators=[Optional(), Length(max=32, message=NAME_TOO_LONG)],
                       description="With or without the @. Leave empty to upgrade your own "
                                   "account.")


class UpgradeForm(Form):
    """Buy one upgrade; the button pressed supplies `upgrade`."""

    recipient = HiddenField(filters=[username_as_typed],
                            validators=[Optional(), Length(max=32, message=NAME_TOO_LONG)])
    upgrade = StringField("Upgrade", validators=[
        DataRequired(message="Choose an upgrade."),
        AnyOf([t.value for t in UpgradeType], message="Choose one of the upgrades shown."),
    ])
    # Shown only to a buyer whose subscription would renew: ticked at first, since Gold and
    # Platinum include Premium for good and the subscription would then add nothing.
    stop_subscription = BooleanField(default=True)
