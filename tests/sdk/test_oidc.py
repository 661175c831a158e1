"""OpenID Connect through Authlete's Python SDK: the service's JWK Set and discovery document,
ID tokens checked by an independent JOSE implementation (jwcrypto), and userinfo."""

import base64
import hashlib
import json
import secrets
from urllib.parse import urlencode

import pytest
import requests
from jwcrypto import jwk, jwt

from authlete.dto.token_action import TokenAction
from authlete.dto.userinfo_action import UserInfoAction
from authlete.dto.userinfo_issue_action import UserInfoIssueAction
from authlete.dto.userinfo_issue_request import UserInfoIssueRequest
from authlete.dto.userinfo_request import UserInfoRequest
from authlete.types.jws_alg import JWSAlg

from sdk_support import (
    CONF_REDIRECT, ISSUER, SUBJECT, build_confidential_client, code_grant, create_client,
    get_code,
)

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def half_hash(alg, value):
    """at_hash: the left half of the hash the algorithm uses (SHA-512 for Ed25519)."""
    digest = (hashlib.sha512 if alg == "EdDSA" else hashlib.sha256)(value.encode("ascii")).digest()
    return b64url(digest[: len(digest) // 2])


def test_service_jwks_hides_private_keys_unless_asked(api):
    public = json.loads(api.getServiceJwks())
    assert sorted(k["alg"] for k in public["keys"]) == ["ES256", "EdDSA", "PS256", "RS256"]
    for key in public["keys"]:
        assert not PRIVATE_MEMBERS & set(key), key["kid"]
    private = json.loads(api.getServiceJwks(pretty=False, includePrivateKeys=True))
    assert all("d" in key for key in private["keys"])
    assert [k["kid"] for k in private["keys"]] == [k["kid"] for k in public["keys"]]


def test_service_configuration(api):
    doc = json.loads(api.getServiceConfiguration())
    assert doc["issuer"] == ISSUER
    assert "openid" in doc["scopes_supported"]
    assert "authorization_code" in doc["grant_types_supported"]
    assert "RS256" in doc["id_token_signing_alg_values_supported"]


@pytest.fixture(scope="module")
def oidc_client(api):
    return create_client(api, build_confidential_client("sdk-oidc"))


def verify_id_token(id_token, key, alg, client_id, nonce, access_token):
    """jwcrypto checks the signature and the claims; then the at_hash."""
    checked = jwt.JWT(
        jwt=id_token, key=key, algs=[alg], expected_type="JWS",
        check_claims={"iss": ISSUER, "sub": SUBJECT, "aud": str(client_id),
                      "exp": None, "iat": None, "nonce": nonce},
    )
    claims = json.loads(checked.claims)
    assert claims["at_hash"] == half_hash(alg, access_token)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "HS256"])
def test_id_token_verifies_with_jwcrypto(api, oidc_client, alg):
    current = api.getClient(oidc_client.clientId)
    current.idTokenSignAlg = JWSAlg[alg]
    api.updateClient(current)
    nonce = secrets.token_urlsafe(12)
    code = get_code(api, oidc_client.clientId, scope="openid", nonce=nonce)
    res = code_grant(api, oidc_client, code)
    assert res.action is TokenAction.OK, (res.resultCode, res.resultMessage)
    assert res.idToken, "no ID token for an openid request"
    if alg == "HS256":
        key = jwk.JWK(kty="oct", k=b64url(oidc_client.clientSecret.encode("utf-8")))
    else:
        key = jwk.JWKSet.from_json(api.getServiceJwks())
    verify_id_token(res.idToken, key, alg, oidc_client.clientId, nonce, res.accessToken)


def test_eddsa_id_token_verifies_with_jwcrypto(api, env, service):
    """The SDK's JWSAlg enum has no EdDSA, so it cannot read a client (nor an authorization
    response embedding one) that uses it: this flow goes over HTTP directly."""
    base = env["CASTELLAN_BASE_URL"]
    auth = (str(service.apiKey), service.apiSecret)

    def call(path, body):
        reply = requests.post(base + path, auth=auth, json=body, timeout=30)
        assert reply.status_code == 200, reply.text
        return reply.json()

    client = call("/api/client/create", {
        "clientName": "sdk-eddsa", "clientType": "CONFIDENTIAL", "idTokenSignAlg": "EdDSA",
        "grantTypes": ["AUTHORIZATION_CODE"], "responseTypes": ["CODE"],
        "redirectUris": [CONF_REDIRECT], "tokenAuthMethod": "CLIENT_SECRET_BASIC"})
    nonce = secrets.token_urlsafe(12)
    authz = call("/api/auth/authorization", {"parameters": urlencode({
        "response_type": "code", "client_id": client["clientId"], "scope": "openid",
        "redirect_uri": CONF_REDIRECT, "nonce": nonce})})
    assert authz["action"] == "INTERACTION", authz
    issued = call("/api/auth/authorization/issue", {"ticket": authz["ticket"], "subject": SUBJECT})
    tokens = call("/api/auth/token", {
        "parameters": urlencode({"grant_type": "authorization_code", "redirect_uri": CONF_REDIRECT,
                                 "code": issued["authorizationCode"]}),
        "clientId": str(client["clientId"]), "clientSecret": client["clientSecret"]})
    assert tokens["action"] == "OK", tokens
    keys = jwk.JWKSet.from_json(api.getServiceJwks())
    verify_id_token(tokens["idToken"], keys, "EdDSA", client["clientId"], nonce,
                    tokens["accessToken"])


def test_userinfo(api, oidc_client):
    code = get_code(api, oidc_client.clientId, scope="openid email")
    res = code_grant(api, oidc_client, code)
    assert res.action is TokenAction.OK, (res.resultCode, res.resultMessage)

    req = UserInfoRequest()
    req.token = res.accessToken
    info = api.userinfo(req)
    assert info.action is UserInfoAction.OK, (info.resultCode, info.resultMessage)
    assert info.subject == SUBJECT
    assert info.claims == ["email", "email_verified"]

    issue_req = UserInfoIssueRequest()
    issue_req.token = res.accessToken
    issue_req.claims = json.dumps({"email": "john@example.com", "email_verified": True,
                                   "phone_number": "+1 555 0100"})
    issued = api.userinfoIssue(issue_req)
    assert issued.action is UserInfoIssueAction.JSON, (issued.resultCode, issued.resultMessage)
    assert json.loads(issued.responseContent) == {
        "sub": SUBJECT, "email": "john@example.com", "email_verified": True}

    bad = UserInfoRequest()
    bad.token = "no-such-token"
    refused = api.userinfo(bad)
    assert refused.action is UserInfoAction.UNAUTHORIZED
    assert refused.responseContent.startswith('Bearer error="invalid_token"')
