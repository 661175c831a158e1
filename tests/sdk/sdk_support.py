"""Fixtures and helpers shared by the SDK compatibility tests: configuration, SDK clients
(service owner and service), a fresh service with its clients, and small protocol helpers.
conftest.py registers the fixtures; test modules import the helpers."""


import base64
import hashlib
import json
import os
import secrets
import time
import uuid
import warnings
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from authlete.api.authlete_api_exception import AuthleteApiException
from authlete.api.authlete_api_impl import AuthleteApiImpl
from authlete.conf.authlete_configuration import AuthleteConfiguration
from authlete.dto.authorization_action import AuthorizationAction
from authlete.dto.authorization_fail_action import AuthorizationFailAction
from authlete.dto.authorization_fail_reason import AuthorizationFailReason
from authlete.dto.authorization_fail_request import AuthorizationFailRequest
from authlete.dto.authorization_issue_action import AuthorizationIssueAction
from authlete.dto.authorization_issue_request import AuthorizationIssueRequest
from authlete.dto.authorization_request import AuthorizationRequest
from authlete.dto.client import Client
from authlete.dto.client_list_response import ClientListResponse
from authlete.dto.client_secret_refresh_response import ClientSecretRefreshResponse
from authlete.dto.introspection_action import IntrospectionAction
from authlete.dto.introspection_request import IntrospectionRequest
from authlete.dto.revocation_action import RevocationAction
from authlete.dto.revocation_request import RevocationRequest
from authlete.dto.scope import Scope
from authlete.dto.service import Service
from authlete.dto.service_list_response import ServiceListResponse
from authlete.dto.standard_introspection_action import StandardIntrospectionAction
from authlete.dto.standard_introspection_request import StandardIntrospectionRequest
from authlete.dto.token_action import TokenAction
from authlete.dto.token_fail_action import TokenFailAction
from authlete.dto.token_fail_reason import TokenFailReason
from authlete.dto.token_fail_request import TokenFailRequest
from authlete.dto.token_issue_action import TokenIssueAction
from authlete.dto.token_issue_request import TokenIssueRequest
from authlete.dto.token_request import TokenRequest
from authlete.types.application_type import ApplicationType
from authlete.types.client_auth_method import ClientAuthMethod
from authlete.types.client_type import ClientType
from authlete.types.grant_type import GrantType
from authlete.types.response_type import ResponseType

ISSUER = "https://as.example.com"
ISSUER_ENC = "iss=https%3A%2F%2Fas.example.com"
CONF_REDIRECT = "https://client.example.org/cb/example.com"
PUBLIC_REDIRECT = "https://public.example.org/cb"
SUBJECT = "john"
AT_DURATION = 3600
RT_DURATION = 86400
ALL_GRANTS = [
    GrantType.AUTHORIZATION_CODE,
    GrantType.REFRESH_TOKEN,
    GrantType.CLIENT_CREDENTIALS,
    GrantType.PASSWORD,
]
ENV_VARS = (
    "CASTELLAN_BASE_URL",
    "CASTELLAN_SERVICE_OWNER_API_KEY",
    "CASTELLAN_SERVICE_OWNER_API_SECRET",
)
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60


# --------------------------------------------------------------------------
# configuration and SDK clients
# --------------------------------------------------------------------------

def missing_env():
    return [name for name in ENV_VARS if not os.environ.get(name)]


def missing_env_message(missing):
    return (
        "SDK compatibility suite needs a running Castellan server; missing "
        "environment variable(s): " + ", ".join(missing) + ". Set "
        + ", ".join(ENV_VARS) + " (see tests/sdk/README.md)."
    )


def make_api(base_url, **credentials):
    """An AuthleteApiImpl in 2.x mode (HTTP Basic), with finite timeouts."""
    cnf = AuthleteConfiguration(dict(baseUrl=base_url, **credentials))
    api = AuthleteApiImpl(cnf)
    api.getSettings().connectionTimeout = CONNECT_TIMEOUT
    api.getSettings().readTimeout = READ_TIMEOUT
    return api


@pytest.fixture(scope="session")
def env():
    missing = missing_env()
    if missing:
        pytest.fail(missing_env_message(missing), pytrace=False)
    return {name: os.environ[name] for name in ENV_VARS}


@pytest.fixture(scope="session")
def owner_api(env):
    return make_api(
        env["CASTELLAN_BASE_URL"],
        serviceOwnerApiKey=env["CASTELLAN_SERVICE_OWNER_API_KEY"],
        serviceOwnerApiSecret=env["CASTELLAN_SERVICE_OWNER_API_SECRET"],
    )


def build_service(name):
    svc = Service()
    svc.serviceName = name
    svc.issuer = ISSUER
    svc.supportedGrantTypes = list(ALL_GRANTS)
    svc.supportedResponseTypes = [ResponseType.CODE]
    svc.supportedScopes = [
        Scope({"name": "history.read", "defaultEntry": False,
               "description": "Read the history"}),
        Scope({"name": "timeline.read", "defaultEntry": False,
               "description": "Read the timeline"}),
        Scope({"name": "openid", "defaultEntry": False}),
        Scope({"name": "email", "defaultEntry": False}),
    ]
    svc.accessTokenDuration = AT_DURATION
    svc.refreshTokenDuration = RT_DURATION
    svc.supportedTokenAuthMethods = [
        ClientAuthMethod.CLIENT_SECRET_BASIC,
        ClientAuthMethod.CLIENT_SECRET_POST,
        ClientAuthMethod.NONE,
    ]
    return svc


@pytest.fixture(scope="session")
def service(owner_api):
    """A fresh service; deleted (best effort) at the end of the session."""
    created = owner_api.createService(build_service("castellan-sdk-" + uuid.uuid4().hex[:10]))
    assert isinstance(created, Service)
    assert isinstance(created.apiKey, int) and created.apiKey > 0, created.apiKey
    assert created.apiSecret, "createService reply lacks apiSecret"
    assert created.issuer == ISSUER
    yield created
    try:
        owner_api.deleteService(created.apiKey)
    except AuthleteApiException as e:  # cleanup only; deletion is not under test here
        warnings.warn("could not delete test service {}: {}".format(created.apiKey, e.message))


@pytest.fixture(scope="session")
def api(env, service):
    """SDK client authenticated with the fresh service's API key/secret."""
    return make_api(
        env["CASTELLAN_BASE_URL"],
        serviceApiKey=str(service.apiKey),
        serviceApiSecret=service.apiSecret,
    )


def build_confidential_client(name, developer="sdk-tests"):
    c = Client()
    c.developer = developer
    c.clientName = name
    c.clientType = ClientType.CONFIDENTIAL
    c.applicationType = ApplicationType.WEB
    c.tokenAuthMethod = ClientAuthMethod.CLIENT_SECRET_BASIC
    c.grantTypes = list(ALL_GRANTS)
    c.responseTypes = [ResponseType.CODE]
    c.redirectUris = [CONF_REDIRECT]
    return c


def create_client(api, client):
    created = api.createClient(client)
    assert isinstance(created, Client)
    assert isinstance(created.clientId, int) and created.clientId > 0, created.clientId
    return created


@pytest.fixture(scope="session")
def conf_client(api):
    created = create_client(api, build_confidential_client("sdk-confidential"))
    assert created.clientSecret, "confidential client has no clientSecret"
    assert created.clientType is ClientType.CONFIDENTIAL
    assert created.tokenAuthMethod is ClientAuthMethod.CLIENT_SECRET_BASIC
    return created


@pytest.fixture(scope="session")
def public_client(api):
    c = Client()
    c.developer = "sdk-tests"
    c.clientName = "sdk-public"
    c.clientType = ClientType.PUBLIC
    c.applicationType = ApplicationType.WEB
    c.tokenAuthMethod = ClientAuthMethod.NONE
    c.grantTypes = [GrantType.AUTHORIZATION_CODE]
    c.responseTypes = [ResponseType.CODE]
    c.redirectUris = [PUBLIC_REDIRECT]
    created = create_client(api, c)
    assert created.clientType is ClientType.PUBLIC
    return created


# --------------------------------------------------------------------------
# small protocol helpers
# --------------------------------------------------------------------------

def query_params(url):
    """Single-valued query parameters of a redirect URL (LOCATION content)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


def error_json(content):
    assert content, "expected a JSON error in responseContent"
    return json.loads(content)


def authorize(api, client_id, redirect_uri=CONF_REDIRECT, scope="history.read",
              state="xyz", **extra):
    params = {"response_type": "code", "client_id": str(client_id),
              "redirect_uri": redirect_uri, "scope": scope, "state": state}
    params.update(extra)
    req = AuthorizationRequest()
    req.parameters = urlencode({k: v for k, v in params.items() if v is not None})
    return api.authorization(req)


def issue(api, ticket, subject=SUBJECT):
    req = AuthorizationIssueRequest()
    req.ticket = ticket
    req.subject = subject
    req.authTime = int(time.time())
    return api.authorizationIssue(req)


def get_code(api, client_id, redirect_uri=CONF_REDIRECT, scope="history.read", **extra):
    res = authorize(api, client_id, redirect_uri=redirect_uri, scope=scope, **extra)
    assert res.action is AuthorizationAction.INTERACTION, (res.resultCode, res.resultMessage)
    iss = issue(api, res.ticket)
    assert iss.action is AuthorizationIssueAction.LOCATION, (iss.resultCode, iss.resultMessage)
    assert iss.authorizationCode
    return iss.authorizationCode


def token(api, params, client_id=None, client_secret=None):
    req = TokenRequest()
    req.parameters = urlencode(params)
    req.clientId = None if client_id is None else str(client_id)
    req.clientSecret = client_secret
    return api.token(req)


def code_grant(api, client, code, redirect_uri=CONF_REDIRECT):
    return token(api, {"grant_type": "authorization_code", "code": code,
                       "redirect_uri": redirect_uri},
                 client.clientId, client.clientSecret)


def tokens_for(api, client):
    """Run the code flow for the confidential client; return the OK TokenResponse."""
    res = code_grant(api, client, get_code(api, client.clientId))
    assert res.action is TokenAction.OK, (res.resultCode, res.resultMessage)
    return res


def introspect(api, access_token, scopes=None, subject=None):
    req = IntrospectionRequest()
    req.token = access_token
    req.scopes = scopes
    req.subject = subject
    return api.introspection(req)


def pkce_pair():
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return verifier, challenge


def unknown_client_id(*known):
    while True:
        candidate = secrets.randbelow(9 * 10 ** 15) + 10 ** 15
        if candidate not in known:
            return candidate


# --------------------------------------------------------------------------
# tests
# --------------------------------------------------------------------------
