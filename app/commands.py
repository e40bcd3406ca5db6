"""What the operators' command groups (`flask users …`, `flask billing …`) share.

Every refusal is one line ("Error: …") and a non-zero exit, never a traceback nor a usage
screen: arguments that are not UTF-8 text are refused before any command reads them, and
click's own usage errors (a bad option value, an id out of range) are put in one line.
"""

import sys
from typing import TYPE_CHECKING, Any

import click
from flask.cli import AppGroup

if TYPE_CHECKING:
    from app.auth.models import User


def not_utf8(text: str) -> bytes | None:
    """The bytes of `text` if it is not UTF-8 text (Python keeps undecodable bytes of the
    command line as lone surrogates), else None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")
    return None


class OperatorGroup(AppGroup):
    """A command group whose commands fail in one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:  # the subcommand's arguments and option values too
            raw = not_utf8(arg)
            if raw is not None:
                raise click.ClickException(f"Argument {raw!r} is not UTF-8 text.")
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise UsageInOneLine(exc.format_message()) from None


class UsageInOneLine(click.ClickException):
    """A usage error without the usage screen: "Error: …", exit status 2 as click gives."""

    exit_code = 2


def read_stdin_line(what: str) -> str:
    """One line of standard input, without its line ending; UTF-8 or a one-line failure."""
    raw = sys.stdin.buffer.readline()  # bytes: decoded strictly here, not by the locale
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise click.ClickException(f"The {what} on standard input is not UTF-8 text.") from None


def require_user(email: str) -> "User":
    """The user with this email, or the command stops with one line saying there is none."""
    from app.auth.models import find_by_email

    user = find_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email!r}.")
    return user
