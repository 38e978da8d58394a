"""aio-run up: a sandbox serving the API on a socket made in the host's network namespace."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import AIO_RUN, BUILD


@pytest.fixture
def apid():
    if not (BUILD / "bin" / "aio-apid").exists():
        pytest.skip("aio-apid is not built")


def start_up(aio, *args):
    proc = aio_popen_up(aio, *args)
    line = proc.stdout.readline().strip()
    assert line.startswith("http://127.0.0.1:"), (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, line


def aio_popen_up(aio, *args):
    return subprocess.Popen([str(AIO_RUN), "up", "--state-dir", str(aio.state), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, json.loads(r.read())


def stop(proc):
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)
    return proc.returncode


def test_up_serves_until_ctrl_c(aio, apid, state_dir):
    proc, url = start_up(aio, "--port", "0", "--name", "upone")
    try:
        status, body = get(url + "/v1/sandbox")
        assert status == 200 and body["success"] is True
    finally:
        code = stop(proc)
    assert code == 0
    assert list((state_dir / "sandboxes").iterdir()) == []
    for c in ("memory", "pids", "cpu", "freezer"):
        assert not os.path.exists(f"/sys/fs/cgroup/{c}/aio/upone")
    # the port is free again: the socket was the launcher's, and the launcher is gone
    # (SO_REUSEADDR: the connections the server closed linger in TIME_WAIT, as always)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(url.rsplit(":", 1)[1])))
    s.close()


def test_two_sandboxes_side_by_side(aio, apid):
    a, url_a = start_up(aio, "--port", "0", "--name", "side-a")
    try:
        b, url_b = start_up(aio, "--port", "0", "--name", "side-b")
        try:
            assert url_a != url_b
            assert get(url_a + "/v1/sandbox")[0] == 200
            assert get(url_b + "/v1/sandbox")[0] == 200
        finally:
            assert stop(b) == 0
    finally:
        assert stop(a) == 0


def test_api_runs_in_its_own_network_namespace(aio, apid):
    """The socket is the host's, but the jail has only loopback: the API is reachable although
    nothing in the jail can reach the host's network."""
    proc, url = start_up(aio, "--port", "0")
    try:
        assert get(url + "/v1/sandbox")[0] == 200
        pid = int(subprocess.run(["pgrep", "-f", "-n", "/opt/aio/bin/aio-apid"], capture_output=True,
                                 text=True).stdout.split()[0])
        assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
        status = open(f"/proc/{pid}/status").read()
        assert "NoNewPrivs:\t1" in status and "Seccomp:\t2" in status
    finally:
        stop(proc)


def test_up_refuses_what_it_must(aio):
    p = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--listen", "0.0.0.0:0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 125 and "--insecure" in p.stderr
    p = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--", "/bin/sh"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 125 and "takes no command" in p.stderr
    p = aio("--port", "8080", "--", "/bin/true")
    assert p.returncode == 125 and "aio-run up" in p.stderr
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        p = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--port", str(port)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 125 and str(port) in p.stderr and "in use" in p.stderr
    finally:
        busy.close()
    sandboxes = aio.state / "sandboxes"
    assert not sandboxes.exists() or list(sandboxes.iterdir()) == []


def ctl(aio, *args):
    return subprocess.run([str(AIO_RUN), *args, "--state-dir", str(aio.state)],
                          capture_output=True, text=True, timeout=30)


def ls_names(aio):
    r = ctl(aio, "ls")
    assert r.returncode == 0, r.stderr
    return {line.split()[0]: line.split()[1] for line in r.stdout.splitlines()[1:]}


def test_detach_ls_logs_stop(aio, apid, state_dir):
    """--detach returns once the API answers; ls, logs and stop manage what runs on."""
    urls = {}
    for name in ("det-a", "det-b"):
        r = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name", name,
                            "--port", "0", "--detach"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        urls[name] = r.stdout.strip()
        assert urls[name].startswith("http://127.0.0.1:")
    try:
        assert urls["det-a"] != urls["det-b"]
        for url in urls.values():
            assert get(url + "/v1/sandbox")[0] == 200
        assert ls_names(aio) == urls
        # the same name again is refused while it runs, and the first keeps serving
        r = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name", "det-a",
                            "--port", "0", "--detach"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 125 and "det-a" in r.stderr
        assert get(urls["det-a"] + "/v1/sandbox")[0] == 200
        assert ctl(aio, "logs", "det-a").returncode == 0
        assert (state_dir / "logs" / "det-a.log").exists()
        r = ctl(aio, "stop", "det-a")
        assert r.returncode == 0, r.stderr
        assert ls_names(aio) == {"det-b": urls["det-b"]}
        with pytest.raises(OSError):
            get(urls["det-a"] + "/v1/sandbox")
        assert not (state_dir / "sandboxes" / "det-a").exists()
        assert not os.path.exists("/sys/fs/cgroup/pids/aio/det-a")
    finally:
        for name in urls:
            ctl(aio, "stop", name)
    assert ls_names(aio) == {}


def test_ctl_refuses_what_it_must(aio):
    r = ctl(aio, "stop", "nosuch")
    assert r.returncode == 125 and "no running sandbox named 'nosuch'" in r.stderr
    r = ctl(aio, "stop", "../etc")
    assert r.returncode == 125 and "name" in r.stderr
    r = ctl(aio, "logs", "nosuch")
    assert r.returncode == 125 and "no log" in r.stderr
    r = subprocess.run([str(AIO_RUN), "stop"], capture_output=True, text=True)
    assert r.returncode == 125 and "usage" in r.stderr


def children(pid):
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(p) for p in f.read().split()]
    return out


def apid_pid(aio, name):
    """aio-apid of sandbox name: the child of its init, the child of its launcher."""
    info = (aio.state / "sandboxes" / name / "up").read_text().split()
    launcher = int(info[info.index("pid") + 1])
    init = children(launcher)[0]
    kids = children(init)
    return kids[0] if kids else None


def gone(pid):
    """Waits until pid has exited (a request it had accepted would die with it)."""
    for _ in range(500):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    return
        except (FileNotFoundError, ProcessLookupError):  # gone between open() and read()
            return
        time.sleep(0.002)
    raise AssertionError(f"pid {pid} did not exit")


def test_apid_restarted_after_a_crash(aio, apid):
    """aio-apid killed by SIGSEGV or SIGKILL is started again by the init; the published
    socket keeps accepting meanwhile (requests wait in its backlog)."""
    r = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name", "crashy",
                        "--port", "0", "--detach"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip()
    try:
        for sig in (signal.SIGSEGV, signal.SIGKILL, signal.SIGKILL):
            first = apid_pid(aio, "crashy")
            assert first
            os.kill(first, sig)
            gone(first)
            # at once: this request waits in the socket's backlog while aio-apid is down
            status, body = get(url + "/v1/sandbox")
            assert status == 200 and body["success"] is True
            second = apid_pid(aio, "crashy")
            assert second and second != first
        assert ls_names(aio) == {"crashy": url}
    finally:
        assert ctl(aio, "stop", "crashy").returncode == 0
    assert ls_names(aio) == {}


def test_up_with_a_key_publishes_beyond_loopback(aio, apid):
    """With -e SANDBOX_API_KEY aio-run may listen on every address; requests need the key."""
    key = "k-" + os.urandom(8).hex()
    p = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name", "keyed",
                        "--listen", "0.0.0.0:0", "-e", f"SANDBOX_API_KEY={key}", "--detach"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    port = p.stdout.strip().rsplit(":", 1)[1]
    url = f"http://127.0.0.1:{port}/v1/sandbox"
    try:
        with pytest.raises(urllib.error.HTTPError) as e:
            get(url)
        assert e.value.code == 401
        req = urllib.request.Request(url, headers={"X-AIO-API-Key": key})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
    finally:
        assert ctl(aio, "stop", "keyed").returncode == 0
    # an empty key is no key
    p = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--listen", "0.0.0.0:0",
                        "-e", "SANDBOX_API_KEY="], capture_output=True, text=True, timeout=30)
    assert p.returncode == 125 and "SANDBOX_API_KEY" in p.stderr


def unix_get(path, target):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(path))
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_unix_socket(aio, apid, state_dir):
    """--socket PATH: the API on a Unix socket too, mode 0600, removed when the sandbox ends;
    a live one is not taken over, a stale one is replaced, other files are left alone."""
    sock = state_dir / "api.sock"
    r = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name", "unixy",
                        "--port", "0", "--socket", str(sock), "--detach"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    try:
        assert stat_mode(sock) == 0o600
        status, body = unix_get(sock, "/v1/sandbox")
        assert status == 200 and json.loads(body)["success"] is True
        assert get(r.stdout.strip() + "/v1/sandbox")[0] == 200
        busy = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name",
                               "unixy2", "--port", "0", "--socket", str(sock)],
                              capture_output=True, text=True, timeout=30)
        assert busy.returncode == 125 and "in use" in busy.stderr
        assert unix_get(sock, "/health")[0] == 200
    finally:
        assert ctl(aio, "stop", "unixy").returncode == 0
    assert not sock.exists()
    # a stale socket file (nobody listening) is replaced
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(sock))
    stale.close()
    proc, _ = start_up(aio, "--port", "0", "--name", "unixy3", "--socket", str(sock))
    try:
        assert unix_get(sock, "/health")[0] == 200
    finally:
        assert stop(proc) == 0
    other = state_dir / "file"
    other.write_text("keep me")
    r = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--port", "0",
                        "--socket", str(other)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 125 and "not a socket" in r.stderr
    assert other.read_text() == "keep me"


def stat_mode(p):
    return os.stat(p).st_mode & 0o777


def test_same_url_inside_the_jail(aio, apid):
    """127.0.0.1:8080 answers inside the jail too (aio-apid also listens on the jail's own
    loopback), and the aio CLI is there, on PATH, using it by default."""
    if not (BUILD / "bin" / "aio").exists():
        pytest.skip("aio is not built")
    r = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name", "inside",
                        "--port", "0", "--detach"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip()
    try:
        req = urllib.request.Request(
            url + "/v1/bash/exec", method="POST", headers={"Content-Type": "application/json"},
            data=json.dumps({"command": "command -v aio; aio --json sandbox info"}).encode())
        with urllib.request.urlopen(req, timeout=30) as resp:
            d = json.loads(resp.read())["data"]
        lines = d["stdout"].splitlines()
        assert lines[0] == "/opt/aio/bin/aio", d
        info = json.loads("\n".join(lines[1:]))
        assert info["home_dir"] == "/home/gem", info
    finally:
        assert ctl(aio, "stop", "inside").returncode == 0
