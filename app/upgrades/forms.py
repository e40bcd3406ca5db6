"""The upgrade purchase form and the gift recipient picker."""

from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.forms import Form
from app.upgrades.models import UpgradeType


class RecipientForm(Form):
    """Choose a gift recipient (a GET form: it changes nothing, so it needs no CSRF)."""

    class Meta:
        csrf = False

    user = StringField("Gift to (username)", validators=[Optional(), Length(max=32)],
                       description="Leave empty to upgrade your own account.")


class UpgradeForm(Form):
    """Buy one upgrade; the button pressed supplies `upgrade`."""

    recipient = HiddenField(validators=[Optional(), Length(max=32)])
    upgrade = StringField("Upgrade", validators=[
        DataRequired(message="Choose an upgrade."),
        AnyOf([t.value for t in UpgradeType], message="Choose one of the upgrades shown."),
    ])
