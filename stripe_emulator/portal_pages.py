"""The hosted billing portal at a portal session's `url`: the home page (plans, cards,
invoices, as the configuration allows) or the session's flow, and the actions a person
takes there. Actions call ops/portal.py, so they emit what the API would."""
import datetime as dt

from flask import Blueprint, current_app, redirect, render_template, request

from . import cards
from .errors import StripeError
from .hosted import PageMissing, page_object
from .ops import invoices as invoice_ops
from .ops import portal as portal_ops
from .ops import subscriptions as sub_ops
from .ops.calendar import time_of

bp = Blueprint("portal_pages", __name__)


@bp.app_template_filter("day")
def day(ts):
    """A Unix timestamp as a date: 1795000000 -> "18 Nov 2026"."""
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    return f"{moment.day} {moment:%b %Y}"


def _store():
    return current_app.config["STORE"]


def _flow_subscription(st, session):
    flow = session["flow"]
    part = flow[flow["type"]] if flow["type"] != "payment_method_update" else None
    return st.get(part["subscription"], "subscription") if part else None


def _page(st, session, error=None, status=200):
    feats, _ = portal_ops.features(st, session)
    customer = st.get(session["customer"], "customer")
    subs = [s for s in st.all("subscription") if s["customer"] == customer["id"]
            and s["status"] not in sub_ops.ENDED]
    context = dict(portal=session, customer=customer, features=feats, error=error,
                   cards=[cards.CARDS[n] for n in cards.HOSTED_CHOICES],
                   choices={s["id"]: portal_ops.switch_choices(st, session, s)
                            for s in subs},
                   names={p["id"]: invoice_ops.product_name(st, p)
                          for p in st.all("price")})
    flow = session["flow"]
    if flow and not session.get("_flow_done"):
        sub = _flow_subscription(st, session)
        confirm = flow["subscription_update_confirm"]
        new_price = st.get(confirm["items"][0]["price"], "price") if confirm else None
        return render_template("portal_flow.html", flow=flow, sub=sub,
                               new_price=new_price, **context), status
    pms = [p for p in st.all("payment_method") if p["customer"] == customer["id"]]
    invoices = [i for i in st.all("invoice") if i["customer"] == customer["id"]
                and i["status"] != "draft"]
    return render_template("portal.html", subscriptions=subs, payment_methods=pms,
                           invoices=invoices, **context), status


def _session(st, ident):
    return page_object(st, ident, "billing_portal.session", "Billing portal session")


def _customer_time(st, ident):
    """The portal acts at the time of its customer's test clock, if it has one."""
    return time_of(st, st.get(ident, "billing_portal.session"))


def _done(st, session):
    """Where a person goes once the session's flow (or any action) is complete."""
    flow = session["flow"]
    if not flow or session.get("_flow_done"):
        return redirect(f"/billing_portal/{session['id']}", code=303)
    session["_flow_done"] = True
    after = flow["after_completion"]
    if after["type"] == "redirect":
        return redirect(after["redirect"]["return_url"], code=303)
    if after["type"] == "hosted_confirmation":
        message = (after["hosted_confirmation"] or {}).get("custom_message")
        return render_template("message.html", title="Done",
                               text=message or "Your changes have been saved.")
    return redirect(f"/billing_portal/{session['id']}", code=303)


@bp.get("/billing_portal/<ident>")
def portal_page(ident):
    st = _store()
    with st.lock, _customer_time(st, ident):
        return _page(st, _session(st, ident))


@bp.post("/billing_portal/<ident>/subscriptions/<sub_id>")
def portal_subscription(ident, sub_id):
    """Cancel, resume or switch a subscription of the session's customer."""
    st = _store()
    action = request.form.get("action")
    with st.lock, _customer_time(st, ident):
        session = _session(st, ident)
        sub = st.get(sub_id, "subscription")
        if sub is None or sub["customer"] != session["customer"]:
            raise PageMissing("Not found", "This subscription does not exist.")
        try:
            if action == "cancel":
                portal_ops.cancel(st, session, sub, request.form.get("feedback") or None)
            elif action == "resume":
                portal_ops.resume(st, session, sub)
            elif action == "switch":
                portal_ops.switch(st, session, sub, request.form.get("price", ""))
            else:
                return _page(st, session, "Unknown action.", 400)
        except StripeError as exc:
            return _page(st, session, exc.message, exc.status)
        return _done(st, session)


@bp.post("/billing_portal/<ident>/payment_methods")
def portal_payment_method(ident):
    """Save a test card as the customer's (and its subscriptions') default."""
    st = _store()
    with st.lock, _customer_time(st, ident):
        session = _session(st, ident)
        try:
            portal_ops.replace_card(st, session, request.form.get("card", ""))
        except StripeError as exc:
            return _page(st, session, exc.message, exc.status)
        return _done(st, session)


@bp.post("/billing_portal/<ident>/payment_methods/<pm_id>")
def portal_card_action(ident, pm_id):
    """Make one of the customer's cards the default, or remove one."""
    st = _store()
    action = request.form.get("action")
    verbs = {"default": portal_ops.set_default_card, "remove": portal_ops.remove_card}
    with st.lock, _customer_time(st, ident):
        session = _session(st, ident)
        if action not in verbs:
            return _page(st, session, "Unknown action.", 400)
        try:
            verbs[action](st, session, pm_id)
        except StripeError as exc:
            return _page(st, session, exc.message, exc.status)
        return _done(st, session)
