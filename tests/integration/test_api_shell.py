"""/v1/shell against a real aio-apid (outside a jail, socket-activated as aio-run up does it) and
once through aio-run up --rootfs host: persistent bash sessions on pseudo-terminals, upstream's
shapes and statuses, the three timeouts, input, kill, SSE output and the WebSocket terminal.
Processes are checked to be gone, not only reported gone."""
import base64
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from test_apid import Apid, assert_422, assert_envelope, need_apid

SESSION_FIELDS = {"session_id", "command", "status", "output", "console", "exit_code"}


@pytest.fixture
def home(tmp_path):
    """A HOME of its own: the shells source ~/.bashrc, and the test machine's may be slow."""
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def start(tmp_path, home):
    need_apid()
    servers = []

    def _start(*args, env=None):
        a = Apid(tmp_path, *args, env={"HOME": str(home), **(env or {})})
        servers.append(a)
        return a

    yield _start
    for a in servers:
        if a.proc.poll() is None:
            code = a.stop()
            assert code == 0, a.stderr()
        assert not children(a.proc.pid), a.stderr()


@pytest.fixture
def apid(start):
    return start()


def children(pid):
    """Processes whose parent is pid (aio-apid's bash shells)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def in_session(sid):
    """Live processes of Linux session sid."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if f[0] not in "ZX" and int(f[3]) == sid:
                out.append(int(d))
    return out


def wait_until(cond, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def ex(a, http_timeout=60, **body):
    r = a.post("/v1/shell/exec", json=body, timeout=http_timeout)
    assert r.status_code == 200, r.text
    return r.json()


def create(a, **body):
    r = a.post("/v1/shell/sessions/create", json=body)
    assert_envelope(r, 200, True)
    return r.json()["data"]["session_id"]


# --- exec -------------------------------------------------------------------------------------

def test_exec_without_id_makes_a_session(apid, home):
    body = ex(apid, command="echo hi; whoami; pwd")
    assert body["success"] is True and body["message"] == "Command executed"
    d = body["data"]
    assert set(d) == SESSION_FIELDS
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        d["session_id"])
    import pwd as pwdmod
    assert d["output"] == f"hi\n{pwdmod.getpwuid(os.getuid()).pw_name}\n{home}"
    assert d["status"] == "completed" and d["exit_code"] == 0
    assert d["console"] == [{"ps1": "$ ", "command": "echo hi; whoami; pwd",
                             "output": d["output"]}]
    # the session is listed
    sessions = apid.get("/v1/shell/sessions").json()["data"]["sessions"]
    assert list(sessions) == [d["session_id"]]


def test_state_persists_between_execs(apid, tmp_path):
    sid = create(apid)
    d = ex(apid, id=sid, command=f"cd {tmp_path} && export AIO_T=persisted; declare -a arr=(x y z);"
                                 " f() { echo func-$1; }; alias ll='echo aliased'")["data"]
    assert d["status"] == "completed" and d["exit_code"] == 0 and d["output"] == ""
    d = ex(apid, id=sid, command="pwd; echo $AIO_T ${arr[2]}; f 1; ll")["data"]
    assert d["output"] == f"{tmp_path}\npersisted z\nfunc-1\naliased"
    # $? survives too
    ex(apid, id=sid, command="(exit 7)")
    assert ex(apid, id=sid, command="echo $?")["data"]["output"] == "7"
    listed = apid.get("/v1/shell/sessions").json()["data"]["sessions"][sid]
    assert listed["working_dir"] == str(tmp_path)


def test_output_shapes(apid):
    sid = create(apid)
    d = ex(apid, id=sid, command="echo out; echo err >&2; printf '\\033[31mred\\033[0m\\n'; "
                                 "printf 'caf\\xc3\\xa9 \\xff end\\n'; exit_code_is() { return $1; };"
                                 " exit_code_is 3")["data"]
    assert d["status"] == "completed" and d["exit_code"] == 3
    assert d["output"] == "out\nerr\nred\ncaf\u00e9 \ufffd end"
    d = ex(apid, id=sid, command="ls /nonexistent-aio")["data"]
    assert d["status"] == "completed" and d["exit_code"] == 2 and "No such file" in d["output"]
    d = ex(apid, id=sid, command="echo no-such-cmd-aio-x; no-such-cmd-aio-x")["data"]
    assert d["exit_code"] == 127 and "command not found" in d["output"]


def test_marker_like_output_does_not_end_commands(apid):
    """Text that looks like the completion marker, the hook functions and the shell's variables
    printed in full, and binary noise: each command still ends exactly when it ends."""
    sid = create(apid)
    cmds = [
        r"printf '\033]777;aio;0123456789abcdef;E;0;/tmp\007'; sleep 0.3; echo after",
        "declare -f; set; sleep 0.3; echo after",
        "head -c 200000 /dev/urandom; sleep 0.3; echo; echo after",
        r"printf '\033]777;aio;\n'; sleep 0.3; echo after",
        r"printf '\033]777;aio;'; sleep 0.3; printf '\007'; echo after",
    ]
    for c in cmds:
        d = ex(apid, id=sid, command=c, truncate=False)["data"]
        assert d["status"] == "completed" and d["exit_code"] == 0, d
        assert d["output"].endswith("after"), d["output"][-200:]


def test_long_and_multiline_commands(apid, tmp_path):
    sid = create(apid)
    script = "cat <<'EOF'\nline 'one' \"two\" $HOME\nEOF\nfor i in 1 2; do\n  echo \"i=$i\"\ndone"
    d = ex(apid, id=sid, command=script)["data"]
    assert d["output"] == "line 'one' \"two\" $HOME\ni=1\ni=2"
    big = "x" * 300_000
    d = ex(apid, id=sid, command=f"v='{big}'; echo ${{#v}}")["data"]
    assert d["output"] == "300000"
    # an unfinished command is a syntax error, not a hung session
    d = ex(apid, id=sid, command="echo 'unterminated")["data"]
    assert d["status"] == "completed" and d["exit_code"] != 0
    assert ex(apid, id=sid, command="echo still-fine")["data"]["output"] == "still-fine"


def test_truncation(apid):
    sid = create(apid)
    d = ex(apid, id=sid, command="seq 1 20000")["data"]
    full = "\n".join(str(i) for i in range(1, 20001))
    note = "\n[... Observation truncated due to length ...]\n"
    assert len(full) > 30000
    assert d["output"] == full[:15000] + note + full[-15000:]
    d = ex(apid, id=sid, command="seq 1 20000", truncate=False)["data"]
    assert d["output"] == full
    # view truncates the same way
    v = apid.post("/v1/shell/view", json={"id": sid}).json()["data"]
    assert v["output"] == full[:15000] + note + full[-15000:]


def test_output_cap_per_command(apid):
    """Past what a session keeps of one command (its first 64 KiB and last 1 MiB), the middle
    is dropped and marked; memory stays bounded however much is printed."""
    sid = create(apid)
    d = ex(apid, id=sid, command="seq 1 1000000", truncate=False, http_timeout=60)["data"]
    out = d["output"]
    assert out.startswith("1\n2\n3\n") and out.endswith("\n999999\n1000000")
    assert "[... Observation truncated due to length ...]" in out
    assert len(out) < 1_300_000


def test_exec_dir(apid, tmp_path):
    sid = create(apid)
    d = ex(apid, id=sid, command="pwd", exec_dir=str(tmp_path))["data"]
    assert d["output"] == str(tmp_path)
    # the cd sticks, as upstream's "cd dir && command" does
    assert ex(apid, id=sid, command="pwd")["data"]["output"] == str(tmp_path)
    # missing: ignored, or refused with strict
    d = ex(apid, id=sid, command="pwd", exec_dir="/nonexistent-aio")["data"]
    assert d["output"] == str(tmp_path) and d["status"] == "completed"
    d = ex(apid, id=sid, command="pwd", exec_dir="/nonexistent-aio", strict=True)["data"]
    assert d["status"] == "terminated" and d["exit_code"] == 1
    assert d["output"] == "/nonexistent-aio No such file or directory"
    d = ex(apid, id=sid, command="pwd", exec_dir="relative/dir", strict=True)["data"]
    assert d["status"] == "terminated"
    # a quote in the name
    odd = tmp_path / "it's here"
    odd.mkdir()
    assert ex(apid, id=sid, command="pwd", exec_dir=str(odd))["data"]["output"] == str(odd)
    # a new session in exec_dir
    d = ex(apid, command="pwd", exec_dir=str(odd))["data"]
    assert d["output"] == str(odd)


def test_symlinks(apid, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    sid = create(apid, exec_dir=str(link))
    assert ex(apid, id=sid, command="pwd")["data"]["output"] == str(real)
    r = apid.post("/v1/shell/sessions/create", json={"exec_dir": str(link),
                                                      "preserve_symlinks": True})
    assert r.json()["data"]["working_dir"] == str(link)
    sid2 = r.json()["data"]["session_id"]
    assert ex(apid, id=sid2, command="pwd")["data"]["output"] == str(link)
    # preserve_symlinks sent with a command decides for its exec_dir (the SDK's exec_command
    # documents it per command); absent or null, the session's setting holds
    out = ex(apid, id=sid2, command="pwd", exec_dir=str(link), preserve_symlinks=False)
    assert out["data"]["output"] == str(real)
    out = ex(apid, id=sid2, command="pwd", exec_dir=str(link), preserve_symlinks=None)
    assert out["data"]["output"] == str(link)
    out = ex(apid, id=sid, command="pwd", exec_dir=str(link), preserve_symlinks=True)
    assert out["data"]["output"] == str(link)
    assert ex(apid, id=sid, command="pwd", exec_dir=str(link))["data"]["output"] == str(real)


# --- errors -----------------------------------------------------------------------------------

def test_unknown_session_404(apid):
    for path, body in [("/v1/shell/exec", {"id": "nope", "command": "true"}),
                       ("/v1/shell/view", {"id": "nope"}),
                       ("/v1/shell/wait", {"id": "nope"}),
                       ("/v1/shell/write", {"id": "nope", "input": "x", "press_enter": False}),
                       ("/v1/shell/kill", {"id": "nope"}),
                       ("/v1/shell/sessions/update", {"id": "nope", "no_change_timeout": 5})]:
        r = apid.post(path, json=body)
        assert_envelope(r, 404, False, "Session not found")
    # DELETE of an unknown session is upstream's 200 with success:false
    r = requests.delete(apid.url + "/v1/shell/sessions/nope", timeout=10)
    body = assert_envelope(r, 200, False, "Session nope not found")
    assert body["data"] == {"session_id": "nope"}


@pytest.mark.parametrize("path,body,typ,field", [
    ("/v1/shell/exec", {}, "missing", "command"),
    ("/v1/shell/exec", {"command": 1}, "string_type", "command"),
    ("/v1/shell/exec", {"command": None}, "string_type", "command"),
    ("/v1/shell/exec", {"command": "x", "async_mode": "yes"}, "bool_type", "async_mode"),
    ("/v1/shell/exec", {"command": "x", "timeout": "1"}, "float_type", "timeout"),
    ("/v1/shell/exec", {"command": "x", "no_change_timeout": 1.5}, "int_from_float",
     "no_change_timeout"),
    ("/v1/shell/exec", {"command": "x", "no_change_timeout": 0}, "greater_than_equal",
     "no_change_timeout"),
    ("/v1/shell/exec", {"command": "x", "hard_timeout": -1}, "greater_than", "hard_timeout"),
    ("/v1/shell/exec", {"command": "x", "id": 5}, "string_type", "id"),
    ("/v1/shell/exec", {"command": "x", "bogus": 1}, "extra_forbidden", "bogus"),
    ("/v1/shell/view", {}, "missing", "id"),
    ("/v1/shell/wait", {"id": "a", "seconds": "ten"}, "int_type", "seconds"),
    ("/v1/shell/write", {"id": "a", "input": "x"}, "missing", "press_enter"),
    ("/v1/shell/write", {"id": "a", "input": ["x"], "press_enter": True}, "string_type", "input"),
    ("/v1/shell/kill", {"id": None}, "string_type", "id"),
    ("/v1/shell/sessions/create", {"id": "a/b"}, "string_pattern_mismatch", "id"),
    ("/v1/shell/sessions/create", {"id": "x" * 129}, "string_too_long", "id"),
    ("/v1/shell/sessions/create", {"no_change_timeout": -5}, "greater_than_equal",
     "no_change_timeout"),
    ("/v1/shell/sessions/update", {"no_change_timeout": 5}, "missing", "id"),
])
def test_bad_input_422(apid, path, body, typ, field):
    assert_422(apid.post(path, json=body), typ, field)


def test_bad_bodies(apid):
    r = apid.post("/v1/shell/exec", data=b"[1]", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = apid.post("/v1/shell/exec", data=b'{"command":"a","command":"b"}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = apid.get("/v1/shell/exec")
    assert r.status_code == 405


# --- timeouts ---------------------------------------------------------------------------------

def test_soft_timeout_then_wait_and_view(apid):
    sid = create(apid)
    t0 = time.time()
    body = ex(apid, id=sid, command="sleep 1.5; echo done", timeout=0.5)
    assert time.time() - t0 < 1.4
    assert body["message"] == "Command still running (timeout 0.5s reached)"
    assert body["data"] == {"session_id": sid, "command": "sleep 1.5; echo done",
                            "status": "running", "output": None, "console": None,
                            "exit_code": None}
    v = apid.post("/v1/shell/view", json={"id": sid}).json()["data"]
    assert v["status"] == "running" and v["command"] == "sleep 1.5; echo done"
    assert v["exit_code"] is None
    listed = apid.get("/v1/shell/sessions").json()["data"]["sessions"][sid]
    assert listed["status"] == "running" and listed["current_command"] == "sleep 1.5; echo done"
    w = apid.post("/v1/shell/wait", json={"id": sid, "seconds": 10}).json()
    assert w["data"] == {"status": "completed"}
    assert w["message"] == "Process completed successfully"
    v = apid.post("/v1/shell/view", json={"id": sid}).json()["data"]
    assert set(v) >= {"output", "session_id", "console", "status", "command", "exit_code"}
    assert v["output"] == "done" and v["status"] == "completed" and v["exit_code"] == 0
    assert v["console"][-1] == {"ps1": "$ ", "command": "sleep 1.5; echo done", "output": "done"}


def test_wait_limits(apid):
    sid = create(apid)
    ex(apid, id=sid, command="sleep 3", async_mode=True)
    t0 = time.time()
    w = apid.post("/v1/shell/wait", json={"id": sid, "seconds": 10, "max_wait_seconds": 1}).json()
    assert 0.8 < time.time() - t0 < 2.5
    assert w["data"]["status"] == "running" and w["message"] == "Process is still running"
    w = apid.post("/v1/shell/wait", json={"id": sid, "seconds": 10}).json()
    assert w["data"]["status"] == "completed"


def test_async_mode(apid):
    sid = create(apid)
    t0 = time.time()
    body = ex(apid, id=sid, command="sleep 1; echo async-done", async_mode=True)
    assert time.time() - t0 < 0.8
    assert body["message"] == "Command sent for execution"
    assert body["data"]["status"] == "running" and body["data"]["output"] is None
    assert apid.post("/v1/shell/wait", json={"id": sid}).json()["data"]["status"] == "completed"
    assert apid.post("/v1/shell/view", json={"id": sid}).json()["data"]["output"] == "async-done"


def test_no_change_timeout_then_write(apid):
    sid = create(apid)
    t0 = time.time()
    d = ex(apid, id=sid, command='read -p "name? " n; echo "hello $n"', no_change_timeout=1)["data"]
    assert 0.9 < time.time() - t0 < 3
    assert d["status"] == "no_change_timeout" and d["output"] == "name?"
    # the command goes on: a second exec is refused, input is taken
    r = apid.post("/v1/shell/exec", json={"id": sid, "command": "echo other"})
    assert_envelope(r, 409, False)
    assert "busy" in r.json()["message"] and "read -p" in r.json()["message"]
    w = apid.post("/v1/shell/write", json={"id": sid, "input": "bob", "press_enter": True}).json()
    assert w["success"] is True and w["data"]["status"] in ("running", "completed")
    assert apid.post("/v1/shell/wait", json={"id": sid, "seconds": 5}).json()["data"] == {
        "status": "completed"}
    v = apid.post("/v1/shell/view", json={"id": sid}).json()["data"]
    assert v["output"].endswith("hello bob") and v["exit_code"] == 0


def test_session_no_change_timeout_setting(apid):
    sid = create(apid, no_change_timeout=1)
    t0 = time.time()
    assert ex(apid, id=sid, command="sleep 4")["data"]["status"] == "no_change_timeout"
    assert time.time() - t0 < 3
    apid.post("/v1/shell/wait", json={"id": sid, "seconds": 10})
    r = apid.post("/v1/shell/sessions/update", json={"id": sid, "no_change_timeout": 30})
    body = assert_envelope(r, 200, True, "Session updated successfully")
    assert body["data"] == {"session_id": sid, "no_change_timeout": 30}
    d = ex(apid, id=sid, command="sleep 1.5; echo slow")["data"]
    assert d["status"] == "completed" and d["output"] == "slow"
    # output that keeps changing is not "no change"
    d = ex(apid, id=sid, no_change_timeout=1,
           command="for i in 1 2 3 4; do echo $i; sleep 0.6; done")["data"]
    assert d["status"] == "completed" and d["output"] == "1\n2\n3\n4"


def test_hard_timeout_stops_the_command(apid, tmp_path):
    sid = create(apid)
    mark = tmp_path / "never"
    t0 = time.time()
    d = ex(apid, id=sid, command=f"echo started; sleep 30; touch {mark}", hard_timeout=1)["data"]
    assert time.time() - t0 < 5
    assert d["status"] == "hard_timeout" and d["exit_code"] == -1
    assert d["output"].startswith("started")
    time.sleep(0.5)
    assert not mark.exists()
    # the session is usable at once
    assert ex(apid, id=sid, command="echo next")["data"]["output"] == "next"
    # a command deaf to ^C is killed
    t0 = time.time()
    d = ex(apid, id=sid, command="bash -c 'trap \"\" INT; sleep 30'; echo after",
           hard_timeout=0.5)["data"]
    assert d["status"] == "hard_timeout" and time.time() - t0 < 8
    assert ex(apid, id=sid, command="echo alive")["data"]["output"] == "alive"


def test_hard_timeout_async(apid):
    sid = create(apid)
    ex(apid, id=sid, command="sleep 30", async_mode=True, hard_timeout=0.5)
    w = apid.post("/v1/shell/wait", json={"id": sid, "seconds": 10}).json()
    assert w["data"]["status"] == "hard_timeout"
    assert apid.post("/v1/shell/view", json={"id": sid}).json()["data"]["exit_code"] == -1


# --- input, kill, concurrency -----------------------------------------------------------------

def test_write_control_keys(apid):
    sid = create(apid)
    ex(apid, id=sid, command="sleep 30", async_mode=True)
    t0 = time.time()
    r = apid.post("/v1/shell/write", json={"id": sid, "input": "C-c", "press_enter": False})
    assert r.json()["success"] is True
    assert apid.post("/v1/shell/wait", json={"id": sid, "seconds": 5}).json()["data"][
        "status"] == "completed"
    assert time.time() - t0 < 3
    assert apid.post("/v1/shell/view", json={"id": sid}).json()["data"]["exit_code"] == 130
    # C-d ends a reading cat
    ex(apid, id=sid, command="cat", async_mode=True)
    apid.post("/v1/shell/write", json={"id": sid, "input": "typed", "press_enter": True})
    apid.post("/v1/shell/write", json={"id": sid, "input": "C-d", "press_enter": False})
    assert apid.post("/v1/shell/wait", json={"id": sid, "seconds": 5}).json()["data"][
        "status"] == "completed"
    out = apid.post("/v1/shell/view", json={"id": sid}).json()["data"]["output"]
    assert out.endswith("typed")  # cat's copy (after the terminal's echo, if typed once cat read)


def test_write_when_idle_runs_the_input(apid):
    sid = create(apid)
    w = apid.post("/v1/shell/write", json={"id": sid, "input": "echo via-write",
                                           "press_enter": True}).json()
    assert w["success"] is True and w["data"]["status"] in ("running", "completed")
    apid.post("/v1/shell/wait", json={"id": sid, "seconds": 5})
    v = apid.post("/v1/shell/view", json={"id": sid}).json()["data"]
    assert v["output"] == "via-write" and v["command"] == "echo via-write"


def test_kill_ends_the_session_and_all_it_runs(apid, tmp_path):
    sid = create(apid)
    bash = int(ex(apid, id=sid, command="echo $$")["data"]["output"])
    # a background job in a process group of its own, and a foreground command
    ex(apid, id=sid, command="sleep 1000 & sleep 1001 | cat &")
    ex(apid, id=sid, command="sleep 1002", async_mode=True)
    assert wait_until(lambda: len(in_session(bash)) >= 5), in_session(bash)
    r = apid.post("/v1/shell/kill", json={"id": sid})
    body = assert_envelope(r, 200, True, "Process terminated")
    assert body["data"] == {"status": "terminated", "exit_code": None, "returncode": None}
    assert in_session(bash) == []
    assert not os.path.exists(f"/proc/{bash}")
    assert_envelope(apid.post("/v1/shell/view", json={"id": sid}), 404, False)
    # kill after a finished command reports its exit code
    sid = create(apid)
    ex(apid, id=sid, command="(exit 4)")
    d = apid.post("/v1/shell/kill", json={"id": sid}).json()["data"]
    assert d == {"status": "terminated", "exit_code": 4, "returncode": 4}


def test_two_execs_at_once_on_one_session(apid):
    """One runs, the other is refused with 409 at once (never queued, never mixed)."""
    sid = create(apid)
    results = []

    def run(cmd):
        r = apid.post("/v1/shell/exec", json={"id": sid, "command": cmd})
        results.append((cmd, r.status_code, r.json()))

    threads = [threading.Thread(target=run, args=(f"sleep 1; echo from-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r[1] == 200]
    refused = [r for r in results if r[1] == 409]
    assert len(ok) == 1 and len(refused) == 1, results
    cmd, _, body = ok[0]
    assert body["data"]["output"] == "from-" + cmd[-1]
    assert refused[0][2]["success"] is False and "busy" in refused[0][2]["message"]
    # many at once on separate sessions are fine
    sids = [create(apid) for _ in range(4)]
    out = {}
    ts = [threading.Thread(target=lambda s=s: out.__setitem__(s, ex(apid, id=s, command=f"sleep 0.5; echo {s}")))
          for s in sids]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(out[s]["data"]["output"] == s for s in sids)


def test_client_disconnects_mid_exec(apid, tmp_path):
    """Upstream's semantics: the command runs on to its end; nothing is left behind."""
    sid = create(apid)
    done = tmp_path / "done"
    threads_before = len(os.listdir(f"/proc/{apid.proc.pid}/task"))
    body = json.dumps({"id": sid, "command": f"sleep 1; echo ok > {done}"}).encode()
    with socket.create_connection(("127.0.0.1", apid.port)) as c:
        c.sendall(b"POST /v1/shell/exec HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        time.sleep(0.3)
    assert wait_until(done.exists, 5)
    assert done.read_text() == "ok\n"
    assert apid.post("/v1/shell/wait", json={"id": sid}).json()["data"]["status"] == "completed"
    assert ex(apid, id=sid, command="echo after")["data"]["output"] == "after"
    # the handler thread ended (within its 250 ms check), no fd or thread is left
    assert wait_until(lambda: len(os.listdir(f"/proc/{apid.proc.pid}/task")) <= threads_before, 3)


# --- sessions ---------------------------------------------------------------------------------

def test_session_crud(apid, home):
    r = apid.post("/v1/shell/sessions/create", json={"id": "mine"})
    body = assert_envelope(r, 200, True, "Session created successfully")
    assert body["data"] == {"session_id": "mine", "working_dir": str(home)}
    r = apid.post("/v1/shell/sessions/create", json={"id": "mine", "exec_dir": "/"})
    body = assert_envelope(r, 200, True, "Session had created successfully")
    assert body["data"] == {"session_id": "mine", "working_dir": str(home)}
    create(apid, id="other")
    r = apid.get("/v1/shell/sessions")
    body = assert_envelope(r, 200, True, "Found 2 active sessions")
    info = body["data"]["sessions"]["mine"]
    assert set(info) == {"working_dir", "created_at", "last_used_at", "age_seconds", "status",
                         "current_command"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", info["created_at"])
    assert info["status"] == "completed" and info["current_command"] is None
    st = apid.get("/v1/shell/sessions/stats").json()["data"]
    assert st == {"total_sessions": 2, "active_sessions": 2, "idle_sessions": 0,
                  "max_sessions": 10, "session_timeout": 3600, "usage_ratio": pytest.approx(0.2)}
    r = requests.delete(apid.url + "/v1/shell/sessions/mine", timeout=10)
    body = assert_envelope(r, 200, True, "Session mine cleaned up successfully")
    assert body["data"] == {"session_id": "mine"}
    assert list(apid.get("/v1/shell/sessions").json()["data"]["sessions"]) == ["other"]
    create(apid)
    r = requests.delete(apid.url + "/v1/shell/sessions", timeout=10)
    body = assert_envelope(r, 200, True, "Cleaned up 2 sessions")
    assert body["data"] == {"cleaned_sessions": 2}
    assert apid.get("/v1/shell/sessions").json()["data"]["sessions"] == {}
    assert wait_until(lambda: not children(apid.proc.pid), 5)


def test_session_limit_and_expiry(start):
    a = start(env={"MAX_SHELL_SESSIONS": "2", "SHELL_SESSION_TIMEOUT": "2"})
    create(a, id="s1")
    time.sleep(0.05)
    create(a, id="s2")
    ex(a, id="s1", command="true")  # s1 used last: s2 is the least recently used
    create(a, id="s3")
    assert sorted(a.get("/v1/shell/sessions").json()["data"]["sessions"]) == ["s1", "s3"]
    # all busy: no room
    ex(a, id="s1", command="sleep 5", async_mode=True)
    ex(a, id="s3", command="sleep 5", async_mode=True)
    r = a.post("/v1/shell/sessions/create", json={"id": "s4"})
    body = assert_envelope(r, 400, False)
    assert body["message"] == ("Cannot create shell session: session limit reached and all 2 "
                               "existing sessions have active commands")
    assert a.get("/v1/shell/sessions/stats").json()["data"]["max_sessions"] == 2
    # idle past SHELL_SESSION_TIMEOUT: gone at the next listing (busy ones stay)
    create(a, id="s1") and None
    a.post("/v1/shell/kill", json={"id": "s3"})
    a.post("/v1/shell/wait", json={"id": "s1", "seconds": 10})
    time.sleep(2.5)
    assert a.get("/v1/shell/sessions").json()["data"]["sessions"] == {}
    assert wait_until(lambda: not children(a.proc.pid), 5)


def test_shell_exit_ends_the_session(apid):
    sid = create(apid)
    d = ex(apid, id=sid, command="exit 3")["data"]
    assert d["status"] == "terminated" and d["exit_code"] == 3
    assert wait_until(lambda: apid.post("/v1/shell/view", json={"id": sid}).status_code == 404)


def test_stop_kills_every_session(start):
    a = start()
    sid = create(a)
    bash = int(ex(a, id=sid, command="echo $$")["data"]["output"])
    ex(a, id=sid, command="sleep 1000 &")
    ex(a, id=sid, command="sleep 1001", async_mode=True)
    assert a.stop() == 0
    assert in_session(bash) == []


def test_environment_has_no_secrets(start, home):
    a = start(env={"SANDBOX_API_KEY": "s3cret", "AIO_SOMETHING": "x", "KEEP_ME": "yes"})
    r = a.post("/v1/shell/exec", json={"command": "env"}, headers={"X-AIO-API-Key": "s3cret"},
               timeout=60)
    assert r.status_code == 200, r.text
    out = r.json()["data"]["output"]
    assert "s3cret" not in out and "AIO_SOMETHING" not in out and "KEEP_ME=yes" in out
    assert f"HOME={home}" in out and "TERM=xterm-256color" in out
    assert "LISTEN_FDS" not in out


def test_bashrc_is_read(start, home):
    (home / ".bashrc").write_text("export FROM_BASHRC=1\nPROMPT_COMMAND='echo prompt-hook'\n")
    a = start()
    d = ex(a, command="echo $FROM_BASHRC; false")["data"]
    assert d["output"] == "1" and d["exit_code"] == 1
    # a user who replaces PROMPT_COMMAND does not break completion
    sid = d["session_id"]
    assert ex(a, id=sid, command="PROMPT_COMMAND=; echo x")["data"]["output"] == "x"
    assert ex(a, id=sid, command="echo y")["data"]["output"] == "y"


# --- streams ----------------------------------------------------------------------------------

def sse_events(r):
    events, comments = [], []
    for block in r.iter_lines(chunk_size=1, decode_unicode=True):
        if block.startswith("data: "):
            events.append((time.time(), json.loads(block[6:])))
        elif block.startswith(":"):
            comments.append(block)
    return comments, events


def test_sse_exec(apid):
    sid = create(apid)
    t0 = time.time()
    with requests.post(apid.url + "/v1/shell/exec", stream=True, timeout=30,
                       headers={"Accept": "text/event-stream"},
                       json={"id": sid, "command": "for i in 1 2 3; do echo line$i; sleep 0.4; done"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        assert r.headers["cache-control"] == "no-cache"
        assert r.headers["x-accel-buffering"] == "no"
        comments, events = sse_events(r)
    assert comments == [": connected"]
    outputs = [e for _, e in events if "output" in e]
    assert "".join(e["output"] for e in outputs) == "line1\nline2\nline3\n"
    assert events[-1][1] == {"end": True, "message": "No more output"}
    # streamed: the first line came well before the end
    first = next(t for t, e in events if "output" in e)
    assert first - t0 < 0.6 and events[-1][0] - t0 > 1.0
    # the session's result is there for view
    assert apid.post("/v1/shell/view", json={"id": sid}).json()["data"]["output"] == \
        "line1\nline2\nline3"


def test_sse_view(apid):
    sid = create(apid)
    ex(apid, id=sid, command="echo done-before")
    r = apid.post("/v1/shell/view", json={"id": sid}, headers={"Accept": "text/event-stream"})
    assert r.headers["content-type"] == "text/event-stream"
    assert r.text == (': connected\n\ndata: {"output": "done-before"}\n\n'
                      'data: {"end": true, "message": "No more output"}\n\n')
    ex(apid, id=sid, command="echo first; sleep 0.5; echo second; sleep 5", async_mode=True)
    time.sleep(0.2)
    with requests.post(apid.url + "/v1/shell/view", stream=True, timeout=30, json={"id": sid},
                       headers={"Accept": "text/event-stream"}) as r:
        _, events = sse_events(r)
    text = "".join(e.get("output", "") for _, e in events)
    assert "first" in text and "second" in text
    assert {"keepalive": True} in [e for _, e in events]
    assert events[-1][1] == {"end": True, "message": "No more output"}


def test_sse_errors_are_plain(apid):
    r = apid.post("/v1/shell/exec", json={"id": "nope", "command": "true"},
                  headers={"Accept": "text/event-stream"})
    assert_envelope(r, 404, False, "Session not found")


class WS:
    """A minimal WebSocket client (RFC 6455) on a plain socket."""

    def __init__(self, port, path):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.s.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head

    def send(self, data, opcode=1):
        if isinstance(data, str):
            data = data.encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x80 | opcode])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def send_json(self, obj):
        self.send(json.dumps(obj))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        h = self._need(2)
        n = h[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._need(8))[0]
        return h[0] & 0x0F, self._need(n)

    def recv_json(self):
        while True:
            op, data = self.recv()
            if op == 1:
                return json.loads(data)
            if op == 8:
                raise ConnectionError("close %r" % data)

    def read_until(self, pattern, timeout=10):
        seen = ""
        end = time.time() + timeout
        while time.time() < end:
            m = self.recv_json()
            if m["type"] in ("output", "restore_output"):
                seen += m["data"]
                if re.search(pattern, seen):
                    return seen
        raise AssertionError(f"{pattern!r} not in {seen!r}")

    def close(self):
        self.send(struct.pack(">H", 1000), opcode=8)
        op, data = self.recv()
        while op != 8:
            op, data = self.recv()
        self.s.close()
        return struct.unpack(">H", data[:2])[0]


def test_ws_terminal(apid):
    ws = WS(apid.port, "/v1/shell/ws")
    m = ws.recv_json()
    assert m["type"] == "session_id"
    sid = m["data"]
    m = ws.recv_json()
    assert m == {"type": "ready", "data": f"Terminal ready - Session: {sid[:8]}"}
    ws.send_json({"type": "resize", "data": {"cols": 132, "rows": 40}})
    ws.send_json({"type": "input", "data": "echo ws-$((6*7)); stty size\r"})
    out = ws.read_until(r"ws-42\r\n40 132")
    assert "ws-42" in out
    ws.send("echo raw-$((1+1))\r")  # not JSON: typed as it is
    ws.read_until(r"raw-2")
    ws.send_json({"type": "ping", "timestamp": 12345})
    while (m := ws.recv_json())["type"] != "pong":
        pass
    assert m == {"type": "pong", "timestamp": 12345}
    # the same session is an API session too
    assert ex(apid, id=sid, command="echo from-api")["data"]["output"] == "from-api"
    ws.read_until("from-api")
    # a second terminal on it is refused; after this one closes, a new one gets the history
    ws2 = WS(apid.port, f"/v1/shell/ws?session_id={sid}")
    assert ws2.recv_json() == {"type": "error",
                               "data": "Session already has an active WebSocket connection"}
    assert ws.close() == 1000
    ws3 = WS(apid.port, f"/v1/shell/ws?session_id={sid}")
    m = ws3.recv_json()
    assert m["type"] == "restore_output" and "ws-42" in m["data"]
    assert ws3.recv_json() == {"type": "terminal_restored",
                               "data": f"Session {sid[:8]} restored"}
    ws3.close()
    # the session outlives its terminals
    assert sid in apid.get("/v1/shell/sessions").json()["data"]["sessions"]


def test_ws_errors(apid):
    ws = WS(apid.port, "/v1/shell/ws?session_id=nope")
    assert ws.recv_json() == {"type": "error", "data": "Session not found"}
    op, data = ws.recv()
    assert op == 8
    # a killed session closes its terminal
    sid = create(apid)
    ws = WS(apid.port, f"/v1/shell/ws?session_id={sid}")
    ws.recv_json()
    apid.post("/v1/shell/kill", json={"id": sid})
    while True:
        m = ws.recv_json() if True else None
        if m["type"] == "error":
            break
    assert m["data"] == "Session terminated"


def test_terminal_url_and_page(apid):
    # (with no key the Host must be a loopback name: see test_apid's rebinding test)
    r = apid.get("/v1/shell/terminal-url", headers={"Host": "localhost:9000"})
    body = assert_envelope(r, 200, True, "Terminal URL created successfully")
    m = re.fullmatch(r"http://localhost:9000/terminal\?session_id=([0-9a-f-]{36})",
                     body["data"])
    assert m and m.group(1) in apid.get("/v1/shell/sessions").json()["data"]["sessions"]
    r = apid.get("/v1/shell/terminal-url", headers={"X-Forwarded-Host": "h.example",
                                                    "X-Forwarded-Proto": "https",
                                                    "X-Forwarded-Prefix": "/box/"})
    assert r.json()["data"].startswith("https://h.example/box/terminal?session_id=")
    page = apid.get("/terminal")
    if page.status_code == 404:
        pytest.skip("terminal assets not built: " + page.json()["message"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/v1/shell/ws" in page.text and "/terminal/xterm.js" in page.text
    js = apid.get("/terminal/xterm.js")
    assert js.status_code == 200 and "Terminal" in js.text
    assert apid.get("/terminal/addon-fit.js").status_code == 200
    assert apid.get("/terminal/xterm.css").status_code == 200
    assert apid.get("/terminal/..%2fterminal.html").status_code == 404
    assert apid.get("/terminal/passwd").status_code == 404


# --- in a jail --------------------------------------------------------------------------------

def test_shell_in_jail_runs_as_gem(aio):
    from conftest import AIO_RUN, BUILD
    if not (BUILD / "bin" / "aio-apid").exists():
        pytest.skip("aio-apid is not built")
    proc = subprocess.Popen([str(AIO_RUN), "up", "--rootfs", "host", "--state-dir", str(aio.state),
                             "--port", "0", "--name", "shelljail"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() else url
        r = requests.post(url + "/v1/shell/exec", timeout=30,
                          json={"command": "id -un; id -u; pwd; echo $HOME; tty; echo $$"})
        d = r.json()["data"]
        user, uid, cwd, home, tty, pid = d["output"].split("\n")
        assert (user, uid, cwd, home) == ("gem", "1000", "/home/gem", "/home/gem")
        assert tty.startswith("/dev/pts/")
        sid = d["session_id"]
        # pid namespace: a small pid; state persists; kill works in there too
        assert int(pid) < 100
        requests.post(url + "/v1/shell/exec", json={"id": sid, "command": "cd /tmp; X=1"},
                      timeout=30)
        d = requests.post(url + "/v1/shell/exec", json={"id": sid, "command": "pwd; echo $X"},
                          timeout=30).json()["data"]
        assert d["output"] == "/tmp\n1"
        d = requests.post(url + "/v1/shell/exec", timeout=30,
                          json={"id": sid, "command": "sleep 30", "hard_timeout": 0.5}).json()
        assert d["data"]["status"] == "hard_timeout"
        r = requests.post(url + "/v1/shell/kill", json={"id": sid}, timeout=30)
        assert r.json()["data"]["status"] == "terminated"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


# --- measured, not asserted -------------------------------------------------------------------

def test_exec_latency_warm_session(apid, capsys):
    sess = requests.Session()
    sid = create(apid)
    for _ in range(20):
        sess.post(apid.url + "/v1/shell/exec", json={"id": sid, "command": "echo hi"})
    times = []
    for _ in range(500):
        t0 = time.perf_counter()
        r = sess.post(apid.url + "/v1/shell/exec", json={"id": sid, "command": "echo hi"})
        times.append((time.perf_counter() - t0) * 1000)
        assert r.json()["data"]["output"] == "hi"
    times.sort()
    with capsys.disabled():
        print(f"\n/v1/shell/exec echo hi, warm session, 500 calls: p50 {times[249]:.2f} ms, "
              f"p99 {times[494]:.2f} ms, max {times[-1]:.2f} ms")


def test_terminal_url_carries_a_ticket_under_auth(start):
    """With a key, the terminal URL a browser is given opens the terminal: it carries a
    ticket, which the page hands to /v1/shell/ws (no header needed); without it the
    WebSocket is refused before any 101."""
    a = start(env={"SANDBOX_API_KEY": "k-term"})
    r = a.get("/v1/shell/terminal-url", headers={"X-AIO-API-Key": "k-term"})
    assert r.status_code == 200, r.text
    url = r.json()["data"]
    m = re.fullmatch(r"http://127\.0\.0\.1:\d+/terminal\?session_id=([0-9a-f-]{36})&ticket=(.+)",
                     url)
    assert m, url
    sid, ticket = m.groups()
    assert a.get(url.split(str(a.port), 1)[1]).status_code in (200, 404)  # page: public
    ws = WS(a.port, f"/v1/shell/ws?session_id={sid}&ticket={ticket}")
    ws.s.close()
    with pytest.raises(AssertionError):
        WS(a.port, f"/v1/shell/ws?session_id={sid}")
