"""The SDK's wire format: auth, errors, bracket notation, pagination, expand,
idempotency."""
import pytest
import requests
import stripe


def test_missing_key_is_401_with_stripe_error(emulator, control):
    resp = requests.get(emulator.url + "/v1/customers")
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "invalid_request_error"


def test_unknown_key_is_rejected_by_the_sdk(emulator, control):
    client = stripe.StripeClient("sk_test_wrong", base_addresses={"api": emulator.url},
                                 max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError) as exc:
        client.v1.customers.list()
    assert exc.value.http_status == 401
    assert "Invalid API Key provided" in exc.value.user_message


def test_extra_api_keys_are_accepted():
    from stripe_emulator import EmulatorServer
    with EmulatorServer(api_keys=["sk_test_other"]) as srv:
        resp = requests.get(srv.url + "/v1/customers",
                            headers={"Authorization": "Bearer sk_test_other"})
        assert resp.status_code == 200


def test_unknown_parameter_is_refused(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.customers.create({"email": "a@example.com", "foo": "bar"})
    assert exc.value.code == "parameter_unknown"
    assert exc.value.param == "foo"
    assert exc.value.user_message == "Received unknown parameter: foo"


def test_unknown_nested_parameter_names_its_full_path(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.customers.create({"address": {"line1": "x", "planet": "Mars"}})
    assert exc.value.param == "address[planet]"


def test_missing_parameter(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.products.create({})
    assert exc.value.code == "parameter_missing"
    assert exc.value.param == "name"


def test_missing_object_is_404_resource_missing(stripe_client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        stripe_client.v1.customers.retrieve("cus_nope")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"
    assert exc.value.param == "id"


def test_bracket_notation_round_trips(stripe_client):
    cus = stripe_client.v1.customers.create({
        "email": "jo@example.com", "name": "Jo",
        "address": {"line1": "1 High St", "city": "Leeds", "country": "GB"},
        "metadata": {"user_id": "42"}})
    assert cus.address.city == "Leeds" and cus.address.line2 is None
    assert cus.metadata["user_id"] == "42"
    assert cus.livemode is False
    cus = stripe_client.v1.customers.update(cus.id, {"metadata": {"user_id": ""}})
    assert "user_id" not in cus.metadata


def test_pagination_newest_first_with_cursor(stripe_client):
    ids = [stripe_client.v1.customers.create({"email": f"c{i}@example.com"}).id
           for i in range(5)]
    page = stripe_client.v1.customers.list({"limit": 2})
    assert [c.id for c in page.data] == ids[::-1][:2] and page.has_more
    rest = stripe_client.v1.customers.list({"limit": 10, "starting_after": page.data[-1].id})
    assert [c.id for c in rest.data] == ids[::-1][2:] and not rest.has_more
    assert [c.id for c in page.auto_paging_iter()] == ids[::-1]


def test_expand_ids_into_objects(stripe_client):
    product = stripe_client.v1.products.create({"name": "Gold"})
    stripe_client.v1.prices.create({"product": product.id, "currency": "gbp",
                                    "unit_amount": 2000})
    prices = stripe_client.v1.prices.list({"expand": ["data.product"]})
    assert prices.data[0].product.name == "Gold"
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.prices.list({"expand": ["data.nothing_here"]})


def test_idempotency_replays_the_same_response(http, emulator):
    url = emulator.url + "/v1/customers"
    headers = {"Idempotency-Key": "key-1"}
    first = http.post(url, data={"email": "a@example.com"}, headers=headers)
    again = http.post(url, data={"email": "a@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(http.get(url).json()["data"]) == 1


def test_idempotency_key_with_other_parameters_is_an_error(stripe_client):
    stripe_client.v1.customers.create({"email": "a@example.com"},
                                      {"idempotency_key": "key-2"})
    with pytest.raises(stripe.IdempotencyError):
        stripe_client.v1.customers.create({"email": "b@example.com"},
                                          {"idempotency_key": "key-2"})


def test_validation_failures_are_not_remembered(http, emulator):
    url = emulator.url + "/v1/customers"
    headers = {"Idempotency-Key": "key-3"}
    assert http.post(url, data={"bogus": "1"}, headers=headers).status_code == 400
    assert http.post(url, data={"email": "a@example.com"}, headers=headers).status_code == 200


def test_unknown_route_is_stripe_404(http, emulator):
    resp = http.get(emulator.url + "/v1/nothing")
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "invalid_request_error"
