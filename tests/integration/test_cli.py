"""The aio command-line client as a black box: against a real aio-apid (socket-activated by the
Apid class of test_apid.py) and against a tiny loopback HTTP server that records what the client
sends (headers, JSON and multipart bodies) and answers what a test needs (auth failures, broken
answers, slow or cut-off downloads). Exit statuses are the ones documented in aio(1).

The shell and file endpoints are being added to aio-apid separately: their tests against the real
server skip with "endpoint not in this aio-apid" only while aio-apid answers 404 for the route."""
import base64
import email
import email.policy
import hashlib
import json
import os
import pty
import select
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from conftest import BUILD
from test_apid import Apid, need_apid

AIO = BUILD / "bin" / "aio"
MiB = 1 << 20
EX_API, EX_USAGE, EX_UNAVAILABLE, EX_IOERR, EX_TEMPFAIL, EX_PROTOCOL, EX_NOPERM = \
    1, 2, 69, 74, 75, 76, 77
EX_STILL_RUNNING, EX_INTERRUPTED = 124, 130
SECRET_ENV = ("AIO_URL", "AIO_API_KEY", "SANDBOX_API_KEY", "AIO_TOKEN")


def need_aio():
    if not AIO.exists():
        pytest.skip(f"{AIO} is not built (run make)")


def aio_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in SECRET_ENV and not k.lower().endswith("_proxy")}
    env.update(extra)
    return env


def aio(*args, env=None, input=None, timeout=60, **kw):
    """Runs aio; returns the CompletedProcess with bytes stdout/stderr."""
    return subprocess.run([str(AIO), *map(str, args)], capture_output=True, input=input,
                          env=aio_env(**(env or {})), timeout=timeout, **kw)


def err_text(p):
    return p.stderr.decode(errors="replace")


# --- a recording HTTP server ---------------------------------------------------------------

SANDBOX = {
    "success": True, "message": "Environment information retrieved", "data": "text",
    "hint": None, "home_dir": "/home/gem", "workspace": "/home/gem/ws", "version": "9.8.7",
    "detail": {"system": {"os": "Linux", "os_version": "TestOS 1", "arch": "x86_64",
                          "user": "gem", "home_dir": "/home/gem", "timezone": "UTC",
                          "occupied_ports": ["8080", "9222"], "hostname": "box",
                          "kernel": "6.1"},
               "runtime": {"python": [{"ver": "3.11.2", "bin": "/usr/bin/python3",
                                       "alias": []}], "nodejs": []},
               "utils": []},
}


def envelope(data, success=True, message="Operation successful"):
    return {"success": success, "message": message, "data": data, "hint": None}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        req = {"method": self.command, "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()},
               "body": self.rfile.read(n) if n else b""}
        self.server.recorder.requests.append(req)
        self.server.recorder.reply(req, self)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any

    def send(self, status, body, ctype="application/json", length=None):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class Recorder:
    """Loopback server: every request is appended to .requests, then answered by .reply(req, h)
    (default: a valid GET /v1/sandbox answer)."""

    def __init__(self):
        self.requests = []
        self.reply = lambda req, h: h.send(200, SANDBOX)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.recorder = self
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def rec():
    need_aio()
    r = Recorder()
    yield r
    r.close()


@pytest.fixture
def apid(tmp_path):
    need_aio()
    need_apid()
    a = Apid(tmp_path)
    yield a
    if a.proc.poll() is None:
        assert a.stop() == 0, a.stderr()


def need_route(apid, method, path, **kw):
    """Skips while aio-apid has no such route (its router's 404), runs the test otherwise."""
    r = requests.request(method, apid.url + path, timeout=10, **kw)
    if r.status_code == 404 and r.headers.get("content-type") == "application/json" \
            and r.json().get("message") == "Not Found":
        pytest.skip("endpoint not in this aio-apid")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def leftovers(d):
    return sorted(p.name for p in Path(d).iterdir() if ".aio-" in p.name)


# --- sandbox info against aio-apid -----------------------------------------------------------

def test_sandbox_info_human(apid):
    want = requests.get(apid.url + "/v1/sandbox", timeout=10).json()
    p = aio("--url", apid.url, "sandbox", "info")
    assert p.returncode == 0, err_text(p)
    out = p.stdout.decode()
    rows = dict(line.split(None, 1) for line in out.splitlines())
    assert rows["version"] == want["version"]
    assert rows["home"] == want["home_dir"]
    assert rows["workspace"] == want["workspace"]
    system = want["detail"]["system"]
    assert rows["user"] == system["user"] and rows["hostname"] == system["hostname"]
    assert rows["os"].startswith(system["os_version"]) and system["arch"] in rows["os"]
    assert str(apid.port) in rows["ports"].split()
    for rt in want["detail"]["runtime"]["python"]:
        assert (f"{rt['ver']} ({rt['bin']})" if rt["ver"] else rt["bin"]) in out
    assert p.stderr == b""


def test_sandbox_info_json(apid):
    p = aio("--url", apid.url + "/", "sandbox", "info", "--json")  # trailing slash is fine
    assert p.returncode == 0, err_text(p)
    got = json.loads(p.stdout)
    want = requests.get(apid.url + "/v1/sandbox", timeout=10).json()
    assert got["success"] is True and got["version"] == want["version"]
    assert got["detail"]["system"]["hostname"] == want["detail"]["system"]["hostname"]
    assert str(apid.port) in got["detail"]["system"]["occupied_ports"]


def test_url_from_environment(apid):
    p = aio("sandbox", "info", "--json", env={"AIO_URL": apid.url})
    assert p.returncode == 0, err_text(p)
    assert json.loads(p.stdout)["home_dir"]


def test_unknown_route_is_an_api_error(apid):
    p = aio("--url", apid.url + "/no/such/prefix", "sandbox", "info")
    assert p.returncode == EX_API
    assert err_text(p) == (f"aio: GET {apid.url}/no/such/prefix/v1/sandbox: HTTP 404: "
                           "Not Found\n")


# --- connection failures, bad URLs, usage errors -------------------------------------------

def test_connection_refused():
    need_aio()
    port = free_port()
    t = time.monotonic()
    p = aio("--url", f"http://127.0.0.1:{port}", "sandbox", "info")
    assert p.returncode == EX_UNAVAILABLE
    assert err_text(p).startswith(f"aio: cannot reach GET http://127.0.0.1:{port}/v1/sandbox: ")
    assert "onnect" in err_text(p)
    assert p.stdout == b"" and time.monotonic() - t < 10


def test_unresolvable_host():
    need_aio()
    p = aio("--url", "http://no-such-host.invalid:8080", "sandbox", "info", timeout=60)
    assert p.returncode == EX_UNAVAILABLE
    assert "no-such-host.invalid" in err_text(p)


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://127.0.0.1/", "http://", "http://h:0",
                                 "http://h:99999", "http://h/x?a=b", "http://h /"])
def test_bad_url(url):
    need_aio()
    p = aio("--url", url, "sandbox", "info")
    assert p.returncode == EX_USAGE
    assert f"--url '{url}'" in err_text(p)
    assert "try 'aio --help'" in err_text(p)


def test_bad_url_credentials_not_echoed():
    need_aio()
    p = aio("--url", "http://admin:hunter2@127.0.0.1:1/", "sandbox", "info")
    assert p.returncode == EX_USAGE
    assert "hunter2" not in err_text(p) and "credentials" in err_text(p)


@pytest.mark.parametrize("args,needle", [
    ((), "missing the command"),
    (("frobnicate",), "unknown command 'frobnicate'"),
    (("file",), "file: missing the subcommand"),
    (("file", "read"), "file read: expected PATH"),
    (("file", "upload", "a"), "file upload: expected LOCAL REMOTE"),
    (("file", "ls", "/a", "/b"), "unexpected argument '/b'"),
    (("shell", "exec"), "shell exec: missing the command"),
    (("--nope", "sandbox", "info"), "unknown option '--nope'"),
    (("file", "read", "/x", "--start-line"), "option '--start-line' needs a value"),
    (("file", "read", "/x", "--start-line", "x"), "'x': expected a line number"),
    (("--timeout", "soon", "sandbox", "info"), "--timeout: 'soon'"),
])
def test_usage_errors(args, needle):
    need_aio()
    p = aio(*args)
    assert p.returncode == EX_USAGE, (p.returncode, err_text(p))
    assert needle in err_text(p)
    assert p.stdout == b""


def test_help_and_version():
    need_aio()
    p = aio("--help")
    assert p.returncode == 0
    out = p.stdout.decode()
    for cmd in ("sandbox info", "shell exec", "file read", "file write", "file ls",
                "file upload", "file download"):
        assert f"aio {cmd}" in out
    p = aio("file", "--help")
    assert p.returncode == 0 and "aio file ls" in p.stdout.decode()
    assert "aio shell exec" not in p.stdout.decode()
    p = aio("--version")
    assert p.returncode == 0 and p.stdout.decode().startswith("aio ")


# --- credentials (recording server) --------------------------------------------------------

def test_api_key_sent(rec):
    p = aio("--url", rec.url, "--api-key", "k-123", "sandbox", "info")
    assert p.returncode == 0, err_text(p)
    h = rec.requests[-1]["headers"]
    assert h["x-aio-api-key"] == "k-123"
    assert "authorization" not in h
    assert rec.requests[-1]["method"] == "GET" and rec.requests[-1]["path"] == "/v1/sandbox"
    assert h["user-agent"].startswith("aio/")


@pytest.mark.parametrize("var", ["AIO_API_KEY", "SANDBOX_API_KEY"])
def test_api_key_from_environment(rec, var):
    p = aio("--url", rec.url, "sandbox", "info", env={var: "env-key"})
    assert p.returncode == 0, err_text(p)
    assert rec.requests[-1]["headers"]["x-aio-api-key"] == "env-key"


def test_token_sent(rec):
    p = aio("--url", rec.url, "--token", "eyJ.a.b", "sandbox", "info")
    assert p.returncode == 0, err_text(p)
    assert rec.requests[-1]["headers"]["authorization"] == "Bearer eyJ.a.b"
    p = aio("--url", rec.url, "sandbox", "info", env={"AIO_TOKEN": "t2"})
    assert rec.requests[-1]["headers"]["authorization"] == "Bearer t2"


def test_auth_failure_77_and_secrets_never_printed(rec):
    rec.reply = lambda req, h: h.send(401, envelope(None, False, "Invalid API key."))
    p = aio("-v", "--url", rec.url, "--api-key", "sup3r-s3cret", "--token", "t0k3n",
            "sandbox", "info")
    assert p.returncode == EX_NOPERM
    e = err_text(p)
    assert f"GET {rec.url}/v1/sandbox: HTTP 401: Invalid API key." in e
    assert "sup3r-s3cret" not in e and "t0k3n" not in e
    assert b"sup3r-s3cret" not in p.stdout
    rec.reply = lambda req, h: h.send(403, b"<html>Forbidden</html>", "text/html")
    p = aio("--url", rec.url, "sandbox", "info")
    assert p.returncode == EX_NOPERM and "HTTP 403: <html>Forbidden</html>" in err_text(p)


def test_api_key_against_aio_apid(tmp_path):
    """Runs for real once aio-apid enforces SANDBOX_API_KEY (upstream-api.md §4.2)."""
    need_aio()
    need_apid()
    a = Apid(tmp_path, env={"SANDBOX_API_KEY": "cli-test-key"})
    try:
        if requests.get(a.url + "/v1/sandbox", timeout=10).status_code == 200:
            pytest.skip("aio-apid does not enforce SANDBOX_API_KEY yet")
        p = aio("--url", a.url, "sandbox", "info")
        assert p.returncode == EX_NOPERM and "HTTP 401" in err_text(p)
        p = aio("--url", a.url, "--api-key", "wrong", "sandbox", "info")
        assert p.returncode == EX_NOPERM and "wrong" not in err_text(p)
        p = aio("--url", a.url, "sandbox", "info", env={"SANDBOX_API_KEY": "cli-test-key"})
        assert p.returncode == 0, err_text(p)
    finally:
        assert a.stop() == 0, a.stderr()


# --- broken answers ------------------------------------------------------------------------

def test_answer_not_json(rec):
    rec.reply = lambda req, h: h.send(200, b"<html>hello</html>", "text/html")
    p = aio("--url", rec.url, "sandbox", "info")
    assert p.returncode == EX_PROTOCOL
    assert f"GET {rec.url}/v1/sandbox: the answer is not JSON" in err_text(p)


def test_server_error_with_text_body(rec):
    rec.reply = lambda req, h: h.send(502, b"Bad Gateway\nupstream down", "text/plain")
    p = aio("--url", rec.url, "sandbox", "info")
    assert p.returncode == EX_API
    assert err_text(p) == f"aio: GET {rec.url}/v1/sandbox: HTTP 502: Bad Gateway upstream down\n"


def test_success_false_is_an_error(rec):
    rec.reply = lambda req, h: h.send(200, envelope(
        {"path": "/nope", "operation": "read", "message": "m", "error_type": "not_found"},
        False, "Failed to read file: [Errno 2] No such file or directory: '/nope'"))
    p = aio("--url", rec.url, "file", "read", "/nope")
    assert p.returncode == EX_API
    assert err_text(p) == (f"aio: POST {rec.url}/v1/file/read: Failed to read file: [Errno 2] "
                           "No such file or directory: '/nope'\n")


def test_422_names_the_field(rec):
    rec.reply = lambda req, h: h.send(422, {
        "success": False, "message": "Request data validation failed", "data": None,
        "errors": [{"location": ["body", "file"], "message": "Field required",
                    "type": "missing"}]})
    p = aio("--url", rec.url, "file", "read", "/x")
    assert p.returncode == EX_API
    assert "HTTP 422: Request data validation failed (body.file: Field required)" in err_text(p)


def test_redirect_not_followed(rec):
    other = Recorder()
    try:
        rec.reply = lambda req, h: (h.send_response(302),
                                    h.send_header("Location", other.url + "/v1/sandbox"),
                                    h.send_header("Content-Length", "0"), h.end_headers())
        p = aio("--url", rec.url, "--api-key", "k", "sandbox", "info")
        assert p.returncode == EX_API and "HTTP 302" in err_text(p)
        assert other.requests == []
    finally:
        other.close()


def test_request_timeout(rec):
    rec.reply = lambda req, h: (time.sleep(3), h.send(200, SANDBOX))
    t = time.monotonic()
    p = aio("--url", rec.url, "--timeout", "0.5", "sandbox", "info")
    assert p.returncode == EX_TEMPFAIL
    assert "timed out" in err_text(p) and "--timeout" in err_text(p)
    assert time.monotonic() - t < 2.5


# --- request shapes (recording server) -----------------------------------------------------

def shell_result(output, code, status="completed", session="s-1"):
    return envelope({"session_id": session, "command": "c", "status": status,
                     "output": output, "console": None, "exit_code": code},
                    message="Command executed")


def test_shell_exec_request_and_status(rec):
    rec.reply = lambda req, h: h.send(200, shell_result("out\n", 3))
    p = aio("--url", rec.url, "shell", "exec", "--session", "s-1", "--cwd", "/w",
            "--timeout", "5", "ls", "-la", "--json")
    body = json.loads(rec.requests[-1]["body"])
    assert rec.requests[-1]["path"] == "/v1/shell/exec"
    assert rec.requests[-1]["headers"]["content-type"] == "application/json"
    assert body == {"command": "ls -la --json", "id": "s-1", "exec_dir": "/w", "timeout": 5.0}
    assert p.returncode == 3 and p.stdout == b"out\n"
    p = aio("--url", rec.url, "shell", "exec", "true")
    assert json.loads(rec.requests[-1]["body"]) == {"command": "true"}
    rec.reply = lambda req, h: h.send(200, shell_result("", -9))
    assert aio("--url", rec.url, "shell", "exec", "x").returncode == 128 + 9
    rec.reply = lambda req, h: h.send(200, shell_result("partial", None, "no_change_timeout"))
    p = aio("--url", rec.url, "shell", "exec", "sleep 99")
    assert p.returncode == EX_STILL_RUNNING and p.stdout == b"partial"
    assert "status no_change_timeout" in err_text(p) and "session s-1" in err_text(p)


def test_file_write_request(rec, tmp_path):
    rec.reply = lambda req, h: h.send(200, envelope({"file": "/f", "bytes_written": 6}))
    p = aio("--url", rec.url, "file", "write", "/f", input=b"hello\n")
    assert p.returncode == 0, err_text(p)
    assert json.loads(rec.requests[-1]["body"]) == {"file": "/f", "content": "hello\n",
                                                    "encoding": "utf-8"}
    assert p.stdout == b"/f: 6 bytes written\n"
    blob = bytes(range(256)) * 3
    p = aio("--url", rec.url, "file", "write", "/b", "--append", input=blob)
    body = json.loads(rec.requests[-1]["body"])
    assert body["encoding"] == "base64" and body["append"] is True
    assert base64.b64decode(body["content"]) == blob
    p = aio("--url", rec.url, "file", "write", "/c", "--content", "été")
    assert json.loads(rec.requests[-1]["body"])["content"] == "été"


def test_file_read_and_ls_requests(rec):
    rec.reply = lambda req, h: h.send(200, envelope({"content": "l1\nl2", "file": "/f"}))
    p = aio("--url", rec.url, "file", "read", "/f", "--start-line", "1", "--end-line", "2")
    assert json.loads(rec.requests[-1]["body"]) == {"file": "/f", "start_line": 1, "end_line": 2}
    assert p.returncode == 0 and p.stdout == b"l1\nl2"
    files = [{"name": "a.txt", "path": "/d/a.txt", "is_directory": False, "size": 12},
             {"name": "sub", "path": "/d/sub", "is_directory": True, "size": 4096}]
    rec.reply = lambda req, h: h.send(200, envelope({"path": "/d", "files": files,
                                                     "total_count": 2}))
    p = aio("--url", rec.url, "file", "ls", "/d", "--recursive")
    assert json.loads(rec.requests[-1]["body"]) == {"path": "/d", "recursive": True}
    assert p.stdout.decode().splitlines() == ["-           12  /d/a.txt", "d            -  /d/sub/"]
    p = aio("--url", rec.url, "file", "ls", "/d", "--json")
    assert json.loads(p.stdout)["files"] == files


def multipart_fields(req):
    msg = email.message_from_bytes(
        b"Content-Type: " + req["headers"]["content-type"].encode() + b"\r\n\r\n" + req["body"],
        policy=email.policy.HTTP)
    return {part.get_param("name", header="content-disposition"):
            (part.get_filename(), part.get_payload(decode=True)) for part in msg.iter_parts()}


def test_upload_request_is_multipart(rec, tmp_path):
    data = os.urandom(3 * MiB + 7)
    src = tmp_path / "blob.bin"
    src.write_bytes(data)
    rec.reply = lambda req, h: h.send(200, envelope(
        {"file_path": "/r/blob.bin", "file_size": len(req["body"]) and len(data),
         "success": True}))
    p = aio("--url", rec.url, "file", "upload", src, "/r/blob.bin")
    assert p.returncode == 0, err_text(p)
    req = rec.requests[-1]
    assert req["method"] == "POST" and req["path"] == "/v1/file/upload"
    fields = multipart_fields(req)
    assert fields["path"] == (None, b"/r/blob.bin")
    assert fields["file"] == ("blob.bin", data)
    assert p.stdout.decode() == f"{src} -> /r/blob.bin: {len(data)} bytes uploaded\n"
    # a server that stored less than was sent is an error
    rec.reply = lambda req, h: h.send(200, envelope(
        {"file_path": "/r/blob.bin", "file_size": 5, "success": True}))
    p = aio("--url", rec.url, "file", "upload", src, "/r/blob.bin")
    assert p.returncode == EX_API and "server stored 5" in err_text(p)


def test_upload_local_errors(rec, tmp_path):
    p = aio("--url", rec.url, "file", "upload", tmp_path / "missing", "/r")
    assert p.returncode == EX_IOERR
    assert f"{tmp_path / 'missing'}: No such file or directory" in err_text(p)
    p = aio("--url", rec.url, "file", "upload", tmp_path, "/r")
    assert p.returncode == EX_IOERR and "Is a directory" in err_text(p)
    assert rec.requests == []


def serve_bytes(data, cut_at=None, pause=0.0):
    def reply(req, h):
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        end = len(data) if cut_at is None else cut_at
        for i in range(0, end, 256 * 1024):
            h.wfile.write(data[i:min(i + 256 * 1024, end)])
            h.wfile.flush()
            time.sleep(pause)
        if cut_at is not None:
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
    return reply


def test_download_streams_to_file(rec, tmp_path):
    data = os.urandom(5 * MiB)
    rec.reply = serve_bytes(data)
    dest = tmp_path / "out.bin"
    p = aio("--url", rec.url, "file", "download", "/r/a b.bin", dest)
    assert p.returncode == 0, err_text(p)
    assert rec.requests[-1]["path"] == "/v1/file/download?path=/r/a%20b.bin"
    assert dest.read_bytes() == data
    assert p.stdout.decode() == f"/r/a b.bin -> {dest}: {len(data)} bytes downloaded\n"
    assert leftovers(tmp_path) == []
    # into a directory: named after the remote file; to stdout with "-"
    p = aio("--url", rec.url, "file", "download", "/r/x.bin", tmp_path)
    assert p.returncode == 0 and (tmp_path / "x.bin").read_bytes() == data
    p = aio("--url", rec.url, "file", "download", "/r/x.bin", "-")
    assert p.returncode == 0 and p.stdout == data


def test_download_failure_leaves_nothing(rec, tmp_path):
    dest = tmp_path / "keep.txt"
    dest.write_text("old content")
    rec.reply = serve_bytes(os.urandom(4 * MiB), cut_at=1 * MiB)
    p = aio("--url", rec.url, "file", "download", "/r/big", dest)
    assert p.returncode == EX_PROTOCOL, err_text(p)
    assert f"GET {rec.url}/v1/file/download?path=/r/big: transfer closed with" in err_text(p)
    assert dest.read_text() == "old content"
    assert leftovers(tmp_path) == []
    # an error answer is reported, never written to the file
    rec.reply = lambda req, h: h.send(404, envelope(None, False, "File not found: /r/big"))
    p = aio("--url", rec.url, "file", "download", "/r/big", tmp_path / "new")
    assert p.returncode == EX_API and "HTTP 404: File not found: /r/big" in err_text(p)
    assert not (tmp_path / "new").exists() and leftovers(tmp_path) == []


def test_download_interrupted_leaves_nothing(rec, tmp_path):
    rec.reply = serve_bytes(os.urandom(8 * MiB), pause=0.3)
    proc = subprocess.Popen([str(AIO), "--url", rec.url, "file", "download", "/r/slow",
                             tmp_path / "slow"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=aio_env())
    deadline = time.monotonic() + 10
    while not leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(tmp_path), "no temporary file while downloading"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == EX_INTERRUPTED, err
    assert b"interrupted" in err
    assert list(tmp_path.iterdir()) == []


def test_download_progress_on_a_terminal(rec, tmp_path):
    rec.reply = serve_bytes(os.urandom(3 * MiB), pause=0.1)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([str(AIO), "--url", rec.url, "file", "download", "/r/p",
                                 tmp_path / "p"], stdout=subprocess.PIPE, stderr=slave,
                                env=aio_env())
        os.close(slave)
        seen = b""
        while True:
            r, _, _ = select.select([master], [], [], 10)
            if not r:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=10)
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"/r/p:" in seen and b"%" in seen and b"/ 3.0 MiB" in seen
    # without a terminal: no progress
    p = aio("--url", rec.url, "file", "download", "/r/p", tmp_path / "q")
    assert p.returncode == 0 and p.stderr == b""


# --- shell and file endpoints of the real aio-apid -------------------------------------------

@pytest.fixture
def shell_apid(apid):
    need_route(apid, "POST", "/v1/shell/exec", json={})
    return apid


@pytest.fixture
def file_apid(apid):
    for path in ("/v1/file/read", "/v1/file/write", "/v1/file/list"):
        need_route(apid, "POST", path, json={})
    return apid


def test_shell_exec_output_and_status(shell_apid):
    u = shell_apid.url
    p = aio("--url", u, "shell", "exec", "echo", "hello-from-aio")
    assert p.returncode == 0, err_text(p)
    assert b"hello-from-aio" in p.stdout
    p = aio("--url", u, "shell", "exec", "sh -c 'exit 42'")
    assert p.returncode == 42, err_text(p)
    p = aio("--url", u, "shell", "exec", "false")
    assert p.returncode == 1
    p = aio("--url", u, "--json", "shell", "exec", "sh -c 'echo out; exit 5'")
    assert p.returncode == 5
    data = json.loads(p.stdout)
    assert data["exit_code"] == 5 and data["status"] == "completed"
    assert "out" in data["output"] and data["session_id"]


def test_shell_exec_cwd_and_session(shell_apid, tmp_path):
    u = shell_apid.url
    p = aio("--url", u, "shell", "exec", "--cwd", tmp_path, "pwd")
    assert p.returncode == 0, err_text(p)
    assert str(tmp_path) in p.stdout.decode()
    p = aio("--url", u, "--json", "shell", "exec", "export AIO_CLI_T=kept")
    assert p.returncode == 0, err_text(p)
    sid = json.loads(p.stdout)["session_id"]
    p = aio("--url", u, "shell", "exec", "--session", sid, "echo v=$AIO_CLI_T")
    assert p.returncode == 0 and b"v=kept" in p.stdout
    p = aio("--url", u, "shell", "exec", "--session", "no-such-session-x", "true")
    assert p.returncode == EX_API and "HTTP 404" in err_text(p)  # upstream: Session not found


def test_shell_exec_timeout(shell_apid):
    t = time.monotonic()
    p = aio("--url", shell_apid.url, "shell", "exec", "--timeout", "1", "sleep 8")
    assert p.returncode == EX_STILL_RUNNING, err_text(p)
    assert "has not finished" in err_text(p)
    assert time.monotonic() - t < 7


def test_file_write_read_ls(file_apid, tmp_path):
    u = file_apid.url
    tmp_path = tmp_path / "area"  # the fixture's aio-apid logs into tmp_path itself
    tmp_path.mkdir()
    f = tmp_path / "notes.txt"
    p = aio("--url", u, "file", "write", f, input=b"hello\nworld\n")
    assert p.returncode == 0, err_text(p)
    assert f.read_bytes() == b"hello\nworld\n"
    p = aio("--url", u, "file", "write", f, "--append", "--content", "more\n")
    assert p.returncode == 0, err_text(p)
    assert f.read_bytes() == b"hello\nworld\nmore\n"
    p = aio("--url", u, "file", "read", f)
    assert p.returncode == 0 and p.stdout == b"hello\nworld\nmore\n"
    p = aio("--url", u, "file", "read", f, "--start-line", "1", "--end-line", "2")
    assert p.returncode == 0 and b"world" in p.stdout
    assert b"hello" not in p.stdout and b"more" not in p.stdout
    p = aio("--url", u, "--json", "file", "read", f)
    assert json.loads(p.stdout)["content"] == "hello\nworld\nmore\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_text("x")
    p = aio("--url", u, "file", "ls", tmp_path)
    assert p.returncode == 0, err_text(p)
    lines = p.stdout.decode().splitlines()
    assert any(l.endswith(" notes.txt") and l.startswith("-") for l in lines), lines
    assert any(l.endswith(" sub/") and l.startswith("d") for l in lines), lines
    assert not any("deep.txt" in l for l in lines)
    p = aio("--url", u, "file", "ls", tmp_path, "--recursive")
    assert any(l.endswith(str(tmp_path / "sub" / "deep.txt")) for l in p.stdout.decode().splitlines())
    p = aio("--url", u, "--json", "file", "ls", tmp_path)
    assert {e["name"] for e in json.loads(p.stdout)["files"]} == {"notes.txt", "sub"}


def test_file_binary_write(file_apid, tmp_path):
    blob = bytes(range(256)) * 40
    p = aio("--url", file_apid.url, "file", "write", tmp_path / "b.bin", input=blob)
    assert p.returncode == 0, err_text(p)
    assert (tmp_path / "b.bin").read_bytes() == blob


def test_file_errors(file_apid, tmp_path):
    missing = tmp_path / "missing.txt"
    p = aio("--url", file_apid.url, "file", "read", missing)
    assert p.returncode == EX_API
    assert f"POST {file_apid.url}/v1/file/read" in err_text(p) and str(missing) in err_text(p)
    assert p.stdout == b""


def test_upload_download_round_trip_5mb(apid, tmp_path):
    need_route(apid, "POST", "/v1/file/upload", files={"x": ("x", b"")})
    need_route(apid, "GET", "/v1/file/download")
    data = os.urandom(5 * MiB)
    src, remote, back = tmp_path / "src.bin", tmp_path / "remote" / "up.bin", tmp_path / "back"
    remote.parent.mkdir()
    back.mkdir()
    src.write_bytes(data)
    p = aio("--url", apid.url, "file", "upload", src, remote)
    assert p.returncode == 0, err_text(p)
    assert hashlib.sha256(remote.read_bytes()).digest() == hashlib.sha256(data).digest()
    p = aio("--url", apid.url, "file", "download", remote, back / "copy.bin")
    assert p.returncode == 0, err_text(p)
    assert (back / "copy.bin").read_bytes() == data
    assert list(back.iterdir()) == [back / "copy.bin"]
    p = aio("--url", apid.url, "file", "download", tmp_path / "nope.bin", back / "n.bin")
    assert p.returncode == EX_API
    assert "/v1/file/download?path=" in err_text(p)
    assert list(back.iterdir()) == [back / "copy.bin"]
