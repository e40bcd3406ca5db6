"""The billing details on the user's Stripe customer: name, address and one tax ID.

They live at Stripe, never here (we keep the customer's id): the settings page reads them
from Stripe when it renders, and saving writes them straight back. Stripe's tax IDs cannot
be edited, so a new one replaces the old by create-then-delete. Routes commit.
"""

import logging
import re
from dataclasses import dataclass
from typing import get_args, get_type_hints

import stripe
from stripe.params import (
    CustomerTaxIdCreateParams,
    CustomerUpdateParams,
    CustomerUpdateParamsAddress,
)

from app.auth.locks import lock_user
from app.auth.models import User
from app.billing import gateway
from app.billing.customers import customer_for, stored_customer_id
from app.billing.errors import BillingError, InvalidBillingDetails, StripeRejected

log = logging.getLogger("app.billing")


@dataclass(frozen=True)
class TaxIdType:
    label: str    # in the list of types
    noun: str     # in a sentence: "That is not a valid …"
    example: str  # a value of the right shape


# The types the form offers, in its order (a customer's other type is shown as it is).
TAX_ID_TYPES = {
    "gb_vat": TaxIdType("UK VAT", "UK VAT number", "GB123456789"),
    "eu_vat": TaxIdType("EU VAT", "EU VAT number", "DE123456789"),
    "us_ein": TaxIdType("US EIN", "US EIN", "12-3456789"),
    "au_abn": TaxIdType("Australian ABN", "Australian ABN", "12345678912"),
    "ca_bn": TaxIdType("Canadian BN", "Canadian BN", "123456789"),
    "ch_vat": TaxIdType("Swiss VAT", "Swiss VAT number", "CHE-123.456.789 MWST"),
    "no_vat": TaxIdType("Norwegian VAT", "Norwegian VAT number", "123456789MVA"),
}
# Every type Stripe takes (the SDK's list, for the pinned API version): a customer may hold
# one of them (set in the dashboard), and saving the form unchanged must keep it.
STRIPE_TAX_ID_TYPES: frozenset[str] = frozenset(
    get_args(get_args(get_type_hints(CustomerTaxIdCreateParams)["type"])[0]))


@dataclass(frozen=True)
class BillingDetails:
    """What the form edits; "" for a detail not given."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    postal_code: str = ""
    country: str = ""
    tax_type: str = ""
    tax_value: str = ""
    other_tax_ids: int = 0  # tax IDs at Stripe beyond the one shown (saving keeps one)

    def address(self) -> tuple[str, ...]:
        return (self.line1, self.line2, self.city, self.postal_code, self.country)


def details_of(user: User) -> BillingDetails:
    """The user's billing details as Stripe holds them now (none before the customer exists).

    Raises a BillingError when Stripe cannot say.
    """
    customer_id = stored_customer_id(user)
    if customer_id is None:
        return BillingDetails()
    customer = _customer(customer_id)
    return _held(customer, _tax_ids(customer))


def save_details(user: User, wanted: BillingDetails) -> bool:
    """Make the user's Stripe customer hold `wanted`; True if anything changed at Stripe.

    Creates the customer first if there is none (flushes). Under the user's lock, held
    until the caller commits: a second submission of the same form waits, then finds the
    details saved and changes nothing. Raises InvalidBillingDetails (nothing changed) for
    a detail Stripe refuses, and other BillingErrors when Stripe fails.
    """
    lock_user(user.id)
    customer_id = stored_customer_id(user)
    if customer_id is None:
        if wanted == BillingDetails():
            return False  # nothing to keep: no customer needed for it
        customer_id = customer_for(user)
    customer = _customer(customer_id)
    held_tax_ids = _tax_ids(customer)
    held = _held(customer, held_tax_ids)
    keep = _matching(held_tax_ids, wanted)
    created = None
    if wanted.tax_type and keep is None:
        # Create the new tax ID BEFORE deleting the old one: a value Stripe refuses
        # (InvalidBillingDetails) then leaves the old one in place, as the customer expects
        # of a form sent back with an error, and a failure in between leaves both rather
        # than neither (the next save removes the extra one).
        created = _create_tax_id(customer_id, wanted)
    params = _update_params(customer, held, wanted)
    if params:
        try:
            gateway.update_customer_details(customer_id, params)
        except BillingError:
            if created is not None:  # so a refused postal code saves no tax ID either
                _delete_quietly(customer_id, created.id)
            raise
    stale = [t.id for t in held_tax_ids if t.id != keep]
    for tax_id in stale:
        gateway.delete_tax_id(customer_id, tax_id)
    changed = bool(created or params or stale)
    if changed:
        log.info("user %s: billing details saved on Stripe customer %s", user.id, customer_id)
    return changed


def _customer(customer_id: str) -> stripe.Customer:
    customer = gateway.retrieve_customer(customer_id, expand=["tax_ids"])
    if customer is None:
        raise StripeRejected(operator_message=f"Stripe has no customer {customer_id} (deleted?).")
    return customer


def _tax_ids(customer: stripe.Customer) -> list[stripe.TaxId]:
    """The customer's tax IDs, newest first (the expanded list is one page of them)."""
    page = customer.tax_ids
    if page is None:
        return []
    return gateway.list_tax_ids(customer.id) if page.has_more else list(page.data)


def _held(customer: stripe.Customer, tax_ids: list[stripe.TaxId]) -> BillingDetails:
    address = customer.address
    shown = tax_ids[0] if tax_ids else None
    return BillingDetails(
        name=customer.name or "",
        line1=(address.line1 or "") if address else "",
        line2=(address.line2 or "") if address else "",
        city=(address.city or "") if address else "",
        postal_code=(address.postal_code or "") if address else "",
        country=(address.country or "") if address else "",
        tax_type=str(shown.type) if shown else "",
        tax_value=shown.value if shown else "",
        other_tax_ids=max(len(tax_ids) - 1, 0))


def _comparable(value: str) -> str:
    """A tax ID number as Stripe checks it: spaces and letter case do not matter."""
    return re.sub(r"\s+", "", value).upper()


def _matching(held: list[stripe.TaxId], wanted: BillingDetails) -> str | None:
    """The id of a held tax ID that is the wanted one (same type and number), if any."""
    for tax_id in held:
        if wanted.tax_type and tax_id.type == wanted.tax_type \
                and _comparable(tax_id.value) == _comparable(wanted.tax_value):
            return tax_id.id
    return None


def _create_tax_id(customer_id: str, wanted: BillingDetails) -> stripe.TaxId:
    try:
        return gateway.create_tax_id(customer_id, wanted.tax_type, wanted.tax_value)
    except InvalidBillingDetails as exc:
        if exc.code != "tax_id_invalid":
            raise
        kind = TAX_ID_TYPES.get(wanted.tax_type)
        if kind is None:
            raise  # Stripe's type without an example of ours: the general sentence
        raise InvalidBillingDetails(
            "tax_value", f"That is not a valid {kind.noun} (for example {kind.example}).",
            code=exc.code, operator_message=exc.operator_message) from exc


def _update_params(customer: stripe.Customer, held: BillingDetails,
                   wanted: BillingDetails) -> CustomerUpdateParams:
    """Only what changed: an unchanged save sends nothing (and makes no event)."""
    params: CustomerUpdateParams = {}
    if wanted.name != held.name:
        params["name"] = wanted.name  # "" removes it
    if wanted.address() != held.address():
        if not any(wanted.address()):
            params["address"] = ""  # removes it
        else:
            address: CustomerUpdateParamsAddress = {
                "line1": wanted.line1, "line2": wanted.line2, "city": wanted.city,
                "postal_code": wanted.postal_code, "country": wanted.country}
            # The form has no state or county: keep the one Stripe has (the portal sets it).
            state = customer.address.state if customer.address else None
            if state:
                address["state"] = state
            params["address"] = address
    return params


def _delete_quietly(customer_id: str, tax_id: str) -> None:
    try:
        gateway.delete_tax_id(customer_id, tax_id)
    except BillingError:
        # Stripe keeps both tax IDs until the next save, which removes the extra one.
        log.warning("customer %s: could not undo tax id %s after a failed save",
                    customer_id, tax_id)
