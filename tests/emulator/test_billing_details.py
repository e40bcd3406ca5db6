"""Billing details: a customer's name and address, tax IDs (created with the customer or
on their own, format-checked per type, listed, expanded, deleted) and their events."""
import re

import pytest
import stripe
import stripe.params as P

from stripe_emulator import tax_ids

from .conftest import event_types
from .test_params_conformance import annotation_text

ADDRESS = {"line1": "1 High Street", "line2": "Flat 2", "city": "Leeds",
           "postal_code": "LS1 1AA", "state": "West Yorkshire", "country": "GB"}


def test_update_name_and_address_reports_what_changed(stripe_client):
    customer = stripe_client.v1.customers.create({"email": "c@example.com"})
    updated = stripe_client.v1.customers.update(
        customer.id, {"name": "Ada Lovelace", "address": ADDRESS})
    assert updated.name == "Ada Lovelace" and updated.address.to_dict() == ADDRESS
    moved = stripe_client.v1.customers.update(
        customer.id, {"address": {**ADDRESS, "line2": "", "city": "York"}})
    assert moved.address.line2 is None and moved.address.city == "York"
    first, second = [e.data for e in reversed(stripe_client.v1.events.list(
        {"type": "customer.updated"}).data)]
    assert first.previous_attributes.to_dict() == {"name": None, "address": None}
    # Within a hash only the keys that changed, as Stripe reports them.
    assert second.previous_attributes.to_dict() == {
        "address": {"line2": "Flat 2", "city": "Leeds"}}
    assert second.object.address.city == "York"


def test_create_with_tax_id_data(stripe_client):
    customer = stripe_client.v1.customers.create({
        "email": "c@example.com", "name": "Lumen Ltd", "address": ADDRESS,
        "tax_id_data": [{"type": "gb_vat", "value": "GB123456789"},
                        {"type": "eu_vat", "value": "DE123456789"}]})
    listed = stripe_client.v1.customers.tax_ids.list(customer.id).data
    assert [(t.type, t.value, t.country) for t in listed] == [
        ("eu_vat", "DE123456789", "DE"), ("gb_vat", "GB123456789", "GB")]
    assert all(t.customer == customer.id and t.owner.customer == customer.id
               for t in listed)
    assert event_types(stripe_client) == [
        "customer.created", "customer.tax_id.created", "customer.tax_id.created"]


def test_an_invalid_tax_id_in_tax_id_data_creates_nothing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.create({"tax_id_data": [
            {"type": "gb_vat", "value": "GB123456789"},
            {"type": "eu_vat", "value": "DE12345"}]})
    error = caught.value.error
    assert (error.code, error.param, error.message) == (
        "tax_id_invalid", "tax_id_data[1][value]", "Invalid value for eu_vat.")
    assert stripe_client.v1.customers.list().data == []
    assert event_types(stripe_client) == []


def test_expand_tax_ids_on_a_customer(stripe_client):
    customer = stripe_client.v1.customers.create(
        {"tax_id_data": [{"type": "au_abn", "value": "12345678912"}]})
    assert "tax_ids" not in stripe_client.v1.customers.retrieve(customer.id)
    expanded = stripe_client.v1.customers.retrieve(customer.id, {"expand": ["tax_ids"]})
    assert expanded.tax_ids.url == f"/v1/customers/{customer.id}/tax_ids"
    assert [t.value for t in expanded.tax_ids.data] == ["12345678912"]
    assert expanded.tax_ids.data[0].country == "AU"


@pytest.mark.parametrize("type_, value, country", [
    ("gb_vat", "GB123456789", "GB"), ("gb_vat", "GB 123 4567 89", "GB"),
    ("eu_vat", "DE123456789", "DE"), ("eu_vat", "FR12345678901", "FR"),
    ("eu_vat", "FRAB123456789", "FR"), ("eu_vat", "ATU12345678", "AT"),
    ("eu_vat", "NL123456789B12", "NL"), ("eu_vat", "EL123456789", "GR"),
    ("eu_vat", "IE1234567AB", "IE"), ("eu_vat", "ESA1234567Z", "ES"),
    ("eu_vat", "de 123 456 789", "DE"),
    ("us_ein", "12-3456789", "US"), ("us_ein", "123456789", "US"),
    ("au_abn", "12345678912", "AU"), ("au_abn", "12 345 678 912", "AU"),
    ("ca_bn", "123456789", "CA"),
    ("ch_vat", "CHE-123.456.789 MWST", "CH"), ("ch_vat", "CHE-123.456.789 TVA", "CH"),
    ("no_vat", "123456789MVA", "NO"),
    ("jp_cn", "1234567891234", "JP"),  # a type without a checked format
])
def test_documented_formats_are_accepted(stripe_client, type_, value, country):
    customer = stripe_client.v1.customers.create()
    txi = stripe_client.v1.customers.tax_ids.create(customer.id,
                                                    {"type": type_, "value": value})
    assert (txi.type, txi.value, txi.country) == (type_, value, country)
    again = stripe_client.v1.customers.tax_ids.retrieve(customer.id, txi.id)
    assert again.to_dict() == txi.to_dict()


@pytest.mark.parametrize("type_, value", [
    ("gb_vat", "123456789"), ("gb_vat", "GB12345678"), ("gb_vat", "DE123456789"),
    ("eu_vat", "DE12345678"), ("eu_vat", "GB123456789"), ("eu_vat", "XX123456789"),
    ("eu_vat", "FR1234567890"), ("us_ein", "12-345678"), ("au_abn", "1234567891"),
    ("ca_bn", "12345678A"), ("ch_vat", "CHE-123.456.78 MWST"), ("no_vat", "123456789"),
    ("eu_vat", "   "),
])
def test_invalid_values_are_refused_as_stripe_refuses_them(http, type_, value):
    customer = http.post(f"{http.base}/v1/customers").json()
    resp = http.post(f"{http.base}/v1/customers/{customer['id']}/tax_ids",
                     data={"type": type_, "value": value})
    assert resp.status_code == 400
    assert resp.json() == {"error": {"type": "invalid_request_error",
                                     "message": f"Invalid value for {type_}.",
                                     "code": "tax_id_invalid", "param": "value"}}
    assert http.get(f"{http.base}/v1/customers/{customer['id']}/tax_ids").json()[
        "data"] == []


def test_an_unknown_type_is_an_invalid_enum(http):
    customer = http.post(f"{http.base}/v1/customers").json()
    resp = http.post(f"{http.base}/v1/customers/{customer['id']}/tax_ids",
                     data={"type": "xx_vat", "value": "123"})
    error = resp.json()["error"]
    assert resp.status_code == 400 and error["param"] == "type"
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Invalid type: must be one of `ad_nrt`, ")
    missing = http.post(f"{http.base}/v1/customers/{customer['id']}/tax_ids",
                        data={"type": "gb_vat"}).json()["error"]
    assert (missing["code"], missing["param"]) == ("parameter_missing", "value")


@pytest.mark.parametrize("params_class", [P.CustomerTaxIdCreateParams,
                                          P.CustomerCreateParamsTaxIdDatum])
def test_the_type_enum_is_the_sdks(params_class):
    """The SDK's annotation also allows any `str`, so the generic parameter check
    cannot compare the values: compare them here, exactly."""
    literal = re.search(r"Literal\[([^\]]*)\]",
                        annotation_text(params_class.__annotations__["type"])).group(1)
    assert tax_ids.TYPES == tuple(v.strip(" '\"") for v in literal.split(","))


def test_verification_is_pending_where_stripe_verifies(stripe_client):
    customer = stripe_client.v1.customers.create()
    create = stripe_client.v1.customers.tax_ids.create
    vat = create(customer.id, {"type": "gb_vat", "value": "GB123456789"})
    ein = create(customer.id, {"type": "us_ein", "value": "12-3456789"})
    assert vat.verification.to_dict() == {"status": "pending", "verified_address": None,
                                          "verified_name": None}
    assert ein.verification.status == "unavailable"


def test_delete_and_the_events(stripe_client):
    customer = stripe_client.v1.customers.create()
    other = stripe_client.v1.customers.create()
    txi = stripe_client.v1.customers.tax_ids.create(
        customer.id, {"type": "eu_vat", "value": "FR12345678901"})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.tax_ids.retrieve(other.id, txi.id)
    assert caught.value.http_status == 404 and caught.value.code == "resource_missing"
    gone = stripe_client.v1.customers.tax_ids.delete(customer.id, txi.id)
    assert gone.deleted and gone.id == txi.id
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.customers.tax_ids.delete(customer.id, txi.id)
    created, deleted = [e.data.object for e in reversed(stripe_client.v1.events.list(
        {"type": "customer.tax_id.*"}).data)]
    assert created.id == deleted.id == txi.id and deleted.value == "FR12345678901"
