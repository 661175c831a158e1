"""Bad credentials and bad settings: API keys in any but the canonical decimal form, broken
Authorization headers, a wrong client secret, client web URIs that are not https, and an
update that carries no settings."""

import base64

import pytest

from adversarial_support import REDIRECT, basic, client_settings


def b64(raw):
    return "Basic " + base64.b64encode(raw).decode()


def key_variants(key):
    """(name, function of the secret giving the Authorization header value) pairs."""
    return [
        ("leading zero", lambda s: basic("0" + key, s)),
        ("two leading zeros", lambda s: basic("00" + key, s)),
        ("leading plus", lambda s: basic("+" + key, s)),
        ("leading space", lambda s: basic(" " + key, s)),
        ("trailing space", lambda s: basic(key + " ", s)),
        ("inner space", lambda s: basic(key[:2] + " " + key[2:], s)),
        ("negative", lambda s: basic("-" + key, s)),
        ("30 digits", lambda s: basic("9" * 30, s)),
        ("i64 max + 1", lambda s: basic("9223372036854775808", s)),
        ("hexadecimal", lambda s: basic(hex(int(key)), s)),
        ("exponent", lambda s: basic(f"{key}e0", s)),
        ("arabic-indic digits", lambda s: basic("\u0661\u0662\u0663", s)),
        ("empty key", lambda s: basic("", s)),
        ("non-UTF-8 header", lambda s: b"Basic \xff\xfe\xfd"),
        ("non-UTF-8 credentials", lambda s: b64(b"\xff\xfe:" + s.encode())),
        ("missing colon", lambda s: b64(key.encode() + s.encode())),
        ("bad base64", lambda s: "Basic !!!not*base64"),
        ("truncated base64", lambda s: basic(key, s)[:-3]),
        ("no credentials after Basic", lambda s: "Basic"),
        ("Bearer scheme", lambda s: "Bearer " + s),
        ("empty header", lambda s: ""),
        ("wrong secret", lambda s: basic(key, s + "x")),
        ("empty secret", lambda s: basic(key, "")),
        ("NUL in key", lambda s: basic(key + "\x00", s)),
    ]


def assert_unauthorized(reply, what):
    assert reply.status == 401, f"{what}: {reply!r}"
    assert isinstance(reply.json, dict), f"{what}: {reply!r}"
    assert reply["resultCode"], f"{what}: {reply!r}"
    assert reply["action"] is None, f"{what}: {reply!r}"
    assert set(reply.json) == {"resultCode", "resultMessage"}, f"{what}: {reply!r}"


SERVICE_CALLS = [
    ("POST", "/api/auth/introspection", {"token": "x"}),
    ("POST", "/api/auth/authorization", {"parameters": "response_type=code"}),
    ("GET", "/api/client/get/list", None),
]


@pytest.mark.parametrize("method,path,body", SERVICE_CALLS, ids=[c[1] for c in SERVICE_CALLS])
def test_service_credentials_in_any_other_form_are_refused(service_a, service_b, api, owner,
                                                          method, path, body):
    good = api.request(method, path, auth=service_a.creds, body=body)
    assert good.status == 200, repr(good)
    for name, header in key_variants(service_a.key):
        reply = api.request(method, path, auth=header(service_a.secret), body=body)
        assert_unauthorized(reply, name)
    assert_unauthorized(api.request(method, path, body=body), "no Authorization header")
    # Another service's secret, and the owner's credentials, are not this service's.
    for name, creds in [("B's secret", (service_a.key, service_b.secret)), ("owner", owner),
                        ("A's key with the owner's secret", (service_a.key, owner[1]))]:
        assert_unauthorized(api.request(method, path, body=body, auth=creds), name)


def test_owner_credentials_in_any_other_form_are_refused(api, owner, service_a):
    assert api.get("/api/service/get/list", auth=owner).status == 200
    key, secret = owner
    for path, method, body in [("/api/service/get/list", "GET", None),
                               ("/api/service/create", "POST", {"serviceName": "x"}),
                               (f"/api/service/get/{service_a.key}", "GET", None)]:
        for name, header in key_variants(key):
            reply = api.request(method, path, auth=header(secret), body=body)
            assert_unauthorized(reply, f"{path}: {name}")
        assert_unauthorized(api.request(method, path, body=body), f"{path}: no header")
        # A service's credentials are not an owner's.
        assert_unauthorized(api.request(method, path, body=body, auth=service_a.creds),
                            f"{path}: service credentials")


def test_a_wrong_client_secret_is_invalid_client(service_a):
    for secret in ("wrong", service_a.client_secret + "x", service_a.client_secret[:-1], " "):
        reply = service_a.token("grant_type=client_credentials", client_secret=secret)
        assert reply.status == 200, repr(reply)
        assert reply["action"] == "INVALID_CLIENT", f"secret {secret!r}: {reply!r}"
        assert not reply["accessToken"], repr(reply)


WEB_URIS = ["logoUri", "policyUri", "tosUri", "clientUri", "jwksUri"]
NOT_HTTPS = ["javascript:alert(1)", "JavaScript:alert(1)", "http://example.com/x",
             "data:text/html,<script>alert(1)</script>", "file:///etc/passwd",
             "//example.com/x", " javascript:alert(1)", "https://"]


@pytest.mark.parametrize("member", WEB_URIS)
def test_client_web_uris_must_be_https(service_a, api, member):
    for value in NOT_HTTPS:
        reply = api.post("/api/client/create", client_settings(**{member: value}),
                         auth=service_a.creds)
        assert reply.status == 400, f"{member}={value!r}: {reply!r}"
        assert member in reply["resultMessage"], repr(reply)
    fine = api.post("/api/client/create",
                    client_settings(**{member: "https://app.example.com/x"}),
                    auth=service_a.creds)
    assert fine.status == 200, repr(fine)
    api.request("DELETE", f"/api/client/delete/{fine['clientId']}", auth=service_a.creds)


@pytest.mark.parametrize("member", ["logoUris", "policyUris", "tosUris", "clientUris"])
def test_tagged_client_web_uris_must_be_https(service_a, api, member):
    reply = api.post("/api/client/create",
                     client_settings(**{member: [{"tag": "ja", "value": "javascript:alert(1)"}]}),
                     auth=service_a.creds)
    assert reply.status == 400, f"{member}: {reply!r}"


def test_a_service_update_without_settings_is_refused_and_changes_nothing(scratch_service, api,
                                                                          owner):
    before = scratch_service.owner_get()
    assert isinstance(before.get("jwks"), str) and before["jwks"], before
    for body in ({}, {"apiKey": int(scratch_service.key)}, {"apiKey": scratch_service.key}):
        reply = api.post(f"/api/service/update/{scratch_service.key}", body, auth=owner)
        assert reply.status == 400, f"{body}: {reply!r}"
    after = scratch_service.owner_get()
    assert after["jwks"] == before["jwks"]
    assert after == before
    # The service still works: its keys sign, its client gets tokens.
    assert scratch_service.access_token()


def test_a_client_update_without_settings_is_refused(scratch_service, api):
    path = f"/api/client/get/{scratch_service.client_id}"
    before = api.get(path, auth=scratch_service.creds).json
    reply = api.post(f"/api/client/update/{scratch_service.client_id}", {},
                     auth=scratch_service.creds)
    assert reply.status == 400, repr(reply)
    assert api.get(path, auth=scratch_service.creds).json == before
    assert before["redirectUris"] == [REDIRECT]
