"""One service attacking another's tickets, codes and tokens: service B holds values that
service A issued. B must learn nothing (the same answer as for a value that does not exist),
and A's values must keep working."""

import pytest

AUTHORIZATION_TICKET_CALLS = [
    ("/api/auth/authorization/issue", {"subject": "mallory"}),
    ("/api/auth/authorization/fail", {"reason": "DENIED"}),
]
TOKEN_TICKET_CALLS = [
    ("/api/auth/token/issue", {"subject": "mallory"}),
    ("/api/auth/token/fail", {"reason": "INVALID_RESOURCE_OWNER_CREDENTIALS"}),
]


def same_as_unknown(service, path, body, ticket):
    foreign = service.call(path, {**body, "ticket": ticket})
    unknown = service.call(path, {**body, "ticket": "no-such-ticket"})
    assert foreign.status == unknown.status == 200, f"{foreign!r} / {unknown!r}"
    assert foreign["action"] == unknown["action"], f"{path}: {foreign!r} vs {unknown!r}"
    assert foreign["resultCode"] == unknown["resultCode"], f"{path}: {foreign!r} vs {unknown!r}"
    assert foreign["action"] not in ("OK", "LOCATION", "FORM"), repr(foreign)
    return foreign


@pytest.mark.parametrize("path,body", AUTHORIZATION_TICKET_CALLS)
def test_authorization_tickets_of_another_service(service_a, service_b, path, body):
    a = service_a.authorize(service_a.base_params())
    assert a["action"] == "INTERACTION", repr(a)
    ticket = a["ticket"]
    foreign = same_as_unknown(service_b, path, body, ticket)
    # A's ticket is untouched.
    mine = service_a.issue(ticket)
    assert mine["action"] == "LOCATION", repr(mine)
    assert "code=" in mine["responseContent"]


@pytest.mark.parametrize("path,body", TOKEN_TICKET_CALLS)
def test_token_tickets_of_another_service(service_a, service_b, path, body):
    pw = service_a.token("grant_type=password&username=john&password=pw")
    assert pw["action"] == "PASSWORD", repr(pw)
    ticket = pw["ticket"]
    same_as_unknown(service_b, path, body, ticket)
    issued = service_a.ok("/api/auth/token/issue", {"ticket": ticket, "subject": "john"})
    assert issued["action"] == "OK", repr(issued)
    assert issued["accessToken"], repr(issued)


def test_introspecting_another_services_token(service_a, service_b):
    token = service_a.access_token()
    foreign = service_b.call("/api/auth/introspection", {"token": token})
    unknown = service_b.call("/api/auth/introspection", {"token": "no-such-token"})
    assert foreign.status == unknown.status == 200, f"{foreign!r} / {unknown!r}"
    assert foreign["action"] == unknown["action"] == "UNAUTHORIZED", repr(foreign)
    assert foreign["resultCode"] == unknown["resultCode"], f"{foreign!r} vs {unknown!r}"
    assert not foreign["subject"], repr(foreign)
    mine = service_a.introspect(token)
    assert mine["action"] == "OK" and mine["subject"] == "john", repr(mine)


def test_revoking_another_services_token(service_a, service_b):
    token = service_a.access_token()

    def revoke(params):
        reply = service_b.call("/api/auth/revocation", {
            "parameters": params, "clientId": service_b.client_id,
            "clientSecret": service_b.client_secret})
        assert reply.status == 200, repr(reply)
        return reply

    for hint in ("", "&token_type_hint=access_token", "&token_type_hint=refresh_token"):
        foreign = revoke(f"token={token}{hint}")
        unknown = revoke(f"token=no-such-token{hint}")
        # RFC 7009 §2.2: answered like an unknown token, and nothing is revoked.
        assert foreign["action"] == unknown["action"], f"{foreign!r} vs {unknown!r}"
        assert foreign["resultCode"] == unknown["resultCode"], f"{foreign!r} vs {unknown!r}"
    mine = service_a.introspect(token)
    assert mine["action"] == "OK", f"A's token after B's revocation: {mine!r}"
    assert mine["usable"] is True, repr(mine)


def test_redeeming_another_services_code(service_a, service_b):
    code = service_a.code()
    stolen = service_b.redeem(code)
    assert stolen.status == 200, repr(stolen)
    assert stolen["action"] == "BAD_REQUEST", repr(stolen)
    assert stolen.content()["error"] == "invalid_grant", repr(stolen)
    assert not stolen["accessToken"], repr(stolen)
    # Answered exactly as a code that does not exist: nothing about A's code is confirmed.
    unknown = service_b.redeem("no-such-code")
    assert stolen["resultCode"] == unknown["resultCode"], f"{stolen!r} vs {unknown!r}"
    # The refused attempt did not use up (or revoke) A's code.
    mine = service_a.redeem(code)
    assert mine["action"] == "OK", f"A's code after B's attempt: {mine!r}"
    assert service_a.introspect(mine["accessToken"])["action"] == "OK"
