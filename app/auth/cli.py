"""`flask users …`: operators' account commands."""

import json

import click

from app.auth.forms import check_username
from app.auth.models import Level, User, find_by_email, find_by_username
from app.billing.cards import cards_for
from app.billing.models import BRANDS
from app.commands import OperatorGroup, read_stdin_line, require_user
from app.extensions import db
from app.money import format_money
from app.referrals.cli import summary_for as referral_summary
from app.referrals.cli import summary_lines as referral_lines
from app.subscriptions.cli import summary_for as subscription_summary
from app.text import control_character
from app.timeline import timeline_for
from app.upgrades.service import summaries_for as upgrade_summaries

users = OperatorGroup("users", help="Create and inspect user accounts.")


def _check_email(email: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise click.ClickException(f"Invalid email {email!r}: {exc}") from None


def user_summary(user: User) -> dict:
    """What `users show` reports; later features add their parts here."""
    return {
        "id": user.id,
        "email": user.email,
        "username": user.username,
        "admin": user.is_admin,
        "created_at": user.created_at.isoformat(),
        "level": user.level.value,
        "access": timeline_for(user).as_dict(),
        "upgrades": upgrade_summaries(user),
        **subscription_summary(user),
        **referral_summary(user),
        "cards": [{"id": card.stripe_payment_method_id, "brand": card.brand,
                   "last4": card.last4, "exp_month": card.exp_month,
                   "exp_year": card.exp_year, "priority": card.priority}
                  for card in cards_for(user)],
    }


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return read_stdin_line("password")
    try:
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    except UnicodeDecodeError:
        raise click.ClickException("The password typed is not UTF-8 text.") from None


@users.command("create")
@click.argument("email")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Give the account operator rights.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create(email: str, username: str, admin: bool, password_stdin: bool) -> None:
    """Create a user account."""
    email = _check_email(email)
    problem = check_username(username)
    if problem:
        raise click.ClickException(f"Invalid username {username!r}: {problem}")
    if find_by_email(email):
        raise click.ClickException(f"A user with email {email!r} already exists.")
    if find_by_username(username):
        raise click.ClickException(f"The username {username!r} is taken.")
    password = _read_password(password_stdin)
    if len(password) < 8:
        raise click.ClickException("The password must be at least 8 characters long.")
    if control_character(password):
        raise click.ClickException("The password must not contain control characters "
                                   "(the log-in form refuses them).")
    user = User(email=email, username=username, is_admin=admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created user {user.username} <{user.email}> (id {user.id}).")


@users.command("show")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def show(email: str, as_json: bool) -> None:
    """Show a user's level, access and its sources."""
    summary = user_summary(require_user(email))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    access = summary["access"]
    click.echo(f"{summary['username']} <{summary['email']}>  id {summary['id']}"
               + ("  (admin)" if summary["admin"] else ""))
    click.echo(f"Level:   {summary['level']}")
    click.echo(f"Premium: {'yes' if access['premium'] else 'no'}")
    for source in access["sources"]:
        until = source["until"] or "no end"
        click.echo(f"  - {source['label']} (until {until})")
    sub = summary["subscription"]
    if sub is None:
        click.echo("Subscription: none")
    else:
        ends = "ends" if sub["cancel_at_period_end"] else "renews"
        trial = f", trial ends {sub['trial_end'][:10]}" if sub["status"] == "trialing" else ""
        click.echo(f"Subscription: {sub['id']} {sub['status']}, {sub['interval']}{trial}, "
                   f"{ends} {sub['current_period_end'][:10]}")
    click.echo(f"Cards: {len(summary['cards']) or 'none'}")
    for card in summary["cards"]:
        default = " (default)" if card["priority"] == 1 else ""
        brand = BRANDS.get(card["brand"], card["brand"].title())
        click.echo(f"  {card['priority']}. {brand} ending {card['last4']}, expires "
                   f"{card['exp_month']:02d}/{card['exp_year']}{default}")
    click.echo(f"Upgrades: {len(summary['upgrades']) or 'none'}")
    for upgrade in summary["upgrades"]:
        amount = format_money(upgrade["amount"], upgrade["currency"])
        click.echo(f"  - #{upgrade['id']} {upgrade['type']} {upgrade['status']} as "
                   f"{upgrade['role']}{' (gift)' if upgrade['gift'] else ''}, {amount}, "
                   f"{upgrade['created_at'][:10]}")
    for line in referral_lines(summary):
        click.echo(line)


@users.command("set-level")
@click.argument("email")
@click.argument("level")
def set_level(email: str, level: str) -> None:
    """Set a user's level by hand (member, gold or platinum)."""
    try:
        new_level = Level.parse(level)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    user = require_user(email)
    old = user.level
    user.level = new_level
    db.session.commit()
    click.echo(f"{user.username}: level {old.value} -> {new_level.value}.")


@users.command("set-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the operator rights away instead.")
def set_admin(email: str, revoke: bool) -> None:
    """Give a user operator rights (the /admin console), or take them away with --revoke."""
    user = require_user(email)
    was, user.is_admin = user.is_admin, not revoke
    db.session.commit()
    if was is user.is_admin:
        click.echo(f"{user.username} <{user.email}> "
                   f"{'is an admin already' if was else 'is not an admin'}; nothing changed.")
    else:
        click.echo(f"{user.username} <{user.email}> is {'now' if user.is_admin else 'no longer'} "
                   "an admin.")
