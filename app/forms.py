"""The base of every form: its text fields refuse control characters before anything else,
and what it says is the site's own words, never WTForms' or Flask-WTF's stock messages."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import StopValidation

from app.text import control_character

CONTROL_CHARACTER_MESSAGE = ("Remove the control character (such as a NUL or a line break) "
                             "from this field.")
# Flask-WTF's own ("The CSRF tokens do not match.") would reach a page that lists every error.
CSRF_MESSAGE = "This form is out of date. Reload the page and send it again."


def plain_text(form: FlaskForm, field: Field) -> None:
    """Stop validating a field holding a control character; text areas may hold line breaks."""
    allowed = "\t\r\n" if isinstance(field, TextAreaField) else ""
    if isinstance(field.data, str) and control_character(field.data, allowed):
        raise StopValidation(CONTROL_CHARACTER_MESSAGE)


def strip(value: Any) -> Any:
    """A filter: text without the spaces around it."""
    return value.strip() if isinstance(value, str) else value


def username_as_typed(value: Any) -> Any:
    """A filter: a username as people type it, without the spaces around it or the "@" the
    site writes before names (so "@bob" is bob; a lone "@" stays, and finds no one)."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    return value[1:].lstrip() if value.startswith("@") and len(value) > 1 else value


class Form(FlaskForm):
    """Every form derives from this (a test checks), so every text field is covered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self:
            if isinstance(field, StringField):  # also password, hidden, email, text area
                # First in the chain and final: later checks (uniqueness look-ups against
                # the database) never see such text.
                field.validators = [plain_text, *field.validators]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        csrf_field = getattr(self, "csrf_token", None) if self.meta.csrf else None
        if csrf_field is not None and csrf_field.errors:
            csrf_field.errors = [CSRF_MESSAGE]
        return valid
