"""Subscription actions: start one (POST /subscriptions), come back from Checkout, and the
changes the settings page offers. Each calls one verb and redirects with a message."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import (
    current_app,
    flash,
    get_template_attribute,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app import catalog
from app.auth.models import utcnow
from app.billing.customers import stored_customer_id
from app.billing.errors import BillingDisabled, BillingError, CardDeclined
from app.extensions import db, limiter
from app.money import format_money
from app.pricing.routes import render_pricing
from app.subscriptions import bp
from app.subscriptions import confirmation as _confirmation  # noqa: F401  (its context processor)
from app.subscriptions.changes import (
    ChangeNotAllowed,
    PreviewOutOfDate,
    cancel_at_period_end,
    portal_url,
    preview_switch,
    resume,
    switch,
)
from app.subscriptions.checkout import (
    INTERVALS,
    AlreadySubscribed,
    SubscriptionNotAllowed,
    abandon,
    apply_return,
    begin_checkout,
    open_checkout,
)
from app.subscriptions.forms import ActionForm, PayNowForm, SubscribeForm, SwitchForm
from app.subscriptions.models import (
    CheckoutStatus,
    Subscription,
    SubscriptionCheckout,
    SubscriptionStatus,
)
from app.subscriptions.overview import checkout_for, overview_for
from app.subscriptions.pay_now import Outcome, pay_open_invoice
from app.timeline import current_subscription as current_for
from app.timeline import day, timeline_with

log = logging.getLogger("app.subscriptions")

UNAVAILABLE = ("Subscriptions are not available at the moment. Nothing was charged; please "
               "try again later.")


def _require_billing() -> None:
    if not current_app.config["BILLING_ENABLED"]:
        raise BillingDisabled(UNAVAILABLE)


def _settings(message: str, category: str = "success") -> ResponseReturnValue:
    flash(message, category)
    return redirect(url_for("settings.index"), 303)


def _site_url(path: str) -> str:
    """An address on this site for Stripe to send the subscriber back to."""
    return str(current_app.config["SITE_URL"]) + path


@bp.post("/subscriptions")
@login_required
@limiter.limit("10 per minute")
def create() -> ResponseReturnValue:
    _require_billing()
    form = SubscribeForm()
    if not form.validate_on_submit():
        interval = form.interval.data if form.interval.data in ("monthly", "annual") \
            else "monthly"
        return render_pricing(interval, form, 422)
    user = current_user._get_current_object()
    interval = form.interval.data
    try:
        checkout, new = begin_checkout(user, interval, bool(form.waiver.data))
    except SubscriptionNotAllowed as exc:
        db.session.rollback()
        getattr(form, exc.field, form.interval).errors = [str(exc)]
        return render_pricing(interval, form, 422)
    except AlreadySubscribed:
        db.session.rollback()
        return _settings("You already have a Premium subscription: here it is.", "info")
    # Commit before calling Stripe: the checkout's id (the idempotency key) and the waiver
    # are kept for good, and no transaction is held open across a network call.
    db.session.commit()
    if not new and checkout.checkout_url:
        log.info("subscription checkout %s: submitted again, reusing its session", checkout.id)
        return redirect(checkout.checkout_url, 303)
    success = _site_url(url_for("subscriptions.checkout_return")) + \
        "?session_id={CHECKOUT_SESSION_ID}"
    cancel = _site_url(url_for("pricing.index", interval=interval, cancelled=1))
    try:
        open_checkout(checkout, user, success, cancel)
    except BillingError:
        db.session.rollback()
        abandon(checkout)
        db.session.commit()
        raise  # rendered as a page saying what happened and that nothing was charged
    db.session.commit()
    assert checkout.checkout_url is not None  # open_checkout stored the Checkout address
    return redirect(checkout.checkout_url, 303)


@bp.get("/subscriptions/return")
@login_required
def checkout_return() -> ResponseReturnValue:
    """Back from Checkout: apply the session at once, rather than wait for the webhook. Until
    Stripe confirms, a page that says so and checks again by itself (`?format=json` is what
    its script asks: our database only, never Stripe)."""
    session_id = request.args.get("session_id", "")
    checkout = checkout_for(current_user, session_id) \
        if session_id.isprintable() and len(session_id) <= 255 else None
    if checkout is None:
        return redirect(url_for("settings.index"), 303)
    if request.args.get("format") == "json":
        news = _return_news(checkout)
        return jsonify(state=news.state, final=news.final, until=news.until,
                       parts={"status": _return_part("status", news),
                              "body": _return_part("body", news)})
    if current_app.config["BILLING_ENABLED"]:
        try:
            apply_return(checkout)
            db.session.commit()
        except BillingError as exc:
            db.session.rollback()
            log.warning("subscription checkout %s: could not read session %s: %s",
                        checkout.id, session_id, exc)
    news = _return_news(checkout)
    if news.state == "active":
        return _settings(news.sentence)
    return render_template("subscriptions/return.html", news=news)


@dataclass(frozen=True)
class ReturnNews:
    """Where a subscription's checkout stands, as the return page says it."""

    checkout: SubscriptionCheckout
    state: str  # waiting, confirming (a first payment on its way); active, failed, expired
    sentence: str
    until: str | None = None  # when the Checkout page closes: checking stops then

    @property
    def final(self) -> bool:
        return self.state in ("active", "failed", "expired")


def _started_by(checkout: SubscriptionCheckout) -> Subscription | None:
    """The subscription the checkout started (once Stripe has told us), else the user's
    live one."""
    if checkout.stripe_subscription_id:
        found = db.session.scalar(sa.select(Subscription).where(
            Subscription.stripe_subscription_id == checkout.stripe_subscription_id))
        if found is not None:
            return found
    return current_for(checkout.user_id)


def _return_news(checkout: SubscriptionCheckout) -> ReturnNews:
    sub = _started_by(checkout)
    if sub is not None and sub.status is SubscriptionStatus.INCOMPLETE_EXPIRED:
        return ReturnNews(checkout, "failed", "The first payment did not go through, so the "
                          "subscription did not start. Nothing was charged.")
    if sub is not None and sub.status is SubscriptionStatus.INCOMPLETE:
        return ReturnNews(checkout, "confirming", "Your payment is being confirmed; Premium "
                          "starts as soon as it is.")
    if sub is not None and sub.live:
        return ReturnNews(checkout, "active", _welcome(sub))
    closes = checkout.expires_at
    if checkout.status is CheckoutStatus.EXPIRED or (
            checkout.status is CheckoutStatus.PENDING and closes and closes <= utcnow()):
        return ReturnNews(checkout, "expired", "The payment page closed before a payment was "
                          "made. Nothing was charged.")
    until = closes.isoformat() if closes and checkout.status is CheckoutStatus.PENDING \
        else None
    return ReturnNews(checkout, "waiting",
                      "We are waiting for Stripe to confirm your subscription.", until)


def _return_part(name: str, news: ReturnNews) -> str:
    part: Callable[[ReturnNews], str] = get_template_attribute("subscriptions/_return.html",
                                                               name)
    return str(part(news))


def _welcome(sub: Subscription) -> str:
    t = timeline_with(current_user._get_current_object(), sub)
    charge = t.next_charge
    if t.state == "credit" and charge is not None:
        return (f"Welcome to Premium! Your referral credit covers it: your first payment is "
                f"on {day(charge.at)}.")
    if t.state == "trialing" and charge is not None:
        return (f"Your free trial has started: Premium is yours, and nothing is charged "
                f"before {day(charge.at)}.")
    if t.state == "incomplete":
        return "Your payment is being confirmed; Premium starts as soon as it is."
    return "Welcome to Premium! Your subscription is active."


def _current_or_none() -> Subscription | None:
    return current_for(current_user.id)


NO_SUBSCRIPTION = "You have no subscription to change."


@bp.get("/subscriptions/cancel")
@login_required
def confirm_cancel() -> ResponseReturnValue:
    """What the subscriber keeps, and until when, before they confirm."""
    overview = overview_for(current_user._get_current_object())
    if overview.current is None:
        return _settings(NO_SUBSCRIPTION, "info")
    return render_template("subscriptions/cancel.html", sub=overview.current,
                           overview=overview, form=ActionForm())


@bp.post("/subscriptions/cancel")
@login_required
@limiter.limit("10 per minute")
def cancel() -> ResponseReturnValue:
    return _change(cancel_at_period_end, _cancelled)


def _cancelled(sub: Subscription) -> str:
    return (f"Your subscription is cancelled. You keep Premium until "
            f"{sub.access_until:%-d %B %Y}, and nothing more is charged.")


@bp.post("/subscriptions/pay")
@login_required
@limiter.limit("10 per minute")
def pay_now() -> ResponseReturnValue:
    """Pay the overdue invoice with the default card, from the past-due warning."""
    _require_billing()
    form = PayNowForm()
    back = _back_to(request.form.get("back"))
    if not form.validate_on_submit():
        flash("That form expired; please try again.", "error")
        return redirect(back, 303)
    user = current_user._get_current_object()
    try:
        outcome = pay_open_invoice(user, attempt=form.attempt.data)
    except CardDeclined as exc:
        db.session.rollback()
        flash(f"{exc} Try another card: add one below, or make another the default.", "error")
        return redirect(url_for("settings.billing"), 303)
    db.session.commit()
    return _said(outcome, back)


def _back_to(name: str | None) -> str:
    """Where a Pay now button returns: the page it was on (settings or billing)."""
    return url_for("settings.billing" if name == "billing" else "settings.index")


def _said(outcome: Outcome, back: str) -> ResponseReturnValue:
    """Say what paying the overdue invoice did, then go back."""
    if outcome.result == "paid":
        flash(f"Thank you: your payment of {format_money(outcome.amount, outcome.currency)} "
              "went through, and your account is in good standing again.", "success")
    elif outcome.result == "confirm" and outcome.url:
        return redirect(outcome.url, 303)  # the bank's check, on Stripe's invoice page
    elif outcome.result == "no_card":
        flash("Add a card to pay with first.", "info")
        return redirect(url_for("settings.billing"), 303)
    else:
        flash("There is nothing to pay: your account is in good standing.", "info")
    return redirect(back, 303)


@bp.post("/subscriptions/resume")
@login_required
@limiter.limit("10 per minute")
def resume_subscription() -> ResponseReturnValue:
    return _change(resume, lambda sub: "Your subscription continues: it renews as before.")


def _change(verb: Callable[[Subscription], Subscription | None],
            message: Callable[[Subscription], str]) -> ResponseReturnValue:
    """Run a one-subscription verb from a settings button and say what it did."""
    _require_billing()
    form = ActionForm()
    if not form.validate_on_submit():
        return _settings("That form expired; please try again.", "error")
    sub = _current_or_none()
    if sub is None:
        return _settings(NO_SUBSCRIPTION, "info")
    try:
        changed = verb(sub)
    except ChangeNotAllowed as exc:
        db.session.rollback()
        return _settings(str(exc), "info")
    db.session.commit()
    return _settings(message(changed or sub))


@bp.get("/subscriptions/switch")
@login_required
def preview() -> ResponseReturnValue:
    """What switching monthly ↔ annual charges or credits today (Stripe's preview)."""
    _require_billing()
    return _preview_page()


def _preview_page(notice: str | None = None, status: int = 200) -> ResponseReturnValue:
    """A fresh switch preview (with `notice` above it), or settings saying why there is none."""
    sub = _current_or_none()
    if sub is None:
        return _settings(NO_SUBSCRIPTION, "info")
    try:
        shown = preview_switch(sub)
    except ChangeNotAllowed as exc:
        db.session.rollback()
        return _settings(str(exc), "info")
    db.session.commit()  # the subscription as Stripe holds it, applied while previewing
    form = SwitchForm(to_interval=shown.to_interval, proration_date=shown.proration_date)
    return render_template("subscriptions/switch.html", sub=shown.sub, preview=shown,
                           form=form, notice=notice,
                           target=catalog.offer(INTERVALS[shown.to_interval])), status


@bp.post("/subscriptions/switch")
@login_required
@limiter.limit("10 per minute")
def confirm_switch() -> ResponseReturnValue:
    _require_billing()
    form = SwitchForm()
    if not form.validate_on_submit():
        return _settings("That preview expired; please look at the switch again.", "error")
    sub = _current_or_none()
    if sub is None:
        return _settings(NO_SUBSCRIPTION, "info")
    try:
        changed = switch(sub, form.to_interval.data, form.proration_date.data)
    except PreviewOutOfDate as exc:
        db.session.rollback()
        return _preview_page(str(exc), 409)  # the same question, at today's amounts
    except ChangeNotAllowed as exc:
        db.session.rollback()
        return _settings(str(exc), "info")
    db.session.commit()
    return _settings(f"You are now on {(changed or sub).plan_label}.")


@bp.post("/subscriptions/portal")
@login_required
@limiter.limit("10 per minute")
def portal() -> ResponseReturnValue:
    """Open Stripe's customer portal (invoices, cards), or its card flow with `?flow=card`."""
    _require_billing()
    form = ActionForm()
    if not form.validate_on_submit():
        return _settings("That form expired; please try again.", "error")
    customer = stored_customer_id(current_user)
    if customer is None:
        return _settings("There is no billing account to manage yet: it starts with your "
                         "first payment.", "info")
    flow = "payment_method_update" if request.args.get("flow") == "card" else None
    return redirect(portal_url(customer, _site_url(url_for("settings.index")), flow), 303)
