"""Deleting a customer (from the API, or with its test clock)."""
from ..events import emit
from . import subscriptions as subs


def delete(st, cus):
    """Delete `cus`: as Stripe documents, its live subscriptions are canceled at once
    (customer.subscription.deleted each), then customer.deleted."""
    for sub in st.all("subscription"):
        if sub["customer"] == cus["id"] and sub["status"] not in subs.ENDED:
            subs.cancel(st, sub)
    cus["deleted"] = True
    emit(st, "customer.deleted", {k: v for k, v in cus.items() if k != "deleted"})
    return cus
