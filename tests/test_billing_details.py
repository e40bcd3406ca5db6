"""Billing details on /settings/billing through the emulator: name, address and tax ID saved
on the Stripe customer (created on first save), the tax ID replaced by create-then-delete,
Stripe's refusals as field errors, and the page with billing off or Stripe not answering."""

import re

import pytest
import sqlalchemy as sa
import stripe

from app.billing import gateway
from app.billing.errors import InvalidBillingDetails, StripeRejected
from app.billing.forms import countries
from app.billing.models import BillingInfo
from app.extensions import db
from tests.conftest import csrf_token

PAGE = "/settings/billing"
SAVE = "/settings/billing/details"
DETAILS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "line2": "Flat 2",
           "city": "London", "postal_code": "SW1Y 4JH", "country": "GB",
           "tax_type": "gb_vat", "tax_value": "GB123456789"}


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def alice(make_user, login):
    user = make_user("alice")
    login(user)
    return user


def save(client, **fields):
    data = {**DETAILS, **fields, "csrf_token": csrf_token(client, PAGE)}
    return client.post(SAVE, data=data)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def customer_id(app, user) -> str | None:
    with app.app_context():
        return db.session.scalar(sa.select(BillingInfo.stripe_customer_id)
                                 .where(BillingInfo.user_id == user.id))


def at_stripe(app, user) -> stripe.Customer:
    """The user's customer as the emulator holds it, tax IDs included."""
    with app.app_context():
        return gateway.retrieve_customer(customer_id(app, user), expand=["tax_ids"])


def tax_ids(app, user) -> list[tuple[str, str]]:
    return [(t.type, t.value) for t in at_stripe(app, user).tax_ids.data]


def event_types(app) -> list[str]:
    """The emulator's customer events, oldest first."""
    with app.app_context():
        events = gateway.client().v1.events.list(params={"limit": 100}).data
    return [e.type for e in reversed(events) if e.type.startswith("customer.")]


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert match, f"no error shown on {field}"
    return match.group(1)


# --- the page -------------------------------------------------------------------------

def test_page_and_action_need_a_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.location
    response = client.post(SAVE, data={**DETAILS, "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 302 and "/login" in response.location


def test_without_a_customer_the_form_is_empty_and_nothing_is_created(app, client, alice):
    response = client.get(PAGE)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = text(response)
    assert "<h2 id=\"details-heading\">Billing details</h2>" in page
    assert 'name="name" type="text" value=""' in page
    assert '<option selected value="">Choose…</option>' in page
    assert '<option selected value="">None</option>' in page
    assert 'id="cards-heading"' in page  # the cards section is included below
    assert customer_id(app, alice) is None
    with app.app_context():
        assert gateway.client().v1.customers.list().data == []


def test_the_country_list_is_every_iso_country_by_english_name(client, alice):
    codes = [code for code, _ in countries()]
    names = [name for _, name in countries()]
    assert len(codes) == len(set(codes)) == 250  # ISO 3166-1's 249, and Kosovo (XK)
    assert ("GB", "United Kingdom") in countries() and ("DE", "Germany") in countries()
    assert not {"EU", "UN", "ZZ", "QO", "AC", "IC"} & set(codes)
    assert names[:2] == ["Afghanistan", "Åland Islands"] and names[-1] == "Zimbabwe"
    page = text(client.get(PAGE))
    assert '<option value="GB">United Kingdom</option>' in page
    # People's words only: no API codes ("UK VAT (gb_vat)") in what the list says.
    assert '<option value="gb_vat">UK VAT</option>' in page
    assert '<option value="eu_vat">EU VAT</option>' in page
    assert "(gb_vat)" not in page and ">gb_vat<" not in page


def test_settings_links_to_the_billing_page(client, alice):
    assert 'href="/settings/billing">Billing details and cards</a>' in \
        client.get("/settings").get_data(as_text=True)


# --- saving -----------------------------------------------------------------------------

def test_first_save_creates_the_customer_and_stores_the_details_at_stripe(app, client, alice):
    response = save(client)
    assert response.status_code == 303 and response.location == PAGE
    customer = at_stripe(app, alice)
    assert customer.email == "alice@example.com"
    assert customer.name == "Ada Lovelace"
    assert customer.address.to_dict() == {
        "line1": "12 St James's Square", "line2": "Flat 2", "city": "London",
        "postal_code": "SW1Y 4JH", "country": "GB", "state": None}
    assert tax_ids(app, alice) == [("gb_vat", "GB123456789")]
    page = text(client.get(PAGE))
    assert "Billing details saved." in page
    # Read back from Stripe into the form.
    assert 'name="name" type="text" value="Ada Lovelace"' in page
    assert 'value="12 St James&#39;s Square"' in page
    assert '<option selected value="GB">United Kingdom</option>' in page
    assert '<option selected value="gb_vat">UK VAT</option>' in page
    assert 'name="tax_value" type="text" value="GB123456789"' in page


def test_changing_the_tax_id_creates_the_new_one_then_deletes_the_old(app, client, alice):
    save(client)
    old = at_stripe(app, alice).tax_ids.data[0].id
    assert save(client, tax_type="eu_vat", tax_value="DE123456789").status_code == 303
    [new] = at_stripe(app, alice).tax_ids.data
    assert (new.type, new.value) == ("eu_vat", "DE123456789") and new.id != old
    assert event_types(app)[-2:] == ["customer.tax_id.created", "customer.tax_id.deleted"]
    # Back to the first value: created again (no idempotent replay of the deleted one).
    assert save(client).status_code == 303
    assert tax_ids(app, alice) == [("gb_vat", "GB123456789")]


def test_an_unchanged_save_changes_nothing_at_stripe(app, client, alice):
    save(client)
    before = event_types(app)
    # Spaces and letter case are not a different number.
    assert save(client, tax_value=" gb 123 456 789 ").status_code == 303
    assert event_types(app) == before
    assert "Billing details saved." in text(client.get(PAGE))


def test_only_what_changed_is_sent(app, client, alice):
    save(client)
    before = len(event_types(app))
    save(client, city="York")
    assert event_types(app)[before:] == ["customer.updated"]
    assert at_stripe(app, alice).address.city == "York"
    assert tax_ids(app, alice) == [("gb_vat", "GB123456789")]


def test_choosing_none_deletes_the_tax_id_and_empty_fields_clear_the_rest(app, client, alice):
    save(client)
    empty = {key: "" for key in DETAILS}
    assert save(client, **empty).status_code == 303
    customer = at_stripe(app, alice)
    assert customer.tax_ids.data == []
    assert customer.name is None and customer.address is None


def test_an_empty_form_from_a_user_without_a_customer_creates_none(app, client, alice):
    response = save(client, **{key: "" for key in DETAILS})
    assert response.status_code == 303
    assert customer_id(app, alice) is None


# --- refusals ---------------------------------------------------------------------------

def test_an_invalid_vat_number_is_a_field_error_and_the_old_one_stays(app, client, alice):
    save(client)
    before = event_types(app)
    response = save(client, name="Ada King", tax_type="eu_vat", tax_value="DE12345")
    assert response.status_code == 422
    page = text(response)
    assert field_error(page, "tax_value") == \
        "That is not a valid EU VAT number (for example DE123456789)."
    assert re.search(r'<input aria-describedby="tax_value-error" aria-invalid="true"[^>]* '
                     r'id="tax_value"', page)
    assert "Please correct the highlighted field." in page
    # What was typed is still in the form, to correct.
    assert 'value="Ada King"' in page and 'value="DE12345"' in page
    # Nothing was saved: the old tax ID and the old name are still there.
    assert tax_ids(app, alice) == [("gb_vat", "GB123456789")]
    assert at_stripe(app, alice).name == "Ada Lovelace"
    assert event_types(app) == before


def test_an_invalid_first_tax_id_keeps_the_new_customer(app, client, alice):
    response = save(client, tax_value="GB12")
    assert response.status_code == 422
    assert field_error(text(response), "tax_value") == \
        "That is not a valid UK VAT number (for example GB123456789)."
    assert customer_id(app, alice) is not None  # created at Stripe, so kept here
    assert tax_ids(app, alice) == []


def test_a_refused_postal_code_saves_no_part_of_the_form(app, client, alice, monkeypatch):
    """Stripe's postal_code_invalid (the emulator never sends it): a field error, and the
    tax ID created a moment before is taken back."""
    save(client)

    def refuse(customer_id, params):
        raise InvalidBillingDetails("postal_code", "That postal code is not valid.",
                                    code="postal_code_invalid")

    monkeypatch.setattr(gateway, "update_customer_details", refuse)
    response = save(client, postal_code="XX", tax_type="eu_vat", tax_value="DE123456789")
    assert response.status_code == 422
    assert field_error(text(response), "postal_code") == "That postal code is not valid."
    assert tax_ids(app, alice) == [("gb_vat", "GB123456789")]


@pytest.mark.parametrize("code, param, field, message", [
    ("tax_id_invalid", "value", "tax_value", "That is not a valid tax ID of this type."),
    ("postal_code_invalid", "address[postal_code]", "postal_code",
     "That is not a valid postal code for the country chosen."),
    ("postal_code_invalid", None, "postal_code",
     "That is not a valid postal code for the country chosen."),
    ("country_code_invalid", "address[country]", "country", "Choose a country from the list."),
    ("invalid_characters", "name", "name", "Our payment provider does not accept some of the "
                                           "characters in this field; please remove them."),
    ("invalid_characters", "address[line1]", "line1", "Our payment provider does not accept "
                                                      "some of the characters in this field; "
                                                      "please remove them."),
])
def test_stripe_refusals_a_person_can_fix_name_the_field(app, code, param, field, message):
    with app.app_context(), pytest.raises(InvalidBillingDetails) as caught:
        with gateway._details_errors("update details of customer cus_1"):
            raise stripe.InvalidRequestError("Refused.", param, code=code)
    assert (caught.value.field, caught.value.code, caught.value.status) == (field, code, 422)
    assert str(caught.value) == message


def test_other_refusals_are_the_usual_billing_error(app):
    with app.app_context(), pytest.raises(StripeRejected):
        with gateway._details_errors("update details of customer cus_1"):
            raise stripe.InvalidRequestError("Received unknown parameter: x", "x",
                                             code="parameter_unknown")
    with app.app_context(), pytest.raises(StripeRejected):  # no field to name
        with gateway._details_errors("update details of customer cus_1"):
            raise stripe.InvalidRequestError("Bad characters.", None,
                                             code="invalid_characters")


@pytest.mark.parametrize("fields, field, message", [
    ({"tax_value": ""}, "tax_value", "Enter the tax ID number, or choose None."),
    ({"tax_type": ""}, "tax_type", "Choose the kind of tax ID, or leave the number empty."),
    ({"tax_type": "xx_vat"}, "tax_type", "Choose a kind of tax ID from the list."),
    ({"country": "ZZ"}, "country", "Choose a country from the list."),
    ({"name": "A" * 151}, "name", "Use at most 150 characters."),
    ({"postal_code": "1" * 21}, "postal_code", "Use at most 20 characters."),
    ({"line1": "1 High\nStreet"}, "line1", "Remove the control character"),
])
def test_the_form_checks_before_stripe_is_asked(app, client, alice, fields, field, message):
    response = save(client, **fields)
    assert response.status_code == 422
    assert field_error(text(response), field).startswith(message)
    assert customer_id(app, alice) is None  # Stripe was not asked


def test_saving_needs_the_csrf_token(app, client, alice):
    response = client.post(SAVE, data=DETAILS)
    assert response.status_code == 400
    assert customer_id(app, alice) is None


def test_saving_is_rate_limited(client, alice):
    token = csrf_token(client, PAGE)
    statuses = [client.post(SAVE, data={**DETAILS, "tax_value": "", "csrf_token": token})
                .status_code for _ in range(11)]
    assert statuses == [422] * 10 + [429]


# --- what Stripe holds that the form does not offer --------------------------------------

def test_a_tax_id_of_another_type_is_shown_and_kept(app, client, alice):
    save(client, tax_type="", tax_value="")
    with app.app_context():
        gateway.create_tax_id(customer_id(app, alice), "jp_cn", "1234567891234")
    page = text(client.get(PAGE))
    assert '<option selected value="jp_cn">Japan CN</option>' in page  # not the code
    before = event_types(app)
    assert save(client, tax_type="jp_cn", tax_value="1234567891234").status_code == 303
    assert event_types(app) == before


def test_several_tax_ids_at_stripe_become_the_one_saved(app, client, alice):
    save(client)
    with app.app_context():
        gateway.create_tax_id(customer_id(app, alice), "eu_vat", "DE123456789")
    page = text(client.get(PAGE))
    assert 'value="DE123456789"' in page  # the newest is shown
    assert "Stripe holds 1 more tax ID for you. Saving keeps only the one above." in page
    assert save(client, tax_type="eu_vat", tax_value="DE123456789").status_code == 303
    assert tax_ids(app, alice) == [("eu_vat", "DE123456789")]


def test_a_state_set_elsewhere_is_kept(app, client, alice):
    save(client)
    with app.app_context():
        gateway.update_customer_details(customer_id(app, alice), {"address": {
            **{k: DETAILS[k] for k in ("line1", "line2", "city", "postal_code", "country")},
            "state": "Greater London"}})
    save(client, city="Westminster")
    address = at_stripe(app, alice).address
    assert (address.city, address.state) == ("Westminster", "Greater London")


# --- billing off, Stripe not answering ----------------------------------------------------

def test_billing_off_shows_a_notice_disables_the_form_and_refuses_with_503(app, client, alice):
    app.config.update(BILLING_ENABLED=False, STRIPE_SECRET_KEY="")
    response = client.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert "Billing details can&#39;t be changed right now. Please try again later." in page
    assert '<fieldset class="plain" disabled>' in page
    response = save(client)
    assert response.status_code == 503
    assert "Billing details can&#39;t be changed right now. Nothing was saved" in text(response)
    assert customer_id(app, alice) is None


@pytest.fixture
def unreachable(app, alice):
    """Stripe's address points nowhere; alice already has a customer."""
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    app.extensions.pop("stripe_client", None)
    with app.app_context():
        db.session.add(BillingInfo(user_id=alice.id, stripe_customer_id="cus_unreachable"))
        db.session.commit()


def test_stripe_not_answering_the_page_still_renders(client, unreachable):
    response = client.get(PAGE)
    assert response.status_code == 200
    page = text(response)
    assert "We could not load your billing details from our payment provider just now" in page
    assert '<fieldset class="plain" disabled>' in page
    assert 'id="cards-heading"' in page


def test_stripe_not_answering_a_save_says_so_and_keeps_what_was_typed(client, unreachable):
    response = save(client)
    assert response.status_code == 503
    page = text(response)
    assert ("Our payment provider did not answer, so your billing details may not have been "
            "saved. Please try again in a moment.") in page
    assert 'If it keeps happening, write to <a href="mailto:support@lumen.example">' in page
    assert 'value="Ada Lovelace"' in page and "Traceback" not in page
