"""Raw HTTP helpers the adversarial tests share: a call that returns status, JSON and timing,
Basic credentials (also deliberately broken ones), the Castellan server under test, and the
services and clients the suite creates on it. Only the standard library: what goes over the
wire is exactly what the test wrote."""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field

OWNER_KEY = "424242"
OWNER_SECRET = "adversarial-owner-secret"
ISSUER = "https://as.example.com"
REDIRECT = "https://client.example.org/cb/example.com"
REDIRECT_ENC = urllib.parse.quote(REDIRECT, safe="")
LOOPBACK_REDIRECT = "http://127.0.0.1/cb"
# The documented maximum of every token lifetime: 100 years, in seconds.
MAX_DURATION = 3_153_600_000
I64_MAX = 9_223_372_036_854_775_807
# How long one hostile request may take to be answered. Generous: the machine may be shared
# with a build; a server that chews on the input takes far longer.
QUICK = 5.0
# Socket timeout of every call: a hang fails the test instead of stalling the run.
CALL_TIMEOUT = 60.0
ALL_GRANTS = ["AUTHORIZATION_CODE", "REFRESH_TOKEN", "CLIENT_CREDENTIALS", "PASSWORD"]


# --------------------------------------------------------------------------
# raw HTTP
# --------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict
    elapsed: float
    json: object = field(default=None)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __getitem__(self, name):
        """A member of the JSON body (None when absent or when the body is not an object)."""
        return self.json.get(name) if isinstance(self.json, dict) else None

    def content(self):
        """responseContent parsed as JSON."""
        return json.loads(self["responseContent"])

    def __repr__(self):
        shown = self.text if len(self.body) <= 2000 else self.text[:2000] + "…"
        return f"HTTP {self.status} in {self.elapsed:.2f}s: {shown}"


def basic(key, secret):
    """The Authorization header value for key:secret."""
    raw = f"{key}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Api:
    """Calls to one server, over a fresh connection each (nothing is shared between calls)."""

    def __init__(self, base_url):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"CASTELLAN_BASE_URL must be http://host:port, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port or 80

    def request(self, method, path, *, auth=None, body=None, raw=None, headers=None,
                content_type="application/json", timeout=CALL_TIMEOUT):
        """One request. `auth` is (key, secret), or a str/bytes used as the Authorization
        header as is. `body` is sent as JSON; `raw` (bytes) as is."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            if isinstance(auth, tuple):
                conn.putheader("Authorization", basic(*auth))
            elif auth is not None:
                conn.putheader("Authorization", auth)
            data = raw
            if body is not None:
                data = json.dumps(body).encode()
            if data is not None:
                conn.putheader("Content-Type", content_type)
                conn.putheader("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            started = time.monotonic()
            conn.endheaders()
            if data is not None:
                try:
                    conn.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    # The server may answer (and close) before reading all of an oversized
                    # body; its answer is still there to read.
                    pass
            resp = conn.getresponse()
            payload = resp.read()
            elapsed = time.monotonic() - started
            reply = Reply(resp.status, payload, {k.lower(): v for k, v in resp.getheaders()},
                          elapsed)
            try:
                reply.json = json.loads(payload)
            except ValueError:
                reply.json = None
            return reply
        finally:
            conn.close()

    def post(self, path, body=None, *, auth, **kw):
        return self.request("POST", path, auth=auth, body=body, **kw)

    def get(self, path, *, auth=None, **kw):
        return self.request("GET", path, auth=auth, **kw)

    def healthz(self, timeout=10.0):
        return self.request("GET", "/healthz", timeout=timeout)


# --------------------------------------------------------------------------
# services and clients
# --------------------------------------------------------------------------

def service_settings(**overrides):
    settings = {
        "serviceName": "adversarial", "issuer": ISSUER,
        "supportedGrantTypes": list(ALL_GRANTS),
        "supportedResponseTypes": ["CODE"],
        "supportedScopes": [{"name": "history.read", "defaultEntry": True},
                            {"name": "timeline.read"}, {"name": "openid"}],
        "accessTokenDuration": 3600, "refreshTokenDuration": 86400,
    }
    settings.update(overrides)
    return settings


def client_settings(**overrides):
    settings = {
        "clientName": "c", "clientType": "CONFIDENTIAL", "redirectUris": [REDIRECT],
        "grantTypes": list(ALL_GRANTS), "responseTypes": ["CODE"],
        "tokenAuthMethod": "CLIENT_SECRET_BASIC",
    }
    settings.update(overrides)
    return settings


class Service:
    """A service created for the suite, with one confidential client."""

    def __init__(self, api, owner, service_overrides=None, client_overrides=None):
        self.api = api
        self.owner = owner
        created = api.post("/api/service/create", service_settings(**(service_overrides or {})),
                           auth=owner)
        assert created.status == 200, f"/api/service/create: {created!r}"
        self.key = str(created["apiKey"])
        self.secret = created["apiSecret"]
        client = api.post("/api/client/create", client_settings(**(client_overrides or {})),
                          auth=self.creds)
        assert client.status == 200, f"/api/client/create: {client!r}"
        self.client_id = str(client["clientId"])
        self.client_secret = client["clientSecret"]

    @property
    def creds(self):
        return (self.key, self.secret)

    def call(self, path, body=None, **kw):
        return self.api.post(path, body, auth=self.creds, **kw)

    def ok(self, path, body):
        """A protocol call that must be answered with HTTP 200."""
        reply = self.call(path, body)
        assert reply.status == 200, f"{path}: {reply!r}"
        return reply

    def base_params(self, redirect_enc=REDIRECT_ENC):
        return f"response_type=code&client_id={self.client_id}&redirect_uri={redirect_enc}&state=s"

    def authorize(self, parameters, **kw):
        return self.call("/api/auth/authorization", {"parameters": parameters}, **kw)

    def issue(self, ticket, subject="john", **extra):
        return self.ok("/api/auth/authorization/issue",
                       {"ticket": ticket, "subject": subject, **extra})

    def token(self, parameters, client_secret=None, **kw):
        return self.call("/api/auth/token", {
            "parameters": parameters, "clientId": self.client_id,
            "clientSecret": self.client_secret if client_secret is None else client_secret,
        }, **kw)

    def code(self, **issue_extra):
        a = self.authorize(self.base_params())
        assert a.status == 200 and a["action"] == "INTERACTION", repr(a)
        issued = self.issue(a["ticket"], **issue_extra)
        assert issued["action"] == "LOCATION", repr(issued)
        return issued["authorizationCode"]

    def redeem(self, code):
        return self.token(f"grant_type=authorization_code&code={code}&redirect_uri={REDIRECT_ENC}")

    def access_token(self):
        t = self.redeem(self.code())
        assert t.status == 200 and t["action"] == "OK", repr(t)
        return t["accessToken"]

    def introspect(self, token):
        return self.ok("/api/auth/introspection", {"token": token})

    def owner_get(self):
        reply = self.api.get(f"/api/service/get/{self.key}", auth=self.owner)
        assert reply.status == 200, repr(reply)
        return reply.json

    def delete(self):
        self.api.request("DELETE", f"/api/service/delete/{self.key}", auth=self.owner)


def redirect_query(location):
    """The query (or fragment) parameters of a redirect URI, as a dict of single values."""
    parts = urllib.parse.urlsplit(location)
    raw = parts.query or parts.fragment
    return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))


# --------------------------------------------------------------------------
# the server under test
# --------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def repo_root():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Server:
    """A `castellan serve` started by the suite (pid known), or one already running."""

    def __init__(self, base_url, owner, process=None, workdir=None, log_path=None):
        self.base_url = base_url
        self.owner = owner
        self.process = process
        self.workdir = workdir
        self.log_path = log_path
        self.api = Api(base_url)

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def rss_kib(self):
        """Resident memory of the server process (VmRSS, KiB), or None when not ours."""
        if not self.process:
            return None
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None

    def alive(self):
        return self.process is None or self.process.poll() is None

    def log_tail(self, limit=4000):
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    @classmethod
    def start(cls):
        """Starts the debug binary (or CASTELLAN_BIN) on a free port with a fresh data
        directory. The binary is copied first, so a rebuild during the run cannot touch it."""
        binary = os.environ.get("CASTELLAN_BIN") or os.path.join(
            repo_root(), "target", "debug", "castellan")
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"{binary} is not an executable: build it first "
                               "(cargo build -p castellan) or set CASTELLAN_BIN")
        workdir = tempfile.mkdtemp(prefix="castellan-adversarial-")
        copy = os.path.join(workdir, "castellan")
        shutil.copy2(binary, copy)
        port = free_port()
        log_path = os.path.join(workdir, "server.log")
        env = dict(os.environ,
                   CASTELLAN_SERVICE_OWNER_API_KEY=OWNER_KEY,
                   CASTELLAN_SERVICE_OWNER_API_SECRET=OWNER_SECRET)
        for name in ("CASTELLAN_MASTER_KEY", "CASTELLAN_DATABASE_URL"):
            env.pop(name, None)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [copy, "serve", "--listen", f"127.0.0.1:{port}",
                 "--data-dir", os.path.join(workdir, "data"),
                 "--master-key-file", os.path.join(workdir, "key"), "--no-demo"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)
        server = cls(f"http://127.0.0.1:{port}", (OWNER_KEY, OWNER_SECRET), process, workdir,
                     log_path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            try:
                if server.api.get("/readyz", timeout=2).status == 200:
                    return server
            except OSError:
                pass
            time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"castellan serve did not become ready:\n{server.log_tail()}")

    @classmethod
    def external(cls, base_url):
        key = os.environ.get("CASTELLAN_SERVICE_OWNER_API_KEY")
        secret = os.environ.get("CASTELLAN_SERVICE_OWNER_API_SECRET")
        if not key or not secret:
            raise RuntimeError("CASTELLAN_BASE_URL is set: CASTELLAN_SERVICE_OWNER_API_KEY and "
                               "CASTELLAN_SERVICE_OWNER_API_SECRET must name its service owner")
        return cls(base_url, (key, secret))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        if self.workdir and not os.environ.get("CASTELLAN_KEEP_WORKDIR"):
            shutil.rmtree(self.workdir, ignore_errors=True)
