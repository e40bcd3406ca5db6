"""Operators' commands on bad input: one line, a non-zero exit, never a traceback. Also
what they say when Stripe fails, and the webhook endpoint they create."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import stripe

from app.auth.cli import users
from app.billing import errors as billing_errors
from app.billing import gateway
from app.billing.cli import billing
from app.extensions import db
from app.ids import MAX_ID

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def one_line_failure(result, *, exit_code: int | None = None) -> str:
    """The single line a refused command prints; fails on a traceback or a usage screen."""
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code != 0
    if exit_code is not None:
        assert result.exit_code == exit_code
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def every_command(app) -> list[list[str]]:
    """Every operator command, including those other modules add to the groups."""
    commands = [[group.name, name] for group in (users, billing) for name in group.commands]
    assert ["billing", "refund-upgrade"] in commands and len(commands) >= 10
    return commands


# --- arguments and standard input that are not UTF-8 ------------------------------------

NOT_UTF8 = os.fsdecode(b"caf\xe9")  # how Python hands over undecodable command-line bytes


def test_every_command_refuses_arguments_that_are_not_utf8(app, runner):
    for command in every_command(app):
        result = runner.invoke(args=[*command, NOT_UTF8])
        assert one_line_failure(result) == r"Error: Argument b'caf\xe9' is not UTF-8 text."


@pytest.mark.parametrize("args", [
    ["users", "show", "--json", NOT_UTF8],
    ["billing", "events", "--type", NOT_UTF8],
    ["billing", "recover", "--since", NOT_UTF8],
    ["billing", "refund-upgrade", "1", "--reason", NOT_UTF8],
])
def test_option_values_that_are_not_utf8_are_refused(runner, args):
    assert "not UTF-8 text" in one_line_failure(runner.invoke(args=args))


def test_a_password_on_stdin_that_is_not_utf8_is_refused(app, runner):
    result = runner.invoke(args=["users", "create", "ops@example.com", "ops", "--password-stdin"],
                           input=b"caf\xe9-password\n")
    assert one_line_failure(result) == "Error: The password on standard input is not UTF-8 text."
    with app.app_context():
        from app.auth.models import find_by_email

        assert find_by_email("ops@example.com") is None


def test_a_password_with_a_control_character_is_refused(runner):
    result = runner.invoke(args=["users", "create", "ops@example.com", "ops", "--password-stdin"],
                           input="long\x00enough-password\n")
    assert "control characters" in one_line_failure(result)


def test_real_command_lines_with_undecodable_bytes(tmp_path):
    """Through the real `flask` entry point: argv bytes, not a test runner's strings."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cli.db", "SECRET_KEY": "x",
           "FLASK_DEBUG": "1", "STRIPE_SECRET_KEY": "sk_test_unused", "LC_ALL": "C.UTF-8"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for args, shown in (([b"users", b"show", b"caf\xe9@example.com"], r"b'caf\xe9@example.com'"),
                        ([b"billing", b"prune-events", b"--older-than", b"9\xff"], r"b'9\xff'")):
        done = subprocess.run(flask + args, cwd=ROOT, env=env, capture_output=True, timeout=60)
        assert done.returncode == 1 and done.stdout == b""
        assert done.stderr.decode().splitlines() == [f"Error: Argument {shown} is not UTF-8 text."]


# --- numbers past what the commands (and the database) can hold ------------------------

@pytest.mark.parametrize("value", ["3651d", "522w", "87601h", "99999999999d", "3000000d",
                                   "9" * 5000 + "s"])
@pytest.mark.parametrize("command", [["billing", "recover", "--since"],
                                     ["billing", "prune-events", "--older-than"]])
def test_durations_past_ten_years_are_refused(runner, command, value):
    line = one_line_failure(runner.invoke(args=[*command, value]))
    assert "at most 3650 days" in line


def test_ten_years_is_accepted(runner):
    result = runner.invoke(args=["billing", "prune-events", "--older-than", "3650d"])
    assert result.exit_code == 0, result.output
    assert "Deleted 0 processed event(s)" in result.output


@pytest.mark.parametrize("value", ["0", "-1", str(MAX_ID + 1), "99999999999999999999",
                                   "9" * 5000, "1e3"])
def test_refund_upgrade_ids_out_of_range_are_refused(runner, value):
    line = one_line_failure(runner.invoke(args=["billing", "refund-upgrade", "--", value]),
                            exit_code=2)
    assert "UPGRADE_ID" in line


def test_an_id_in_range_with_no_upgrade_is_a_plain_miss(runner):
    result = runner.invoke(args=["billing", "refund-upgrade", str(MAX_ID)])
    assert one_line_failure(result) == f"Error: No upgrade with id {MAX_ID}."


def test_usage_errors_are_one_line(app, runner):
    for command in every_command(app):
        line = one_line_failure(runner.invoke(args=[*command, "--no-such-option"]), exit_code=2)
        assert line == "Error: No such option '--no-such-option'.", command


# --- webhook-setup: the URL, and the API version of the endpoint -------------------------

@pytest.mark.parametrize("url", [
    "http://h/x y z", "https://example.com/web hooks", "https://example.com/x\ty",
    "https://example.com/\x00", "https://exa mple.com/x", "ftp://example.com/x",
    "example.com/webhooks/stripe", "https://", "http:///webhooks/stripe",
    "https://example.com:99999/x", "https://example.com:port/x", "http://[::1/x",
])
def test_webhook_setup_refuses_what_is_not_a_url(app, runner, url):
    line = one_line_failure(runner.invoke(args=["billing", "webhook-setup", url]))
    assert line.startswith("Error: Invalid URL")
    with app.app_context():
        assert gateway.client().v1.webhook_endpoints.list().data == []


def test_webhook_setup_pins_the_sdks_api_version(app, runner):
    url = "https://example.com:8443/webhooks/stripe?x=1"
    result = runner.invoke(args=["billing", "webhook-setup", url])
    assert result.exit_code == 0, result.output
    with app.app_context():
        [endpoint] = gateway.client().v1.webhook_endpoints.list().data
    assert endpoint.url == url
    assert endpoint.api_version == stripe.api_version


# --- what operators read when Stripe fails ---------------------------------------------

def test_stripe_refusals_are_told_to_operators_in_stripes_words(app, runner, make_user):
    from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade

    ada = make_user("ada")
    with app.app_context():
        upgrade = UserUpgrade(purchaser_id=ada.id, recipient_id=ada.id, type=UpgradeType.GOLD,
                              status=UpgradeStatus.COMPLETE, amount=2000, currency="gbp",
                              level_before=ada.level, stripe_payment_intent_id="pi_unknown")
        db.session.add(upgrade)
        db.session.commit()
        upgrade_id = upgrade.id
    line = one_line_failure(runner.invoke(args=["billing", "refund-upgrade", str(upgrade_id)]))
    assert line == ("Error: Stripe request failed: refund pi_unknown: invalid_request_error "
                    "(resource_missing): No such payment_intent: 'pi_unknown'")


def test_no_operator_sentence_is_the_customers():
    def classes(cls):
        yield cls
        for sub in cls.__subclasses__():
            yield from classes(sub)

    for cls in classes(billing_errors.BillingError):
        field_error = cls is billing_errors.InvalidBillingDetails  # a form field's sentence
        error = cls("tax_value") if field_error else cls()
        assert "Nothing was charged" not in error.operator_message, cls
        if not field_error:
            assert "Nothing was charged" in str(error)  # customers keep theirs
