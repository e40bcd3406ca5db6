"""Upgrade pages: choose (and gift), pay through Stripe Checkout, see receipts."""

import logging
import time
from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, current_app, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from itsdangerous import BadData, URLSafeSerializer

from app import catalog
from app.auth.models import Level, User
from app.billing import gateway
from app.billing.errors import BillingDisabled, BillingError, StripeUnavailable
from app.catalog.levels import PERKS
from app.extensions import db, limiter
from app.history.receipts import buyer, seller
from app.timeline import renewing_subscription
from app.upgrades import bp, purchase, service
from app.upgrades.forms import RecipientForm, UpgradeForm
from app.upgrades.models import UpgradeStatus, UpgradeType, UserUpgrade
from app.upgrades.receipt import receipt_for

log = logging.getLogger("app.upgrades")


def _choices(recipient: User | None, gift: bool) -> list[dict[str, object]]:
    """One row per level: its perks, its price from the recipient's level, whether on offer.
    For a gift, `held` means only "cannot be given": the page never says the level."""
    rows: list[dict[str, object]] = []
    for level in Level:
        upgrade_type = purchase.offered_type(recipient.level, level) if recipient else None
        if gift and recipient and upgrade_type and not purchase.gift_possible(recipient,
                                                                              upgrade_type):
            upgrade_type = None
        list_type = purchase.offered_type(Level.MEMBER, level)
        shown = upgrade_type or list_type
        held = recipient is not None and (
            upgrade_type is None and level is not Level.MEMBER if gift
            else level <= recipient.level)
        rows.append({
            "level": level, "perks": PERKS[level],
            "type": upgrade_type,
            "offer": catalog.offer(shown.value) if shown else None,
            "held": held,
        })
    return rows


def _render_new(form: UpgradeForm, recipient_form: RecipientForm, recipient: User | None,
                errors: Sequence[str] = (), status: int = 200) -> tuple[str, int]:
    gift = bool((recipient_form.user.data or "").strip()) and (
        recipient is None or recipient.id != current_user.id)
    rows = _choices(recipient, gift)
    return render_template(
        "upgrades/new.html", form=form, recipient_form=recipient_form, recipient=recipient,
        gift=gift, rows=rows, errors=list(errors),
        # Buying a level for oneself while a subscription renews: say it would be paying
        # twice, and offer to stop it (the form's tick-box).
        renewing=None if gift else renewing_subscription(current_user.id),
        maxed=recipient is not None and not any(row["type"] for row in rows),
    ), status


def _recipient(username: str) -> tuple[User | None, str | None]:
    """The named user (or the current one), or None with the reason."""
    if not username.strip():
        return current_user._get_current_object(), None
    try:
        return purchase.recipient_named(username), None
    except purchase.UpgradeNotAllowed as exc:
        return None, str(exc)


@bp.get("/user_upgrades/new")
@login_required
def new() -> tuple[str, int]:
    recipient_form = RecipientForm(request.args)
    username = (recipient_form.user.data or "").strip()
    if recipient_form.validate():  # a name no one could have is never looked up
        recipient, problem = _recipient(username)
        if problem:
            recipient_form.user.errors = [problem]
    else:
        recipient = None
    form = UpgradeForm(recipient=username if recipient is not None else "")
    return _render_new(form, recipient_form, recipient)


@bp.post("/user_upgrades")
@login_required
@limiter.limit("10 per minute")
def create() -> ResponseReturnValue:
    if not current_app.config["BILLING_ENABLED"]:
        raise BillingDisabled()
    form = UpgradeForm()
    valid = form.validate_on_submit()  # first: a name no one could have is never looked up
    username = (form.recipient.data or "").strip()
    recipient_form = RecipientForm(data={"user": username})
    if form.recipient.errors:
        recipient, problem = None, form.recipient.errors[0]
    else:
        recipient, problem = _recipient(username)
    if problem:
        recipient_form.user.errors = [problem]
        return _render_new(form, recipient_form, None, [problem], 422)
    if not valid:
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        return _render_new(form, recipient_form, recipient, errors, 422)
    assert recipient is not None  # found, since nothing was wrong with the name
    purchaser = current_user._get_current_object()
    upgrade_type = UpgradeType(form.upgrade.data)
    try:
        upgrade, started = purchase.begin_purchase(purchaser, recipient, upgrade_type)
    except purchase.UpgradeNotAllowed as exc:
        db.session.rollback()
        return _render_new(form, recipient_form, recipient, [str(exc)], 422)
    # Commit before calling Stripe: the id (and so the idempotency key) is taken for
    # good, and no database transaction is held open across a network call.
    db.session.commit()
    if not started:
        # A double submit: send the buyer to the session already open (or being opened).
        log.info("upgrade %s: submitted again, reusing its checkout session", upgrade.id)
        return redirect(_checkout_opened_elsewhere(upgrade.id), 303)
    site = current_app.config["SITE_URL"]
    success = site + url_for("upgrades.show", upgrade_id=upgrade.id) + \
        "?session_id={CHECKOUT_SESSION_ID}"
    cancel = site + url_for("upgrades.show", upgrade_id=upgrade.id,
                            cancelled=_cancel_signer().dumps(upgrade.id))
    # Stopping the subscription is only asked of Stripe once the upgrade is paid (see
    # service.apply_checkout_session): until then it is a wish kept in the session.
    renewing = renewing_subscription(purchaser.id) if form.stop_subscription.data \
        and recipient.id == purchaser.id else None
    try:
        purchase.open_checkout(upgrade, success, cancel,
                               then_stop=renewing.stripe_subscription_id if renewing else None)
    except BillingError as exc:
        db.session.rollback()
        purchase.abandon_checkout(upgrade, type(exc).__name__)
        db.session.commit()
        raise  # rendered as a page saying what happened and that nothing was charged
    db.session.commit()
    assert upgrade.checkout_url is not None  # open_checkout stored the Checkout address
    return redirect(upgrade.checkout_url, 303)


def _checkout_opened_elsewhere(upgrade_id: int) -> str:
    """The upgrade's Checkout address, once the request that started it has stored it.

    Waits without holding a lock (each look is a transaction of its own). BillingError if
    that request failed, or is still waiting for Stripe when its calls would have given up.
    """
    deadline = time.monotonic() + gateway.REQUEST_BUDGET_SECONDS
    while True:
        upgrade = db.session.get_one(UserUpgrade, upgrade_id, populate_existing=True)
        url, status = upgrade.checkout_url, upgrade.status
        db.session.commit()
        if url:
            return url
        if status is not UpgradeStatus.PENDING:
            raise BillingError()  # that request could not open it; this one says so too
        if time.monotonic() > deadline:
            raise StripeUnavailable()
        time.sleep(0.1)


def _visible_upgrade(upgrade_id: int) -> UserUpgrade:
    upgrade = db.session.get(UserUpgrade, upgrade_id)
    if upgrade is None or not upgrade.visible_to(current_user):
        abort(404)  # others' receipts do not exist, as far as anyone else can tell
    return upgrade


@bp.get("/user_upgrades/<dbid:upgrade_id>")
@login_required
def show(upgrade_id: int) -> ResponseReturnValue:
    """The receipt. Also: `?format=json`, its state for the page's script; `?session_id=`,
    the arrival from Checkout; `?cancelled=`, the return from Checkout left unpaid."""
    upgrade = _visible_upgrade(upgrade_id)
    if request.args.get("format") == "json":
        return _status(upgrade)
    if "cancelled" in request.args:
        _leave_checkout(upgrade, request.args["cancelled"])
        return redirect(url_for("upgrades.show", upgrade_id=upgrade.id), 303)
    session_id = request.args.get("session_id")
    if session_id:
        needs_stripe = upgrade.status.waiting or (
            upgrade.status.value == "complete" and not upgrade.receipt_url)
        if (session_id == upgrade.stripe_checkout_session_id and needs_stripe
                and current_app.config["BILLING_ENABLED"]):
            # Back from Checkout: apply the session now rather than wait for the webhook.
            try:
                service.refresh_from_stripe(upgrade)
                db.session.commit()
            except BillingError as exc:
                db.session.rollback()
                log.warning("upgrade %s: could not read session %s from Stripe: %s",
                            upgrade.id, session_id, exc)
                return _render_show(_visible_upgrade(upgrade_id))
        return redirect(url_for("upgrades.show", upgrade_id=upgrade.id), 303)
    return _render_show(upgrade)


def _render_show(upgrade: UserUpgrade) -> str:
    receipt = receipt_for(upgrade, current_user)
    # A receipt a business can file: the seller, and the buyer's billing details as Stripe
    # holds them now (read only for whoever may see the payment, and only once it is one).
    filed = receipt.show_amount
    return render_template("upgrades/show.html", receipt=receipt, seller=seller(),
                           buyer=buyer(upgrade.purchaser) if filed else None, filed=filed)


def _status(upgrade: UserUpgrade) -> ResponseReturnValue:
    """What the page's script asks every few seconds while the payment is open: the state
    and the parts of the page that change, rendered as the page renders them. Reads our
    database only (webhooks keep it current), never Stripe."""
    receipt = receipt_for(upgrade, current_user)
    parts = {part: render_template(f"upgrades/_{part}.html", receipt=receipt)
             for part in ("head", "status", "body")}
    until = receipt.poll_until
    return jsonify(state=receipt.state, final=receipt.final,
                   until=until.isoformat() if until else None, parts=parts)


def _leave_checkout(upgrade: UserUpgrade, token: str) -> None:
    """Stripe's cancel_url: the buyer left Checkout. Close the session at Stripe, so it can
    no longer be paid and the receipt can say plainly that nothing was charged."""
    if not (upgrade.status is UpgradeStatus.PENDING and upgrade.purchaser_id == current_user.id
            and _cancel_token_ok(upgrade.id, token) and current_app.config["BILLING_ENABLED"]):
        return
    db.session.commit()  # no transaction held open across the call to Stripe
    try:
        service.cancel_checkout(upgrade)
        db.session.commit()
    except BillingError as exc:
        # The session stays open: the receipt says so and offers it again.
        db.session.rollback()
        log.warning("upgrade %s: could not close its checkout session: %s", upgrade.id, exc)


def _cancel_signer() -> URLSafeSerializer:
    # Only the cancel address Stripe was given closes a checkout: a link elsewhere (a GET
    # any site can make a browser send) cannot.
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeSerializer(keys, salt="upgrade-checkout-cancel")


def _cancel_token_ok(upgrade_id: int, token: str) -> bool:
    try:
        return bool(token) and _cancel_signer().loads(token) == upgrade_id
    except BadData:
        return False


@bp.get("/user_upgrades")
@login_required
def index() -> str:
    rows = db.session.scalars(
        sa.select(UserUpgrade)
        .options(so.joinedload(UserUpgrade.purchaser), so.joinedload(UserUpgrade.recipient))
        .where(sa.or_(UserUpgrade.purchaser_id == current_user.id,
                      UserUpgrade.recipient_id == current_user.id))
        .order_by(UserUpgrade.created_at.desc(), UserUpgrade.id.desc())
    ).all()
    viewer = current_user._get_current_object()
    return render_template("upgrades/index.html",
                           receipts=[receipt_for(row, viewer) for row in rows])
