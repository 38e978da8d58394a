"""aio-apid as a black box, outside any jail: socket activation (the listening socket passed as
fd 3 with LISTEN_FDS=1, as aio-run up does), the envelope and error shapes, body limits, JSON
checks, connection limits, slow clients and a clean SIGTERM, all with a real HTTP client."""
import json
import os
import selectors
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import BUILD

APID = BUILD / "bin" / "aio-apid"
JSON = {"Content-Type": "application/json"}
MiB = 1 << 20


def need_apid():
    if not APID.exists():
        pytest.skip(f"{APID} is not built (run make)")


def listening_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    return s


class Apid:
    """aio-apid serving a socket bound here, handed over as fd 3 with LISTEN_FDS=1 and
    LISTEN_PID set to its own pid (the shell's $$, kept by exec; bash, as dash cannot
    redirect fds above 9)."""

    def __init__(self, tmp, *args, env=None, listen_pid="$$"):
        self.sock = listening_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tmp) / f"apid-{self.port}.log"
        fd = self.sock.fileno()
        move = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
        script = f'LISTEN_PID={listen_pid} exec "$0" "$@"{move}'
        full_env = dict(os.environ, LISTEN_FDS="1", **(env or {}))
        full_env.pop("LISTEN_PID", None)
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["/bin/bash", "-c", script, str(APID), *args],
                                         pass_fds=(fd,), env=full_env, stderr=log,
                                         stdout=log)

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=kw.pop("timeout", 10), **kw)

    def post(self, path, **kw):
        return requests.post(self.url + path, timeout=kw.pop("timeout", 30), **kw)

    def stderr(self):
        return self.log.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=40)
        self.sock.close()
        return code


@pytest.fixture
def start(tmp_path):
    need_apid()
    servers = []

    def _start(*args, **kw):
        a = Apid(tmp_path, *args, **kw)
        servers.append(a)
        return a

    yield _start
    for a in servers:
        if a.proc.poll() is None:
            code = a.stop()
            assert code == 0, a.stderr()


@pytest.fixture
def apid(start):
    return start()


def raw_http(port, data, timeout=10):
    """One request over a fresh connection; returns (status, headers dict, body bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(data)
        return read_response(c)


def read_response(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = c.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {buf!r}")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    n = int(headers.get("content-length", "0"))
    while len(body) < n:
        chunk = c.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def assert_envelope(r, status, success, message=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert set(body) >= {"success", "message", "data", "hint"}, body
    assert body["success"] is success
    if message is not None:
        assert body["message"] == message
    return body


def assert_422(r, first_type, loc1=None):
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["success"] is False and body["data"] is None
    assert body["message"] == "Request data validation failed"
    assert body["errors"][0]["type"] == first_type
    assert body["detail"][0]["type"] == first_type
    assert body["errors"][0]["location"] == body["detail"][0]["loc"]
    assert body["detail"][0]["loc"][0] == "body"
    if loc1 is not None:
        assert body["detail"][0]["loc"][1] == loc1
    return body


# --- routes and shapes ---------------------------------------------------------------------

def test_sandbox_context(apid):
    r = apid.get("/v1/sandbox")
    body = assert_envelope(r, 200, True, "Environment information retrieved")
    assert isinstance(body["data"], str) and "System Environment" in body["data"]
    assert body["hint"] is None
    assert body["home_dir"] == os.environ.get("HOME")
    assert isinstance(body["workspace"], str) and isinstance(body["version"], str)
    system = body["detail"]["system"]
    for key in ("os", "os_version", "arch", "user", "home_dir", "timezone"):
        assert isinstance(system[key], str) and system[key], key
    assert system["arch"] == os.uname().machine
    assert system["hostname"] == socket.gethostname()
    # the API's own socket is in the list even though it may live in another netns
    assert str(apid.port) in system["occupied_ports"]
    assert all(isinstance(p, str) for p in system["occupied_ports"])
    runtime = body["detail"]["runtime"]
    assert isinstance(runtime["python"], list) and isinstance(runtime["nodejs"], list)
    for spec in runtime["python"] + runtime["nodejs"]:
        assert Path(spec["bin"]).exists() and isinstance(spec["alias"], list)
    for cat in body["detail"]["utils"]:
        assert cat["category"] and all(t["name"] for t in cat["tools"])


def test_sandbox_context_reflects_environment(start, tmp_path):
    (tmp_path / "workspace").mkdir()
    a = start(env={"USER": "gem", "HOME": str(tmp_path), "TZ": "Europe/Paris"})
    body = a.get("/v1/sandbox/").json()  # one trailing slash is the same route
    assert body["home_dir"] == str(tmp_path)
    assert body["workspace"] == str(tmp_path / "workspace")
    assert body["detail"]["system"]["user"] == "gem"
    assert body["detail"]["system"]["timezone"] == "Europe/Paris"


def test_health(apid):
    r = apid.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "healthy"}


def test_unknown_route_404(apid):
    for path in ("/nope", "/v1/sandbox/x/y", "/v1//sandbox", "/v1/sandbox%00", "/v1/sandbox%00x"):
        assert_envelope(apid.get(path), 404, False, "Not Found")


def test_wrong_method_405(apid):
    r = requests.delete(apid.url + "/v1/sandbox", timeout=10)
    assert_envelope(r, 405, False, "Method Not Allowed")
    assert r.headers["allow"] == "GET, HEAD"
    r = requests.put(apid.url + "/v1/sandbox/hooks", timeout=10)
    assert_envelope(r, 405, False)
    assert r.headers["allow"] == "POST, GET, HEAD"


def test_head(apid):
    r = requests.head(apid.url + "/v1/sandbox", timeout=10)
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["content-length"]) > 100


def test_cors(apid):
    r = requests.options(apid.url + "/v1/sandbox/hooks", timeout=10,
                         headers={"Origin": "http://localhost:3000",
                                  "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"
    assert "POST" in r.headers["access-control-allow-methods"]
    assert r.headers["access-control-allow-headers"] == "content-type"
    r = apid.get("/v1/sandbox", headers={"Origin": "http://localhost:3000"})
    assert r.headers["access-control-allow-origin"] == "*"
    r = apid.get("/nope", headers={"Origin": "http://localhost:3000"})
    assert r.status_code == 404 and r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in apid.get("/v1/sandbox").headers


def test_open_api_refuses_other_origins_and_rebound_hosts(apid, start):
    """With no key, a page on another origin (even a preflighted JSON POST) and a request whose
    Host is a rebound DNS name are refused; with a key, any origin gets CORS (the key is a
    header a page must hold)."""
    r = requests.options(apid.url + "/v1/sandbox/hooks", timeout=10,
                         headers={"Origin": "https://evil.example",
                                  "Access-Control-Request-Method": "POST",
                                  "Access-Control-Request-Headers": "content-type"})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = apid.post("/v1/sandbox/hooks", headers={"Origin": "https://evil.example"},
                  json={"name": "x", "command": "true"})
    assert r.status_code == 403 and "SANDBOX_API_KEY" in r.json()["message"]
    assert apid.get("/v1/sandbox/hooks").json()["data"] == [] or \
        all(h["name"] != "x" for h in apid.get("/v1/sandbox/hooks").json()["data"])
    r = apid.get("/v1/sandbox", headers={"Host": "rebound.evil.example:8080"})
    assert r.status_code == 403
    assert apid.get("/v1/sandbox", headers={"Host": "localhost"}).status_code == 200
    keyed = start(env={"SANDBOX_API_KEY": "k1"})
    r = keyed.get("/v1/sandbox", headers={"Origin": "https://app.example", "X-AIO-API-Key": "k1",
                                          "Host": "sandbox.example"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"


# --- JSON bodies ------------------------------------------------------------------------

def test_json_bodies(apid):
    url = "/v1/sandbox/hooks"
    assert_422(apid.post(url, data=b'{"name": "a",', headers=JSON), "json_invalid")
    assert_422(apid.post(url, data=b'{"name":"a","name":"b","command":"true"}', headers=JSON),
               "json_invalid")
    assert_422(apid.post(url, data=b'{"name":"a\\u0000b","command":"true"}', headers=JSON),
               "json_invalid")
    assert_422(apid.post(url, data=b'{"name":"a\x00b","command":"true"}', headers=JSON),
               "json_invalid")
    assert_422(apid.post(url, data=b'{"name":"a","command":"\xff"}', headers=JSON),
               "json_invalid")
    assert_422(apid.post(url, data=b'[1]', headers=JSON), "model_attributes_type")
    # FastAPI parses JSON only under a JSON Content-Type (or none at all)
    assert_422(apid.post(url, data=b'{"name":"a","command":"true"}',
                         headers={"Content-Type": "text/plain"}), "model_attributes_type")
    assert_422(apid.post(url, headers=JSON), "missing")
    body = assert_422(apid.post(url, json={"command": "true"}), "missing", "name")
    assert body["errors"][0]["location"] == ["body", "name"]
    body = assert_422(apid.post(url, json={"name": "a b", "command": 5, "bogus": 1}),
                      "string_pattern_mismatch", "name")
    assert [e["type"] for e in body["errors"]] == ["string_pattern_mismatch", "string_type",
                                                  "extra_forbidden"]
    assert_422(apid.post(url, json={"name": "x" * 65, "command": "true"}), "string_too_long",
               "name")
    # no Content-Type at all is parsed as JSON, as FastAPI does
    r = requests.post(apid.url + url, data=b'{"name":"ok","command":"true"}', timeout=10,
                      headers={"Content-Type": None})
    assert_envelope(r, 200, True, "Hook registered")


def test_hooks_routes_and_shutdown_run(start, tmp_path):
    marker = tmp_path / "hook-ran"
    a = start(env={"SANDBOX_SHUTDOWN_HOOKS": f"echo env >>{marker}"})
    r = a.post("/v1/sandbox/hooks", json={"name": "later", "command": f"echo api >>{marker}",
                                          "priority": 5, "timeout": 2.5})
    body = assert_envelope(r, 200, True, "Hook registered")
    assert body["data"] == {"name": "later", "event": "shutdown",
                            "command": f"echo api >>{marker}", "timeout": 2.5, "priority": 5,
                            "source": "api"}
    a.post("/v1/sandbox/hooks", json={"name": "gone", "command": "false"})
    assert_envelope(requests.delete(a.url + "/v1/sandbox/hooks/gone", timeout=10), 200, True)
    assert_envelope(requests.delete(a.url + "/v1/sandbox/hooks/gone", timeout=10), 404, False)
    assert_envelope(requests.delete(a.url + "/v1/sandbox/hooks/env-shutdown-hook", timeout=10),
                    400, False)
    hooks = a.get("/v1/sandbox/hooks").json()["data"]
    assert [(h["name"], h["source"]) for h in hooks] == [("env-shutdown-hook", "env"),
                                                         ("later", "api")]
    assert_envelope(a.get("/v1/sandbox/hooks", params={"event": "boot"}), 400, False)
    assert not marker.exists()
    assert a.stop() == 0, a.stderr()
    # priority 0 (env) before 5 (api), both run before exit
    assert marker.read_text() == "env\napi\n"


# --- body limits ------------------------------------------------------------------------

def test_10mb_body_413_and_still_serving(apid):
    r = apid.post("/v1/sandbox/hooks", data=b"x" * (10 * MiB), headers=JSON)
    body = assert_envelope(r, 413, False)
    assert "too large" in body["message"]
    assert apid.get("/v1/sandbox").status_code == 200
    # just over the cap is refused too; exactly the cap is not
    r = apid.post("/v1/sandbox/hooks", data=b" " * MiB + b"{}", headers=JSON)
    assert r.status_code == 413
    r = apid.post("/v1/sandbox/hooks", data=b" " * (MiB - 2) + b"{}", headers=JSON)
    assert_422(r, "missing", "name")


def test_huge_declared_body_refused_at_once(apid):
    # 100 MB announced: refused from the headers alone, nothing read
    st, headers, body = raw_http(apid.port, b"POST /v1/sandbox/hooks HTTP/1.1\r\nHost: localhost\r\n"
                                 b"Content-Type: application/json\r\n"
                                 b"Content-Length: 104857600\r\n\r\n{")
    assert st == 413 and json.loads(body)["success"] is False
    # a client that asks first (Expect: 100-continue) gets the 413 instead of a 100
    st, _, _ = raw_http(apid.port, b"POST /v1/sandbox/hooks HTTP/1.1\r\nHost: localhost\r\n"
                        b"Expect: 100-continue\r\nContent-Length: 2000000\r\n\r\n")
    assert st == 413
    assert apid.get("/v1/sandbox").status_code == 200


def test_chunked_body_over_cap(apid):
    def chunks():
        for _ in range(40):
            yield b" " * 65536

    r = apid.post("/v1/sandbox/hooks", data=chunks(), headers=JSON)
    assert_envelope(r, 413, False)
    assert apid.get("/health").status_code == 200


def test_body_budget_503(start):
    a = start("--body-budget", str(2 * MiB))
    head = (b"POST /v1/sandbox/hooks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000\r\n\r\n")
    held = []
    for _ in range(2):  # each holds ~1 MiB of buffer, unfinished
        c = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        c.sendall(head + b" " * 900000)
        held.append(c)
    time.sleep(0.3)
    st, _, body = raw_http(a.port, head + b" " * 1000000)
    assert st == 503 and json.loads(body)["success"] is False
    for c in held:  # the first two finish normally
        c.sendall(b" " * 99998 + b"{}")
        st, _, _ = read_response(c)
        assert st == 422
        c.close()
    # their memory is back: a full body fits again
    st, _, _ = raw_http(a.port, head + b" " * 999998 + b"{}")
    assert st == 422


# --- connections ------------------------------------------------------------------------

def test_500_concurrent_connections(apid):
    n = 500
    conns = [socket.create_connection(("127.0.0.1", apid.port), timeout=10) for _ in range(n)]
    try:
        sel = selectors.DefaultSelector()
        for c in conns:
            c.sendall(b"GET /v1/sandbox/hooks HTTP/1.1\r\nHost: localhost\r\n\r\n")
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, bytearray())
        done, deadline = 0, time.monotonic() + 30
        while done < n and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(65536)
                assert data, "a connection was closed instead of answered"
                key.data.extend(data)
                if key.data.endswith(b"}") and b"\r\n\r\n" in key.data:
                    assert key.data.startswith(b"HTTP/1.1 200"), bytes(key.data[:80])
                    sel.unregister(key.fileobj)
                    done += 1
        assert done == n
        # all 500 still open (keep-alive) while another client is served promptly
        t = time.monotonic()
        assert apid.get("/v1/sandbox").status_code == 200
        assert time.monotonic() - t < 2
    finally:
        for c in conns:
            c.close()


def test_connection_limit(start):
    a = start("--max-connections", "20")
    req = b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
    held = [socket.create_connection(("127.0.0.1", a.port), timeout=5) for _ in range(20)]
    for c in held:
        c.sendall(req)
        assert read_response(c)[0] == 200  # answered, and kept open (keep-alive)
    # at the limit, a new connection waits in the backlog: not served, not dropped
    extra = socket.create_connection(("127.0.0.1", a.port), timeout=1)
    extra.sendall(req)
    with pytest.raises(socket.timeout):
        extra.recv(100)
    for c in held:
        c.close()
    extra.settimeout(5)
    assert read_response(extra)[0] == 200
    extra.close()


def test_slowloris_does_not_block_others(start):
    a = start("--timeout", "2")
    stop = threading.Event()
    slow_result = {}

    def slow_client():
        c = socket.create_connection(("127.0.0.1", a.port), timeout=10)
        try:
            for b in b"GET /v1/sandbox HTTP/1.1\r\nHost: localhost\r\n":
                if stop.is_set():
                    return
                c.sendall(bytes([b]))
                time.sleep(0.1)
            slow_result["sent"] = True
        except OSError as e:
            slow_result["error"] = e
        finally:
            c.close()

    t = threading.Thread(target=slow_client)
    t.start()
    try:
        worst = 0
        for _ in range(20):
            t0 = time.monotonic()
            assert a.get("/v1/sandbox", timeout=5).status_code == 200
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.05)
        assert worst < 0.5, worst
    finally:
        stop.set()
        t.join()


def test_idle_and_stalled_connections_are_closed(start):
    a = start("--timeout", "2")
    idle = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    stalled = socket.create_connection(("127.0.0.1", a.port), timeout=10)
    stalled.sendall(b"GET /v1/sandbox HTTP/1.1\r\nHost:")
    t0 = time.monotonic()
    for c in (idle, stalled):
        try:
            assert c.recv(100) == b""  # closed by the server, no answer
        except ConnectionResetError:
            pass
        c.close()
    took = time.monotonic() - t0
    assert 1.5 < took < 6, took


# --- process ----------------------------------------------------------------------------

def test_sigterm_exits_0(start):
    a = start()
    assert a.get("/health").status_code == 200
    keep = socket.create_connection(("127.0.0.1", a.port), timeout=5)  # an open connection
    t0 = time.monotonic()
    assert a.stop() == 0, a.stderr()
    assert time.monotonic() - t0 < 5
    keep.close()


def test_sigint_exits_0(start):
    a = start()
    assert a.get("/health").status_code == 200
    a.proc.send_signal(signal.SIGINT)
    assert a.proc.wait(timeout=10) == 0


def free_port():
    probe = listening_socket()
    port = probe.getsockname()[1]
    probe.close()
    return port


def wait_http(url):
    """The first answer of a server that binds its own socket (connections are refused until
    it has)."""
    for _ in range(200):
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            time.sleep(0.025)
    raise AssertionError(f"{url} never answered")


def test_listen_pid_of_another_process_is_ignored(start, tmp_path):
    port = free_port()
    # LISTEN_PID names someone else: fd 3 is not ours, --listen is used instead
    a = start("--listen", f"127.0.0.1:{port}", listen_pid="1")
    assert wait_http(f"http://127.0.0.1:{port}/health").status_code == 200
    with socket.create_connection(("127.0.0.1", a.port), timeout=1) as c:
        c.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with pytest.raises(socket.timeout):
            c.recv(100)


def test_listen_flag_and_refusals(tmp_path):
    need_apid()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTEN_")}
    p = subprocess.Popen([str(APID), "--listen", f"127.0.0.1:{port}"], env=env,
                         stderr=subprocess.PIPE)
    try:
        assert wait_http(f"http://127.0.0.1:{port}/v1/sandbox").status_code == 200
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=10) == 0
    for args, msg in ((["--listen", "0.0.0.0:0"], "not loopback"),
                      (["--listen", "nonsense"], "ADDR:PORT"),
                      (["--max-connections", "0"], "max-connections"),
                      (["extra"], "unexpected argument")):
        p = subprocess.run([str(APID), *args], env=env, capture_output=True, text=True,
                           timeout=10)
        assert p.returncode == 1 and msg in p.stderr, (args, p.stderr)
    p = subprocess.run([str(APID), "--listen", "127.0.0.1:1"], env=dict(env, LISTEN_FDS="2"),
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 1 and "LISTEN_FDS=2" in p.stderr
