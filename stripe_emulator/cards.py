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
)}

# The ones the hosted Checkout page offers, in order.
HOSTED_CHOICES = ["4242424242424242", "4000000000000002", "4000000000000341",
                  "5555555555554444", "4000000000009995"]

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


def lookup(number):
    """The test card for a number (spaces allowed), or None."""
    return CARDS.get((number or "").replace(" ", "").replace("-", ""))
