"""Sign-up, log-in and password reset forms."""

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


def new_password_fields(label: str = "Password") -> tuple[PasswordField, PasswordField]:
    """A new password and its repetition, with the rules every new password follows."""
    return (
        PasswordField(label, validators=[
            DataRequired("Enter a password."),
            Length(min=8, max=128, message="Use 8 to 128 characters."),
        ]),
        PasswordField("Repeat password", validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", message="The passwords do not match."),
        ]),
    )


class SignupForm(Form):
    email = StringField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    username = StringField(
        "Username", validators=[DataRequired(), Length(min=3, max=32)],
        description="Letters, digits and underscores. Friends use it to send you gifts.",
    )
    password, password2 = new_password_fields()
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


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class ForgotPasswordForm(Form):
    email = StringField("Email", filters=[_strip], validators=[
        DataRequired("Enter the email address of your account."),
        Email("Enter an email address, like name@example.com."),
        Length(max=254, message="An email address has at most 254 characters."),
    ])
    submit = SubmitField("Send me a link")


class ResetPasswordForm(Form):
    password, password2 = new_password_fields("New password")
    submit = SubmitField("Set new password")


class LogoutForm(Form):
    """Empty form: only its CSRF token matters."""
