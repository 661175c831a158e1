"""CR/LF and other control characters in redirect URIs and state: refused where they would
become part of a URI, percent-encoded where they are echoed, never raw in a Location the
authorization server would put in a header."""

import urllib.parse

import pytest

from adversarial_support import REDIRECT, client_settings, redirect_query

CONTROL = ["\r\n\r\n", "\r", "\n", "\t", "\x00", "\x7f", "\x1b"]
HOSTILE_REDIRECTS = [
    "http://127.0.0.1:4444/c\r\n\r\nb",
    "http://127.0.0.1:4444/c\tb",
    "http://127.0.0.1:4444/c\x00b",
    "http://127.0.0.1:4444/cb\x7f",
    "http://127.0.0.1/cb\n",
    "http://127.0.0.1:4444/cb\r\nSet-Cookie: a=b",
    "http://127.0.0.1:4444\r\n/cb",
]
HOSTILE_STATE = "a\r\nSet-Cookie: session=x\r\n\r\n<script>alert(1)</script>\t\x00\x7f"


def enc(value):
    return urllib.parse.quote(value, safe="")


def no_raw_controls(text):
    return text is None or not any(ch in text for ch in "\r\n\x00")


def ask(service, redirect_uri, extra=""):
    return service.authorize(f"response_type=code&client_id={service.client_id}&state=s"
                             f"&redirect_uri={enc(redirect_uri)}{extra}")


@pytest.mark.parametrize("redirect_uri", HOSTILE_REDIRECTS, ids=repr)
def test_redirect_uris_with_control_characters_are_refused(loopback_service, redirect_uri):
    reply = ask(loopback_service, redirect_uri)
    assert reply.status == 200, repr(reply)
    assert reply["action"] == "BAD_REQUEST", f"{redirect_uri!r}: {reply!r}"
    assert no_raw_controls(reply["responseContent"]), repr(reply["responseContent"])
    assert reply.content()["error"] == "invalid_request", repr(reply)


def test_the_variable_loopback_port_still_works(loopback_service):
    reply = ask(loopback_service, "http://127.0.0.1:4444/cb")
    assert reply["action"] == "INTERACTION", repr(reply)
    issued = loopback_service.issue(reply["ticket"])
    location = issued["responseContent"]
    assert location.startswith("http://127.0.0.1:4444/cb?") and "code=" in location, location


def test_escaped_control_characters_in_the_path_do_not_match(loopback_service):
    """`%0D%0A` left encoded is a different path, not the registered one."""
    reply = ask(loopback_service, "http://127.0.0.1:4444/c%0D%0Ab")
    assert reply["action"] == "BAD_REQUEST", repr(reply)
    assert no_raw_controls(reply["responseContent"]), repr(reply["responseContent"])


def test_state_with_crlf_is_refused_and_not_echoed(service_a):
    # RFC 6749 Appendix A.5: state is printable ASCII. A control character would come back
    # altered (form_post pages, browsers), so such a state is refused (C013301) and not echoed.
    params = service_a.base_params().replace("&state=s", "") + f"&state={enc(HOSTILE_STATE)}"
    reply = service_a.authorize(params)
    assert reply.status == 200, repr(reply)
    assert reply["action"] == "LOCATION", repr(reply)
    assert reply["resultCode"] == "C013301", repr(reply)
    location = reply["responseContent"]
    assert no_raw_controls(location), repr(location)
    query = redirect_query(location)
    assert query["error"] == "invalid_request", location
    assert "state" not in query, location


def test_state_with_crlf_is_refused_before_other_errors(service_a):
    params = (service_a.base_params().replace("&state=s", "")
              + f"&prompt=bogus&state={enc(HOSTILE_STATE)}")
    reply = service_a.authorize(params)
    assert reply["action"] == "LOCATION", repr(reply)
    assert reply["resultCode"] == "C013301", repr(reply)
    location = reply["responseContent"]
    assert no_raw_controls(location), repr(location)
    assert "state" not in redirect_query(location), location


@pytest.mark.parametrize("control", CONTROL, ids=repr)
def test_client_registration_refuses_control_characters_in_redirect_uris(service_a, api,
                                                                        control):
    for uri in (f"https://client.example.org/c{control}b", f"https://client.example.org/cb{control}"):
        reply = api.post("/api/client/create", client_settings(redirectUris=[REDIRECT, uri]),
                         auth=service_a.creds)
        assert reply.status == 400, f"{uri!r}: {reply!r}"
        assert reply["resultCode"] and reply["action"] is None, repr(reply)


@pytest.mark.parametrize("control", ["\r\n", "\x00"], ids=repr)
def test_client_update_refuses_control_characters_in_redirect_uris(scratch_service, api,
                                                                  control):
    path = f"/api/client/get/{scratch_service.client_id}"
    client = api.get(path, auth=scratch_service.creds)
    assert client.status == 200, repr(client)
    body = dict(client.json, redirectUris=[f"https://client.example.org/c{control}b"])
    reply = api.post(f"/api/client/update/{scratch_service.client_id}", body,
                     auth=scratch_service.creds)
    assert reply.status == 400, repr(reply)
    after = api.get(path, auth=scratch_service.creds).json
    assert after["redirectUris"] == client.json["redirectUris"], after
