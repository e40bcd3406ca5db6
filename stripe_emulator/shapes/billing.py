"""subscription, subscription_item, invoice, line_item, invoice_payment,
billing_portal.session."""
from ..store import new_id
from . import address, list_object


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


def line_item(invoice_id, sub_item, amount, period, description):
    price = sub_item["price"]
    return {
        "id": new_id("il"), "object": "line_item", "amount": amount,
        "currency": price["currency"], "description": description,
        "discount_amounts": [], "discountable": True, "discounts": [],
        "invoice": invoice_id, "livemode": False, "metadata": {},
        "period": {"end": period[1], "start": period[0]},
        "quantity": sub_item["quantity"], "subscription": sub_item["subscription"],
        "pretax_credit_amounts": [], "taxes": [],
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None, "proration": False, "proration_details": None,
                "subscription": sub_item["subscription"],
                "subscription_item": sub_item["id"],
            },
            "type": "subscription_item_details",
        },
        "pricing": {"price_details": {"price": price["id"], "product": price["product"]},
                    "type": "price_details",
                    "unit_amount_decimal": price["unit_amount_decimal"]},
        "subtotal": amount, "quantity_decimal": str(sub_item["quantity"]),
    }


def invoice(now, base_url, customer, subscription_id, currency, billing_reason,
            period, **fields):
    ident = new_id("in")
    obj = {
        "id": ident, "object": "invoice", "account_country": "GB",
        "account_name": "Stripe Emulator", "account_tax_ids": None, "amount_due": 0,
        "amount_paid": 0, "amount_remaining": 0, "amount_shipping": 0,
        "application": None, "attempt_count": 0, "attempted": False,
        "auto_advance": True,
        "automatic_tax": {"enabled": False, "liability": None, "status": None,
                          "disabled_reason": None, "provider": None},
        "billing_reason": billing_reason, "collection_method": "charge_automatically",
        "created": now, "currency": currency, "custom_fields": None,
        "customer": customer["id"],
        "customer_address": address(customer["address"]) if customer["address"] else None,
        "customer_email": customer["email"], "customer_name": customer["name"],
        "customer_phone": customer["phone"], "customer_shipping": None,
        "customer_tax_exempt": customer["tax_exempt"], "customer_tax_ids": [],
        "default_payment_method": None, "default_source": None,
        "default_tax_rates": [], "description": None, "discounts": [],
        "due_date": None, "effective_at": None, "ending_balance": None, "footer": None,
        "from_invoice": None, "hosted_invoice_url": None, "invoice_pdf": None,
        "issuer": {"type": "self"}, "last_finalization_error": None,
        "latest_revision": None, "lines": list_object([], f"/v1/invoices/{ident}/lines"),
        "livemode": False, "metadata": {}, "next_payment_attempt": None,
        "number": None, "on_behalf_of": None,
        "payment_settings": {"default_mandate": None, "payment_method_options": None,
                             "payment_method_types": None},
        "period_end": period[1], "period_start": period[0],
        "post_payment_credit_notes_amount": 0, "pre_payment_credit_notes_amount": 0,
        "receipt_number": None, "rendering": None, "shipping_cost": None,
        "shipping_details": None, "starting_balance": 0, "statement_descriptor": None,
        "status": "draft",
        "status_transitions": {"finalized_at": None, "marked_uncollectible_at": None,
                               "paid_at": None, "voided_at": None},
        "subscription": subscription_id, "subtotal": 0, "subtotal_excluding_tax": 0,
        "test_clock": None, "total": 0, "total_discount_amounts": [],
        "total_excluding_tax": 0, "webhooks_delivered_at": None,
        "automatically_finalizes_at": None, "total_pretax_credit_amounts": [],
        "total_taxes": [], "amount_overpaid": 0,
        "parent": {"quote_details": None,
                   "subscription_details": {"metadata": {},
                                            "subscription": subscription_id},
                   "type": "subscription_details"} if subscription_id else None,
        "customer_account": None,
    }
    obj["hosted_invoice_url"] = f"{base_url}/invoices/{ident}"
    obj.update(fields)
    return obj


def invoice_payment(now, invoice_obj, payment_intent_id):
    return {
        "id": new_id("inpay"), "object": "invoice_payment", "amount_paid": None,
        "amount_requested": invoice_obj["amount_due"], "created": now,
        "currency": invoice_obj["currency"], "invoice": invoice_obj["id"],
        "is_default": True, "livemode": False,
        "payment": {"payment_intent": payment_intent_id, "type": "payment_intent"},
        "status": "open",
        "status_transitions": {"canceled_at": None, "paid_at": None},
    }


def portal_session(now, base_url, customer_id, return_url):
    ident = new_id("bps")
    return {
        "id": ident, "object": "billing_portal.session",
        "configuration": "bpc_emulator_default", "created": now,
        "customer": customer_id, "flow": None, "livemode": False, "locale": None,
        "on_behalf_of": None, "return_url": return_url,
        "url": f"{base_url}/billing_portal/{ident}", "customer_account": None,
    }
