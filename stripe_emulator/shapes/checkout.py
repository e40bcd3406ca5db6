"""checkout.session and its line items (object "item")."""
from ..store import new_id
from . import address


def item(price, quantity, product_name):
    amount = price["unit_amount"] * quantity
    return {
        "id": new_id("li"), "object": "item", "amount_discount": 0,
        "amount_subtotal": amount, "amount_tax": 0, "amount_total": amount,
        "currency": price["currency"], "description": product_name, "price": price,
        "quantity": quantity, "metadata": {}, "adjustable_quantity": None,
    }


def session(now, base_url, mode, **fields):
    ident = new_id("cs_test", 58)
    obj = {
        "id": ident, "object": "checkout.session", "after_expiration": None,
        "allow_promotion_codes": None, "amount_subtotal": None, "amount_total": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None,
                          "provider": None},
        "billing_address_collection": None, "cancel_url": None,
        "client_reference_id": None, "client_secret": None,
        "consent": None, "consent_collection": None, "created": now, "currency": None,
        "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": None, "customer_creation": None, "customer_details": None,
        "customer_email": None, "expires_at": now + 24 * 3600, "invoice": None,
        "invoice_creation": None, "livemode": False, "locale": None, "metadata": {},
        "mode": mode, "payment_intent": None, "payment_link": None,
        "payment_method_collection": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {}, "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": False}, "recovered_from": None,
        "saved_payment_method_options": None, "setup_intent": None,
        "shipping_address_collection": None, "shipping_cost": None,
        "shipping_options": [], "status": "open", "submit_type": None,
        "subscription": None, "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page", "url": f"{base_url}/checkout/{ident}",
        "adaptive_pricing": None, "discounts": [], "collected_information": None,
        "permissions": None, "wallet_options": None, "origin_context": None,
        "currency_conversion": None, "customer_account": None,
        "integration_identifier": None, "managed_payments": None,
    }
    obj.update(fields)
    return obj


def customer_details(email, name=None):
    return {"address": address(), "email": email, "name": name, "phone": None,
            "tax_exempt": "none", "tax_ids": [], "business_name": None,
            "individual_name": None}
