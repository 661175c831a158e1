#!/usr/bin/env python3
"""Soak test of Castellan: long mixed load on one server, watched for slow leaks.

  bench/soak/soak.py [--binary target/release/castellan] [--minutes 30] [--warmup-minutes 2]
            [--database-url postgres://postgres@127.0.0.1:5432/test]
            [--concurrency 8] [--rate 200] [--out DIR]

Starts Castellan from --binary on a fresh embedded data directory (or, with --database-url, on
a scratch PostgreSQL database castellan_soak_<pid> made on that server with psql and dropped at
the end), creates one service and two clients (confidential and public) over the management
API, then runs --minutes of mixed load from --concurrency threads, each on its own keep-alive
connection, closed loop, paced so that all of them together make at most --rate calls per
second. The load is successes and expected failures on every protocol endpoint; every reply is
checked, and anything unexpected (a wrong status or action, HTTP 5xx, a connection error) is
an error, counted and logged with a sample in errors.jsonl.

Every --interval seconds (10) it samples the server process (RSS, open files, threads, CPU)
and the calls of the interval (count, p50/p99 latency, errors) into samples.jsonl; at the end
it draws soak.png and writes summary.md with the verdict. Exit code 0: pass, 1: fail, 2: the
run could not start.

Python 3 standard library, plus matplotlib for the plot (pip install matplotlib); without
matplotlib the run still happens and the plot is skipped (and noted in summary.md).
Only loopback: the server is started on 127.0.0.1 and all load goes there.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
REPO = BENCH.parent
HZ = os.sysconf("SC_CLK_TCK")

OWNER_KEY = "4243"
OWNER_SECRET = "soak-owner-" + secrets.token_urlsafe(12)
ISSUER = "https://soak.example.com"
REDIRECT = "https://client.example.org/cb/soak"
REDIRECT_ENC = urllib.parse.quote(REDIRECT, safe="")
EVIL_REDIRECT_ENC = urllib.parse.quote("https://evil.example.net/cb", safe="")
REQUEST_TIMEOUT = 30.0

# Scenario -> weight. A scenario is a short sequence of calls; later calls use what earlier
# ones returned. The walk-through carries most of the load, as in production.
MIX = {
    "walkthrough": 6,           # 10 calls, confidential client
    "walkthrough_public": 2,    # 5 calls, public client (PKCE, no secret)
    "authorization_fail": 2,    # authorization -> /authorization/fail (DENIED)
    "client_credentials": 3,    # token -> introspection -> standard introspection
    "metadata": 2,              # configuration + JWK Set
    "wrong_client_secret": 2,   # token / revocation with a wrong client secret
    "unknown_token": 2,         # introspection, standard introspection, userinfo, revocation
    "replayed_code": 2,         # the same code twice, then the first token is dead
    "bad_redirect_uri": 2,      # unregistered redirect_uri
    "wrong_service_credentials": 2,  # HTTP 401 from the caller authentication
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the server process

def read_proc(pid: int) -> dict:
    """RSS (kB), threads, open files and CPU seconds of a process, from /proc."""
    out: dict = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
    out["open_files"] = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    out["cpu_s"] = (int(fields[11]) + int(fields[12])) / HZ
    return out


def dir_size_bytes(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


class Backend:
    """Where the server keeps its data: a scratch directory, or a scratch PostgreSQL database."""

    def __init__(self, work: Path, database_url: str | None):
        self.work = work
        self.db_name = None
        self.db_url = None
        if database_url:
            u = urllib.parse.urlsplit(database_url)
            if u.scheme not in ("postgres", "postgresql"):
                raise SystemExit("--database-url takes a postgres:// URL")
            self.db_name = f"castellan_soak_{os.getpid()}"
            # psql connects to the database of the URL given (or `postgres`) to make the scratch one.
            self.admin_url = database_url if u.path.strip("/") else urllib.parse.urlunsplit(
                (u.scheme, u.netloc, "/postgres", u.query, ""))
            self.db_url = urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + self.db_name, u.query, ""))

    @property
    def name(self) -> str:
        return "postgresql" if self.db_url else "embedded"

    def psql(self, *sql: str, capture: bool = False) -> str:
        cmd = ["psql", self.admin_url, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        if capture:
            cmd += ["-A", "-t"]
        for s in sql:
            cmd += ["-c", s]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def create(self) -> None:
        if self.db_url:
            self.psql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)", f"CREATE DATABASE {self.db_name}")
            log(f"created database {self.db_name}")

    def drop(self) -> None:
        if self.db_url:
            try:
                self.psql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
                log(f"dropped database {self.db_name}")
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                log(f"could not drop {self.db_name}: {e}")

    def data_args(self) -> list[str]:
        key = ["--master-key-file", str(self.work / "master.key")]
        if self.db_url:
            return ["--database", self.db_url] + key
        return ["--data-dir", str(self.work / "data")] + key

    def size_mb(self) -> float | None:
        try:
            if self.db_url:
                return int(self.psql(f"SELECT pg_database_size('{self.db_name}')", capture=True)) / 1e6
            return dir_size_bytes(self.work / "data") / 1e6
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired):
            return None


class SizeProbe(threading.Thread):
    """The database size, measured in the background (psql can be slow on a busy machine, and
    the sampler must not wait for it): `latest` is the last figure, None until there is one."""

    def __init__(self, backend: Backend, interval: float, stop: threading.Event):
        super().__init__(name="size-probe", daemon=True)
        self.backend, self.interval, self.stop = backend, interval, stop
        self.latest: float | None = backend.size_mb()

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            size = self.backend.size_mb()
            if size is not None:
                self.latest = size


class Server:
    def __init__(self, binary: Path, backend: Backend, port: int, log_path: Path):
        self.binary = binary
        self.backend = backend
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        # A fresh store: no CASTELLAN_* setting of the caller's environment leaks in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASTELLAN_")}
        env["CASTELLAN_SERVICE_OWNER_API_KEY"] = OWNER_KEY
        env["CASTELLAN_SERVICE_OWNER_API_SECRET"] = OWNER_SECRET
        cmd = [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}", "--no-demo",
               *self.backend.data_args()]
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited at start with {self.proc.returncode}; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    log(f"server up on 127.0.0.1:{self.port} (pid {self.proc.pid}, {self.backend.name})")
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("the server did not answer /healthz within 120 s")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log("the server did not stop within 20 s of SIGTERM; killing it")
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


# ---------------------------------------------------------------- calls and their checks

class Stats:
    """Calls of the current interval and of the whole run, shared by the workers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.interval_latencies: list[float] = []
        self.interval_errors = 0
        self.total_calls = 0
        self.total_errors = 0
        self.flows = 0
        self.per_call: dict[str, dict] = {}

    def record(self, label: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.interval_latencies.append(ms)
            self.total_calls += 1
            c = self.per_call.setdefault(label, {"calls": 0, "errors": 0, "latencies": []})
            c["calls"] += 1
            # A bounded reservoir per call for the overall percentiles of summary.md.
            if len(c["latencies"]) < 20000:
                c["latencies"].append(ms)
            else:
                j = random.randrange(c["calls"])
                if j < 20000:
                    c["latencies"][j] = ms
            if not ok:
                self.interval_errors += 1
                self.total_errors += 1
                c["errors"] += 1

    def error_without_call(self, label: str) -> None:
        with self.lock:
            self.interval_errors += 1
            self.total_errors += 1
            c = self.per_call.setdefault(label, {"calls": 0, "errors": 0, "latencies": []})
            c["errors"] += 1

    def flow_done(self) -> None:
        with self.lock:
            self.flows += 1

    def take_interval(self) -> tuple[list[float], int]:
        with self.lock:
            lat, err = self.interval_latencies, self.interval_errors
            self.interval_latencies, self.interval_errors = [], 0
        return lat, err


class ErrorLog:
    """errors.jsonl: every kind of unexpected reply, with a few samples each."""

    SAMPLES_PER_KIND = 5
    MAX_SAMPLES = 500

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.kinds: dict[str, int] = {}
        self.samples = 0
        self.first: list[dict] = []
        self.file = open(path, "w")

    def add(self, entry: dict) -> None:
        kind = f"{entry['call']}: {entry['reason']}"
        with self.lock:
            n = self.kinds.get(kind, 0) + 1
            self.kinds[kind] = n
            if n <= self.SAMPLES_PER_KIND and self.samples < self.MAX_SAMPLES:
                self.samples += 1
                self.file.write(json.dumps(entry) + "\n")
                self.file.flush()
                if len(self.first) < 10:
                    self.first.append(entry)
                if n == 1:
                    log(f"ERROR {kind}: HTTP {entry.get('status')} {str(entry.get('reply'))[:300]}")

    def close(self) -> None:
        with self.lock:
            self.file.close()


class Pacer:
    """Spaces the calls of all workers at least 1/rate apart (closed loop: no catching up)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.lock = threading.Lock()
        self.next = time.monotonic()

    def wait(self, stop: threading.Event) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(self.next, now)
            self.next = slot + self.interval
        delay = slot - now
        if delay > 0:
            stop.wait(delay)


class FlowFailed(Exception):
    pass


class Stopped(Exception):
    pass


def redact(body):
    if isinstance(body, dict):
        return {k: ("***" if k.lower().endswith("secret") else v) for k, v in body.items()}
    return body


class Expect:
    """What a reply must be: an HTTP status, and for protocol calls an action (and optionally a
    result code, an OAuth error in responseContent, and a predicate on the document)."""

    def __init__(self, status: int = 200, action: str | None = None, code: str | None = None,
                 error: str | None = None, check=None):
        self.status, self.action, self.code, self.error, self.check = status, action, code, error, check

    def verify(self, status: int, doc) -> str | None:
        if status != self.status:
            return f"HTTP {status}, expected {self.status}"
        if self.action is not None:
            got = doc.get("action") if isinstance(doc, dict) else None
            if got != self.action:
                return f"action {got}, expected {self.action}"
        if self.code is not None:
            got = doc.get("resultCode") if isinstance(doc, dict) else None
            if got != self.code:
                return f"resultCode {got}, expected {self.code}"
        if self.error is not None:
            try:
                got = json.loads(doc["responseContent"]).get("error")
            except (KeyError, TypeError, ValueError, AttributeError):
                got = None
            if got != self.error:
                return f"error {got}, expected {self.error}"
        if self.check is not None:
            problem = self.check(doc)
            if problem:
                return problem
        return None


class Worker(threading.Thread):
    def __init__(self, n: int, ctx: dict, stats: Stats, errors: ErrorLog, pacer: Pacer,
                 stop: threading.Event, seed: int):
        super().__init__(name=f"worker-{n}", daemon=True)
        self.ctx, self.stats, self.errors, self.pacer, self.stop = ctx, stats, errors, pacer, stop
        self.rng = random.Random(seed)
        self.conn: http.client.HTTPConnection | None = None
        self.conn_calls = 0
        self.previous = None
        self.scenario = ""
        self.service_auth = basic(ctx["api_key"], ctx["api_secret"])
        self.conf_id = ctx["conf_id"]
        self.conf_secret = ctx["conf_secret"]
        self.public_id = ctx["public_id"]
        names, weights = zip(*MIX.items())
        self.names, self.weights = list(names), list(weights)

    # -- transport

    def connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.ctx["port"], timeout=REQUEST_TIMEOUT)
            self.conn_calls = 0
            self.previous = None
        return self.conn

    def call(self, label: str, method: str, path: str, expect: Expect, body=None, auth: str | None = "service",
             close: bool = False):
        """One call, timed and checked; returns the JSON document (or raw text) of the reply.
        `close`: ask the server to close the connection after the reply (the next call opens a
        new one)."""
        self.pacer.wait(self.stop)
        if self.stop.is_set():
            raise Stopped
        headers = {"Accept": "application/json"}
        if close:
            headers["Connection"] = "close"
        if auth == "service":
            headers["Authorization"] = self.service_auth
        elif auth:
            headers["Authorization"] = auth
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            conn = self.connection()
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException) as e:
            ms = (time.perf_counter() - started) * 1000
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            if self.stop.is_set():
                raise Stopped from e
            context = "on a new connection"
            if self.previous is not None:
                what, when = self.previous
                context = (f"after {self.conn_calls} calls on this connection, the last {what}, "
                           f"{(time.monotonic() - when) * 1000:.1f} ms before")
            self.fail(label, ms, method, path, body, None, context, f"connection error: {type(e).__name__}: {e}")
        ms = (time.perf_counter() - started) * 1000
        # What the next call's connection error, if any, will name as the call before it.
        if resp.will_close:
            self.conn_calls, self.previous = 0, None
        else:
            self.conn_calls += 1
            self.previous = (f"{method} {path} -> HTTP {status}", time.monotonic())
        text = raw.decode("utf-8", "replace")
        try:
            doc = json.loads(text) if text.strip() else None
        except ValueError:
            doc = None
        problem = expect.verify(status, doc)
        if problem is None and status >= 500:
            problem = f"HTTP {status}"
        if problem:
            self.fail(label, ms, method, path, body, status, text, problem)
        self.stats.record(label, ms, True)
        return doc if doc is not None else text

    def fail(self, label, ms, method, path, body, status, text, reason):
        self.stats.record(label, ms, False)
        self.errors.add({
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"), "scenario": self.scenario, "call": label,
            "reason": reason, "request": {"method": method, "path": path, "body": redact(body)},
            "status": status, "reply": (text or "")[:2000], "latency_ms": round(ms, 2),
        })
        raise FlowFailed(reason)

    # -- helpers of the scenarios

    def post(self, label, path, body, expect, auth="service", close=False):
        return self.call(label, "POST", path, expect, body, auth, close)

    def pkce(self) -> tuple[str, str]:
        verifier = b64url(secrets.token_bytes(32))
        return verifier, b64url(hashlib.sha256(verifier.encode()).digest())

    def subject(self) -> str:
        return f"user-{self.rng.randrange(1000)}"

    def authorize(self, client_id, scope="openid history.read"):
        """An authorization request with PKCE S256: (reply, code verifier, state)."""
        state = secrets.token_urlsafe(8)
        verifier, challenge = self.pkce()
        params = (f"response_type=code&client_id={client_id}&redirect_uri={REDIRECT_ENC}&state={state}"
                  f"&scope={urllib.parse.quote(scope)}&nonce={secrets.token_urlsafe(8)}"
                  f"&code_challenge={challenge}&code_challenge_method=S256")
        doc = self.post("authorization", "/api/auth/authorization", {"parameters": params},
                        Expect(action="INTERACTION", code="A004001",
                               check=lambda d: None if d.get("ticket") else "no ticket"))
        return doc, verifier, state

    def issue(self, ticket, subject, state):
        def check(d):
            code = d.get("authorizationCode")
            loc = d.get("responseContent") or ""
            if not code:
                return "no authorizationCode"
            if not loc.startswith(REDIRECT + "?") or f"state={state}" not in loc or f"code={code}" not in loc:
                return f"unexpected location {loc[:200]}"
            return None
        doc = self.post("authorization/issue", "/api/auth/authorization/issue",
                        {"ticket": ticket, "subject": subject}, Expect(action="LOCATION", check=check))
        return doc["authorizationCode"]

    def token(self, label, params, expect, client_id=None, client_secret=None):
        body = {"parameters": params}
        if client_id is not None:
            body["clientId"] = str(client_id)
        if client_secret is not None:
            body["clientSecret"] = client_secret
        return self.post(label, "/api/auth/token", body, expect)

    def introspect(self, label, token, expect, **extra):
        return self.post(label, "/api/auth/introspection", {"token": token, **extra}, expect)

    # -- scenarios

    def sc_walkthrough(self):
        subject = self.subject()
        a, verifier, state = self.authorize(self.conf_id)
        code = self.issue(a["ticket"], subject, state)

        def has_tokens(d):
            if not (d.get("accessToken") and d.get("refreshToken") and d.get("idToken")):
                return "accessToken, refreshToken or idToken missing"
            return None if d.get("subject") == subject else f"subject {d.get('subject')}, expected {subject}"
        t = self.token("token authorization_code",
                       f"grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&code_verifier={verifier}",
                       Expect(action="OK", code="A050001", check=has_tokens), self.conf_id, self.conf_secret)
        at, rt = t["accessToken"], t["refreshToken"]
        self.introspect("introspection", at,
                        Expect(action="OK", code="A056001",
                               check=lambda d: None if d.get("usable") and d.get("subject") == subject
                               else "not usable or wrong subject"),
                        scopes=["history.read"], subject=subject)
        self.post("userinfo", "/api/auth/userinfo", {"token": at},
                  Expect(action="OK", code="A091001",
                         check=lambda d: None if d.get("subject") == subject else "wrong subject"))
        self.post("userinfo/issue", "/api/auth/userinfo/issue",
                  {"token": at, "claims": json.dumps({"name": "Soak Test", "email": f"{subject}@example.com"})},
                  Expect(action="JSON",
                         check=lambda d: None if json.loads(d.get("responseContent") or "{}").get("sub") == subject
                         else "userinfo without the subject"))
        r = self.token("token refresh_token", f"grant_type=refresh_token&refresh_token={rt}",
                       Expect(action="OK", check=lambda d: None if d.get("accessToken") and d.get("refreshToken")
                              and d["refreshToken"] != rt else "no rotated tokens"),
                       self.conf_id, self.conf_secret)
        # The access token of before the rotation died with it.
        self.introspect("introspection (rotated out)", at, Expect(action="UNAUTHORIZED"))
        self.post("revocation", "/api/auth/revocation",
                  {"parameters": f"token={r['accessToken']}&token_type_hint=access_token",
                   "clientId": str(self.conf_id), "clientSecret": self.conf_secret},
                  Expect(action="OK", code="A113001"))
        self.introspect("introspection (revoked)", r["accessToken"], Expect(action="UNAUTHORIZED", code="A057302"))

    def sc_walkthrough_public(self):
        subject = self.subject()
        a, verifier, state = self.authorize(self.public_id, scope="history.read")
        code = self.issue(a["ticket"], subject, state)
        t = self.token("token authorization_code (public)",
                       f"grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}"
                       f"&code_verifier={verifier}&client_id={self.public_id}",
                       Expect(action="OK", check=lambda d: None if d.get("accessToken") else "no accessToken"))
        self.introspect("introspection", t["accessToken"], Expect(action="OK", code="A056001"))
        self.post("revocation", "/api/auth/revocation",
                  {"parameters": f"token={t['accessToken']}&client_id={self.public_id}"},
                  Expect(action="OK", code="A113001"))

    def sc_authorization_fail(self):
        a, _, state = self.authorize(self.conf_id)

        def denied(d):
            loc = d.get("responseContent") or ""
            ok = loc.startswith(REDIRECT + "?") and "error=access_denied" in loc and f"state={state}" in loc
            return None if ok else f"unexpected location {loc[:200]}"
        self.post("authorization/fail", "/api/auth/authorization/fail",
                  {"ticket": a["ticket"], "reason": "DENIED"}, Expect(action="LOCATION", code="A060306", check=denied))

    def sc_client_credentials(self):
        t = self.token("token client_credentials", "grant_type=client_credentials&scope=timeline.read",
                       Expect(action="OK", check=lambda d: None if d.get("accessToken") and not d.get("refreshToken")
                              else "no accessToken, or a refreshToken"),
                       self.conf_id, self.conf_secret)
        at = t["accessToken"]
        self.introspect("introspection", at, Expect(action="OK", code="A056001"), scopes=["timeline.read"])

        def active(d):
            body = json.loads(d.get("responseContent") or "{}")
            ok = body.get("active") is True and body.get("client_id") == str(self.conf_id)
            return None if ok else f"not active: {d.get('responseContent')}"
        self.post("introspection/standard", "/api/auth/introspection/standard",
                  {"parameters": f"token={at}&token_type_hint=access_token"}, Expect(action="OK", check=active))
        # A scope the token lacks: FORBIDDEN, an expected refusal.
        self.introspect("introspection (insufficient scope)", at, Expect(action="FORBIDDEN"), scopes=["history.read"])

    def sc_metadata(self):
        self.call("service/configuration", "GET", "/api/service/configuration",
                  Expect(check=lambda d: None if isinstance(d, dict) and d.get("issuer") == ISSUER
                         and d.get("token_endpoint") == ISSUER + "/token" else "not the discovery document"))

        def public_keys(d):
            keys = d.get("keys") if isinstance(d, dict) else None
            if not keys:
                return "no keys"
            if any("d" in k for k in keys):
                return "private key material in the JWK Set"
            return None
        self.call("service/jwks/get", "GET", "/api/service/jwks/get", Expect(check=public_keys))

    def sc_wrong_client_secret(self):
        if self.rng.random() < 0.5:
            self.token("token (wrong client secret)", "grant_type=client_credentials",
                       Expect(action="INVALID_CLIENT", code="A157305"), self.conf_id, "not-the-secret")
        else:
            self.post("revocation (wrong client secret)", "/api/auth/revocation",
                      {"parameters": f"token={secrets.token_urlsafe(32)}", "clientId": str(self.conf_id),
                       "clientSecret": "not-the-secret"},
                      Expect(action="INVALID_CLIENT", code="A114311"))

    def sc_unknown_token(self):
        token = secrets.token_urlsafe(32)
        which = self.rng.randrange(4)
        if which == 0:
            self.introspect("introspection (unknown token)", token,
                            Expect(action="UNAUTHORIZED", code="A057302",
                                   check=lambda d: None if d.get("existent") is False else "existent is not false"))
        elif which == 1:
            self.post("introspection/standard (unknown token)", "/api/auth/introspection/standard",
                      {"parameters": f"token={token}"},
                      Expect(action="OK", check=lambda d: None if json.loads(d.get("responseContent") or "{}")
                             .get("active") is False else "unknown token is active"))
        elif which == 2:
            self.post("userinfo (unknown token)", "/api/auth/userinfo", {"token": token},
                      Expect(action="UNAUTHORIZED"))
        else:
            # RFC 7009: revoking a token the server does not know is a success.
            self.post("revocation (unknown token)", "/api/auth/revocation",
                      {"parameters": f"token={token}", "clientId": str(self.conf_id), "clientSecret": self.conf_secret},
                      Expect(action="OK", code="A113001"))
        # No token at all: a request the resource server should not have made.
        if self.rng.random() < 0.25:
            self.post("introspection (no token)", "/api/auth/introspection", {},
                      Expect(action="BAD_REQUEST", code="A057301"))

    def sc_replayed_code(self):
        a, verifier, state = self.authorize(self.conf_id, scope="history.read")
        code = self.issue(a["ticket"], self.subject(), state)
        params = f"grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}&code_verifier={verifier}"
        t = self.token("token authorization_code", params,
                       Expect(action="OK", check=lambda d: None if d.get("accessToken") else "no accessToken"),
                       self.conf_id, self.conf_secret)
        self.token("token (replayed code)", params, Expect(action="BAD_REQUEST", error="invalid_grant"),
                   self.conf_id, self.conf_secret)
        # A replayed code revokes what it issued.
        self.introspect("introspection (after replay)", t["accessToken"], Expect(action="UNAUTHORIZED"))

    def sc_bad_redirect_uri(self):
        params = (f"response_type=code&client_id={self.conf_id}&redirect_uri={EVIL_REDIRECT_ENC}"
                  f"&state={secrets.token_urlsafe(6)}&scope=history.read")
        self.post("authorization (bad redirect_uri)", "/api/auth/authorization", {"parameters": params},
                  Expect(action="BAD_REQUEST", code="A011304"))

    def sc_wrong_service_credentials(self):
        which = self.rng.randrange(3)
        if which == 0:
            auth, code = basic(self.ctx["api_key"], "not-the-secret"), "A003204"
        elif which == 1:
            auth, code = basic("1", "no-such-service"), "A003201"
        else:
            auth, code = None, "A001202"

        def no_action(d):
            return None if isinstance(d, dict) and "action" not in d else "a 401 reply with an action"
        # Made on the kept-alive connection: the server refuses such a call before reading its
        # body, so its reply says `Connection: close` and the next call reconnects.
        self.post("introspection (wrong service credentials)", "/api/auth/introspection",
                  {"token": secrets.token_urlsafe(32)}, Expect(status=401, code=code, check=no_action), auth=auth)

    def run(self) -> None:
        while not self.stop.is_set():
            self.scenario = self.rng.choices(self.names, self.weights)[0]
            try:
                getattr(self, "sc_" + self.scenario)()
                self.stats.flow_done()
            except Stopped:
                break
            except FlowFailed:
                continue
            except Exception as e:  # a reply of an unexpected shape, e.g. a missing member
                self.stats.error_without_call(self.scenario)
                self.errors.add({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "scenario": self.scenario,
                                 "call": self.scenario, "reason": f"{type(e).__name__}: {e}",
                                 "request": None, "status": None, "reply": None})
        if self.conn is not None:
            self.conn.close()


# ---------------------------------------------------------------- setup over the management API

def api(port: int, method: str, path: str, auth: str, body=None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": auth, "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    try:
        return resp.status, json.loads(text)
    except ValueError:
        return resp.status, {"text": text}


def provision(port: int, access_token_seconds: int, refresh_token_seconds: int) -> dict:
    owner = basic(OWNER_KEY, OWNER_SECRET)
    status, service = api(port, "POST", "/api/service/create", owner, {
        "serviceName": "soak",
        "issuer": ISSUER,
        "supportedGrantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS"],
        "supportedResponseTypes": ["CODE"],
        "supportedScopes": [{"name": "openid"}, {"name": "history.read", "defaultEntry": True},
                            {"name": "timeline.read"}],
        "supportedClaims": ["sub", "name", "email"],
        "authorizationEndpoint": ISSUER + "/authorize",
        "tokenEndpoint": ISSUER + "/token",
        "userInfoEndpoint": ISSUER + "/userinfo",
        "revocationEndpoint": ISSUER + "/revoke",
        "introspectionEndpoint": ISSUER + "/introspect",
        "accessTokenDuration": access_token_seconds,
        "refreshTokenDuration": refresh_token_seconds,
    })
    if status != 200 or "apiKey" not in service:
        raise RuntimeError(f"/api/service/create: HTTP {status} {service}")
    key, secret = str(service["apiKey"]), service["apiSecret"]
    service_auth = basic(key, secret)
    status, conf = api(port, "POST", "/api/client/create", service_auth, {
        "clientName": "soak-confidential", "clientType": "CONFIDENTIAL", "redirectUris": [REDIRECT],
        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS"],
        "responseTypes": ["CODE"], "tokenAuthMethod": "CLIENT_SECRET_BASIC",
    })
    if status != 200 or "clientId" not in conf:
        raise RuntimeError(f"/api/client/create (confidential): HTTP {status} {conf}")
    status, public = api(port, "POST", "/api/client/create", service_auth, {
        "clientName": "soak-public", "clientType": "PUBLIC", "redirectUris": [REDIRECT],
        "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"], "responseTypes": ["CODE"],
        "tokenAuthMethod": "NONE",
    })
    if status != 200 or "clientId" not in public:
        raise RuntimeError(f"/api/client/create (public): HTTP {status} {public}")
    log(f"service {key}, confidential client {conf['clientId']}, public client {public['clientId']}")
    return {"port": port, "api_key": key, "api_secret": secret, "conf_id": conf["clientId"],
            "conf_secret": conf["clientSecret"], "public_id": public["clientId"]}


# ---------------------------------------------------------------- sampling

class Sampler(threading.Thread):
    def __init__(self, server: Server, size: SizeProbe, stats: Stats, out: Path, interval: float,
                 warmup_s: float, duration_s: float, started: float, stop: threading.Event):
        super().__init__(name="sampler", daemon=True)
        self.server, self.size, self.stats = server, size, stats
        self.interval, self.warmup_s, self.started, self.stop = interval, warmup_s, started, stop
        self.duration_s = duration_s
        self.file = open(out, "w")
        self.samples: list[dict] = []
        self.server_died = False
        self.last_wall = started
        self.last_cpu = None

    def sample(self) -> None:
        now = time.monotonic()
        latencies, errors = self.stats.take_interval()
        latencies.sort()
        elapsed = now - self.last_wall
        self.last_wall = now
        t = now - self.started
        s = {"t": round(t, 1), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
             # An interval counts after the warm-up when it began after the warm-up's end.
             "phase": "measure" if t - elapsed >= self.warmup_s - 1.0 and elapsed > 0.5 else "warmup"}
        try:
            p = read_proc(self.server.pid)
        except (OSError, ValueError, KeyError):
            p = None
        if p is None or not self.server.alive():
            self.server_died = True
            s["server_alive"] = False
        else:
            s.update(rss_mb=round(p["rss_kb"] / 1024, 2), open_files=p["open_files"], threads=p["threads"])
            if self.last_cpu is not None and elapsed > 0:
                s["cpu_pct"] = round(100 * (p["cpu_s"] - self.last_cpu) / elapsed, 1)
            self.last_cpu = p["cpu_s"]
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        s.update(requests=len(latencies), rps=round(len(latencies) / elapsed, 1) if elapsed > 0.5 else None,
                 p50_ms=round(p50, 2) if p50 is not None else None,
                 p99_ms=round(p99, 2) if p99 is not None else None,
                 errors=errors, errors_total=self.stats.total_errors, flows_total=self.stats.flows)
        if self.size.latest is not None:
            s["db_mb"] = round(self.size.latest, 2)
        self.samples.append(s)
        self.file.write(json.dumps(s) + "\n")
        self.file.flush()
        log(f"t={t:6.0f}s {s['phase']:7} rss={s.get('rss_mb')}MB fds={s.get('open_files')} "
            f"threads={s.get('threads')} cpu={s.get('cpu_pct')}% req/s={s['rps']} p50={s['p50_ms']}ms "
            f"p99={s['p99_ms']}ms errors={errors} (total {s['errors_total']}) db={s.get('db_mb')}MB")

    def run(self) -> None:
        """Samples every interval; after the sample that ends the run, stops everything."""
        k = 1
        while not self.stop.is_set():
            if self.stop.wait(max(0.0, self.started + k * self.interval - time.monotonic())):
                break
            self.sample()
            if self.server_died:
                log("the server process is gone")
                self.stop.set()
            if k * self.interval >= self.duration_s - 1e-6:
                self.stop.set()
            k += 1

    def close(self) -> None:
        self.file.close()


# ---------------------------------------------------------------- verdict, plot, summary

def median_of(samples: list[dict], key: str) -> float | None:
    values = [s[key] for s in samples if s.get(key) is not None]
    return statistics.median(values) if values else None


def evaluate(samples: list[dict], args, total_errors: int, incomplete: str | None) -> tuple[bool, list[dict]]:
    """The pass criteria: each a row with what was measured and whether it passed."""
    warmup_s = args.warmup_minutes * 60
    post = [s for s in samples if s["phase"] == "measure" and s.get("rss_mb") is not None]
    # A minute is the samples whose interval ends in it (half an interval of slack for timing).
    half = args.interval / 2
    rows: list[dict] = []

    def row(name, value, limit, ok):
        rows.append({"criterion": name, "value": value, "limit": limit, "ok": ok})

    if incomplete:
        row("run completed", incomplete, "the whole --minutes", False)
    if not post:
        row("samples after warm-up", "none", "at least one", False)
        return False, rows
    end = post[-1]["t"]
    first = [s for s in post if s["t"] <= warmup_s + 60 + half]
    last = [s for s in post if s["t"] > end - 60 + half] or post[-1:]
    rss0, rss1 = median_of(first, "rss_mb"), median_of(last, "rss_mb")
    growth = (rss1 - rss0) / rss0 if rss0 else float("inf")
    row("RSS growth (last-minute median vs first post-warm-up minute median)",
        f"{rss0:.1f} MB -> {rss1:.1f} MB ({growth * 100:+.1f} %)", f"<= {args.rss_growth * 100:.0f} %",
        growth <= args.rss_growth)
    fds = [s["open_files"] for s in post]
    row("open files after warm-up (max - min)", f"{min(fds)}..{max(fds)} ({max(fds) - min(fds)})",
        f"<= {args.fd_tolerance}", max(fds) - min(fds) <= args.fd_tolerance)
    row("errors (whole run)", str(total_errors), "0", total_errors == 0)
    p0, p1 = median_of(first, "p99_ms"), median_of(last, "p99_ms")
    if p0 is None or p1 is None:
        row("p99 (last-minute median vs first post-warm-up minute median)", "no calls", "", False)
    else:
        ratio = p1 / p0 if p0 > 0 else float("inf")
        row("p99 (last-minute median vs first post-warm-up minute median)",
            f"{p0:.1f} ms -> {p1:.1f} ms ({ratio:.2f}x)", f"<= {args.p99_ratio}x", ratio <= args.p99_ratio)
    return all(r["ok"] for r in rows), rows


def plot(samples: list[dict], path: Path, title: str, warmup_s: float) -> str | None:
    """Draws the samples; returns why not when it cannot."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"

    def series(key):
        return [s["t"] / 60 for s in samples], [s.get(key) if s.get(key) is not None else float("nan") for s in samples]

    fig, axes = plt.subplots(3, 2, figsize=(13, 10), sharex=True)
    panels = [
        (axes[0][0], [("rss_mb", "RSS", "tab:blue")], "RSS (MB)"),
        (axes[0][1], [("open_files", "open files", "tab:green")], "open files"),
        (axes[1][0], [("threads", "threads", "tab:purple")], "threads"),
        (axes[1][1], [("p50_ms", "p50", "tab:blue"), ("p99_ms", "p99", "tab:red")], "latency (ms)"),
        (axes[2][0], [("rps", "requests/s", "tab:blue")], "requests/s"),
        (axes[2][1], [("db_mb", "database", "tab:brown")], "database size (MB)"),
    ]
    for ax, lines, ylabel in panels:
        for key, label, color in lines:
            xs, ys = series(key)
            ax.plot(xs, ys, marker=".", markersize=3, linewidth=1, label=label, color=color)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.axvline(warmup_s / 60, color="gray", linestyle="--", linewidth=1)
        ax.set_ylim(bottom=0)
        if len(lines) > 1:
            ax.legend(loc="upper left", fontsize=8)
    # Errors per interval, on the requests/s panel.
    err_t = [s["t"] / 60 for s in samples if s.get("errors")]
    if err_t:
        ax = axes[2][0]
        ax2 = ax.twinx()
        ax2.bar(err_t, [s["errors"] for s in samples if s.get("errors")], width=0.08, color="tab:red",
                alpha=0.6, label="errors")
        ax2.set_ylabel("errors / interval", color="tab:red")
        ax2.legend(loc="upper right", fontsize=8)
    for ax in axes[2]:
        ax.set_xlabel("minutes (dashed: end of warm-up)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def write_summary(path: Path, args, info: dict, verdict: bool, rows: list[dict], stats: Stats,
                  errors: ErrorLog, plot_note: str | None, samples: list[dict]) -> None:
    lines = [f"# Castellan soak: {'PASS' if verdict else 'FAIL'}", ""]
    lines += [
        f"- started {info['started']}, {info['duration_min']:.1f} min of load "
        f"({args.warmup_minutes:g} min warm-up), backend **{info['backend']}**",
        f"- binary `{info['binary']}` ({info['version']})",
        f"- {args.concurrency} workers, keep-alive, closed loop, at most {args.rate:g} calls/s in all; "
        f"token lifetimes {args.access_token_seconds} s (access), {args.refresh_token_seconds} s (refresh)",
        f"- {stats.total_calls} calls, {stats.flows} scenarios completed, {stats.total_errors} errors; "
        f"server exit code {info['exit_code']}; {info['server_warnings']} WARN/ERROR lines in the server log",
        "",
        "## Criteria", "",
        "| criterion | measured | limit | |", "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['criterion']} | {r['value']} | {r['limit']} | {'pass' if r['ok'] else '**FAIL**'} |")
    post = [s for s in samples if s.get("threads") is not None and s["phase"] == "measure"]
    if post:
        th = [s["threads"] for s in post]
        cpu = [s["cpu_pct"] for s in post if s.get("cpu_pct") is not None]
        lines += ["", f"Not criteria: threads after warm-up {min(th)}..{max(th)}"
                  + (f"; server CPU median {statistics.median(cpu):.0f} % of one core" if cpu else "")
                  + (f"; database {post[0].get('db_mb')} MB -> {post[-1].get('db_mb')} MB"
                     if post[0].get("db_mb") is not None else "") + "."]
    lines += ["", "## Calls", "", "| call | calls | errors | p50 ms | p99 ms |", "|---|---:|---:|---:|---:|"]
    with stats.lock:
        per_call = {k: (v["calls"], v["errors"], sorted(v["latencies"])) for k, v in stats.per_call.items()}
    for name in sorted(per_call):
        calls, errs, lat = per_call[name]
        p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
        fmt = (lambda v: f"{v:.1f}" if v is not None else "-")
        lines.append(f"| {name} | {calls} | {errs} | {fmt(p50)} | {fmt(p99)} |")
    if info.get("server_log_kinds"):
        lines += ["", "## Server log: WARN and ERROR lines", "",
                  "Replayed codes are expected to log a warning each (the grant is revoked).", "",
                  "| line | count |", "|---|---:|"]
        for kind, n in sorted(info["server_log_kinds"].items(), key=lambda kv: -kv[1]):
            lines.append(f"| {kind.replace('|', '/')[:200]} | {n} |")
    if errors.kinds:
        lines += ["", "## Errors", "", "| kind | count |", "|---|---:|"]
        for kind, n in sorted(errors.kinds.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {kind.replace('|', '/')} | {n} |")
        lines += ["", "First samples (all in errors.jsonl):", ""]
        for e in errors.first[:5]:
            lines += ["```json", json.dumps(e, indent=1)[:3000], "```"]
    lines += ["", "## Files", "",
              "- `samples.jsonl`: one sample per interval (t s, rss_mb, open_files, threads, cpu_pct, requests, "
              "rps, p50_ms, p99_ms, errors, errors_total, db_mb)",
              "- `soak.png`: the samples drawn" + (f" (not drawn: {plot_note})" if plot_note else ""),
              "- `errors.jsonl`: samples of unexpected replies",
              "- `server-warnings.log`: the server's WARN and ERROR log lines",
              "", f"Command: `{info['command']}`", ""]
    path.write_text("\n".join(lines))


def extract_warnings(server_log: Path, dest: Path, limit: int = 1000) -> dict[str, int]:
    """Copies the WARN/ERROR lines (and what is not a log line, e.g. a panic) of the server log,
    the first `limit` of them, to dest; returns how many there were of each message."""
    kinds: dict[str, int] = {}
    quiet = re.compile(r"^\S+\s+(TRACE|DEBUG|INFO)\s")
    loud = re.compile(r"^\S+\s+(WARN|ERROR)\s+(\S+):\s(.*)$")
    fields = re.compile(r"(\s+[\w.]+=(\"[^\"]*\"|\S+))+$")
    n = 0
    with open(server_log, "rb") as src, open(dest, "w") as out:
        for raw in src:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if not line.strip() or quiet.match(line):
                continue
            # The banner the server prints at start is not news.
            if line.startswith(("Castellan listening", "  console:", "  database:")):
                continue
            m = loud.match(line)
            kind = f"{m.group(1)} {m.group(2)}: {fields.sub('', m.group(3))}" if m else f"(not a log line) {line[:120]}"
            kinds[kind] = kinds.get(kind, 0) + 1
            n += 1
            if n <= limit:
                out.write(line + "\n")
    return kinds


# ---------------------------------------------------------------- main

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(REPO / "target/release/castellan"),
                    help="the castellan binary (default: target/release/castellan of the repository)")
    ap.add_argument("--database-url", help="PostgreSQL server to use, e.g. postgres://postgres@127.0.0.1:5432/test: "
                    "a scratch database castellan_soak_<pid> is made there and dropped at the end")
    ap.add_argument("--minutes", type=float, default=30, help="minutes of load (default 30)")
    ap.add_argument("--warmup-minutes", type=float, default=2, help="minutes left out of the criteria (default 2)")
    ap.add_argument("--concurrency", type=int, default=8, help="worker threads, one connection each (default 8)")
    ap.add_argument("--rate", type=float, default=200, help="most calls per second of all workers together "
                    "(default 200; 0: unpaced)")
    ap.add_argument("--interval", type=float, default=10, help="seconds between samples (default 10)")
    ap.add_argument("--out", help="result folder (default bench/results/soak-<timestamp>)")
    ap.add_argument("--port", type=int, default=0, help="port of the server on 127.0.0.1 (default: a free one)")
    ap.add_argument("--access-token-seconds", type=int, default=300,
                    help="access token lifetime of the service (default 300: tokens expire and are purged "
                    "during the run)")
    ap.add_argument("--refresh-token-seconds", type=int, default=600, help="refresh token lifetime (default 600)")
    ap.add_argument("--rss-growth", type=float, default=0.10, help="largest RSS growth allowed (default 0.10)")
    ap.add_argument("--fd-tolerance", type=int, default=8, help="largest max-min of open files (default 8)")
    ap.add_argument("--p99-ratio", type=float, default=1.5, help="largest p99 growth ratio (default 1.5)")
    ap.add_argument("--keep-server-log", action="store_true", help="keep the server's whole log as server.log")
    ap.add_argument("--seed", type=int, default=None, help="seed of the scenario choice")
    args = ap.parse_args()

    if args.minutes <= args.warmup_minutes:
        ap.error("--minutes must be longer than --warmup-minutes")
    if args.minutes - args.warmup_minutes < 2:
        log("note: less than 2 minutes after warm-up: the first and last minute overlap")
    binary = Path(args.binary).resolve()
    if not os.access(binary, os.X_OK):
        print(f"soak.py: {binary} not found; build it with: cargo build --release -p castellan", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else BENCH / "results" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="castellan-soak-"))
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
    backend = Backend(work, args.database_url)
    port = args.port or free_port()
    server = Server(binary, backend, port, work / "server.log")
    stop = threading.Event()
    interrupted: list[str] = []

    def on_signal(signum, _frame):
        interrupted.append(signal.Signals(signum).name)
        stop.set()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    info = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "backend": backend.name, "binary": str(binary),
            "version": version, "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
            "exit_code": None, "server_warnings": 0, "duration_min": 0.0}
    stats = Stats()
    errors = ErrorLog(out / "errors.jsonl")
    sampler = None
    workers: list[Worker] = []
    try:
        backend.create()
        server.start()
        ctx = provision(port, args.access_token_seconds, args.refresh_token_seconds)
        pacer = Pacer(args.rate)
        started = time.monotonic()
        size = SizeProbe(backend, args.interval / 2, stop)
        size.start()
        sampler = Sampler(server, size, stats, out / "samples.jsonl", args.interval,
                          args.warmup_minutes * 60, args.minutes * 60, started, stop)
        # A sample before any load: where memory starts.
        sampler.sample()
        sampler.start()
        seed = args.seed if args.seed is not None else secrets.randbits(32)
        for i in range(args.concurrency):
            w = Worker(i, ctx, stats, errors, pacer, stop, seed + i)
            w.start()
            workers.append(w)
        log(f"load for {args.minutes:g} min: {args.concurrency} workers, <= {args.rate:g} calls/s; results in {out}")
        # The sampler stops the run after its last sample (or at once if the server dies).
        stop.wait(args.minutes * 60 + args.interval + 30)
        ran = time.monotonic() - started
        stop.set()
        for w in workers:
            w.join(timeout=REQUEST_TIMEOUT + 5)
        sampler.join(timeout=args.interval + 5)
        size.join(timeout=10)
        info["duration_min"] = ran / 60
    except (RuntimeError, OSError) as e:
        log(f"the run could not go on: {e}")
        stop.set()
        info["exit_code"] = server.stop()
        backend.drop()
        if (work / "server.log").exists():
            shutil.copy(work / "server.log", out / "server.log")
            log(f"server log: {out / 'server.log'}")
        shutil.rmtree(work, ignore_errors=True)
        return 2
    finally:
        errors.close()
        if sampler is not None:
            sampler.close()
    died = sampler.server_died or not server.alive()
    info["exit_code"] = server.stop()
    backend.drop()
    info["server_log_kinds"] = extract_warnings(work / "server.log", out / "server-warnings.log")
    info["server_warnings"] = sum(info["server_log_kinds"].values())
    if args.keep_server_log:
        shutil.copy(work / "server.log", out / "server.log")
    shutil.rmtree(work, ignore_errors=True)

    incomplete = None
    if died:
        incomplete = "the server process died"
    elif interrupted:
        incomplete = f"interrupted ({interrupted[0]}) after {info['duration_min']:.1f} min"
    verdict, rows = evaluate(sampler.samples, args, stats.total_errors, incomplete)
    title = (f"Castellan soak, {backend.name}, {info['duration_min']:.0f} min, {args.concurrency} workers, "
             f"<= {args.rate:g} calls/s: {'PASS' if verdict else 'FAIL'}\n{binary} ({version})")
    plot_note = plot(sampler.samples, out / "soak.png", title, args.warmup_minutes * 60)
    write_summary(out / "summary.md", args, info, verdict, rows, stats, errors, plot_note, sampler.samples)
    print()
    for r in rows:
        print(f"  {'pass' if r['ok'] else 'FAIL'}  {r['criterion']}: {r['value']} (limit {r['limit']})")
    print(f"\nsoak {'PASS' if verdict else 'FAIL'}: {stats.total_calls} calls, {stats.total_errors} errors; "
          f"{out / 'summary.md'}")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
