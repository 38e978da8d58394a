#!/usr/bin/python3
"""make bench, API part: aio-apid's request throughput and latency on loopback, side by side
with a throwaway nginx serving the same bytes, with wrk as the load generator and apiload (a
sequential keep-alive client, tools/bench/apiload.c) for latencies.  docs/benchmarks.md
explains every figure.

Usage: api.py [OUT-DIR]   (default $BUILD/bench/api)

aio-apid runs twice: as tests/integration/test_apid.py's Apid class runs it (socket
activation, outside any jail: the raw server), then through `aio-run up --rootfs host --port 0`
(in the jail).  Each measurement runs BENCH_API_ROUNDS times; the table shows medians.  Raw
results (wrk and apiload JSON, latency samples, server logs) and summary.json land in OUT-DIR.
A missed target is reported, never fatal; a tool that fails (wrk, nginx, aio-apid, aio-run up)
fails the run.

Environment: BUILD (default build), BENCH_API_ROUNDS (3), BENCH_API_DURATION (wrk seconds, 4),
BENCH_API_CONNS (wrk connections for throughput, 32), BENCH_API_CALLS (timed calls per latency
run, 2000), BENCH_API_THREADS (aio-apid --threads and nginx worker_processes; default: aio-apid's
default), BENCH_API_JAIL (1; 0 skips the aio-run up part).
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BUILD", "build"))
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
APID = BUILD / "bin" / "aio-apid"
AIO_RUN = BUILD / "bin" / "aio-run"

ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", "3"))
DURATION = int(os.environ.get("BENCH_API_DURATION", "4"))
CONNS = int(os.environ.get("BENCH_API_CONNS", "32"))
CALLS = int(os.environ.get("BENCH_API_CALLS", "2000"))
THREADS = os.environ.get("BENCH_API_THREADS", "")
JAIL = os.environ.get("BENCH_API_JAIL", "1") != "0"
WARMUP = 200
HELD = 500       # connections held open at once
INFLIGHT = 50    # long-running commands in flight
FILE_SIZE = 1 << 20

JSON_HDR = {"Content-Type": "application/json"}


class ToolError(Exception):
    pass


def log(msg):
    print(f"bench-api: {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path, body=None, timeout=60):
    """One request on a fresh connection: (status, parsed JSON or raw bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body)
        c.request(method, path, body=data, headers=JSON_HDR if body is not None else {})
        r = c.getresponse()
        raw = r.read()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw
    finally:
        c.close()


def must(port, method, path, body=None):
    status, data = call(port, method, path, body)
    if status != 200 or not isinstance(data, dict) or not data.get("success"):
        raise ToolError(f"{method} {path}: {status} {data!r:.300}")
    return data["data"]


def wait_up(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            raise ToolError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise ToolError(f"{what} does not answer on port {port}")


def rss_kib(pid):
    """VmRSS and VmHWM of pid, in KiB."""
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                vals[k] = int(v.split()[0])
    return vals


def default_threads():
    """aio-apid's default --threads, from its --help."""
    text = subprocess.run([str(APID), "--help"], capture_output=True, text=True).stdout
    m = re.search(r"--threads N +polling threads \(default (\d+)", text)
    if not m:
        raise ToolError("aio-apid --help does not give the default --threads")
    return int(m.group(1))


# --- servers --------------------------------------------------------------------------------

class DirectApid:
    """aio-apid outside any jail, as test_apid.py's Apid runs it: a listening socket bound
    here, handed over as fd 3 with LISTEN_FDS=1 and LISTEN_PID set by the exec'ing shell."""
    label = "direct"

    def __init__(self, out):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.logpath = out / "apid-direct.log"
        fd = self.sock.fileno()
        move = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
        # an empty home: the session shells source ~/.bashrc, and a developer's (pyenv's prompt
        # hook forks on every prompt) would be measured instead of aio-apid
        home = out / "home"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        env = dict(os.environ, LISTEN_FDS="1", HOME=str(home))
        env.pop("LISTEN_PID", None)
        args = ["--threads", THREADS] if THREADS else []
        with open(self.logpath, "wb") as logf:
            self.proc = subprocess.Popen(
                ["/bin/bash", "-c", f'LISTEN_PID=$$ exec "$0" "$@"{move}', str(APID), *args],
                pass_fds=(fd,), env=env, stdout=logf, stderr=logf)
        self.pid = self.proc.pid
        self.threads = int(THREADS) if THREADS else default_threads()
        try:
            wait_up(self.port, self.proc, "aio-apid")
        except ToolError:
            self.proc.kill()
            self.proc.wait()
            self.sock.close()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.sock.close()
        if code != 0:
            raise ToolError(f"aio-apid exited with {code} (log: {self.logpath})")


class JailApid:
    """aio-apid in a jail: `aio-run up --rootfs host --port 0`, which prints the URL."""
    label = "jail"

    def __init__(self, out, threads):
        # jail root (an unprivileged host uid) must traverse the state dir
        self.state = tempfile.mkdtemp(prefix="aio-bench-api-", dir="/var/tmp")
        os.chmod(self.state, 0o711)
        self.logpath = out / "apid-jail.log"
        self.logf = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [str(AIO_RUN), "up", "--rootfs", "host", "--port", "0", "--state-dir", self.state,
             "--name", f"aio-bench-api-{os.getpid()}"],
            stdout=subprocess.PIPE, stderr=self.logf, text=True)
        self.threads = threads  # aio-run up starts aio-apid with its defaults
        try:
            line = self.proc.stdout.readline().strip()
            m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", line)
            if not m:
                raise ToolError(f"aio-run up printed {line!r} (log: {self.logpath})")
            self.port = int(m.group(1))
            wait_up(self.port, self.proc, "aio-run up")
            must(self.port, "GET", "/v1/sandbox")
            self.pid = self.find_apid()
        except (ToolError, OSError):
            self.stop(check=False)
            raise

    def find_apid(self):
        """The aio-apid among the descendants of our aio-run."""
        children = {}
        for p in Path("/proc").iterdir():
            try:
                stat = (p / "stat").read_text()
            except (OSError, ValueError):
                continue
            if p.name.isdigit():
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(p.name))
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "aio-apid":
                    return pid
            except OSError:
                pass
            todo.extend(children.get(pid, []))
        raise ToolError("no aio-apid under aio-run up")

    def stop(self, check=True):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.communicate(timeout=60)
        finally:
            self.logf.close()
            subprocess.run([str(AIO_RUN), "gc", "--state-dir", self.state],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(self.state, ignore_errors=True)
        if check and self.proc.returncode != 0:
            raise ToolError(f"aio-run up exited with {self.proc.returncode} "
                            f"(log: {self.logpath})")


NGINX_CONF = """\
# throwaway nginx for tools/bench/api.py: loopback only, its own prefix
daemon off;
master_process on;
user root;
worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;  # aio-apid has no per-connection request limit
    keepalive_timeout 30s;       # aio-apid --timeout default
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type application/json;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
    }}
}}
"""


class Nginx:
    def __init__(self, out, workers):
        self.prefix = out / "nginx"
        shutil.rmtree(self.prefix, ignore_errors=True)
        (self.prefix / "tmp").mkdir(parents=True)
        (self.prefix / "www" / "v1").mkdir(parents=True)
        self.www = self.prefix / "www"
        self.port = free_port()
        conf = self.prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(workers=workers, prefix=self.prefix, port=self.port))
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(self.prefix), "-c", str(conf),
             "-e", str(self.prefix / "error.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_up(self.port, self.proc, "nginx")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


# --- load generators ------------------------------------------------------------------------

WRK_LUA = """\
wrk.method = {method}
wrk.body = {body}
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {{"requests": %d, "bytes": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "non2xx3xx": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.timeout,
    e.status, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def lua_str(s):
    return "[==[" + s + "]==]" if s is not None else "nil"


def wrk(out, name, port, path, conns, method="GET", body=None, during=None):
    """wrk -t1 for DURATION seconds; returns its JSON (requests/s and bytes/s added)."""
    script = out / f"{name}.lua"
    headers = 'wrk.headers["Content-Type"] = "application/json"' if body else ""
    script.write_text(WRK_LUA.format(method=lua_str(method), body=lua_str(body),
                                     headers=headers))
    argv = ["wrk", "-t1", f"-c{conns}", f"-d{DURATION}s", "--timeout", "10s", "-s", str(script),
            f"http://127.0.0.1:{port}{path}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    extra = during() if during else None
    text = proc.communicate(timeout=DURATION + 60)[0]
    (out / f"{name}.txt").write_text(text)
    m = re.search(r"^WRK-JSON (.*)$", text, re.M)
    if proc.returncode != 0 or not m:
        raise ToolError(f"wrk {name} failed ({proc.returncode}): {text[-500:]}")
    r = json.loads(m.group(1))
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["bytes_per_s"] = r["bytes"] / (r["duration_us"] / 1e6)
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
    if extra is not None:
        r["during"] = extra
    (out / f"{name}.json").write_text(json.dumps(r, indent=1))
    return r


def apiload(out, name, port, method, path, body, calls=CALLS):
    argv = [str(out / "apiload"), str(port), method, path, json.dumps(body) if body else "",
            str(WARMUP), str(calls), str(out / f"{name}.samples")]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise ToolError(f"apiload {name} failed: {p.stderr.strip()}")
    r = json.loads(p.stdout)
    (out / f"{name}.json").write_text(json.dumps(r, indent=1))
    return r


def build_apiload(out):
    subprocess.run(["gcc", "-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-D_GNU_SOURCE",
                    str(REPO / "tools/bench/apiload.c"), "-o", str(out / "apiload")], check=True)


# --- fixtures -------------------------------------------------------------------------------

def file_content():
    """1 MiB of text: lines of 76 printable characters (base64's alphabet), deterministic."""
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    x, out = 12345, bytearray()
    while len(out) < FILE_SIZE:
        for _ in range(76):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            out.append(alphabet[(x >> 16) & 63])
        out.append(10)
    return bytes(out[:FILE_SIZE - 1]) + b"\n"


def exec_route(port):
    """/v1/shell/exec when the tree has it, else /v1/bash/exec; and a warm session's body."""
    status, data = call(port, "POST", "/v1/shell/exec", {"command": "echo hi"})
    if status == 404 and isinstance(data, dict) and data.get("message") == "Not Found":
        sid = must(port, "POST", "/v1/bash/exec", {"command": "echo hi"})["session_id"]
        return "/v1/bash/exec", {"session_id": sid, "command": "echo hi"}
    if status != 200 or not data.get("success"):
        raise ToolError(f"POST /v1/shell/exec: {status} {data!r:.300}")
    return "/v1/shell/exec", {"id": data["data"]["session_id"], "command": "echo hi"}


def check_exec(port, route, body):
    d = must(port, "POST", route, body)
    text = d.get("output") if route == "/v1/shell/exec" else d.get("stdout")
    if d.get("exit_code") != 0 or "hi" not in (text or ""):
        raise ToolError(f"POST {route} echo hi gave {d!r:.300}")


class Fixtures:
    """The bytes both servers serve: GET /v1/sandbox's body and a 1 MiB file."""

    def __init__(self, apid, nginx, out):
        c = http.client.HTTPConnection("127.0.0.1", apid.port, timeout=30)
        c.request("GET", "/v1/sandbox")
        body = c.getresponse().read()
        c.close()
        (nginx.www / "v1" / "sandbox").write_bytes(body)
        self.sandbox_len = len(body)
        content = file_content()
        (nginx.www / "file-1m.txt").write_bytes(content)
        self.path = str(out / "file-1m.txt") if apid.label == "direct" else "/tmp/aio-bench-1m.txt"
        step = 256 << 10  # JSON bodies are capped at 1 MiB: written in pieces
        for off in range(0, len(content), step):
            must(apid.port, "POST", "/v1/file/write",
                 {"file": self.path, "content": content[off:off + step].decode(),
                  "append": off > 0})
        got = must(apid.port, "POST", "/v1/file/read", {"file": self.path})["content"]
        if got.encode() != content:
            raise ToolError("POST /v1/file/read does not return what was written")
        self.read_body = {"file": self.path}
        self.route, self.exec_body = exec_route(apid.port)
        check_exec(apid.port, self.route, self.exec_body)
        # /v1/bash/exec starts a process per command (api/child.c): measured on its own
        sid = must(apid.port, "POST", "/v1/bash/exec", {"command": "echo hi"})["session_id"]
        self.bash_body = {"session_id": sid, "command": "echo hi"}
        check_exec(apid.port, "/v1/bash/exec", self.bash_body)


# --- measurements ---------------------------------------------------------------------------

def held_connections(port):
    """Established connections to port, counted by ss halfway through a wrk run."""
    time.sleep(DURATION / 2)
    p = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                       capture_output=True, text=True)
    return len(p.stdout.splitlines())


def inflight_async(port, out, name):
    """INFLIGHT async `sleep 30` in one bash session, then GET /v1/sandbox latencies."""
    sid = must(port, "POST", "/v1/bash/sessions/create", {})["session_id"]
    try:
        for _ in range(INFLIGHT):
            d = must(port, "POST", "/v1/bash/exec",
                     {"session_id": sid, "command": "sleep 30", "async_mode": True})
            if d["status"] != "running":
                raise ToolError(f"async sleep 30 is {d['status']}")
        return apiload(out, name, port, "GET", "/v1/sandbox", None)
    finally:
        must(port, "POST", "/v1/bash/kill", {"session_id": sid, "signal": "SIGKILL"})
        must(port, "POST", f"/v1/bash/sessions/{sid}/close")


def inflight_sync(port, out, name):
    """INFLIGHT open synchronous `sleep 30` requests (each a handler thread waiting), then
    GET /v1/sandbox latencies."""
    sid = must(port, "POST", "/v1/bash/sessions/create", {})["session_id"]
    body = json.dumps({"session_id": sid, "command": "sleep 30"}).encode()
    req = (b"POST /v1/bash/exec HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
           b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    socks = []
    try:
        for _ in range(INFLIGHT):
            s = socket.create_connection(("127.0.0.1", port), timeout=60)
            socks.append(s)
            s.sendall(req)
        wait_running(port, sid, INFLIGHT)
        return apiload(out, name, port, "GET", "/v1/sandbox", None)
    finally:
        must(port, "POST", "/v1/bash/kill", {"session_id": sid, "signal": "SIGKILL"})
        for s in socks:
            s.recv(65536)  # the killed command's answer
            s.close()
        must(port, "POST", f"/v1/bash/sessions/{sid}/close")


def wait_running(port, sid, n):
    for _ in range(200):
        info = [s for s in must(port, "GET", "/v1/bash/sessions") if s["session_id"] == sid]
        if info and info[0].get("command_count", 0) >= n:
            return
        time.sleep(0.05)
    raise ToolError(f"{n} sync commands did not start in session {sid}")


def one_round(apid, nginx, fx, out, r):
    tag = f"{apid.label}-r{r}"
    res = {}
    pair = [("apid", apid.port), ("nginx", nginx.port)]
    if r % 2:
        pair.reverse()  # alternate who goes first
    for who, port in pair:
        res[f"sandbox_{who}"] = wrk(out, f"{tag}-sandbox-{who}", port, "/v1/sandbox", CONNS)
    for who, port in pair:
        if who == "apid":
            res["file_apid"] = wrk(out, f"{tag}-file-apid", port, "/v1/file/read", CONNS,
                                   "POST", json.dumps(fx.read_body))
        else:
            res["file_nginx"] = wrk(out, f"{tag}-file-nginx", port, "/file-1m.txt", CONNS)
    # the raw bytes, sendfile'd: what aio-apid does when no JSON encoding is asked for
    res["download_apid"] = wrk(out, f"{tag}-download-apid", apid.port,
                               f"/v1/file/download?path={quote(fx.path)}", CONNS)
    res["exec"] = apiload(out, f"{tag}-exec", apid.port, "POST", fx.route, fx.exec_body)
    res["bash_exec"] = apiload(out, f"{tag}-bash-exec", apid.port, "POST", "/v1/bash/exec",
                               fx.bash_body)
    res["held"] = wrk(out, f"{tag}-held{HELD}", apid.port, "/v1/sandbox", HELD,
                      during=lambda: held_connections(apid.port))
    res["idle_get"] = apiload(out, f"{tag}-get-idle", apid.port, "GET", "/v1/sandbox", None)
    res["async_get"] = inflight_async(apid.port, out, f"{tag}-get-async{INFLIGHT}")
    res["sync_get"] = inflight_sync(apid.port, out, f"{tag}-get-sync{INFLIGHT}")
    return res


def bench_server(apid, out):
    nginx = Nginx(out, apid.threads)
    try:
        fx = Fixtures(apid, nginx, out)
        log(f"{apid.label}: aio-apid --threads {apid.threads} (pid {apid.pid}, port {apid.port}),"
            f" nginx worker_processes {apid.threads} (port {nginx.port}); exec route {fx.route}")
        rss_before = rss_kib(apid.pid)
        rounds = []
        for r in range(1, ROUNDS + 1):
            log(f"{apid.label}: round {r} of {ROUNDS}")
            rounds.append(one_round(apid, nginx, fx, out, r))
        rss_after = rss_kib(apid.pid)
    finally:
        nginx.stop()
    if apid.label == "direct":
        os.unlink(fx.path)
    else:
        call(apid.port, "POST", "/v1/bash/exec", {"command": f"rm -f {fx.path}"})
    return {"threads": apid.threads, "route": fx.route, "sandbox_bytes": fx.sandbox_len,
            "rss_before": rss_before, "rss_after": rss_after, "rounds": rounds}


# --- report ---------------------------------------------------------------------------------

def med(rounds, key, field):
    return statistics.median(x[key][field] for x in rounds)


def rows_for(label, s):
    """(name, aio-apid value, reference value, ratio, target, met) tuples."""
    rs, rows = s["rounds"], []

    def add(name, val, ref="", ratio=None, target=None):
        met = "-"
        if target:
            subject = ratio if ratio is not None else val
            op, lim = target.split()
            met = "yes" if (subject >= float(lim) if op == ">=" else subject <= float(lim)) \
                else "NO"
        rows.append({"name": f"{label}: {name}", "value": val, "reference": ref,
                     "ratio": ratio, "target": target, "met": met})

    a, n = med(rs, "sandbox_apid", "rps"), med(rs, "sandbox_nginx", "rps")
    add(f"GET /v1/sandbox req/s ({s['sandbox_bytes']} B) / nginx", a, n, a / n, ">= 0.7")
    a, n = med(rs, "file_apid", "rps"), med(rs, "file_nginx", "rps")
    add("POST /v1/file/read 1 MiB req/s / nginx GET", a, n, a / n, ">= 0.7")
    a, n = med(rs, "file_apid", "bytes_per_s"), med(rs, "file_nginx", "bytes_per_s")
    add("  file read MiB/s / nginx", a / (1 << 20), n / (1 << 20), a / n)
    a, n = med(rs, "download_apid", "rps"), med(rs, "file_nginx", "rps")
    add("  GET /v1/file/download 1 MiB req/s / nginx GET", a, n, a / n)
    ex = s["route"]
    add(f"POST {ex} echo hi p50 ms", med(rs, "exec", "p50_us") / 1e3, target="<= 2")
    add(f"POST {ex} echo hi p90 ms", med(rs, "exec", "p90_us") / 1e3)
    add(f"POST {ex} echo hi p99 ms", med(rs, "exec", "p99_us") / 1e3, target="<= 10")
    add(f"POST {ex} echo hi max ms", med(rs, "exec", "max_us") / 1e3)
    if ex != "/v1/bash/exec":
        add("POST /v1/bash/exec echo hi p50 ms (a process per command)",
            med(rs, "bash_exec", "p50_us") / 1e3)
        add("POST /v1/bash/exec echo hi p99 ms", med(rs, "bash_exec", "p99_us") / 1e3)
    held = [x["held"] for x in rs]
    add(f"{HELD} connections: held (ss, median)", statistics.median(h["during"] for h in held))
    add(f"{HELD} connections: socket errors (sum)", sum(h["errors"] for h in held),
        target="<= 0")
    add(f"{HELD} connections: non-2xx (sum)", sum(h["non2xx3xx"] for h in held), target="<= 0")
    add(f"{HELD} connections: req/s", med(rs, "held", "rps"))
    for key, what, target in (("idle_get", "idle", None),
                              ("async_get", f"{INFLIGHT} async sleeps", "<= 10"),
                              ("sync_get", f"{INFLIGHT} open sync execs", "<= 10")):
        add(f"GET /v1/sandbox p50 ms, {what}", med(rs, key, "p50_us") / 1e3)
        add(f"GET /v1/sandbox p99 ms, {what}", med(rs, key, "p99_us") / 1e3, target=target)
    b, f = s["rss_before"], s["rss_after"]
    add("aio-apid VmRSS KiB before load", b["VmRSS"])
    add("aio-apid VmRSS KiB after load / before", f["VmRSS"], b["VmRSS"], f["VmRSS"] / b["VmRSS"])
    add("aio-apid VmHWM KiB (peak RSS)", f["VmHWM"])
    return rows


def fmt(v):
    if v == "" or v is None:
        return ""
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 100:
        return f"{int(v)}"
    return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"


def print_table(rows):
    hdr = ("name", "aio-apid", "reference", "ratio", "target", "met?")
    lines = [(r["name"], fmt(r["value"]), fmt(r["reference"]),
              "" if r["ratio"] is None else f"{r['ratio']:.3f}", r["target"] or "", r["met"])
             for r in rows]
    w = [max(len(x[i]) for x in lines + [hdr]) for i in range(6)]
    form = "  ".join(f"{{:{'<' if i == 0 else '>'}{w[i]}}}" for i in range(6))
    print(form.format(*hdr))
    print("  ".join("-" * x for x in w))
    for x in lines:
        print(form.format(*x))
    missed = [r["name"] for r in rows if r["met"] == "NO"]
    met = sum(r["met"] == "yes" for r in rows)
    total = sum(r["met"] != "-" for r in rows)
    print(f"\nAPI targets met: {met}/{total}" + (f"; missed: {', '.join(missed)}" if missed
                                                  else ""))


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else BUILD / "bench" / "api"
    if len(sys.argv) > 2:
        sys.exit(__doc__)
    for tool in ("wrk", "nginx", "gcc", "ss"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"bench-api: {tool} is missing (make deps)")
    if not APID.exists():
        sys.exit(f"bench-api: {APID} is missing (make)")
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    for f in out.glob("*-r*-*"):
        f.unlink()
    t0 = time.monotonic()
    log(f"{os.cpu_count()} CPUs, load average {' '.join(open('/proc/loadavg').read().split()[:3])}"
        f"; {ROUNDS} rounds, wrk -t1 -c{CONNS} -d{DURATION}s, {CALLS} timed calls per latency run")
    build_apiload(out)
    summary = {"config": {"rounds": ROUNDS, "duration_s": DURATION, "conns": CONNS,
                          "calls": CALLS, "warmup": WARMUP, "held": HELD, "inflight": INFLIGHT}}
    try:
        apid = DirectApid(out)
        try:
            summary["direct"] = bench_server(apid, out)
        finally:
            apid.stop()
        if JAIL:
            up = JailApid(out, summary["direct"]["threads"])
            try:
                summary["jail"] = bench_server(up, out)
            finally:
                up.stop()
    except (ToolError, subprocess.SubprocessError, OSError) as e:
        sys.exit(f"bench-api: {e}")
    rows = rows_for("direct", summary["direct"])
    if JAIL:
        rows += rows_for("jail", summary["jail"])
    print_table(rows)
    if summary["direct"]["route"] != "/v1/shell/exec":
        print("note: POST /v1/shell/exec answers 404 in this tree: the exec latency rows measure "
              "POST /v1/bash/exec on a warm session")
    summary["rows"] = rows
    summary["loadavg"] = open("/proc/loadavg").read().split()[:3]
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    log(f"load average {' '.join(summary['loadavg'])}; done in {time.monotonic() - t0:.0f} s; "
        f"raw results in {out}")


if __name__ == "__main__":
    main()
