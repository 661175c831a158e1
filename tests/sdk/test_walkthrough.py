"""Authlete Python SDK (authlete==1.3.0) compatibility suite for Castellan.

Drives an already-running Castellan server exclusively through the official
SDK (``AuthleteApiImpl``) so that the SDK's own request serialisation and
response parsing (strict enum-name lookup, nested DTOs) are exercised.

Environment (all required; a missing one fails the run):
    CASTELLAN_BASE_URL                   e.g. http://127.0.0.1:8080
    CASTELLAN_SERVICE_OWNER_API_KEY
    CASTELLAN_SERVICE_OWNER_API_SECRET

Each session creates a fresh service (service-owner credentials), then uses
that service's apiKey/apiSecret to register its clients.
"""

import json

from sdk_support import *  # noqa: F401,F403 (fixtures, helpers, SDK types)

def test_environment_is_configured():
    missing = missing_env()
    assert not missing, missing_env_message(missing)


def test_full_walkthrough(api, service, conf_client):
    cid = conf_client.clientId

    # /auth/authorization
    res = authorize(api, cid)
    assert res.action is AuthorizationAction.INTERACTION, (res.resultCode, res.resultMessage)
    assert isinstance(res.ticket, str) and res.ticket
    assert isinstance(res.client, Client)
    assert res.client.clientId == cid
    assert isinstance(res.service, Service)
    assert res.scopes and isinstance(res.scopes[0], Scope)
    assert res.scopes[0].name == "history.read"

    # /auth/authorization/issue
    iss = issue(api, res.ticket)
    assert iss.action is AuthorizationIssueAction.LOCATION, (iss.resultCode, iss.resultMessage)
    loc = iss.responseContent
    assert loc.startswith(CONF_REDIRECT + "?"), loc
    assert "code=" in loc and "state=xyz" in loc and ISSUER_ENC in loc, loc
    assert iss.authorizationCode
    qp = query_params(loc)
    assert qp["code"] == iss.authorizationCode
    assert qp["state"] == "xyz"
    assert qp["iss"] == ISSUER

    # /auth/token
    tok = token(api, {"grant_type": "authorization_code", "code": iss.authorizationCode,
                      "redirect_uri": CONF_REDIRECT},
                cid, conf_client.clientSecret)
    assert tok.action is TokenAction.OK, (tok.resultCode, tok.resultMessage)
    assert tok.accessToken and tok.refreshToken
    assert tok.grantType is GrantType.AUTHORIZATION_CODE
    assert tok.subject == SUBJECT
    assert tok.clientId == cid
    body = json.loads(tok.responseContent)
    assert body["access_token"] == tok.accessToken
    assert body["refresh_token"] == tok.refreshToken
    assert body["scope"] == "history.read"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == AT_DURATION

    # /auth/introspection
    before = int(time.time() * 1000)
    intro = introspect(api, tok.accessToken, scopes=["history.read"], subject=SUBJECT)
    assert intro.action is IntrospectionAction.OK, (intro.resultCode, intro.resultMessage)
    assert intro.existent is True
    assert intro.usable is True
    assert intro.sufficient is True
    assert intro.refreshable is True
    assert intro.subject == SUBJECT
    assert intro.clientId == cid
    assert isinstance(intro.expiresAt, int)
    assert before + 3590 * 1000 <= intro.expiresAt <= before + 3610 * 1000, intro.expiresAt

    # /auth/introspection/standard
    sreq = StandardIntrospectionRequest()
    sreq.parameters = urlencode({"token": tok.accessToken})
    std = api.standardIntrospection(sreq)
    assert std.action is StandardIntrospectionAction.OK, (std.resultCode, std.resultMessage)
    sbody = json.loads(std.responseContent)
    assert sbody["active"] is True
    assert sbody["client_id"] == str(cid)
    assert sbody["sub"] == SUBJECT


def test_numeric_subject_is_accepted(api, conf_client):
    # The SDK sends attribute values unconverted; the Django sample puts the
    # user's integer id in 'subject', which then travels as a JSON number.
    res = authorize(api, conf_client.clientId)
    assert res.action is AuthorizationAction.INTERACTION, (res.resultCode, res.resultMessage)
    iss = issue(api, res.ticket, subject=1)
    assert iss.action is AuthorizationIssueAction.LOCATION, (iss.resultCode, iss.resultMessage)
    tok = code_grant(api, conf_client, iss.authorizationCode)
    assert tok.action is TokenAction.OK, (tok.resultCode, tok.resultMessage)
    assert str(tok.subject) == "1"


def test_code_replay_is_rejected_and_revokes(api, conf_client):
    code = get_code(api, conf_client.clientId)
    first = code_grant(api, conf_client, code)
    assert first.action is TokenAction.OK, (first.resultCode, first.resultMessage)
    assert introspect(api, first.accessToken).action is IntrospectionAction.OK

    replay = code_grant(api, conf_client, code)
    assert replay.action is TokenAction.BAD_REQUEST, (replay.resultCode, replay.resultMessage)
    assert "invalid_grant" in replay.responseContent
    assert error_json(replay.responseContent)["error"] == "invalid_grant"
    assert replay.accessToken is None

    after = introspect(api, first.accessToken)
    assert after.action is IntrospectionAction.UNAUTHORIZED, (after.resultCode, after.resultMessage)
    assert after.usable is False


def test_refresh_token_rotation_and_reuse_detection(api, conf_client):
    first = tokens_for(api, conf_client)
    old_rt = first.refreshToken

    refreshed = token(api, {"grant_type": "refresh_token", "refresh_token": old_rt},
                      conf_client.clientId, conf_client.clientSecret)
    assert refreshed.action is TokenAction.OK, (refreshed.resultCode, refreshed.resultMessage)
    assert refreshed.grantType is GrantType.REFRESH_TOKEN
    assert refreshed.subject == SUBJECT
    assert refreshed.accessToken and refreshed.refreshToken
    assert refreshed.refreshToken != old_rt
    assert refreshed.accessToken != first.accessToken
    body = json.loads(refreshed.responseContent)
    assert body["refresh_token"] == refreshed.refreshToken
    assert body["token_type"] == "Bearer"
    assert introspect(api, refreshed.accessToken).action is IntrospectionAction.OK

    reuse = token(api, {"grant_type": "refresh_token", "refresh_token": old_rt},
                  conf_client.clientId, conf_client.clientSecret)
    assert reuse.action is TokenAction.BAD_REQUEST, (reuse.resultCode, reuse.resultMessage)
    assert "invalid_grant" in reuse.responseContent

    after = introspect(api, refreshed.accessToken)
    assert after.action is IntrospectionAction.UNAUTHORIZED, (after.resultCode, after.resultMessage)


def test_client_credentials(api, conf_client):
    res = token(api, {"grant_type": "client_credentials"},
                conf_client.clientId, conf_client.clientSecret)
    assert res.action is TokenAction.OK, (res.resultCode, res.resultMessage)
    assert res.grantType is GrantType.CLIENT_CREDENTIALS
    assert res.accessToken
    assert res.refreshToken is None
    assert res.subject is None
    assert res.clientId == conf_client.clientId
    body = json.loads(res.responseContent)
    assert body["access_token"] == res.accessToken
    assert body.get("refresh_token") is None
    assert body["expires_in"] == AT_DURATION


def test_password_grant_issue_and_fail(api, conf_client):
    params = {"grant_type": "password", "username": SUBJECT, "password": "s3cret",
              "scope": "history.read"}
    res = token(api, params, conf_client.clientId, conf_client.clientSecret)
    assert res.action is TokenAction.PASSWORD, (res.resultCode, res.resultMessage)
    assert res.ticket
    assert res.username == SUBJECT
    assert res.password == "s3cret"

    ireq = TokenIssueRequest()
    ireq.ticket = res.ticket
    ireq.subject = SUBJECT
    issued = api.tokenIssue(ireq)
    assert issued.action is TokenIssueAction.OK, (issued.resultCode, issued.resultMessage)
    assert issued.accessToken
    assert json.loads(issued.responseContent)["access_token"] == issued.accessToken
    intro = introspect(api, issued.accessToken)
    assert intro.action is IntrospectionAction.OK
    assert intro.subject == SUBJECT

    res2 = token(api, params, conf_client.clientId, conf_client.clientSecret)
    assert res2.action is TokenAction.PASSWORD, (res2.resultCode, res2.resultMessage)
    freq = TokenFailRequest()
    freq.ticket = res2.ticket
    freq.reason = TokenFailReason.INVALID_RESOURCE_OWNER_CREDENTIALS
    failed = api.tokenFail(freq)
    assert failed.action is TokenFailAction.BAD_REQUEST, (failed.resultCode, failed.resultMessage)
    assert failed.resultCode == "A067301"
    assert error_json(failed.responseContent)["error"] == "invalid_request"


def test_authorization_fail_denied(api, conf_client):
    res = authorize(api, conf_client.clientId)
    assert res.action is AuthorizationAction.INTERACTION, (res.resultCode, res.resultMessage)
    req = AuthorizationFailRequest()
    req.ticket = res.ticket
    req.reason = AuthorizationFailReason.DENIED
    fail = api.authorizationFail(req)
    assert fail.action is AuthorizationFailAction.LOCATION, (fail.resultCode, fail.resultMessage)
    assert fail.responseContent.startswith(CONF_REDIRECT + "?"), fail.responseContent
    assert "error=access_denied" in fail.responseContent
    assert "state=" in fail.responseContent
    qp = query_params(fail.responseContent)
    assert qp["error"] == "access_denied"
    assert qp["state"] == "xyz"


def test_authorization_unknown_client(api, conf_client, public_client):
    res = authorize(api, unknown_client_id(conf_client.clientId, public_client.clientId))
    assert res.action is AuthorizationAction.BAD_REQUEST, (res.resultCode, res.resultMessage)
    assert res.resultCode == "A010304"
    assert res.ticket is None
    assert error_json(res.responseContent)["error"] == "invalid_request"


def test_authorization_unregistered_redirect_uri(api, conf_client):
    res = authorize(api, conf_client.clientId, redirect_uri="https://evil.example.net/cb")
    assert res.action is AuthorizationAction.BAD_REQUEST, (res.resultCode, res.resultMessage)
    assert res.resultCode == "A011304"
    assert error_json(res.responseContent)["error"] == "invalid_request"


def test_authorization_missing_response_type(api, conf_client):
    res = authorize(api, conf_client.clientId, response_type=None)
    assert res.action is AuthorizationAction.BAD_REQUEST, (res.resultCode, res.resultMessage)
    assert res.resultCode == "A009301"
    assert error_json(res.responseContent)["error"] == "invalid_request"


def test_token_wrong_client_secret(api, conf_client):
    code = get_code(api, conf_client.clientId)
    res = token(api, {"grant_type": "authorization_code", "code": code,
                      "redirect_uri": CONF_REDIRECT},
                conf_client.clientId, "not-the-secret")
    assert res.action is TokenAction.INVALID_CLIENT, (res.resultCode, res.resultMessage)
    assert "invalid_client" in res.responseContent
    assert error_json(res.responseContent)["error"] == "invalid_client"
    assert res.accessToken is None


def test_introspection_unknown_token(api):
    res = introspect(api, secrets.token_urlsafe(32))
    assert res.action is IntrospectionAction.UNAUTHORIZED, (res.resultCode, res.resultMessage)
    assert res.existent is False
    assert res.usable is False
    assert res.responseContent and "invalid_token" in res.responseContent


def test_introspection_insufficient_scope(api, conf_client):
    tok = tokens_for(api, conf_client)
    res = introspect(api, tok.accessToken, scopes=["timeline.read"])
    assert res.action is IntrospectionAction.FORBIDDEN, (res.resultCode, res.resultMessage)
    assert "insufficient_scope" in res.responseContent
    assert res.sufficient is False


def test_authorization_issue_bogus_ticket(api):
    res = issue(api, secrets.token_urlsafe(32))
    assert res.action is AuthorizationIssueAction.BAD_REQUEST, (res.resultCode, res.resultMessage)
    assert res.authorizationCode is None


def test_public_client_requires_pkce(api, public_client):
    res = authorize(api, public_client.clientId, redirect_uri=PUBLIC_REDIRECT,
                    scope="timeline.read", state="pub1")
    assert res.action is AuthorizationAction.LOCATION, (res.resultCode, res.resultMessage)
    assert res.responseContent.startswith(PUBLIC_REDIRECT + "?"), res.responseContent
    qp = query_params(res.responseContent)
    assert qp["error"] == "invalid_request"
    assert qp["state"] == "pub1"
    assert "code" not in qp


def test_public_client_with_s256_pkce(api, public_client):
    verifier, challenge = pkce_pair()
    code = get_code(api, public_client.clientId, redirect_uri=PUBLIC_REDIRECT,
                    scope="timeline.read", code_challenge=challenge,
                    code_challenge_method="S256")
    res = token(api, {"grant_type": "authorization_code", "code": code,
                      "redirect_uri": PUBLIC_REDIRECT, "code_verifier": verifier,
                      "client_id": str(public_client.clientId)})
    assert res.action is TokenAction.OK, (res.resultCode, res.resultMessage)
    assert res.accessToken
    assert res.clientId == public_client.clientId
    assert res.subject == SUBJECT
    assert json.loads(res.responseContent)["scope"] == "timeline.read"
    assert introspect(api, res.accessToken).action is IntrospectionAction.OK

    # A wrong verifier must not redeem a code.
    _, other_challenge = pkce_pair()
    code2 = get_code(api, public_client.clientId, redirect_uri=PUBLIC_REDIRECT,
                     scope="timeline.read", code_challenge=other_challenge,
                     code_challenge_method="S256")
    bad = token(api, {"grant_type": "authorization_code", "code": code2,
                      "redirect_uri": PUBLIC_REDIRECT, "code_verifier": verifier,
                      "client_id": str(public_client.clientId)})
    assert bad.action is TokenAction.BAD_REQUEST, (bad.resultCode, bad.resultMessage)
    assert error_json(bad.responseContent)["error"] == "invalid_grant"


def test_revocation(api, conf_client):
    tok = tokens_for(api, conf_client)
    req = RevocationRequest()
    req.parameters = urlencode({"token": tok.accessToken})
    req.clientId = str(conf_client.clientId)
    req.clientSecret = conf_client.clientSecret
    res = api.revocation(req)
    assert res.action is RevocationAction.OK, (res.resultCode, res.resultMessage)
    after = introspect(api, tok.accessToken)
    assert after.action is IntrospectionAction.UNAUTHORIZED, (after.resultCode, after.resultMessage)


# --------------------------------------------------------------------------
# management APIs
# --------------------------------------------------------------------------

def test_get_service(owner_api, service):
    got = owner_api.getService(service.apiKey)
    assert isinstance(got, Service)
    assert got.apiKey == service.apiKey
    assert got.serviceName.startswith(service.serviceName)  # test_update_service may rename it
    assert got.issuer == ISSUER
    assert set(got.supportedGrantTypes) == set(ALL_GRANTS)
    assert got.supportedResponseTypes == [ResponseType.CODE]
    assert {s.name for s in got.supportedScopes} == {"history.read", "timeline.read", "openid", "email"}
    assert all(isinstance(s, Scope) for s in got.supportedScopes)
    assert got.accessTokenDuration == AT_DURATION
    assert got.refreshTokenDuration == RT_DURATION
    assert set(got.supportedTokenAuthMethods) == {
        ClientAuthMethod.CLIENT_SECRET_BASIC, ClientAuthMethod.CLIENT_SECRET_POST,
        ClientAuthMethod.NONE}


def test_get_service_list(owner_api, service):
    first = owner_api.getServiceList()
    assert isinstance(first, ServiceListResponse)
    assert first.totalCount >= 1
    assert first.services and all(isinstance(s, Service) for s in first.services)

    found, start = False, 0
    while start < first.totalCount and not found:
        page = owner_api.getServiceList(start, start + 100)
        assert page.start == start and page.end == start + 100
        found = any(s.apiKey == service.apiKey for s in (page.services or []))
        start += 100
    assert found, "created service not listed by getServiceList"


def test_update_service(owner_api, service):
    current = owner_api.getService(service.apiKey)
    new_name = service.serviceName + "-renamed"
    current.serviceName = new_name
    updated = owner_api.updateService(current)  # the SDK sends the whole Service back
    assert isinstance(updated, Service)
    assert updated.serviceName == new_name
    again = owner_api.getService(service.apiKey)
    assert again.serviceName == new_name
    # round-tripping the full object must not lose configuration
    assert again.issuer == ISSUER
    assert set(again.supportedGrantTypes) == set(ALL_GRANTS)
    assert {s.name for s in again.supportedScopes} == {"history.read", "timeline.read", "openid", "email"}
    assert again.accessTokenDuration == AT_DURATION
    # API secrets are stored hashed: shown once at creation, never returned again.
    assert again.apiSecret is None


def test_update_service_round_trip_keeps_every_setting_and_the_keys(owner_api, service):
    """get -> change one field -> update, as the SDK does it: every other setting, the signing
    keys included, comes back unchanged."""
    before = owner_api.getService(service.apiKey)
    assert before.jwks, "a new service has signing keys"
    before.description = "changed through the SDK"
    owner_api.updateService(before)
    after = owner_api.getService(service.apiKey)
    expected = json.loads(before.to_json())
    got = json.loads(after.to_json())
    for volatile in ("modifiedAt", "metadata"):
        expected.pop(volatile, None)
        got.pop(volatile, None)
    assert got["description"] == "changed through the SDK"
    assert json.loads(got["jwks"]) == json.loads(expected["jwks"])
    assert got == expected


def test_get_client_and_list(api, conf_client, public_client):
    got = api.getClient(conf_client.clientId)
    assert isinstance(got, Client)
    assert got.clientId == conf_client.clientId
    assert got.clientName == "sdk-confidential"
    assert got.clientType is ClientType.CONFIDENTIAL
    assert got.applicationType is ApplicationType.WEB
    assert got.tokenAuthMethod is ClientAuthMethod.CLIENT_SECRET_BASIC
    assert set(got.grantTypes) == set(ALL_GRANTS)
    assert got.responseTypes == [ResponseType.CODE]
    assert got.redirectUris == [CONF_REDIRECT]
    assert got.clientSecret == conf_client.clientSecret

    default = api.getClientList()
    assert isinstance(default, ClientListResponse)
    assert default.totalCount >= 2
    assert default.clients and all(isinstance(c, Client) for c in default.clients)

    page = api.getClientList(start=0, end=100)
    assert page.start == 0 and page.end == 100
    ids = {c.clientId for c in page.clients}
    assert {conf_client.clientId, public_client.clientId} <= ids

    developer = "dev-" + uuid.uuid4().hex[:8]
    mine = create_client(api, build_confidential_client("sdk-dev-filter", developer=developer))
    filtered = api.getClientList(developer=developer, start=0, end=10)
    assert filtered.developer == developer
    assert filtered.totalCount == 1
    assert [c.clientId for c in filtered.clients] == [mine.clientId]


def test_update_client(api):
    created = create_client(api, build_confidential_client("sdk-to-update"))
    current = api.getClient(created.clientId)
    current.clientName = "sdk-updated"
    current.redirectUris = [CONF_REDIRECT, "https://client.example.org/cb2"]
    updated = api.updateClient(current)  # the SDK sends the whole Client back
    assert isinstance(updated, Client)
    assert updated.clientId == created.clientId
    assert updated.clientName == "sdk-updated"
    again = api.getClient(created.clientId)
    assert again.clientName == "sdk-updated"
    assert again.redirectUris == [CONF_REDIRECT, "https://client.example.org/cb2"]
    assert again.clientType is ClientType.CONFIDENTIAL
    assert again.clientSecret == created.clientSecret


def test_refresh_client_secret(api):
    created = create_client(api, build_confidential_client("sdk-secret-refresh"))
    old = created.clientSecret
    res = api.refreshClientSecret(created.clientId)
    assert isinstance(res, ClientSecretRefreshResponse)
    assert res.newClientSecret and res.newClientSecret != old
    assert res.oldClientSecret == old
    assert res.resultCode == "A148001"

    cc = {"grant_type": "client_credentials"}
    ok = token(api, cc, created.clientId, res.newClientSecret)
    assert ok.action is TokenAction.OK, (ok.resultCode, ok.resultMessage)
    stale = token(api, cc, created.clientId, old)
    assert stale.action is TokenAction.INVALID_CLIENT, (stale.resultCode, stale.resultMessage)
    assert api.getClient(created.clientId).clientSecret == res.newClientSecret


def test_client_lock_flag(api):
    created = create_client(api, build_confidential_client("sdk-lock"))
    cc = {"grant_type": "client_credentials"}
    api.updateClientLockFlag(created.clientId, True)
    locked = token(api, cc, created.clientId, created.clientSecret)
    assert locked.action is TokenAction.INVALID_CLIENT, (locked.resultCode, locked.resultMessage)
    assert locked.resultCode == "A048307"
    assert api.getClient(created.clientId).locked is True

    api.updateClientLockFlag(created.clientId, False)
    unlocked = token(api, cc, created.clientId, created.clientSecret)
    assert unlocked.action is TokenAction.OK, (unlocked.resultCode, unlocked.resultMessage)
    assert api.getClient(created.clientId).locked is False


def test_delete_client(api):
    created = create_client(api, build_confidential_client("sdk-to-delete"))
    api.deleteClient(created.clientId)
    with pytest.raises(AuthleteApiException) as excinfo:
        api.getClient(created.clientId)
    assert excinfo.value.response is not None, excinfo.value.message
    assert not 200 <= excinfo.value.response.status_code < 300
    # a deleted client can no longer authenticate at the token endpoint
    res = token(api, {"grant_type": "client_credentials"}, created.clientId, created.clientSecret)
    assert res.action is TokenAction.INVALID_CLIENT, (res.resultCode, res.resultMessage)


def test_wrong_service_api_secret_is_401(env, service, conf_client):
    bad = make_api(env["CASTELLAN_BASE_URL"], serviceApiKey=str(service.apiKey),
                   serviceApiSecret="wrong-" + service.apiSecret)
    with pytest.raises(AuthleteApiException) as excinfo:
        authorize(bad, conf_client.clientId)
    assert excinfo.value.response is not None, excinfo.value.message
    assert excinfo.value.response.status_code == 401
    with pytest.raises(AuthleteApiException) as excinfo:
        bad.getClient(conf_client.clientId)
    assert excinfo.value.response is not None and excinfo.value.response.status_code == 401


def test_wrong_service_owner_secret_is_401(env, service):
    bad = make_api(env["CASTELLAN_BASE_URL"],
                   serviceOwnerApiKey=env["CASTELLAN_SERVICE_OWNER_API_KEY"],
                   serviceOwnerApiSecret="wrong-" + env["CASTELLAN_SERVICE_OWNER_API_SECRET"])
    with pytest.raises(AuthleteApiException) as excinfo:
        bad.getService(service.apiKey)
    assert excinfo.value.response is not None, excinfo.value.message
    assert excinfo.value.response.status_code == 401
