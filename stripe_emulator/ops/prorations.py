"""Prorations: the credit for the unused part of a period on the old price and the
charge for the rest of it on the new one, computed to the second as Stripe does, and
kept as pending invoice items until an invoice takes them."""
import datetime as dt

from ..events import emit
from ..shapes.invoices import invoice_item, line_item
from ..store import new_id, public
from .invoices import product_name, subscription_of


def prorated(price, quantity, period, at):
    """`price × quantity` for the part of `period` from `at` to its end."""
    start, end = period
    if end <= start or at >= end:
        return 0
    return round(price["unit_amount"] * quantity * (end - max(at, start)) / (end - start))


def _day(ts):
    moment = dt.datetime.fromtimestamp(ts, dt.UTC)
    return f"{moment.day} {moment:%b %Y}"


def _period(item):
    return item["current_period_start"], item["current_period_end"]


def _credited_items(st, sub, item):
    """The invoice line that charged this item's current period, which a credit refers
    to (Stripe's `proration_details.credited_items`)."""
    for inv in st.all("invoice"):
        if inv["status"] == "draft" or (subscription_of(st, inv) or {}).get("id") \
                != sub["id"]:
            continue
        lines = [line["id"] for line in inv["lines"]["data"]
                 if line["parent"]["subscription_item_details"]["subscription_item"]
                 == item["id"] and not
                 line["parent"]["subscription_item_details"]["proration"]]
        if lines:
            return {"invoice": inv["id"], "invoice_line_items": lines}
    return None


def credit(st, sub, item, at):
    """The negative proration for the item's current price from `at` to period end."""
    price, qty = item["price"], item["quantity"]
    return {"amount": -prorated(price, qty, _period(item), at),
            "description": f"Unused time on {product_name(st, price)} after {_day(at)}",
            "period": (at, item["current_period_end"]), "price": price, "quantity": qty,
            "item": item["id"], "credited": _credited_items(st, sub, item)}


def charge(st, item, price, quantity, at):
    """The positive proration for `price` from `at` to the item's period end."""
    return {"amount": prorated(price, quantity, _period(item), at),
            "description": f"Remaining time on {product_name(st, price)} after "
                           f"{_day(at)}",
            "period": (at, item["current_period_end"]), "price": public(price),
            "quantity": quantity, "item": item["id"], "credited": None}


def create_items(st, sub, specs):
    """Store prorations as pending invoice items; emits invoiceitem.created each."""
    items = []
    for spec in specs:
        ii = invoice_item(st.now(), sub["customer"], amount=spec["amount"],
                          currency=sub["currency"], description=spec["description"],
                          period=spec["period"], price=spec["price"],
                          quantity=spec["quantity"], subscription_id=sub["id"],
                          subscription_item_id=spec["item"])
        ii["_credited"] = spec["credited"]
        ii["test_clock"] = sub["test_clock"]
        st.add(ii)
        emit(st, "invoiceitem.created", ii)
        items.append(ii)
    return items


def preview_lines(invoice_id, sub, specs):
    """Prorations as the lines of a preview invoice (no invoice item exists yet)."""
    return [line_item(invoice_id, amount=s["amount"], currency=sub["currency"],
                      description=s["description"], period=s["period"],
                      quantity=s["quantity"], price=s["price"], subscription_id=sub["id"],
                      subscription_item_id=s["item"], proration=True,
                      credited_items=s["credited"], ident=new_id("il_tmp"))
            for s in specs]
