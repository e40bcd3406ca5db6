"""payment_intent, charge, refund, dispute."""
import secrets

from ..store import new_id
from . import list_object
from .customers import billing_details


def payment_intent(now, amount, currency, **fields):
    ident = new_id("pi")
    obj = {
        "id": ident, "object": "payment_intent", "amount": amount,
        "amount_capturable": 0, "amount_details": {"tip": {}}, "amount_received": 0,
        "application": None, "application_fee_amount": None,
        "automatic_payment_methods": None, "canceled_at": None,
        "cancellation_reason": None, "capture_method": "automatic",
        "client_secret": f"{ident}_secret_{secrets.token_urlsafe(18)}",
        "confirmation_method": "automatic", "created": now, "currency": currency,
        "customer": None, "description": None, "last_payment_error": None,
        "latest_charge": None, "livemode": False, "metadata": {}, "next_action": None,
        "on_behalf_of": None, "payment_method": None,
        "payment_method_configuration_details": None, "payment_method_options": {},
        "payment_method_types": ["card"], "processing": None, "receipt_email": None,
        "review": None, "setup_future_usage": None, "shipping": None,
        "statement_descriptor": None, "statement_descriptor_suffix": None,
        "status": "requires_payment_method", "transfer_data": None,
        "transfer_group": None, "source": None, "excluded_payment_method_types": None,
        "customer_account": None, "managed_payments": None,
    }
    obj.update(fields)
    return obj


def payment_method_details(pm):
    """What a charge records about the payment method it used."""
    if pm["type"] == "card":
        card = pm["card"]
        details = {
            "amount_authorized": None, "brand": card["brand"], "checks": card["checks"],
            "country": card["country"], "exp_month": card["exp_month"],
            "exp_year": card["exp_year"], "extended_authorization": None,
            "fingerprint": card["fingerprint"], "funding": card["funding"],
            "incremental_authorization": None, "installments": None,
            "last4": card["last4"], "mandate": None, "multicapture": None,
            "network": card["brand"], "network_token": {"used": False},
            "overcapture": None, "three_d_secure": None, "wallet": None,
            "authorization_code": None, "regulated_status": card["regulated_status"],
            "network_transaction_id": None, "transaction_link_id": None,
        }
    else:
        bank = pm[pm["type"]]
        details = {k: bank[k] for k in ("account_holder_type", "account_type",
                                         "bank_name", "fingerprint", "last4",
                                         "routing_number")}
    return {pm["type"]: details, "type": pm["type"]}


def charge(now, base_url, amount, currency, pm, **fields):
    ident = new_id("ch")
    obj = {
        "id": ident, "object": "charge", "amount": amount, "amount_captured": 0,
        "amount_refunded": 0, "application": None, "application_fee": None,
        "application_fee_amount": None, "balance_transaction": None,
        "billing_details": pm["billing_details"] if pm else billing_details(),
        "calculated_statement_descriptor": "EMULATOR", "captured": False,
        "created": now, "currency": currency, "customer": None, "description": None,
        "disputed": False, "failure_balance_transaction": None, "failure_code": None,
        "failure_message": None, "fraud_details": {}, "livemode": False,
        "metadata": {}, "on_behalf_of": None, "outcome": None, "paid": False,
        "payment_intent": None, "payment_method": pm["id"] if pm else None,
        "payment_method_details": payment_method_details(pm) if pm else None,
        "receipt_email": None, "receipt_number": None,
        "receipt_url": f"{base_url}/receipts/{ident}", "refunded": False,
        "refunds": list_object([], f"/v1/charges/{ident}/refunds"), "review": None,
        "shipping": None, "source_transfer": None, "statement_descriptor": None,
        "statement_descriptor_suffix": None, "status": "pending",
        "transfer_data": None, "transfer_group": None, "source": None,
    }
    obj.update(fields)
    return obj


def outcome(kind, reason=None, message="Payment complete."):
    """A charge's `outcome` hash: authorized, issuer_declined, ..."""
    return {
        "advice_code": None, "network_advice_code": None, "network_decline_code": None,
        "network_status": "approved_by_network" if kind == "authorized"
        else "declined_by_network",
        "reason": reason, "seller_message": message,
        "type": kind,
    }


def refund(now, charge_obj, amount, **fields):
    pm_type = (charge_obj["payment_method_details"] or {}).get("type", "card")
    obj = {
        "id": new_id("re"), "object": "refund", "amount": amount,
        "balance_transaction": None, "charge": charge_obj["id"], "created": now,
        "currency": charge_obj["currency"],
        "destination_details": {pm_type: {"type": "refund"}, "type": pm_type}
        if pm_type == "card" else None,
        "metadata": {}, "payment_intent": charge_obj["payment_intent"], "reason": None,
        "receipt_number": None, "source_transfer_reversal": None,
        "status": "succeeded", "transfer_reversal": None,
        "customer": charge_obj["customer"], "customer_account": None,
        "payment_method": charge_obj["payment_method"],
    }
    obj.update(fields)
    return obj


_EVIDENCE_KEYS = (
    "access_activity_log billing_address cancellation_policy "
    "cancellation_policy_disclosure cancellation_rebuttal customer_communication "
    "customer_email_address customer_name customer_purchase_ip customer_signature "
    "duplicate_charge_documentation duplicate_charge_explanation duplicate_charge_id "
    "product_description receipt refund_policy refund_policy_disclosure "
    "refund_refusal_explanation service_date service_documentation shipping_address "
    "shipping_carrier shipping_date shipping_documentation shipping_tracking_number "
    "uncategorized_file uncategorized_text"
).split()


def dispute(now, charge_obj, reason="fraudulent"):
    evidence = dict.fromkeys(_EVIDENCE_KEYS)
    evidence["enhanced_evidence"] = {}
    return {
        "id": new_id("dp"), "object": "dispute", "amount": charge_obj["amount"],
        "balance_transactions": [], "charge": charge_obj["id"], "created": now,
        "currency": charge_obj["currency"], "evidence": evidence,
        "evidence_details": {"due_by": now + 21 * 86400, "has_evidence": False,
                             "past_due": False, "submission_count": 0,
                             "enhanced_eligibility": {}},
        "is_charge_refundable": False, "livemode": False, "metadata": {},
        "payment_intent": charge_obj["payment_intent"],
        "payment_method_details": _dispute_pm_details(charge_obj), "reason": reason,
        "status": "needs_response", "enhanced_eligibility_types": [],
    }


def _dispute_pm_details(charge_obj):
    details = charge_obj["payment_method_details"] or {}
    if details.get("type") != "card":
        return None
    brand = details["card"]["brand"]
    return {"card": {"brand": brand, "case_type": "chargeback",
                     "network_reason_code": "10.4", "network": brand}, "type": "card"}
