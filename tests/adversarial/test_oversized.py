"""Oversized and repeated parameters: huge lists are refused before any work that grows with
them, repeats get their documented codes, bodies over 1 MiB are refused, and none of it keeps
the server from answering others."""

import socket
import threading
import time

import pytest

from adversarial_support import QUICK, basic, redirect_query

LISTS = ["scope", "prompt", "acr_values", "ui_locales", "claims_locales"]
# A value of each list the server understands, to fill a list up to its cap.
LIST_VALUE = {"scope": "history.read", "prompt": "login", "acr_values": "acr1",
              "ui_locales": "en", "claims_locales": "en"}
# 100,000 distinct values (about 690 KB once form-encoded): well below the 1 MiB body limit.
HUGE = "+".join(f"s{i}" for i in range(100_000))
MAX_BODY = 1024 * 1024
# The actions /api/auth/authorization documents for a request it could read.
AUTHORIZATION_ACTIONS = {"INTERACTION", "NO_INTERACTION", "LOCATION", "FORM", "BAD_REQUEST"}


def assert_refused_list(reply, name):
    assert reply.status == 200, repr(reply)
    assert reply["action"] == "LOCATION", f"{name}: {reply!r}"
    assert reply["resultCode"] == "C000301", f"{name}: {reply!r}"
    assert name in reply["resultMessage"], f"{name}: {reply!r}"
    assert redirect_query(reply["responseContent"])["error"] == "invalid_request", repr(reply)
    assert reply.elapsed < QUICK, f"{name}: answered in {reply.elapsed:.2f}s"


@pytest.mark.parametrize("name", LISTS)
def test_a_list_of_100000_values_is_refused_quickly(service_a, name):
    reply = service_a.authorize(f"{service_a.base_params()}&{name}={HUGE}")
    assert_refused_list(reply, name)


@pytest.mark.parametrize("name", LISTS)
def test_one_value_over_the_cap_is_refused_the_cap_itself_is_not(service_a, name):
    value = LIST_VALUE[name]
    at_cap = service_a.authorize(f"{service_a.base_params()}&{name}=" + "+".join([value] * 256))
    assert at_cap.status == 200, repr(at_cap)
    assert at_cap["resultCode"] != "C000301", f"256 values of {name}: {at_cap!r}"
    over = service_a.authorize(f"{service_a.base_params()}&{name}=" + "+".join([value] * 257))
    assert_refused_list(over, name)


def test_256_scopes_are_accepted(service_a):
    reply = service_a.authorize(f"{service_a.base_params()}&scope=" + "+".join(["history.read"] * 256))
    assert reply["action"] == "INTERACTION", repr(reply)


@pytest.mark.parametrize("name", ["scope", "ui_locales"])
def test_a_value_longer_than_512_characters_is_refused(service_a, name):
    at_cap = service_a.authorize(f"{service_a.base_params()}&{name}=" + "x" * 512)
    assert at_cap.status == 200 and at_cap["resultCode"] != "C000301", repr(at_cap)
    assert_refused_list(service_a.authorize(f"{service_a.base_params()}&{name}=" + "x" * 513),
                        name)


def test_the_token_endpoint_refuses_a_huge_scope(service_a):
    reply = service_a.token(f"grant_type=client_credentials&scope={HUGE}")
    assert reply.status == 200, repr(reply)
    assert reply["action"] == "BAD_REQUEST", repr(reply)
    assert reply["resultCode"] == "C000301", repr(reply)
    assert reply.content()["error"] == "invalid_request", repr(reply)
    assert reply.elapsed < QUICK, f"answered in {reply.elapsed:.2f}s"


def test_healthz_answers_while_four_huge_requests_run(service_a, api):
    rounds = 8
    replies, errors = [], []
    lock = threading.Lock()

    def attack(name):
        try:
            for _ in range(rounds):
                reply = service_a.authorize(f"{service_a.base_params()}&{name}={HUGE}")
                with lock:
                    replies.append((name, reply))
        except Exception as e:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(e))

    workers = [threading.Thread(target=attack, args=(name,), daemon=True)
               for name in ("scope", "prompt", "acr_values", "ui_locales")]
    for w in workers:
        w.start()
    health = []
    deadline = time.monotonic() + 120
    while any(w.is_alive() for w in workers) and time.monotonic() < deadline:
        reply = api.healthz(timeout=QUICK * 2)
        health.append(reply)
        time.sleep(0.02)
    for w in workers:
        w.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(w.is_alive() for w in workers), "the huge requests did not finish in 120 s"
    assert not errors, errors
    assert len(replies) == 4 * rounds
    for name, reply in replies:
        assert_refused_list(reply, name)
    assert health, "no /healthz call ran while the huge requests did"
    for reply in health:
        assert reply.status == 200 and reply.text == "ok", repr(reply)
    slowest = max(r.elapsed for r in health)
    assert slowest < QUICK, f"/healthz took {slowest:.2f}s while huge requests ran"


@pytest.mark.parametrize("name,code,action", [
    ("client_id", "A010303", "BAD_REQUEST"),
    ("response_type", "A009303", "BAD_REQUEST"),
    ("scope", "A007302", "LOCATION"),
    ("state", "A013302", "LOCATION"),
])
def test_repeated_parameters_get_their_codes(service_a, name, code, action):
    values = {"client_id": service_a.client_id, "response_type": "code",
              "scope": "history.read", "state": "t"}
    # A second occurrence, with the same value or another one: both are repeats.
    for second in (values[name], "other"):
        reply = service_a.authorize(f"{service_a.base_params()}&{name}={values[name]}"
                                    f"&{name}={second}")
        assert reply.status == 200, repr(reply)
        assert reply["action"] == action, f"{name} twice: {reply!r}"
        assert reply["resultCode"] == code, f"{name} twice: {reply!r}"
        if action == "LOCATION":
            error = redirect_query(reply["responseContent"])["error"]
        else:
            error = reply.content()["error"]
        assert error == "invalid_request", repr(reply)


def test_50000_unknown_parameters_are_answered_quickly(service_a):
    many = "&".join(f"x{i}=v" for i in range(50_000))
    reply = service_a.authorize(f"{service_a.base_params()}&{many}")
    assert reply.status == 200, repr(reply)
    assert reply["action"] in AUTHORIZATION_ACTIONS, repr(reply)
    assert reply.elapsed < QUICK, f"answered in {reply.elapsed:.2f}s"


def assert_body_refused(reply):
    assert reply.status == 400, repr(reply)
    assert reply["resultCode"] == "A000201", repr(reply)
    assert reply["action"] is None, repr(reply)
    assert reply.elapsed < QUICK, f"answered in {reply.elapsed:.2f}s"


@pytest.mark.parametrize("path", ["/api/auth/authorization", "/api/auth/token",
                                  "/api/client/create"])
def test_a_body_over_1_mib_is_refused(service_a, path):
    padding = b"a" * (MAX_BODY + 16)
    reply = service_a.call(path, raw=b'{"parameters":"' + padding + b'"}')
    assert_body_refused(reply)


def test_a_body_at_1_mib_is_read(service_a):
    """The limit refuses what is over it, not what is at it."""
    head, tail = b'{"parameters":"' + service_a.base_params().encode() + b"&pad=", b'"}'
    raw = head + b"a" * (MAX_BODY - len(head) - len(tail)) + tail
    assert len(raw) == MAX_BODY
    reply = service_a.call("/api/auth/authorization", raw=raw)
    assert reply.status == 200 and reply["action"] == "INTERACTION", repr(reply)


def raw_exchange(api, head, chunks=(), timeout=QUICK * 4):
    """Sends bytes on one connection and returns (seconds, status line and headers, body)."""
    started = time.monotonic()
    with socket.create_connection((api.host, api.port), timeout=timeout) as s:
        s.sendall(head)
        try:
            for chunk in chunks:
                s.sendall(chunk)
        except OSError:
            pass  # the server may answer (and close) before taking everything
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                part = s.recv(65536)
                if not part:
                    break
                data += part
            header, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in header.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            while len(body) < length:
                part = s.recv(65536)
                if not part:
                    break
                body += part
        except socket.timeout:
            header, body = data, b""
    return time.monotonic() - started, header.decode("latin-1"), body


def test_a_chunked_body_over_1_mib_is_refused(service_a, api):
    chunk = b"a" * 65536
    chunks = [b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(40)] + [b"0\r\n\r\n"]
    head = (f"POST /api/auth/authorization HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {basic(*service_a.creds)}\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    elapsed, header, body = raw_exchange(api, head, chunks)
    assert header.startswith("HTTP/1.1 400"), f"after {elapsed:.2f}s: {header!r} {body[:300]!r}"
    assert b"A000201" in body, body
    assert elapsed < QUICK, f"answered in {elapsed:.2f}s"


def test_a_declared_length_over_1_mib_is_refused_without_waiting_for_the_body(service_a, api):
    """A Content-Length past the limit is refused on the header alone: a server that waits
    for 10 GB that never come holds the connection (and a busy slot) for as long as the
    sender likes."""
    head = (f"POST /api/auth/authorization HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {basic(*service_a.creds)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: 10000000000\r\nConnection: close\r\n\r\n").encode()
    elapsed, header, body = raw_exchange(api, head, timeout=QUICK * 2)
    assert header.startswith("HTTP/1.1 400"), (
        f"no 400 within {elapsed:.1f}s for Content-Length: 10000000000 with no body sent; "
        f"got {header!r} {body[:300]!r}")
    assert b"A000201" in body, body
