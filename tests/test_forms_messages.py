"""Every form speaks in the site's words: no WTForms or Flask-WTF stock message ("This field is
required.", "Field must be between 8 and 128 characters long.") ever reaches a page.

The stock messages are read from the libraries' own source, so a new validator, field or
library version is checked too; then every form is validated with empty and bad values, and
every page with a form is sent them and its HTML searched."""

import ast
import re
from functools import cache
from pathlib import Path

import flask_wtf
import pytest
import wtforms
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, SelectFieldBase, StringField, SubmitField
from wtforms.csrf.core import CSRFTokenField

from app.forms import CSRF_MESSAGE, Form
from tests.conftest import csrf_token


@pytest.fixture
def app_config(billing_config):
    """Billing on, so the purchase forms are checked (nothing here gets as far as Stripe)."""
    return billing_config


# Calls whose first string argument is a message a user could be shown.
MESSAGE_CALLS = {"gettext", "ngettext", "ValidationError", "StopValidation", "ValueError"}


def _string_arguments(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
        if name in MESSAGE_CALLS:
            found.update(arg.value for arg in node.args
                         if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return found


@cache
def stock_messages() -> frozenset[str]:
    """Every message WTForms' validators and fields, and Flask-WTF's CSRF check, can give."""
    sources = [*Path(wtforms.__file__).parent.rglob("*.py"),
               Path(flask_wtf.__file__).parent / "csrf.py"]
    messages = set().union(*(_string_arguments(path) for path in sources))
    # Sentences only: not the names of fields or of translation domains.
    return frozenset(m for m in messages if " " in m and m.rstrip().endswith("."))


@cache
def stock_patterns() -> dict[str, re.Pattern[str]]:
    """The stock messages as patterns: "%(min)d" stands for whatever it became."""
    patterns = {}
    for message in stock_messages():
        parts = re.split(r"%\(\w+\)[sd]|%[sd]", message)
        patterns[message] = re.compile(r".+?".join(re.escape(part) for part in parts))
    return patterns


def stock_found(text: str) -> list[str]:
    """The stock messages `text` holds (HTML escapes undone, apostrophes included)."""
    text = text.replace("&#39;", "'").replace("&#x27;", "'").replace("&quot;", '"')
    return sorted(message for message, p in stock_patterns().items() if p.search(text))


def test_the_stock_messages_are_collected():
    messages = stock_messages()
    for known in ("This field is required.", "Invalid email address.", "Not a valid choice.",
                  "Field must be equal to %(other_name)s.", "Not a valid integer value.",
                  "Field must be between %(min)d and %(max)d characters long.",
                  "Invalid value, must be one of: %(values)s.",
                  "The CSRF token is missing.", "The CSRF tokens do not match.",
                  "'%(value)s' is not a valid choice for this field."):
        assert known in messages
    assert stock_found("Field must be between 8 and 128 characters long.")
    assert not stock_found("Use 8 to 128 characters.")


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def site_forms(app) -> list[type[Form]]:
    """Every form of the application (the factory has imported every feature)."""
    forms = sorted((f for f in _all_subclasses(Form) if f.__module__.startswith("app.")),
                   key=lambda f: f"{f.__module__}.{f.__name__}")
    assert len(forms) >= 10, forms
    return forms


def test_every_validator_and_field_has_its_own_message(app):
    with app.test_request_context():
        for form_class in site_forms(app):
            form = form_class(meta={"csrf": False})
            for field in form:
                where = f"{form_class.__name__}.{field.name}"
                for validator in field.validators:
                    if hasattr(validator, "message"):
                        assert validator.message, f"{where}: {type(validator).__name__} " \
                                                  "needs a message in the site's words"
                plain = (StringField, BooleanField, SubmitField, CSRFTokenField)
                text_choice = isinstance(field, SelectFieldBase) and field.coerce is str
                if not isinstance(field, plain) and not text_choice:
                    # A number, a date, a decimal…: what it says when the value is not one.
                    assert field.invalid_value_message, f"{where}: invalid_value_message"
                if isinstance(field, SelectFieldBase) and field.validate_choice:
                    assert field.invalid_choice_message, f"{where}: invalid_choice_message"


BAD_VALUES = ["", "   ", "x", "@", "not an email", "-1", "0", "1.5", "abc", "x" * 300,
              "a@b", "zz", "\u00e9" * 40]


def _messages(form) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


def test_every_form_answers_empty_and_bad_values_in_its_own_words(app, make_user):
    make_user("taken", email="taken@example.com")
    seen = set()
    with app.test_request_context(method="POST"):
        for form_class in site_forms(app):
            names = [f.name for f in form_class(meta={"csrf": False})]
            submissions = [{}] + [{name: value} for name in names for value in BAD_VALUES]
            submissions += [{name: value for name in names} for value in BAD_VALUES]
            submissions.append({"email": "taken@example.com", "username": "taken",
                                "password": "short", "password2": "other"})
            for data in submissions:
                form = form_class(formdata=MultiDict(data), meta={"csrf": False})
                form.validate()
                messages = _messages(form)
                seen.update(messages)
                for message in messages:
                    assert not stock_found(message), (form_class.__name__, data, message)
    # The sweep did reach the validators (not only empty forms that pass).
    assert {"Enter a password.", "Use 8 to 128 characters.", "The passwords do not match.",
            "Enter an email address, like name@example.com.", "Choose an upgrade.",
            "That preview is out of date. Look at the switch again.",
            "Use at most 150 characters."} <= seen


def test_a_form_without_its_csrf_token_says_so_in_our_words(app):
    with app.test_request_context(method="POST"):
        for form_class in site_forms(app):
            form = form_class()
            if not form.meta.csrf:
                continue  # a GET form (the gift recipient picker)
            form.validate()
            assert form.errors.get("csrf_token") == [CSRF_MESSAGE], form_class.__name__


# --- the pages: each form sent empty and with bad values, its HTML searched -------------

def assert_own_words(response, *expected: str) -> str:
    html = response.get_data(as_text=True)
    assert not stock_found(html), (response.request.path, stock_found(html))
    for sentence in expected:
        assert sentence in html, (response.request.path, sentence)
    return html


def post(client, path: str, data: dict, form_page: str | None = None):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, form_page or path)})


@pytest.mark.parametrize("data, expected", [
    ({}, ["Enter your email address.", "Choose a username.", "Enter a password.",
          "Repeat the password."]),
    ({"email": "not-an-email", "username": "a", "password": "short", "password2": "other"},
     ["Enter an email address, like name@example.com.",
      "Use 3 to 32 letters, digits or underscores.", "Use 8 to 128 characters.",
      "The passwords do not match."]),
    ({"email": "x" * 250 + "@example.com", "username": "u" * 40, "password": "p" * 129,
      "password2": "p" * 129},
     ["An email address has at most 254 characters.", "Use 8 to 128 characters."]),
])
def test_sign_up_errors(client, data, expected):
    response = post(client, "/signup", data)
    assert response.status_code == 422
    html = assert_own_words(response, *expected)
    # One sentence per problem: the length rule is not said twice in two ways.
    assert html.count("Use 3 to 32 letters") <= 1


@pytest.mark.parametrize("data, expected", [
    ({}, ["Enter your email address or username.", "Enter your password."]),
    ({"login": "x" * 300, "password": "p" * 200},
     ["No email address or username is that long.", "A password has at most 128 characters."]),
    ({"login": "nobody", "password": "wrong-password"},
     ["That email/username and password do not match."]),
])
def test_log_in_errors(client, data, expected):
    response = post(client, "/login", data)
    assert response.status_code == 422
    assert_own_words(response, *expected)


@pytest.mark.parametrize("email, expected", [
    ("", "Enter the email address of your account."),
    ("nope", "Enter an email address, like name@example.com."),
])
def test_forgot_password_errors(client, email, expected):
    response = post(client, "/forgot-password", {"email": email})
    assert response.status_code == 422
    assert_own_words(response, expected)


def test_reset_password_errors(app, client, make_user):
    from tests.test_auth_reset import token_for

    path = f"/reset-password/{token_for(app, make_user('ada'))}"
    response = post(client, path, {})
    assert_own_words(response, "Enter a password.", "Repeat the password.")
    response = post(client, path, {"password": "short", "password2": "shorter"})
    assert_own_words(response, "Use 8 to 128 characters.", "The passwords do not match.")


def test_upgrade_and_gift_errors(app, client, make_user, login):
    login(make_user("ada"))
    assert_own_words(client.get("/user_upgrades/new", query_string={"user": "b" * 40}),
                     "No one has a username that long")
    for data, expected in [
        ({}, "Choose an upgrade."),
        ({"upgrade": "diamond"}, "Choose one of the upgrades shown."),
        ({"upgrade": "gold", "recipient": "b" * 40}, "No one has a username that long"),
        ({"upgrade": "gold", "recipient": "nobody"}, "There is no user called “nobody”."),
    ]:
        response = post(client, "/user_upgrades", data, "/user_upgrades/new")
        assert response.status_code == 422, data
        assert_own_words(response, expected)


def test_subscribe_errors(app, client, make_user, login):
    login(make_user("ada"))
    for data in ({}, {"interval": "weekly"}):
        response = post(client, "/subscriptions", data, "/pricing")
        assert response.status_code == 422
        assert_own_words(response, "Choose monthly or annual billing.")


def test_billing_details_errors(app, client, make_user, login):
    login(make_user("ada"))
    data = {"name": "n" * 151, "line1": "l" * 201, "city": "c" * 101, "postal_code": "p" * 21,
            "country": "Nowhere", "tax_type": "xx", "tax_value": "t" * 65}
    response = post(client, "/settings/billing/details", data, "/settings")
    assert response.status_code == 422
    assert_own_words(response, "Use at most 150 characters.", "Use at most 200 characters.",
                     "Choose a country from the list.", "Choose a kind of tax ID from the list.")


def test_a_switch_with_a_broken_preview_says_so(app, client, make_user, login):
    login(make_user("ada"))
    response = post(client, "/subscriptions/switch",
                    {"to_interval": "weekly", "proration_date": "soon"}, "/settings")
    assert response.status_code == 303
    assert_own_words(client.get(response.location))


def test_a_password_that_is_only_spaces_is_not_mistaken_for_stock(client):
    # The default of DataRequired would say "This field is required." here.
    response = post(client, "/signup", {"email": "a@example.com", "username": "ada",
                                        "password": " " * 10, "password2": " " * 10})
    assert_own_words(response, "Enter a password.")


def test_the_pages_own_copy_is_clear_of_stock_messages(client):
    for path in ("/signup", "/login", "/forgot-password", "/pricing"):
        assert_own_words(client.get(path))

