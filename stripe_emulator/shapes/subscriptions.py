"""subscription, subscription_item and the legacy `plan` view of a price."""
from ..store import new_id
from . import list_object


def plan(price):
    """The legacy `plan` view of a recurring price, still present on items."""
    rec = price["recurring"]
    return {
        "id": price["id"], "object": "plan", "active": price["active"],
        "amount": price["unit_amount"], "amount_decimal": price["unit_amount_decimal"],
        "billing_scheme": price["billing_scheme"], "created": price["created"],
        "currency": price["currency"], "interval": rec["interval"],
        "interval_count": rec["interval_count"], "livemode": False,
        "metadata": price["metadata"], "meter": None, "nickname": price["nickname"],
        "product": price["product"], "tiers_mode": None, "transform_usage": None,
        "trial_period_days": rec["trial_period_days"], "usage_type": rec["usage_type"],
    }


def subscription_item(now, sub_id, price, quantity, period_start, period_end):
    return {
        "id": new_id("si", 14), "object": "subscription_item", "created": now,
        "discounts": [], "metadata": {}, "price": price, "quantity": quantity,
        "subscription": sub_id, "tax_rates": [], "plan": plan(price),
        "current_period_end": period_end, "current_period_start": period_start,
        "billing_thresholds": None,
    }


def subscription(now, customer_id, currency, **fields):
    ident = new_id("sub")
    obj = {
        "id": ident, "object": "subscription", "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"enabled": False, "liability": None, "disabled_reason": None},
        "billing_cycle_anchor": now, "billing_cycle_anchor_config": None,
        "cancel_at": None, "canceled_at": None,
        "cancellation_details": {"comment": None, "feedback": None, "reason": None},
        "collection_method": "charge_automatically", "created": now,
        "currency": currency, "customer": customer_id, "days_until_due": None,
        "default_payment_method": None, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [],
        "ended_at": None,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "items": list_object([], f"/v1/subscription_items?subscription={ident}"),
        "latest_invoice": None, "livemode": False, "metadata": {},
        "next_pending_invoice_item_invoice": None, "on_behalf_of": None,
        "pause_collection": None,
        "payment_settings": {"payment_method_options": None,
                             "payment_method_types": None,
                             "save_default_payment_method": "off"},
        "pending_invoice_item_interval": None, "pending_setup_intent": None,
        "pending_update": None, "schedule": None, "start_date": now,
        "status": "incomplete", "test_clock": None, "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None, "cancel_at_period_end": False, "billing_thresholds": None,
        "billing_mode": {"type": "classic"}, "customer_account": None,
        "managed_payments": None, "billing_schedules": [],
    }
    obj.update(fields)
    return obj
