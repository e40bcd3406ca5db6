"""Changing a subscription (the API's update, the preview and the hosted portal share
this): switch an item's price or quantity with `proration_behavior`, move or end the
trial, schedule or undo cancellation.

`plan` checks a change and works out its money without touching anything; `apply`
carries it out; `ops.preview` renders the same plan as an invoice."""
from dataclasses import dataclass, field

from ..errors import InvalidRequest
from ..events import emit, emit_updated
from ..shapes.subscriptions import plan as plan_view
from ..store import public
from . import prorations
from . import subscriptions as subs

BEHAVIORS = ("create_prorations", "always_invoice", "none")


@dataclass
class Change:
    sub: dict
    at: int                                       # when prorations are computed from
    behavior: str = "create_prorations"
    items: list = field(default_factory=list)     # (item, new price, new quantity)
    trial_end: object = None                      # None, "now" or a timestamp
    cancel: dict = field(default_factory=dict)    # cancel_at_period_end / cancel_at
    prorations: list = field(default_factory=list)
    reset_cycle: bool = False                     # the period restarts now, billed now
    proration_date: int | None = None

    @property
    def invoice_now(self):
        """Stripe invoices at once when the billing period restarts, or when asked to."""
        return self.reset_cycle or (self.behavior == "always_invoice"
                                    and bool(self.prorations))

    @property
    def trialing_after(self):
        if self.trial_end == "now":
            return False
        return self.trial_end is not None or self.sub["status"] == "trialing"


def plan(st, sub, items=None, behavior=None, proration_date=None, trial_end=None,
         cancel=None, prefix=""):
    """Check a change to `sub` and compute what it costs; nothing is changed."""
    if sub["status"] in subs.ENDED:
        raise InvalidRequest("A canceled subscription can only update its "
                             "cancellation_details and metadata.")
    now = st.now()
    start, end = subs.period(sub)
    if proration_date is not None and not start <= proration_date <= end:
        raise InvalidRequest("The proration_date must be within the subscription's "
                             "current period.", param=_name(prefix, "proration_date"))
    change = Change(sub, proration_date or now, behavior or "create_prorations",
                    trial_end=_trial_end(sub, trial_end, now, prefix),
                    cancel=_cancel(sub, cancel or {}, prefix),
                    proration_date=proration_date)
    for i, spec in enumerate(items or []):
        change.items.append(_item_change(st, sub, i, spec, prefix))
    _price_it(st, change)
    return change


def _name(prefix, key):
    """A parameter's name as Stripe reports it (`subscription_details[trial_end]`)."""
    return f"{prefix}[{key}]" if prefix else key


def _trial_end(sub, value, now, prefix):
    if value is None or value == "now":
        return "now" if value == "now" and sub["status"] == "trialing" else None
    if value <= now:
        raise InvalidRequest("Invalid timestamp: must be an integer Unix timestamp in "
                             "the future.", param=_name(prefix, "trial_end"))
    return value


def _cancel(sub, cancel, prefix):
    if "cancel_at" in cancel and "cancel_at_period_end" in cancel:
        raise InvalidRequest("You may only specify one of these parameters: cancel_at, "
                             "cancel_at_period_end.", param=_name(prefix, "cancel_at"))
    at = cancel.get("cancel_at")
    if at in ("min_period_end", "max_period_end"):
        cancel = {"cancel_at": subs.period(sub)[1]}
    elif isinstance(at, int) and at <= subs.period(sub)[0]:
        raise InvalidRequest("cancel_at must be after the start of the current period.",
                             param=_name(prefix, "cancel_at"))
    return cancel


def _item_change(st, sub, index, spec, prefix):
    name = f"{_name(prefix, 'items')}[{index}]"
    item = next((it for it in sub["items"]["data"] if it["id"] == spec.get("id")), None)
    if item is None:
        if spec.get("id"):
            raise InvalidRequest(f"Invalid {name}[id]: no such item on this subscription "
                                 f"({spec['id']}).", param=f"{name}[id]")
        raise InvalidRequest("The emulator changes existing items only (adding items "
                             f"is not supported): pass {name}[id].", param=f"{name}[id]")
    price = item["price"]
    if spec.get("price") and spec["price"] != price["id"]:
        price = st.get(spec["price"], "price")
        if price is None:
            raise InvalidRequest(f"No such price: '{spec['price']}'",
                                 code="resource_missing", param=f"{name}[price]",
                                 status=404)
        if price["type"] != "recurring" or not price["active"]:
            raise InvalidRequest("The price must be an active recurring price.",
                                 param=f"{name}[price]")
        if price["currency"] != sub["currency"]:
            raise InvalidRequest("The price's currency must match the subscription's "
                                 f"({sub['currency']}).", param=f"{name}[price]")
    quantity = spec.get("quantity") or item["quantity"]
    return item, price, quantity


def _interval(price):
    return price["recurring"]["interval"], price["recurring"]["interval_count"]


def _price_it(st, change):
    """Decide whether the period restarts and which prorations the change makes."""
    sub, at = change.sub, change.at
    moved = [(it, p, q) for it, p, q in change.items
             if p["id"] != it["price"]["id"] or q != it["quantity"]]
    change.items = moved
    if change.trial_end == "now":
        change.reset_cycle = True  # a trial ended now bills a full period now
        return
    if change.trialing_after:
        if sub["status"] != "trialing" and change.behavior != "none":
            # A trial added to a paid period credits the unused part of it.
            change.prorations = [prorations.credit(st, sub, it, at)
                                 for it in sub["items"]["data"]]
        return
    change.reset_cycle = any(_interval(p) != _interval(it["price"]) for it, p, _ in moved)
    if change.behavior == "none":
        return
    for item, price, qty in moved:
        change.prorations.append(prorations.credit(st, sub, item, at))
        if not change.reset_cycle:  # a restarted period bills the new price in full
            change.prorations.append(prorations.charge(st, item, price, qty, at))
    change.prorations = [p for p in change.prorations if p["amount"]]


def apply(st, change, before):
    """Carry out a planned change; emits what Stripe would, ending with
    customer.subscription.updated (previous_attributes against `before`)."""
    sub, now = change.sub, st.now()
    for item, price, qty in change.items:
        item.update(price=public(price), plan=plan_view(public(price)), quantity=qty)
    if change.trial_end == "now":
        sub.update(trial_end=now, _trial_reminded=True)
        emit(st, "customer.subscription.trial_will_end", sub)
    elif change.trial_end is not None:
        if sub["status"] != "trialing":
            sub.update(status="trialing", trial_start=now)
            for item in sub["items"]["data"]:
                item["current_period_start"] = now
        sub.update(trial_end=change.trial_end, billing_cycle_anchor=change.trial_end,
                   _trial_reminded=False)
        for item in sub["items"]["data"]:
            item["current_period_end"] = change.trial_end
    if change.reset_cycle:
        for item in sub["items"]["data"]:
            item["current_period_start"] = now
            item["current_period_end"] = subs.next_end(now, item["price"])
        sub["billing_cycle_anchor"] = now
    prorations.create_items(st, sub, change.prorations)
    _apply_cancel(st, sub, change.cancel)
    if change.invoice_now:
        return subs.bill(st, sub, "subscription_update", (now, now), before,
                         item_lines=change.reset_cycle)
    emit_updated(st, "customer.subscription.updated", sub, before)
    return None


def _apply_cancel(st, sub, cancel):
    if "cancel_at_period_end" in cancel:
        flag = cancel["cancel_at_period_end"]
        _schedule_end(st, sub, subs.period(sub)[1] if flag else None, flag)
    elif "cancel_at" in cancel:
        _schedule_end(st, sub, cancel["cancel_at"] or None, False)


def _schedule_end(st, sub, at, at_period_end):
    sub.update(cancel_at=at, cancel_at_period_end=at_period_end,
               canceled_at=st.now() if at else None)
    sub["cancellation_details"]["reason"] = "cancellation_requested" if at else None
