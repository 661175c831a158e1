"""The server under test and the services the attacks aim at.

Without CASTELLAN_BASE_URL the suite starts `target/debug/castellan serve` (or CASTELLAN_BIN) on
a free port of 127.0.0.1 with a fresh data directory and its own service owner; with it, the
suite attacks that server, as the service owner named by CASTELLAN_SERVICE_OWNER_API_KEY and
CASTELLAN_SERVICE_OWNER_API_SECRET. Every test ends by checking that the server still answers
/healthz."""

import os

import pytest

from adversarial_support import LOOPBACK_REDIRECT, Server, Service


@pytest.fixture(scope="session")
def server():
    base_url = os.environ.get("CASTELLAN_BASE_URL")
    srv = Server.external(base_url) if base_url else Server.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def api(server):
    return server.api


@pytest.fixture(scope="session")
def owner(server):
    return server.owner


@pytest.fixture(scope="session")
def service_a(api, owner):
    svc = Service(api, owner, {"serviceName": "adversarial-a"})
    yield svc
    svc.delete()


@pytest.fixture(scope="session")
def service_b(api, owner):
    svc = Service(api, owner, {"serviceName": "adversarial-b",
                               "issuer": "https://other.example.com"})
    yield svc
    svc.delete()


@pytest.fixture(scope="session")
def loopback_service(api, owner):
    """A service that lets loopback redirect URIs vary their port, with a client registered
    with http://127.0.0.1/cb."""
    svc = Service(api, owner,
                  {"serviceName": "adversarial-loopback", "loopbackRedirectionUriVariable": True},
                  {"redirectUris": [LOOPBACK_REDIRECT]})
    yield svc
    svc.delete()


@pytest.fixture
def scratch_service(api, owner):
    """A service of its own for a test that tries to change settings."""
    svc = Service(api, owner, {"serviceName": "adversarial-scratch"})
    yield svc
    svc.delete()


@pytest.fixture(autouse=True)
def server_still_answers(server):
    """After every test: the server is alive and answers /healthz."""
    yield
    srv = server
    assert srv.alive(), f"the server exited ({srv.process.returncode}):\n{srv.log_tail()}"
    try:
        reply = srv.api.healthz()
    except OSError as e:
        pytest.fail(f"/healthz does not answer after the test: {e!r}\n{srv.log_tail()}")
    assert reply.status == 200 and reply.text == "ok", f"/healthz: {reply!r}"
