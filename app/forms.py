"""The base of every form: its text fields refuse control characters before anything else."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import StopValidation

from app.text import control_character

CONTROL_CHARACTER_MESSAGE = ("Remove the control character (such as a NUL or a line break) "
                             "from this field.")


def plain_text(form: FlaskForm, field: Field) -> None:
    """Stop validating a field holding a control character; text areas may hold line breaks."""
    allowed = "\t\r\n" if isinstance(field, TextAreaField) else ""
    if isinstance(field.data, str) and control_character(field.data, allowed):
        raise StopValidation(CONTROL_CHARACTER_MESSAGE)


class Form(FlaskForm):
    """Every form derives from this (a test checks), so every text field is covered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self:
            if isinstance(field, StringField):  # also password, hidden, email, text area
                # First in the chain and final: later checks (uniqueness look-ups against
                # the database) never see such text.
                field.validators = [plain_text, *field.validators]
