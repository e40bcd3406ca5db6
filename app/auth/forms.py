"""Sign-up and log-in forms."""

import re

from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from app.auth.models import find_by_email, find_by_username
from app.forms import Form

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,32}$")


def check_username(username: str) -> str | None:
    """Why `username` is not acceptable, or None when it is."""
    if not USERNAME_RE.match(username):
        return "Use 3 to 32 letters, digits or underscores."
    return None


class SignupForm(Form):
    email = StringField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    username = StringField(
        "Username", validators=[DataRequired(), Length(min=3, max=32)],
        description="Letters, digits and underscores. Friends use it to send you gifts.",
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])
    password2 = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The passwords do not match.")],
    )
    submit = SubmitField("Create account")

    def validate_username(self, field: StringField) -> None:
        problem = check_username(field.data or "")
        if problem:
            raise ValidationError(problem)
        if find_by_username(field.data):
            raise ValidationError("That username is taken.")

    def validate_email(self, field: StringField) -> None:
        if find_by_email(field.data):
            raise ValidationError("An account with this email already exists. Log in instead?")


class LoginForm(Form):
    login = StringField("Email or username", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    remember = BooleanField("Keep me logged in")
    submit = SubmitField("Log in")


class LogoutForm(Form):
    """Empty form: only its CSRF token matters."""
