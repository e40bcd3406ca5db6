"""Sign-up, log-in and password reset forms."""

import re

from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from app.auth.models import find_by_email, find_by_username
from app.forms import Form, strip, username_as_typed

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
    email = StringField("Email", filters=[strip], validators=[
        DataRequired("Enter your email address."),
        Email("Enter an email address, like name@example.com."),
        Length(max=254, message="An email address has at most 254 characters."),
    ])
    # check_username also bounds the length: one sentence, not two saying the same thing.
    username = StringField(
        "Username", filters=[username_as_typed],
        validators=[DataRequired("Choose a username.")],
        description="Letters, digits and underscores. Friends use it to send you gifts.",
    )
    password, password2 = new_password_fields()
    submit = SubmitField("Create account")

    # Set when the email belongs to an account: the page then links to log-in and reset.
    email_taken = False

    def validate_username(self, field: StringField) -> None:
        problem = check_username(field.data or "")
        if problem:
            raise ValidationError(problem)
        if find_by_username(field.data):
            raise ValidationError("That username is taken. Choose another.")

    def validate_email(self, field: StringField) -> None:
        if find_by_email(field.data):
            self.email_taken = True
            raise ValidationError("An account with this email already exists.")


class LoginForm(Form):
    # "@alice" finds alice: the site writes usernames that way, so people type them so.
    login = StringField("Email or username", filters=[username_as_typed], validators=[
        DataRequired("Enter your email address or username."),
        Length(max=254, message="No email address or username is that long."),
    ])
    password = PasswordField("Password", validators=[
        DataRequired("Enter your password."),
        Length(max=128, message="A password has at most 128 characters."),
    ])
    remember = BooleanField("Keep me logged in")
    submit = SubmitField("Log in")


class ForgotPasswordForm(Form):
    email = StringField("Email", filters=[strip], validators=[
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
