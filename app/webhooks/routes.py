"""`POST /webhooks/stripe`: verify, then store and handle in one transaction."""

import logging
import time

import stripe
from flask import Response, current_app, jsonify, request

from app.webhooks import bp
from app.webhooks.envelope import NotAnEvent, decode, read_body
from app.webhooks.processing import receive

log = logging.getLogger("app.webhooks")


def _refuse(status: int, message: str) -> tuple[Response, int]:
    log.info("webhook refused (%s): %s", status, message)
    return jsonify(error=message), status


def _signed_in_future(header: str, tolerance: int) -> bool:
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            return int(value) > time.time() + tolerance
    return False


@bp.post("/webhooks/stripe")
def stripe_webhook() -> tuple[Response, int]:
    config = current_app.config
    if not config["BILLING_ENABLED"]:
        return _refuse(503, "Billing is disabled on this server (no STRIPE_SECRET_KEY).")
    if not config["STRIPE_WEBHOOK_SECRET"]:
        return _refuse(503, "Webhooks are not configured (no STRIPE_WEBHOOK_SECRET).")

    cap = config["WEBHOOK_MAX_BYTES"]
    if (request.content_length or 0) > cap:
        return _refuse(413, f"Body larger than {cap} bytes.")
    body = request.stream.read(cap + 1)
    if len(body) > cap:
        return _refuse(413, f"Body larger than {cap} bytes.")

    header = request.headers.get("Stripe-Signature")
    if not header:
        return _refuse(400, "Missing Stripe-Signature header.")
    try:
        text = decode(body)  # Stripe signs UTF-8 text
    except NotAnEvent as exc:
        return _refuse(400, str(exc))
    try:
        stripe.WebhookSignature.verify_header(
            text, header, config["STRIPE_WEBHOOK_SECRET"],
            tolerance=config["WEBHOOK_TOLERANCE_SECONDS"])
    except stripe.SignatureVerificationError as exc:
        return _refuse(400, f"Invalid signature: {exc.user_message or exc}")
    if _signed_in_future(header, config["WEBHOOK_TOLERANCE_SECONDS"]):
        # Stripe's library only rejects old timestamps; a clock far ahead is no better.
        return _refuse(400, "Invalid signature: timestamp is in the future.")

    try:
        payload = read_body(text)
    except NotAnEvent as exc:
        return _refuse(400, str(exc))

    outcome = receive(text, payload)
    if not outcome.ok:
        # 5xx makes Stripe retry; the stored row keeps the error for operators.
        return jsonify(error="Handling failed; the event is stored and will be retried."), 500
    return jsonify(received=True, outcome=outcome.value), 200
