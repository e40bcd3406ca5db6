"""`flask users …` commands."""

import json

from app.auth.models import Level, find_by_email
from app.extensions import db


def test_create_with_password_from_stdin(app, runner):
    result = runner.invoke(args=["users", "create", "Ops@Example.com", "ops", "--admin",
                                 "--password-stdin"], input="s3cret-password\n")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = find_by_email("ops@example.com")
        assert user.is_admin and user.check_password("s3cret-password")


def test_create_refuses_duplicates_and_bad_input(runner, make_user):
    make_user("taken", email="taken@example.com")
    cases = [
        (["taken@example.com", "fresh"], "already exists"),
        (["new@example.com", "TAKEN"], "is taken"),
        (["not-an-email", "someone"], "Invalid email"),
        (["ok@example.com", "no spaces"], "Invalid username"),
    ]
    for args, reason in cases:
        result = runner.invoke(args=["users", "create", *args, "--password-stdin"],
                               input="long-enough-pw\n")
        assert result.exit_code != 0, args
        assert reason in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_create_refuses_short_password(runner):
    result = runner.invoke(args=["users", "create", "a@example.com", "abc", "--password-stdin"],
                           input="short\n")
    assert result.exit_code == 1 and "at least 8" in result.output


def test_show_json_reports_level_and_access(runner, make_user):
    make_user("goldie", level=Level.GOLD)
    result = runner.invoke(args=["users", "show", "goldie@example.com", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["level"] == "gold"
    assert data["access"]["premium"] is True
    assert data["access"]["sources"][0]["kind"] == "level"
    assert data["created_at"].endswith("+00:00")  # timestamps are UTC-aware, SQLite too
    assert data["upgrades"] == []


def test_show_text(runner, make_user):
    make_user("plain")
    result = runner.invoke(args=["users", "show", "plain@example.com"])
    assert result.exit_code == 0
    assert "Level:   member" in result.output and "Premium: no" in result.output
    assert "Upgrades: none" in result.output


def test_set_level(app, runner, make_user):
    make_user("climber")
    result = runner.invoke(args=["users", "set-level", "climber@example.com", "Platinum"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert find_by_email("climber@example.com").level is Level.PLATINUM


def test_bad_input_exits_non_zero_with_one_line(app, runner, make_user):
    make_user("someone")
    for args in (["users", "show", "nobody@example.com"],
                 ["users", "set-level", "nobody@example.com", "gold"],
                 ["users", "set-level", "someone@example.com", "diamond"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    with app.app_context():
        assert find_by_email("someone@example.com").level is Level.MEMBER
        db.session.remove()


def test_set_admin_grants_and_revokes(app, runner, make_user):
    make_user("ops")
    result = runner.invoke(args=["users", "set-admin", "ops@example.com"])
    assert result.exit_code == 0, result.output
    assert result.output == "ops <ops@example.com> is now an admin.\n"
    with app.app_context():
        assert find_by_email("ops@example.com").is_admin is True

    again = runner.invoke(args=["users", "set-admin", "OPS@example.com"])
    assert again.exit_code == 0
    assert again.output == "ops <ops@example.com> is an admin already; nothing changed.\n"

    revoked = runner.invoke(args=["users", "set-admin", "ops@example.com", "--revoke"])
    assert revoked.exit_code == 0, revoked.output
    assert revoked.output == "ops <ops@example.com> is no longer an admin.\n"
    with app.app_context():
        assert find_by_email("ops@example.com").is_admin is False
    twice = runner.invoke(args=["users", "set-admin", "ops@example.com", "--revoke"])
    assert twice.output == "ops <ops@example.com> is not an admin; nothing changed.\n"


def test_set_admin_for_nobody_changes_nothing(app, runner, make_user):
    make_user("someone")
    result = runner.invoke(args=["users", "set-admin", "nobody@example.com"])
    assert result.exit_code == 1
    assert result.output == "Error: No user with email 'nobody@example.com'.\n"
    with app.app_context():
        assert find_by_email("someone@example.com").is_admin is False
