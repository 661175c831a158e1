"""Malformed request bodies: anything that is not a JSON object of the right shape is a 400
with a resultCode (never a 500, never a protocol action), and the server keeps answering."""

import json

import pytest

from adversarial_support import QUICK, I64_MAX

DEPTH = 100_000
MALFORMED = {
    "truncated object": b"{",
    "truncated string": b'{"parameters":"grant_type',
    "trailing garbage": b'{"parameters":"x"} x',
    "single quotes": b"{'parameters':'x'}",
    "bare word": b"parameters",
    "empty array": b"[]",
    "array of objects": b'[{"parameters":"grant_type=client_credentials"}]',
    "string": b'"x"',
    "number": b"42",
    "true": b"true",
    "null": b"null",
    "nested arrays": b"[" * DEPTH + b"]" * DEPTH,
    "unclosed nested arrays": b"[" * DEPTH,
    "nested objects": b'{"a":' * DEPTH + b"1" + b"}" * DEPTH,
    "nested in a member": b'{"parameters":' + b"[" * DEPTH + b"]" * DEPTH + b"}",
    "1e400": b'{"parameters":1e400}',
    "-1e400 duration": b'{"accessTokenDuration":-1e400}',
    "huge exponent": b'{"accessTokenDuration":1e999999999999}',
    "invalid UTF-8": b'{"parameters":"\xff\xfe"}',
    "UTF-16": '{"parameters":"x"}'.encode("utf-16"),
    "lone surrogate escape": b'{"parameters":"\\ud800"}',
    "NUL byte": b'{"parameters":"x"}\x00',
    "control character in string": b'{"parameters":"a\x01b"}',
    "bad escape": b'{"parameters":"\\x41"}',
    "NaN": b'{"accessTokenDuration":NaN}',
    "Infinity": b'{"accessTokenDuration":Infinity}',
    "leading zeros": b'{"accessTokenDuration":0012}',
    "hex number": b'{"accessTokenDuration":0x10}',
    "comment": b'{"parameters":"x" /* c */}',
    "trailing comma": b'{"parameters":"x",}',
}

# The members /api/auth/token reads, with values of a type none of them accepts.
TOKEN_WRONG_TYPES = {
    "parameters": [True, [], ["grant_type=client_credentials"], {}, {"a": 1}],
    "clientId": [True, [], [1], {}],
    "clientSecret": [False, [], {}, ["x"]],
    "properties": ["x", 1, True, {}, [1], ["x"], [{"key": 1}], [{"key": "k", "value": []}],
                   [{"key": "k", "value": "v", "hidden": "yes"}]],
    "accessTokenDuration": [True, [], {}, 1.5, "abc", "1.5", 1e30, I64_MAX + 1, -(I64_MAX + 2)],
    "refreshTokenDuration": [True, [], {}, 2.5, "abc", 1e30, I64_MAX + 1],
}

ENDPOINTS = ["/api/auth/token", "/api/auth/authorization", "/api/auth/introspection",
             "/api/auth/token/issue", "/api/client/create"]


def assert_bad_request(reply, what):
    assert reply.status == 400, f"{what}: {reply!r}"
    assert isinstance(reply.json, dict) and reply["resultCode"], f"{what}: {reply!r}"
    assert reply["action"] is None, f"{what}: {reply!r}"
    assert reply.elapsed < QUICK, f"{what}: answered in {reply.elapsed:.2f}s"


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_bodies_are_400(service_a, path, name):
    reply = service_a.call(path, raw=MALFORMED[name])
    assert_bad_request(reply, f"{path} {name}")


@pytest.mark.parametrize("name", ["nested arrays", "nested objects", "1e400", "array of objects"])
def test_malformed_bodies_are_400_for_the_owner_too(api, owner, name):
    reply = api.post("/api/service/create", raw=MALFORMED[name], auth=owner)
    assert_bad_request(reply, name)


@pytest.mark.parametrize("field", list(TOKEN_WRONG_TYPES))
def test_token_request_members_of_the_wrong_type_are_400(service_a, field):
    for value in TOKEN_WRONG_TYPES[field]:
        body = {"parameters": "grant_type=client_credentials", "clientId": service_a.client_id,
                "clientSecret": service_a.client_secret, field: value}
        reply = service_a.call("/api/auth/token", raw=json.dumps(body).encode())
        assert_bad_request(reply, f"{field}={value!r}")


@pytest.mark.parametrize("field,value", [("accessTokenDuration", "abc"),
                                         ("refreshTokenDuration", "1.5")])
def test_form_bodies_with_wrong_values_are_400(service_a, field, value):
    raw = (f"parameters=grant_type%3Dclient_credentials&clientId={service_a.client_id}"
           f"&{field}={value}").encode()
    reply = service_a.call("/api/auth/token", raw=raw,
                           content_type="application/x-www-form-urlencoded")
    assert_bad_request(reply, f"form {field}={value}")


def test_the_same_request_well_formed_is_answered(service_a):
    """The control: the shape the tests above break is one the server accepts."""
    body = {"parameters": "grant_type=client_credentials", "clientId": service_a.client_id,
            "clientSecret": service_a.client_secret, "properties": [{"key": "k", "value": "v"}],
            "accessTokenDuration": 60, "refreshTokenDuration": "120"}
    reply = service_a.call("/api/auth/token", raw=json.dumps(body).encode())
    assert reply.status == 200 and reply["action"] == "OK", repr(reply)
