"""Stripe's test cards that the emulator understands."""
from dataclasses import dataclass


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    label: str
    attach_decline: str | None = None   # decline_code when the card cannot even be saved
    charge_decline: str | None = None   # decline_code when charging it
    funding: str = "credit"
    # 3-D Secure, as Stripe's test cards behave: "always" asks on every payment;
    # "unless_set_up" asks on-session, and off-session once the card was set up for
    # future use it does not; "3ds2" is the same rule with a 3DS2 challenge.
    authentication: str | None = None

    @property
    def fingerprint(self):
        return "emu" + self.number[-8:]


CARDS = {c.number: c for c in (
    TestCard("4242424242424242", "visa", "Visa: succeeds"),
    TestCard("5555555555554444", "mastercard", "Mastercard: succeeds"),
    TestCard("4000000000000002", "visa", "Visa: declined",
             attach_decline="generic_decline", charge_decline="generic_decline"),
    TestCard("4000000000009995", "visa", "Visa: insufficient funds",
             attach_decline="insufficient_funds", charge_decline="insufficient_funds"),
    TestCard("4000000000000341", "visa",
             "Visa: attaches, but fails when charged",
             charge_decline="generic_decline"),
    TestCard("4000002760003184", "visa",
             "Visa: always asks for authentication (3-D Secure)",
             authentication="always"),
    TestCard("4000002500003155", "visa",
             "Visa: asks for authentication unless set up for later",
             authentication="unless_set_up"),
    TestCard("4000000000003220", "visa", "Visa: 3-D Secure 2 authentication",
             authentication="3ds2"),
)}

# The ones the hosted Checkout page offers, in order.
HOSTED_CHOICES = ["4242424242424242", "4000000000000002", "4000000000000341",
                  "5555555555554444", "4000000000009995", "4000002760003184",
                  "4000002500003155", "4000000000003220"]

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def lookup(number):
    """The test card for a number (spaces allowed), or None."""
    return CARDS.get((number or "").replace(" ", "").replace("-", ""))


def needs_authentication(card, off_session, set_up):
    """Whether a payment with this test card asks the customer to authenticate, as
    Stripe documents its 3-D Secure cards: 3184 on every payment; 3155 and 3220 on
    every on-session payment, and off-session ones unless the card was set up for
    future use (saved by a SetupIntent or a payment with setup_future_usage)."""
    if card is None or card.authentication is None:
        return False
    if card.authentication == "always":
        return True
    return not (off_session and set_up)
