"""Sign up, log in, log out, CSRF, safe redirects and rate limits."""

import sqlalchemy as sa

from app.auth.models import User
from app.extensions import db
from tests.conftest import PASSWORD, csrf_token


def count_users(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def signup_data(client, **overrides):
    data = {"email": "ada@example.com", "username": "Ada", "password": PASSWORD,
            "password2": PASSWORD, "csrf_token": csrf_token(client, "/signup")}
    data.update(overrides)
    return data


def test_signup_creates_account_and_logs_in(client, app):
    response = client.post("/signup", data=signup_data(client))
    assert response.status_code == 303
    assert count_users(app) == 1
    page = client.get("/").get_data(as_text=True)
    assert "Ada" in page and "Log out" in page


def test_signup_rejects_duplicates_case_insensitively(client, app, make_user):
    make_user("ada", email="ada@example.com")
    response = client.post("/signup", data=signup_data(client, email="ADA@example.com",
                                                       username="ADA"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "That username is taken." in page
    assert "An account with this email already exists" in page
    assert count_users(app) == 1


def test_signup_shows_errors_for_bad_input(client, app):
    response = client.post("/signup", data=signup_data(
        client, email="not-an-email", username="a b", password2="different"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in page
    assert "The passwords do not match." in page
    assert count_users(app) == 0


def test_login_by_email_or_username(client, make_user, login):
    user = make_user("Grace")
    login(user.email)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login("grace")  # username, any case
    assert "Grace" in client.get("/").get_data(as_text=True)


def test_wrong_password_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"login": user.email, "password": "nope-nope",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 422
    assert "do not match" in response.get_data(as_text=True)
    assert "Log out" not in client.get("/").get_data(as_text=True)


def test_logout_requires_post(client, make_user, login):
    login(make_user())
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 303
    assert "Log in" in client.get("/").get_data(as_text=True)


def test_forms_without_csrf_token_are_refused_and_change_nothing(client, app, make_user):
    user = make_user()
    response = client.post("/signup", data={"email": "x@example.com", "username": "xavier",
                                            "password": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 400
    assert count_users(app) == 1
    response = client.post("/login", data={"login": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "Log out" not in client.get("/").get_data(as_text=True)


def test_logout_without_csrf_token_keeps_session(client, make_user, login):
    login(make_user())
    assert client.post("/logout").status_code == 400
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_next_redirect_only_to_local_paths(client, make_user):
    user = make_user()
    for target, expected in [("/premium", "/premium"), ("https://evil.example/x", "/"),
                             ("//evil.example", "/"), ("/\\evil.example", "/")]:
        response = client.post(f"/login?next={target}", data={
            "login": user.email, "password": PASSWORD,
            "csrf_token": csrf_token(client, "/login")})
        assert response.status_code == 303
        assert response.headers["Location"] == expected, target
        client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_sixth_rapid_failed_login_gets_429(client, make_user):
    user = make_user()
    token = csrf_token(client, "/login")
    codes = [client.post("/login", data={"login": user.email, "password": "wrong-wrong",
                                         "csrf_token": token}).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]
    assert "Too many attempts" in client.post("/login", data={
        "login": user.email, "password": PASSWORD, "csrf_token": token}).get_data(as_text=True)


def test_passwords_are_hashed(app, make_user):
    user = make_user()
    with app.app_context():
        stored = db.session.get(User, user.id).password_hash
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
