"""Token lifetimes beyond the documented maximum (100 years): refused in settings, cut to the
maximum where a protocol call passes one, and never overflowing into an expiry in the past."""

import time

import pytest

from adversarial_support import I64_MAX, MAX_DURATION, service_settings

SERVICE_DURATIONS = ["accessTokenDuration", "refreshTokenDuration", "idTokenDuration"]
TOO_BIG = [MAX_DURATION + 1, 9_000_000_000_000_000, I64_MAX]


def now_ms():
    return int(time.time() * 1000)


@pytest.mark.parametrize("field", SERVICE_DURATIONS)
@pytest.mark.parametrize("value", TOO_BIG + [-1])
def test_service_create_refuses_durations_out_of_range(api, owner, field, value):
    reply = api.post("/api/service/create", service_settings(**{field: value}), auth=owner)
    if reply.status == 200:  # do not leave it behind
        api.request("DELETE", f"/api/service/delete/{reply['apiKey']}", auth=owner)
    assert reply.status == 400, f"{field}={value}: {reply!r}"
    assert reply["resultCode"] and reply["action"] is None, repr(reply)


@pytest.mark.parametrize("field", SERVICE_DURATIONS)
def test_service_create_accepts_the_maximum(api, owner, field):
    reply = api.post("/api/service/create", service_settings(**{field: MAX_DURATION}), auth=owner)
    assert reply.status == 200, repr(reply)
    api.request("DELETE", f"/api/service/delete/{reply['apiKey']}", auth=owner)


@pytest.mark.parametrize("field", SERVICE_DURATIONS)
def test_service_update_refuses_durations_out_of_range(scratch_service, api, owner, field):
    before = scratch_service.owner_get()
    for value in TOO_BIG:
        reply = api.post(f"/api/service/update/{scratch_service.key}",
                         dict(before, **{field: value}), auth=owner)
        assert reply.status == 400, f"{field}={value}: {reply!r}"
    assert scratch_service.owner_get() == before


@pytest.mark.parametrize("value", TOO_BIG + [-1])
def test_client_extension_refuses_durations_out_of_range(scratch_service, api, value):
    path = f"/api/client/get/{scratch_service.client_id}"
    client = api.get(path, auth=scratch_service.creds)
    assert client.status == 200, repr(client)
    for field in ("accessTokenDuration", "refreshTokenDuration"):
        body = dict(client.json,
                    extension=dict(client.json.get("extension") or {}, **{field: value}))
        reply = api.post(f"/api/client/update/{scratch_service.client_id}", body,
                         auth=scratch_service.creds)
        assert reply.status == 400, f"extension.{field}={value}: {reply!r}"
    assert api.get(path, auth=scratch_service.creds).json == client.json


def assert_sane_expiry(token_reply, started_ms):
    expires_at = token_reply["accessTokenExpiresAt"]
    assert isinstance(expires_at, int) and expires_at > 0, repr(token_reply)
    assert started_ms < expires_at <= now_ms() + MAX_DURATION * 1000 + 60_000, repr(token_reply)
    expires_in = token_reply.content()["expires_in"]
    assert 0 < expires_in <= MAX_DURATION, repr(token_reply)


def test_a_huge_duration_at_authorization_issue_is_cut_to_the_maximum(service_a):
    started = now_ms()
    a = service_a.authorize(service_a.base_params())
    assert a["action"] == "INTERACTION", repr(a)
    issued = service_a.issue(a["ticket"], accessTokenDuration=I64_MAX,
                             refreshTokenDuration=I64_MAX)
    assert issued["action"] == "LOCATION", repr(issued)
    token = service_a.redeem(issued["authorizationCode"])
    assert token["action"] == "OK", repr(token)
    assert_sane_expiry(token, started)
    refresh_at = token["refreshTokenExpiresAt"]
    assert isinstance(refresh_at, int) and refresh_at > started, repr(token)
    intro = service_a.introspect(token["accessToken"])
    assert intro["action"] == "OK" and intro["usable"] is True, repr(intro)
    assert intro["expiresAt"] == token["accessTokenExpiresAt"], repr(intro)


def test_a_huge_duration_at_the_token_endpoint_is_cut_to_the_maximum(service_a):
    started = now_ms()
    token = service_a.call("/api/auth/token", {
        "parameters": "grant_type=client_credentials", "clientId": service_a.client_id,
        "clientSecret": service_a.client_secret, "accessTokenDuration": I64_MAX,
        "refreshTokenDuration": I64_MAX})
    assert token.status == 200 and token["action"] == "OK", repr(token)
    assert_sane_expiry(token, started)
    assert service_a.introspect(token["accessToken"])["action"] == "OK"
