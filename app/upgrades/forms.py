"""The upgrade purchase form and the gift recipient picker."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.upgrades.models import UpgradeType


class RecipientForm(FlaskForm):
    """Choose a gift recipient (a GET form: it changes nothing, so it needs no CSRF)."""

    class Meta:
        csrf = False

    user = StringField("Gift to (username)", validators=[Optional(), Length(max=32)],
                       description="Leave empty to upgrade your own account.")


class UpgradeForm(FlaskForm):
    """Buy one upgrade; the button pressed supplies `upgrade`."""

    recipient = HiddenField(validators=[Optional(), Length(max=32)])
    upgrade = StringField("Upgrade", validators=[
        DataRequired(message="Choose an upgrade."),
        AnyOf([t.value for t in UpgradeType], message="Choose one of the upgrades shown."),
    ])
