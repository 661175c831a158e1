#!/usr/bin/env python3
"""Load benchmark of Castellan beside node-oidc-provider and a bare axum ceiling (Python 3 stdlib).

  ./bench.py http      --targets castellan,peer-v8,ceiling [--endpoints token,introspect,walkthrough]
                       [--conc 1,16,64] [--rounds 3] [--seconds 10] [--warmup 3] [--out results/DIR]
  ./bench.py token     --target NAME                # print one fresh token from a running target
  ./bench.py summarize results/DIR                  # write results/DIR/summary.md from the .jsonl files

`http` runs the targets of targets.json ALTERNATELY. Every round, all targets are started (pinned
with taskset to --server-cpus, on their own ports) and warmed up; then each cell (endpoint x
concurrency) runs on A, B, ... in turn, in reverse order on even rounds (A B / B A), so the runs
that a ratio pairs are adjacent in time; then all are stopped. Single-request endpoints are loaded
by wrk (load/post-load.sh), the walk-through by castellan-walkload; both pinned to --load-cpus.
For each run it records the load generator's figures, the CPU time of the server process (µs of
server CPU per request, much less sensitive to other load than req/s), the server's resident and
peak memory, the generator's CPU time and the CPU time everything else on the machine used.
Only loopback targets are accepted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent
HZ = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- helpers

def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def load_targets() -> dict:
    return {k: v for k, v in json.loads((ROOT / "targets.json").read_text()).items() if not k.startswith("_")}


def check_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host != "localhost" and not (host.startswith("127.") or host == "::1"):
        raise SystemExit(f"refusing non-loopback target {url}")


def auth_header(target: dict) -> str:
    auth = target.get("auth") or {}
    if "basic" in auth:
        user, secret = auth["basic"]
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
    if "bearer" in auth:
        return "Bearer " + auth["bearer"]
    return auth.get("header", "")


def post(url: str, body: str, content_type: str, auth: str, timeout: float = 5.0) -> tuple[int, str]:
    check_loopback(url)
    req = urllib.request.Request(url, data=body.encode(), method="POST")
    req.add_header("Content-Type", content_type)
    req.add_header("Accept", "application/json")
    if auth:
        req.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def json_path(doc, path: str):
    cur = doc
    for part in path.split("."):
        if isinstance(cur, str):
            cur = json.loads(cur)
        cur = cur[part]
    return cur


def substitute(value, names: dict):
    """`value` with every {NAME} of `names` replaced, through nested lists and dicts."""
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, list):
        return [substitute(v, names) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, names) for k, v in value.items()}
    return value


def with_vars(target: dict) -> dict:
    """The target with the names its start command wrote (vars_file) filled in."""
    if "vars_file" not in target:
        return target
    names = json.loads((ROOT / target["vars_file"]).read_text())
    return substitute(target, names)


def fetch_token(target: dict) -> str:
    src = target["token_source"]
    ep = target["endpoints"][src["endpoint"]]
    status, text = post(target["base"] + ep["path"], ep["body"], ep["content_type"], auth_header(target))
    if not 200 <= status < 300:
        raise RuntimeError(f"token request failed: {status} {text[:300]}")
    return str(json_path(json.loads(text), src["json_path"]))


def endpoint_body(target: dict, ep: dict) -> str:
    body = ep["body"]
    if "{TOKEN}" in body:
        body = body.replace("{TOKEN}", fetch_token(target))
    return body


def probe(target: dict, name: str, body: str) -> None:
    ep = target["endpoints"][name]
    status, text = post(target["base"] + ep["path"], body, ep["content_type"], auth_header(target))
    if not 200 <= status < 300 or not re.search(ep.get("expect", ""), text):
        raise RuntimeError(f"probe of {name} failed: HTTP {status}: {text[:300]}")


def proc_cpu_s(pid: int) -> float:
    """utime+stime of a process (all its threads), plus reaped children."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime is field 14 -> index 11
    return sum(int(x) for x in fields[11:15]) / HZ


def proc_memory_kb(pid: int) -> tuple[int | None, int | None]:
    """(resident, peak resident) memory of a process in kB, from /proc/<pid>/status."""
    rss = hwm = None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def system_busy_s() -> float:
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    steal = vals[7] if len(vals) > 7 else 0
    return (sum(vals[:8]) - idle - steal) / HZ


def wait_port(url: str, timeout: float = 20.0) -> None:
    u = urllib.parse.urlsplit(url)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((u.hostname, u.port or 80), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not open within {timeout}s")


def port_busy(url: str) -> bool:
    u = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((u.hostname, u.port or 80), timeout=0.3):
            return True
    except OSError:
        return False


def listening_pid(url: str) -> int | None:
    """pid of the process listening on url's port (via `ss -ltnp`), if any."""
    port = urllib.parse.urlsplit(url).port or 80
    try:
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"pid=(\d+)", out)
    return int(m.group(1)) if m else None


class Server:
    def __init__(self, name: str, target: dict, cpus: str, logdir: Path):
        self.name, self.target, self.cpus = name, target, cpus
        self.proc: subprocess.Popen | None = None
        self.ext_pid: int | None = None
        self.log = open(logdir / f"{name}.log", "ab")

    def __enter__(self):
        spec = self.target.get("start")
        if not spec:
            # Externally managed (e.g. the engine): load it, and read the CPU time of whatever
            # process listens on its port, when `ss` can tell.
            self.ext_pid = listening_pid(self.target["base"])
            if self.ext_pid is None:
                log(f"{self.name}: no process found listening at {self.target['base']}; CPU columns stay empty")
            return self
        if port_busy(self.target["base"]):
            raise RuntimeError(f"{self.target['base']} is already in use; stop whatever listens there first")
        for cmd in spec.get("pre", []):
            subprocess.run(cmd, shell=True, cwd=ROOT, check=True, stdout=self.log, stderr=self.log)
        env = dict(os.environ, **spec.get("env", {}))
        cmd = list(spec["cmd"])
        if cmd[0].startswith(("ceiling/", "./")):
            cmd[0] = str(ROOT / cmd[0])
        if self.cpus:
            cmd = ["taskset", "-c", self.cpus] + cmd
        self.proc = subprocess.Popen(cmd, cwd=ROOT / spec.get("cwd", "."), env=env, stdout=self.log,
                                     stderr=self.log, start_new_session=True)
        wait_port(self.target["base"])
        return self

    def cpu_s(self) -> float | None:
        if self.proc:
            return proc_cpu_s(self.proc.pid)
        if self.ext_pid:
            try:
                return proc_cpu_s(self.ext_pid)
            except OSError:
                return None
        return None

    def memory_kb(self) -> tuple[int | None, int | None]:
        pid = self.proc.pid if self.proc else self.ext_pid
        return proc_memory_kb(pid) if pid else (None, None)

    def __exit__(self, *exc):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return False


def run_wrk(url: str, body: str, ep: dict, auth: str, conc: int, seconds: int, load_cpus: str,
            label: str) -> dict:
    cmd = [str(ROOT / "load" / "post-load.sh"), "-u", url, "-b", body, "-t", ep["content_type"],
           "-c", str(conc), "-d", f"{seconds}s", "-l", label]
    if auth:
        cmd += ["-a", auth]
    if load_cpus:
        cmd += ["-p", load_cpus]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60)
    sys.stderr.write(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


WALKLOAD = ROOT.parent / "target" / "release" / "castellan-walkload"


def run_walk(base: str, ep: dict, conc: int, seconds: int, load_cpus: str) -> dict:
    """One closed-loop walk-through run; returns a summary shaped like wrk's (plus flows)."""
    if not WALKLOAD.exists():
        raise SystemExit(f"{WALKLOAD} not found; run: cargo build --release -p castellan-walkload")
    cmd = [str(WALKLOAD), "--base", base, "--conc", str(conc), "--seconds", str(seconds)] + ep["args"]
    if load_cpus:
        cmd = ["taskset", "-c", load_cpus] + cmd
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60)
    sys.stderr.write(out.stderr)
    w = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"  walkthrough c={conc}: {w['flows_per_s']:,.0f} flows/s ({w['rps']:,.0f} calls/s), "
        f"p50 {w['lat_us']['p50'] / 1000:.3f} ms, p99 {w['lat_us']['p99'] / 1000:.3f} ms")
    return w


def is_walk(ep: dict) -> bool:
    return ep.get("kind") == "walkthrough"


# ---------------------------------------------------------------- http

def measure(t: dict, name: str, e: str, ep: dict, c: int, rnd: int, srv: "Server", args) -> dict:
    if not is_walk(ep):
        body = endpoint_body(t, ep)  # a fresh token right before each introspection run
        probe(t, e, body)
    cpu0, busy0, ch0 = srv.cpu_s(), system_busy_s(), resource.getrusage(resource.RUSAGE_CHILDREN)
    load1 = os.getloadavg()[0]
    if is_walk(ep):
        w = run_walk(t["base"], ep, c, args.seconds, args.load_cpus)
    else:
        w = run_wrk(t["base"] + ep["path"], body, ep, auth_header(t), c, args.seconds, args.load_cpus,
                    f"{name}/{e}")["wrk"]
    cpu1, busy1, ch1 = srv.cpu_s(), system_busy_s(), resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_kb, hwm_kb = srv.memory_kb()
    loadgen = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    server_cpu = (cpu1 - cpu0) if cpu0 is not None else None
    if sum(w["errors"].values()):
        log(f"WARNING: errors in {name}/{e} c={c}: {w['errors']}")
    return {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S"), "round": rnd, "target": name, "endpoint": e,
        "conc": c, "seconds": args.seconds, "url": t["base"] + ep.get("path", ""),
        "requests": w["requests"], "rps": w["rps"], "lat_us": w["lat_us"], "errors": w["errors"],
        "flows_per_s": w.get("flows_per_s"), "steps": w.get("steps"),
        "server_rss_kb": rss_kb, "server_peak_rss_kb": hwm_kb,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_req": (server_cpu / w["requests"] * 1e6) if server_cpu is not None and w["requests"] else None,
        "server_util": (server_cpu / w["duration_s"]) if server_cpu is not None else None,
        "loadgen_cpu_s": loadgen,
        "other_cpu_s": (busy1 - busy0) - loadgen - (server_cpu or 0.0),
        "loadavg1_before": load1, "server_cpus": args.server_cpus, "load_cpus": args.load_cpus,
    }


def cmd_http(args) -> Path:
    targets = load_targets()
    names = args.targets.split(",")
    for n in names:
        if n not in targets:
            raise SystemExit(f"unknown target {n}; known: {', '.join(targets)}")
        check_loopback(targets[n]["base"])
    conc = [int(c) for c in args.conc.split(",")]
    out_dir = Path(args.out) if args.out else ROOT / "results" / time.strftime("%Y%m%d-%H%M%S")
    out_dir.mkdir(parents=True, exist_ok=True)
    logdir = ROOT / ".run" / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    out_file = out_dir / (args.name + ".jsonl")
    log(f"http: targets {names}, endpoints {args.endpoints or 'all'}, conc {conc}, {args.rounds} rounds x "
        f"{args.seconds}s, server cpus {args.server_cpus or 'any'}, wrk cpus {args.load_cpus or 'any'} -> {out_file}")
    all_eps: list[str] = []
    for n in names:
        for e in (args.endpoints.split(",") if args.endpoints else targets[n]["endpoints"]):
            if e in targets[n]["endpoints"] and e not in all_eps:
                all_eps.append(e)
    for rnd in range(1, args.rounds + 1):
        # Every target is (re)started for the round and stays up through it; the cells
        # (endpoint x concurrency) then alternate between targets, A B then B A in the next
        # round, so the runs paired in a ratio are adjacent in time.
        order = names if rnd % 2 else list(reversed(names))
        with contextlib.ExitStack() as stack:
            srv, live = {}, {}
            for name in names:
                t = targets[name]
                srv[name] = stack.enter_context(Server(name, t, args.server_cpus, logdir))
                live[name] = with_vars(t)
                log(f"round {rnd} {name}: up at {t['base']} ({t.get('description', '')})")
            for name in names:
                t = live[name]
                for e in all_eps:
                    if e not in t["endpoints"]:
                        continue
                    ep = t["endpoints"][e]
                    if is_walk(ep):
                        run_walk(t["base"], ep, 16, max(args.warmup, 1), args.load_cpus)
                        continue
                    body = endpoint_body(t, ep)
                    probe(t, e, body)
                    if args.warmup:
                        run_wrk(t["base"] + ep["path"], body, ep, auth_header(t), 16, args.warmup, args.load_cpus,
                                "warmup")
            for e in all_eps:
                for c in conc:
                    for name in order:
                        t = live[name]
                        if e not in t["endpoints"]:
                            continue
                        ep = t["endpoints"][e]
                        rec = measure(t, name, e, ep, c, rnd, srv[name], args)
                        with out_file.open("a") as f:
                            f.write(json.dumps(rec) + "\n")
    return out_dir


# ---------------------------------------------------------------- token

def cmd_token(args) -> None:
    print(fetch_token(with_vars(load_targets()[args.target])))


# ---------------------------------------------------------------- summarize

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, nd=0):
    if x is None:
        return "–"
    if nd == 0:
        return f"{x:,.0f}"
    return f"{x:,.{nd}f}"


def paired_ratio(rows, a, b, key, ea, eb, c):
    """Median over rounds of value(a, round r) / value(b, round r)."""
    ra = {r["round"]: r for r in rows if r["target"] == a and r["endpoint"] == ea and r["conc"] == c}
    rb = {r["round"]: r for r in rows if r["target"] == b and r["endpoint"] == eb and r["conc"] == c}
    vals = []
    for rnd in sorted(set(ra) & set(rb)):
        x, y = key(ra[rnd]), key(rb[rnd])
        if x is not None and y:
            vals.append(x / y)
    return (statistics.median(vals), len(vals)) if vals else (None, 0)


def summarize_http(rows: list[dict], title: str) -> list[str]:
    out = [f"### {title}", ""]
    out.append("| target | endpoint | conc | req/s (median) | flows/s | p50 ms | p99 ms | server CPU µs/req | peak RSS MB "
               "| server util | load-gen util | other CPU (cores) | rounds |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    keys = []
    for r in rows:
        k = (r["target"], r["endpoint"], r["conc"])
        if k not in keys:
            keys.append(k)
    keys.sort(key=lambda k: (k[1], k[2], k[0]))
    for k in keys:
        rs = [r for r in rows if (r["target"], r["endpoint"], r["conc"]) == k]
        errs = sum(sum(r["errors"].values()) for r in rs)
        peaks = [r.get("server_peak_rss_kb") for r in rs if r.get("server_peak_rss_kb")]
        out.append(
            f"| {k[0]} | {k[1]} | {k[2]} | {fmt(med([r['rps'] for r in rs]))} | "
            f"{fmt(med([r.get('flows_per_s') for r in rs]))} | "
            f"{fmt(med([r['lat_us']['p50'] / 1000 for r in rs]), 3)} | {fmt(med([r['lat_us']['p99'] / 1000 for r in rs]), 3)} | "
            f"{fmt(med([r['server_cpu_us_per_req'] for r in rs]), 1)} | {fmt(max(peaks) / 1024 if peaks else None, 1)} | "
            f"{fmt(med([r['server_util'] for r in rs]), 2)} | "
            f"{fmt(med([r['loadgen_cpu_s'] / r['seconds'] for r in rs]), 2)} | "
            f"{fmt(med([r['other_cpu_s'] / r['seconds'] for r in rs]), 2)} | {len(rs)}{' ERR=' + str(errs) if errs else ''} |")
    return out + [""]


def walk_steps(rows: list[dict]) -> list[str]:
    """Per-call latency of the walk-through runs (medians over rounds)."""
    walks = [r for r in rows if r.get("steps")]
    if not walks:
        return []
    out = ["#### Walk-through, per call (median over rounds of each run's p50 / p99, ms)", "",
           "| target | conc | flows/s | authorization | issue | token | introspection |", "|---|---:|---:|---|---|---|---|"]
    for t in dict.fromkeys(r["target"] for r in walks):
        for c in sorted({r["conc"] for r in walks if r["target"] == t}):
            rs = [r for r in walks if r["target"] == t and r["conc"] == c]
            cells = [f"{fmt(med([r['steps'][s]['p50'] / 1000 for r in rs]), 2)} / "
                     f"{fmt(med([r['steps'][s]['p99'] / 1000 for r in rs]), 2)}"
                     for s in ("authorization", "issue", "token", "introspection")]
            out.append(f"| {t} | {c} | {fmt(med([r['flows_per_s'] for r in rs]))} | " + " | ".join(cells) + " |")
    return out + [""]


def cpu_per_flow(r: dict):
    if r.get("server_cpu_us_per_req") is None or not r.get("flows_per_s"):
        return None
    return r["server_cpu_us_per_req"] * r["rps"] / r["flows_per_s"]


def side_by_side(rows: list[dict], a: str, b: str) -> list[str]:
    """Compact a-vs-b table: medians over rounds, and paired (same-round) ratios a/b."""
    out = [f"#### {a} vs {b}, side by side (medians over rounds; ratios = median of per-round {a}/{b}; "
           "for the walk-through, req/s counts calls and the ratios compare flows/s and CPU per flow)", "",
           f"| endpoint | conc | {a} req/s | p50 / p99 ms | CPU µs/req | {b} req/s | p50 / p99 ms | CPU µs/req "
           f"| req/s ratio | CPU µs/req ratio |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    shared = [e for e in dict.fromkeys(r["endpoint"] for r in rows if r["target"] == a)
              if any(r["target"] == b and r["endpoint"] == e for r in rows)]
    for e in shared:
        for c in sorted({r["conc"] for r in rows if r["target"] == a and r["endpoint"] == e}):
            cells = []
            for t in (a, b):
                rs = [r for r in rows if r["target"] == t and r["endpoint"] == e and r["conc"] == c]
                cells += [fmt(med([r["rps"] for r in rs])),
                          f"{fmt(med([r['lat_us']['p50'] / 1000 for r in rs]), 2)} / {fmt(med([r['lat_us']['p99'] / 1000 for r in rs]), 2)}",
                          fmt(med([r["server_cpu_us_per_req"] for r in rs]), 1)]
            if e == "walkthrough":
                # Flows, not calls: the two sides need different numbers of calls per flow.
                rr, n = paired_ratio(rows, a, b, lambda r: r["flows_per_s"], e, e, c)
                cpu, _ = paired_ratio(rows, a, b, cpu_per_flow, e, e, c)
            else:
                rr, n = paired_ratio(rows, a, b, lambda r: r["rps"], e, e, c)
                cpu, _ = paired_ratio(rows, a, b, lambda r: r["server_cpu_us_per_req"], e, e, c)
            out.append(f"| {e} | {c} | " + " | ".join(cells) + f" | {fmt(rr, 3)} | {fmt(cpu, 2)} |")
    return out + [""]


# The targets of the foundation issue, per server core at c=64 (p99 at c=16), durable store.
GOALS = [("token", 64, "req/s", 15_000), ("introspect", 64, "req/s", 50_000), ("walkthrough", 64, "flows/s", 3_000)]


def goals(rows: list[dict], target: str = "castellan") -> list[str]:
    mine = [r for r in rows if r["target"] == target]
    if not mine:
        return []
    out = [f"#### {target} against its targets (medians over rounds)", "",
           "| goal | target | measured | met |", "|---|---:|---:|---|"]
    for e, c, unit, want in GOALS:
        rs = [r for r in mine if r["endpoint"] == e and r["conc"] == c]
        if not rs:
            continue
        got = med([r["flows_per_s"] if unit == "flows/s" else r["rps"] for r in rs])
        out.append(f"| {e} at c={c}, {unit} | ≥ {want:,} | {fmt(got)} | {'yes' if got >= want else 'no'} |")
    for r16 in sorted({r["endpoint"] for r in mine if r["conc"] == 16}):
        rs = [r for r in mine if r["endpoint"] == r16 and r["conc"] == 16]
        if rs and rs[0].get("steps"):
            for step in ("authorization", "issue", "token", "introspection"):
                p99 = med([r["steps"][step]["p99"] / 1000 for r in rs])
                out.append(f"| {r16}/{step} p99 at c=16, ms | < 5 | {fmt(p99, 2)} | {'yes' if p99 < 5 else 'no'} |")
        elif rs:
            p99 = med([r["lat_us"]["p99"] / 1000 for r in rs])
            out.append(f"| {r16} p99 at c=16, ms | < 5 | {fmt(p99, 2)} | {'yes' if p99 < 5 else 'no'} |")
    peaks = [r["server_peak_rss_kb"] for r in mine if r.get("server_peak_rss_kb")]
    if peaks:
        peak = max(peaks) / 1024
        out.append(f"| peak RSS over all runs, MB | < 100 | {fmt(peak, 1)} | {'yes' if peak < 100 else 'no'} |")
    return out + [""]


def summarize(args) -> None:
    d = Path(args.dir)
    md = [f"# Results in {d.name}", ""]
    for hf in sorted(d.glob("http*.jsonl")):
        rows = [json.loads(l) for l in hf.read_text().splitlines() if l.strip()]
        md += summarize_http(rows, hf.stem)
        md += walk_steps(rows)
        md += goals(rows)
        targets = list(dict.fromkeys(r["target"] for r in rows))
        if "castellan" in targets:
            for other in targets:
                if other != "castellan":
                    md += side_by_side(rows, "castellan", other)
        ceil = next((t for t in targets if t.startswith("ceiling")), None)
        if ceil:
            for t in targets:
                if t not in (ceil, "castellan"):
                    md += side_by_side(rows, t, ceil)
    (d / "summary.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--out", help="results folder (default results/<timestamp>)")
        sp.add_argument("--rounds", type=int, default=3)
        sp.add_argument("--seconds", type=int, default=10, help="seconds per wrk run (1..30)")
        sp.add_argument("--warmup", type=int, default=3, help="seconds of unrecorded c=16 load per endpoint after start")
        sp.add_argument("--conc", default="1,16,64")
        sp.add_argument("--server-cpus", default="0", help="taskset list for servers ('' = no pinning)")
        sp.add_argument("--load-cpus", default="1", help="taskset list for wrk and microbenchmarks ('' = no pinning)")

    sp = sub.add_parser("http"); common(sp)
    sp.add_argument("--targets", required=True)
    sp.add_argument("--endpoints", help="comma list; default all of each target's endpoints")
    sp.add_argument("--name", default="http", help="results file stem (http*.jsonl)")
    sp.set_defaults(fn=cmd_http)
    sp = sub.add_parser("token"); sp.add_argument("--target", required=True); sp.set_defaults(fn=cmd_token)
    sp = sub.add_parser("summarize"); sp.add_argument("dir"); sp.set_defaults(fn=summarize)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
