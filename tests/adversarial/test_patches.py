"""JSON Patches of the discovery document (/api/service/configuration): a patch that doubles
the document again and again, too many operations and garbage are refused quickly, without
the server's memory growing; a small patch still applies."""

import json

import pytest

from adversarial_support import QUICK

PATH = "/api/service/configuration"
# The server's resident memory must stay below this while it refuses the patches.
RSS_LIMIT_KIB = 300 * 1024


def patch(service, operations):
    text = operations if isinstance(operations, str) else json.dumps(operations)
    return service.call(PATH, {"patch": text})


def assert_refused(reply):
    assert reply.status == 400, repr(reply)
    assert reply["resultCode"] == "A000201" and reply["action"] is None, repr(reply)
    assert reply.elapsed < QUICK, f"answered in {reply.elapsed:.2f}s"


@pytest.mark.parametrize("copies", [17, 30, 100])
def test_copies_of_the_root_are_refused_quickly_and_memory_stays_low(service_a, server,
                                                                     copies):
    ops = [{"op": "copy", "from": "", "path": f"/c{i}"} for i in range(copies)]
    reply = patch(service_a, ops)
    assert_refused(reply)
    assert "larger than" in reply["resultMessage"], repr(reply)
    rss = server.rss_kib()
    if rss is not None:  # known only when the suite started the server
        assert rss < RSS_LIMIT_KIB, f"server RSS {rss} KiB after {copies} copies of the root"


def test_a_doubling_move_chain_is_refused(service_a):
    """Copies of a growing member rather than the root: the same growth by other paths."""
    ops = [{"op": "add", "path": "/g", "value": ["x" * 1000]}]
    ops += [{"op": "copy", "from": "/g", "path": "/g/-"} for _ in range(40)]
    assert_refused(patch(service_a, ops))


def test_101_operations_are_refused(service_a):
    ops = [{"op": "add", "path": f"/x{i}", "value": i} for i in range(101)]
    reply = patch(service_a, ops)
    assert_refused(reply)
    assert "101" in reply["resultMessage"], repr(reply)


@pytest.mark.parametrize("text", [
    "garbage", "{}", "[1]", '[{"op":"explode","path":"/a"}]', "[" * 100_000,
    '[{"op":"remove","path":"/no/such/member"}]', '[{"op":"add","path":"no-slash","value":1}]',
    '[{"op":"test","path":"/issuer","value":"not the issuer"}]', "\u0000\u0001",
], ids=lambda t: repr(t[:30]))
def test_garbage_patches_are_refused(service_a, text):
    assert_refused(patch(service_a, text))


def test_a_patch_of_the_wrong_type_is_refused(service_a):
    reply = service_a.call(PATH, {"patch": [{"op": "add", "path": "/x", "value": 1}]})
    assert reply.status == 400, repr(reply)


def test_a_small_patch_applies(service_a):
    reply = patch(service_a, [{"op": "add", "path": "/x_extra", "value": 1}])
    assert reply.status == 200, repr(reply)
    assert reply["x_extra"] == 1, repr(reply)
    assert reply["issuer"] == "https://as.example.com", repr(reply)
    # 100 operations are the cap, not over it.
    ops = [{"op": "add", "path": f"/x{i}", "value": i} for i in range(100)]
    reply = patch(service_a, ops)
    assert reply.status == 200 and reply["x99"] == 99, repr(reply)
