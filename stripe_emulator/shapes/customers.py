"""customer, payment_method, setup_intent."""
import secrets

from .. import tax_ids
from ..store import new_id
from . import address as _address


def customer(now, **fields):
    obj = {
        "id": new_id("cus", 14), "object": "customer", "address": None, "balance": 0,
        "created": now, "currency": None, "default_source": None, "delinquent": False,
        "description": None, "discount": None, "email": None,
        "invoice_prefix": secrets.token_hex(4).upper(),
        "invoice_settings": {
            "custom_fields": None, "default_payment_method": None, "footer": None,
            "rendering_options": None,
        },
        "livemode": False, "metadata": {}, "name": None, "next_invoice_sequence": 1,
        "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
        "test_clock": None,
    }
    obj.update(fields)
    if obj["address"] is not None:
        obj["address"] = _address(obj["address"])
    return obj


def billing_details(email=None, name=None):
    return {"address": _address(), "email": email, "name": name, "phone": None,
            "tax_id": None}


def card_details(card):
    """The `card` hash of a card payment method, from a test card's facts."""
    return {
        "brand": card.brand, "checks": {"address_line1_check": None,
                                        "address_postal_code_check": None,
                                        "cvc_check": "pass"},
        "country": "US", "display_brand": card.brand, "exp_month": 12,
        "exp_year": 2034, "fingerprint": card.fingerprint, "funding": card.funding,
        "generated_from": None, "last4": card.number[-4:],
        "networks": {"available": [card.brand], "preferred": None},
        "three_d_secure_usage": {"supported": True}, "wallet": None,
        "regulated_status": "unregulated",
    }


def us_bank_account_details():
    """A test bank account for the delayed ("bank debit") payment method."""
    return {
        "account_holder_type": "individual", "account_type": "checking",
        "bank_name": "STRIPE TEST BANK", "financial_connections_account": None,
        "fingerprint": "EmuBankFp000001", "last4": "6789",
        "networks": {"preferred": "ach", "supported": ["ach"]},
        "routing_number": "110000000", "status_details": {},
    }


def payment_method(now, pm_type, details, billing=None, **fields):
    """A payment method; its type-specific hash is keyed by its type, as Stripe does."""
    obj = {
        "id": new_id("pm"), "object": "payment_method", "allow_redisplay": "unspecified",
        "billing_details": billing or billing_details(), "created": now,
        "customer": None, "livemode": False, "metadata": {}, "type": pm_type,
        pm_type: details, "customer_account": None,
    }
    obj.update(fields)
    return obj


def setup_intent(now, **fields):
    ident = new_id("seti")
    obj = {
        "id": ident, "object": "setup_intent", "application": None,
        "automatic_payment_methods": None, "cancellation_reason": None,
        "client_secret": f"{ident}_secret_{secrets.token_urlsafe(18)}", "created": now,
        "customer": None, "description": None, "flow_directions": None,
        "last_setup_error": None, "latest_attempt": None, "livemode": False,
        "mandate": None, "metadata": {}, "next_action": None, "on_behalf_of": None,
        "payment_method": None, "payment_method_configuration_details": None,
        "payment_method_options": {"card": {"mandate_options": None, "network": None,
                                            "request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"], "single_use_mandate": None,
        "status": "requires_payment_method", "usage": "off_session",
        "excluded_payment_method_types": None,
    }
    obj.update(fields)
    return obj


def tax_id(now, customer_id, type_, value):
    return {
        "id": new_id("txi"), "object": "tax_id", "country": tax_ids.country(type_, value),
        "created": now, "customer": customer_id, "livemode": False,
        "owner": {"customer": customer_id, "type": "customer", "customer_account": None},
        "type": type_, "value": value, "verification": tax_ids.verification(type_),
        "customer_account": None,
    }
