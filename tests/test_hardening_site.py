"""Inputs from outside the site that must never reach a 500: ids in URLs, control
characters in forms, query strings and `next`, and request bodies the server cannot read."""

import io
import re

import pytest
from flask_wtf import FlaskForm

from app.auth.models import find_by_email, find_by_login, find_by_username
from app.errors.bodies import UNREADABLE_BODY_MESSAGE
from app.forms import CONTROL_CHARACTER_MESSAGE, Form
from app.ids import MAX_ID
from tests.conftest import PASSWORD, csrf_token


@pytest.fixture
def app_config(billing_config):
    return billing_config  # purchases are accepted (Stripe itself is never reached here)


# A NUL (PostgreSQL refuses it), line breaks, escape, DEL and a C1 control (NEL).
CONTROL = ["\x00", "\r\n", "\n", "\t", "\x1b", "\x7f", "\x85"]
OUT_OF_RANGE = [0, MAX_ID + 1, 2**63, 10**30]


# --- ids in URLs ---------------------------------------------------------------------

def test_every_number_in_a_route_is_a_database_id(app):
    """New routes use `<dbid:…>`: a plain `<int:…>` would let 2**63 reach the database."""
    for rule in app.url_map.iter_rules():
        converters = re.findall(r"<(\w+)(?:\([^)]*\))?:\w+>", rule.rule)
        assert not set(converters) & {"int", "float"}, rule.rule


ID_ARGUMENT = re.compile(r"<(?:dbid|int)(?:\([^)]*\))?:\w+>")


def _id_routes(app):
    return [rule for rule in app.url_map.iter_rules() if ID_ARGUMENT.search(rule.rule)]


def test_ids_out_of_range_are_not_found_on_every_route(app, client, make_user, login):
    login(make_user("ada", admin=True))
    routes = _id_routes(app)
    assert routes, "expected at least one route with an id"
    token = {"csrf_token": csrf_token(client, "/settings")}  # a form's POST gets that far
    for rule in routes:
        for value in [*OUT_OF_RANGE, MAX_ID]:  # MAX_ID: in range, and no such row
            url = ID_ARGUMENT.sub(str(value), rule.rule)
            method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"OPTIONS"})[0]
            response = client.open(url, method=method,
                                   data=token if method == "POST" else None)
            assert response.status_code == 404, (url, response.status_code)


def test_ids_in_urls_are_built_and_read_back(app):
    with app.test_request_context():
        from flask import url_for

        assert url_for("upgrades.show", upgrade_id=MAX_ID) == f"/user_upgrades/{MAX_ID}"


# --- control characters: every form, every text field -----------------------------------

def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def test_every_form_derives_from_the_base_form(app):
    forms = [f for f in _all_subclasses(FlaskForm) if f.__module__.startswith("app.")]
    assert forms, "no forms found"
    for form in forms:
        assert issubclass(form, Form), f"{form.__module__}.{form.__name__}: derive from Form"


def _signup(client, **fields):
    data = {"email": "ada@example.com", "username": "ada", "password": PASSWORD,
            "password2": PASSWORD, "csrf_token": csrf_token(client, "/signup")}
    return client.post("/signup", data={**data, **fields})


def _login(client, **fields):
    data = {"login": "ada", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")}
    return client.post("/login", data={**data, **fields})


@pytest.mark.parametrize("char", CONTROL, ids=repr)
@pytest.mark.parametrize("field", ["email", "username", "password", "password2"])
def test_signup_refuses_control_characters(client, app, char, field):
    value = {"email": "ada@exa{}mple.com", "username": "ad{}a"}.get(field, "correct{}horse")
    value = value.format(char)
    fields = {field: value, "password2": value} if field == "password" else {field: value}
    response = _signup(client, **fields)
    assert response.status_code == 422
    assert CONTROL_CHARACTER_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("char", CONTROL, ids=repr)
@pytest.mark.parametrize("field", ["login", "password"])
def test_login_refuses_control_characters(client, make_user, char, field):
    make_user("ada")
    response = _login(client, **{field: f"ad{char}a"})
    assert response.status_code == 422
    assert CONTROL_CHARACTER_MESSAGE in response.get_data(as_text=True)
    assert "Log out" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_gift_recipient_picker_refuses_control_characters(client, make_user, login, char):
    make_user("bob")
    login(make_user("ada"))
    response = client.get("/user_upgrades/new", query_string={"user": f"bo{char}b"})
    assert response.status_code == 200
    assert CONTROL_CHARACTER_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("char", CONTROL, ids=repr)
@pytest.mark.parametrize("field", ["recipient", "upgrade"])
def test_purchase_refuses_control_characters(app, client, make_user, login, char, field):
    make_user("bob")
    login(make_user("ada"))
    data = {"upgrade": "gold", "recipient": "bob",
            "csrf_token": csrf_token(client, "/user_upgrades/new")}
    data[field] = data[field][:1] + char + data[field][1:]
    response = client.post("/user_upgrades", data=data)
    assert response.status_code == 422
    assert CONTROL_CHARACTER_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_look_ups_never_send_control_characters_to_the_database(app, make_user, char):
    make_user("ada")
    with app.app_context():
        for find in (find_by_login, find_by_email, find_by_username):
            assert find(f"ad{char}a") is None
            assert find(f"ada@exam{char}ple.com") is None
        assert find_by_login("ada").username == "ada"  # the look-ups still work


# --- `next` after logging in or signing up -----------------------------------------------

NEXT_CONTROL = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\x9b"]


@pytest.mark.parametrize("char", NEXT_CONTROL, ids=repr)
def test_next_with_a_control_character_is_ignored(client, make_user, char):
    make_user("ada")
    for target in (f"/{char}x", f"/pricing{char}", f"/{char}/evil.example"):
        response = client.post("/login", query_string={"next": target}, data={
            "login": "ada", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
        assert response.status_code == 303
        assert response.location == "/"
        client.post("/logout", data={"csrf_token": csrf_token(client)})


@pytest.mark.parametrize("char", ["\r\n", "\x00", "\t"], ids=repr)
def test_signup_next_with_a_control_character_is_ignored(client, char):
    response = client.post("/signup", query_string={"next": f"/{char}x"}, data={
        "email": "ada@example.com", "username": "ada", "password": PASSWORD,
        "password2": PASSWORD, "csrf_token": csrf_token(client, "/signup")})
    assert response.status_code == 303 and response.location == "/"


def test_a_plain_local_next_still_works(client, make_user):
    make_user("ada")
    response = client.post("/login", query_string={"next": "/pricing?x=1"}, data={
        "login": "ada", "password": PASSWORD, "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 303 and response.location == "/pricing?x=1"


# --- bodies the server cannot read (what gunicorn raises on a malformed chunked body) ----

def _gunicorn_body_errors():
    from gunicorn.http import errors

    return [errors.InvalidChunkSize(b"zz"), errors.ChunkMissingTerminator(b"xy"),
            errors.InvalidChunkExtension("bad"), errors.NoMoreData(b""),
            errors.InvalidHeader("trailer")]


class BrokenBody(io.RawIOBase):
    """A request body whose reads fail the way gunicorn's reader fails."""

    def __init__(self, error: Exception):
        self.error = error

    def readable(self):
        return True

    def readinto(self, buffer):
        raise self.error


@pytest.mark.parametrize("error", _gunicorn_body_errors(), ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("path", ["/login", "/signup", "/webhooks/stripe"])
def test_an_unreadable_body_is_a_400(client, path, error):
    response = client.post(path, data=b"x", content_type="application/x-www-form-urlencoded",
                           headers={"Stripe-Signature": "t=1,v1=x"},
                           environ_overrides={"wsgi.input": BrokenBody(error),
                                              "wsgi.input_terminated": True})
    assert response.status_code == 400
    if path.startswith("/webhooks/"):
        assert response.get_json() == {"error": UNREADABLE_BODY_MESSAGE}
    else:
        assert UNREADABLE_BODY_MESSAGE in response.get_data(as_text=True)
