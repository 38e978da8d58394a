"""/v1/bash (process-per-command sessions) and /v1/sandbox/packages/* against a real aio-apid:
upstream's shapes, offsets into separate stdout/stderr streams, timeouts, signals, stdin,
truncation, non-UTF-8 output, many commands at once, clients that leave, and no process left
behind."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from test_apid import Apid, assert_422, assert_envelope, need_apid

MiB = 1 << 20


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
            assert a.stop() == 0, a.stderr()


@pytest.fixture
def apid(start):
    return start()


def ex(a, **body):
    r = a.post("/v1/bash/exec", json=body, timeout=body.pop("_timeout", 60))
    return assert_envelope(r, 200, True, "Operation successful")["data"]


def out(a, **body):
    r = a.post("/v1/bash/output", json=body, timeout=60)
    return assert_envelope(r, 200, True)["data"]


def children(pid):
    """Direct children of pid (every thread), with their state letter."""
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for c in (task / "children").read_text().split():
            try:
                state = Path(f"/proc/{c}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                continue
            kids.append((int(c), state))
    return kids


def wait_no_children(a, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not children(a.proc.pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"children left: {children(a.proc.pid)}")


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_dead(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"pid {pid} still alive")


# --- exec ------------------------------------------------------------------------------------

def test_exec_sync_shape_streams_and_exit(apid):
    d = ex(apid, command="echo out; echo err >&2; pwd; exit 3")
    assert set(d) >= {"session_id", "command_id", "command", "status", "stdout", "stderr",
                      "exit_code", "offset", "stderr_offset"}
    assert d["status"] == "completed" and d["exit_code"] == 3
    assert d["stdout"] == f"out\n{os.environ['HOME']}\n"
    assert d["stderr"] == "err\n"
    assert d["offset"] == len(d["stdout"]) and d["stderr_offset"] == 4
    sid = d["session_id"]
    # the same session: offsets continue, cd/export do not persist, env is per command
    d2 = ex(apid, session_id=sid, command="cd /; export X=1; printf %s \"$Y\"", env={"Y": "why"})
    assert d2["stdout"] == "why" and d2["stderr"] is None and d2["exit_code"] == 0
    assert d2["offset"] == d["offset"] + 3 and d2["stderr_offset"] == 4
    d3 = ex(apid, session_id=sid, command='pwd; printf "[%s][%s]" "$X" "$Y"')
    assert d3["stdout"] == f"{os.environ['HOME']}\n[][]"
    # exec_dir sticks to the session from then on
    d4 = ex(apid, session_id=sid, command="pwd", exec_dir="/tmp")
    assert d4["stdout"] == "/tmp\n"
    assert ex(apid, session_id=sid, command="pwd")["stdout"] == "/tmp\n"
    # a command killed by a signal reports -signal
    d5 = ex(apid, session_id=sid, command="kill -USR1 $$")
    assert d5["status"] == "completed" and d5["exit_code"] == -signal.SIGUSR1
    # the whole session stream, read by offsets
    o = out(apid, session_id=sid, offset=d["offset"])
    assert o["stdout"] == f"why{os.environ['HOME']}\n[][]/tmp\n/tmp\n"
    assert o["command"]["command_id"] == d5["command_id"]
    wait_no_children(apid)


def test_exec_runs_as_our_user_with_stdin_a_pipe(apid):
    d = ex(apid, command="id -u; test -p /dev/stdin && echo pipe; ps -o pgid= -p $$; echo $$")
    uid, kind, pgid, pid = d["stdout"].split()
    assert int(uid) == os.getuid() and kind == "pipe"
    assert pgid == pid  # its own process group


def test_async_soft_timeout_and_output_offsets(apid):
    d = ex(apid, command="for i in 1 2 3; do echo line$i; echo e$i >&2; sleep 0.3; done",
           async_mode=True)
    assert d["status"] == "running" and d["exit_code"] is None
    sid, cid = d["session_id"], d["command_id"]
    so, se, got_o, got_e = d["offset"], d["stderr_offset"], "", ""
    for _ in range(100):
        o = out(apid, session_id=sid, command_id=cid, offset=so, stderr_offset=se, wait=True,
                wait_timeout=5)
        got_o += o["stdout"]
        got_e += o["stderr"]
        so, se = o["offset"], o["stderr_offset"]
        if o["command"]["status"] != "running":
            break
    assert o["command"] == {"command_id": cid, "command": d["command"], "status": "completed",
                            "exit_code": 0}
    assert got_o == "line1\nline2\nline3\n" and got_e == "e1\ne2\ne3\n"
    # soft timeout: running now, the command goes on
    t = time.monotonic()
    d = ex(apid, session_id=sid, command="sleep 1; echo late", timeout=0.2)
    assert d["status"] == "running" and time.monotonic() - t < 0.9
    o = out(apid, session_id=sid, command_id=d["command_id"], offset=d["offset"], wait=True,
            wait_timeout=10)
    assert o["stdout"] == "late\n" and o["command"]["status"] == "completed"


def test_output_wait_times_out_and_wakes_early(apid):
    d = ex(apid, command="sleep 1.5; echo x", async_mode=True)
    t = time.monotonic()
    o = out(apid, session_id=d["session_id"], offset=d["offset"], wait=True, wait_timeout=0.5)
    took = time.monotonic() - t
    assert 0.4 < took < 1.4 and o["stdout"] == "" and o["command"]["status"] == "running"
    o = out(apid, session_id=d["session_id"], offset=d["offset"], wait=True, wait_timeout=20)
    assert time.monotonic() - t < 5
    assert o["stdout"] == "x\n" and o["command"]["status"] == "completed"
    # without wait: an immediate answer; a finished command: no waiting either
    t = time.monotonic()
    o = out(apid, session_id=d["session_id"], offset=o["offset"], wait=True, wait_timeout=10)
    assert time.monotonic() - t < 1 and o["stdout"] == ""


def test_hard_timeout_kills_the_group(apid):
    d = ex(apid, command="sleep 100 & echo $!; wait", hard_timeout=0.5, _timeout=10)
    assert d["status"] == "timed_out" and d["exit_code"] == -1
    wait_dead(int(d["stdout"]), 5)  # the background child went with the group
    wait_no_children(apid)


def test_kill_sigterm_ignored_then_sigkill(apid):
    d = ex(apid, command="trap '' TERM; echo $$; sleep 60 & echo $!; wait", async_mode=True)
    sid = d["session_id"]
    o = out(apid, session_id=sid, wait=True, wait_timeout=5)
    while o["stdout"].count("\n") < 2:
        o = out(apid, session_id=sid, wait=True, wait_timeout=5)
    shell, child = map(int, o["stdout"].split())
    r = apid.post("/v1/bash/kill", json={"session_id": sid})
    assert_envelope(r, 200, True, "Signal SIGTERM sent")
    time.sleep(0.5)
    assert alive(shell) and alive(child)  # ignored, as asked
    assert out(apid, session_id=sid)["command"]["status"] == "running"
    r = apid.post("/v1/bash/kill", json={"session_id": sid, "signal": "SIGKILL"})
    assert_envelope(r, 200, True, "Signal SIGKILL sent")
    o = out(apid, session_id=sid, wait=True, wait_timeout=5)
    assert o["command"]["status"] == "killed" and o["command"]["exit_code"] == -9
    wait_dead(child, 5)  # the whole process group
    wait_no_children(apid)


def test_close_escalates_to_sigkill(apid):
    d = ex(apid, command="trap '' TERM; echo $$; sleep 60", async_mode=True)
    o = out(apid, session_id=d["session_id"], wait=True, wait_timeout=5)
    pid = int(o["stdout"])
    t = time.monotonic()
    r = apid.post(f"/v1/bash/sessions/{d['session_id']}/close")
    assert_envelope(r, 200, True, f"Session {d['session_id']} closed")
    assert time.monotonic() - t < 0.5  # the answer does not wait for the grace
    took = wait_dead(pid, 10) - t
    assert 2 < took < 6, took  # SIGTERM ignored, SIGKILL after the 3 s grace
    wait_no_children(apid)
    assert_envelope(apid.post("/v1/bash/output", json={"session_id": d["session_id"]}), 404,
                    False, f"Session {d['session_id']} not found")


def test_write_stdin(apid):
    d = ex(apid, command="read a; read b; echo got:$a:$b; cat", async_mode=True)
    sid = d["session_id"]
    r = apid.post("/v1/bash/write", json={"session_id": sid, "input": "one\ntwo\n"})
    assert_envelope(r, 200, True, "Input written")
    o = out(apid, session_id=sid, wait=True, wait_timeout=5)
    assert o["stdout"] == "got:one:two\n"
    big = "y" * (900 * 1024) + "\n"  # more than a pipe holds: written as cat reads
    r = apid.post("/v1/bash/write", json={"session_id": sid, "command_id": d["command_id"],
                                          "input": big})
    assert_envelope(r, 200, True)
    got, off = "", o["offset"]
    while len(got) < len(big):
        o = out(apid, session_id=sid, offset=off, wait=True, wait_timeout=5)
        got += o["stdout"]
        off = o["offset"]
    assert got == big
    apid.post("/v1/bash/kill", json={"session_id": sid, "signal": "SIGINT"})
    o = out(apid, session_id=sid, command_id=d["command_id"], wait=True, wait_timeout=5)
    assert o["command"]["status"] == "killed" and o["command"]["exit_code"] == -2
    r = apid.post("/v1/bash/write", json={"session_id": sid, "input": "x"})
    assert_envelope(r, 400, False, "No running process to write to")


# --- bad input -------------------------------------------------------------------------------

def test_bad_input(apid):
    assert_422(apid.post("/v1/bash/exec", json={}), "missing", "command")
    body = assert_422(apid.post("/v1/bash/exec", json={"command": 1, "async_mode": "x",
                                                       "timeout": "1", "bogus": 1}),
                      "string_type", "command")
    assert [e["loc"][1] for e in body["detail"]] == ["command", "async_mode", "timeout", "bogus"]
    assert_422(apid.post("/v1/bash/exec", json={"command": "true", "env": ["A=1"]}),
               "dict_type", "env")
    body = assert_422(apid.post("/v1/bash/exec", json={"command": "true", "env": {"A": 1}}),
                      "string_type", "env")
    assert body["detail"][0]["loc"] == ["body", "env", "A"]
    assert_422(apid.post("/v1/bash/exec", json={"command": "true", "hard_timeout": -1}),
               "greater_than_equal", "hard_timeout")
    assert_422(apid.post("/v1/bash/exec", json={"command": "true", "max_output_length": 1.5}),
               "int_from_float", "max_output_length")
    assert_422(apid.post("/v1/bash/output", json={}), "missing", "session_id")
    assert_422(apid.post("/v1/bash/output", json={"session_id": "x", "offset": "0"}),
               "int_type", "offset")
    assert_422(apid.post("/v1/bash/output", json={"session_id": "x", "wait_timeout": -2}),
               "greater_than_equal", "wait_timeout")
    assert_422(apid.post("/v1/bash/write", json={"session_id": "x"}), "missing", "input")
    assert_422(apid.post("/v1/bash/kill", json={"session_id": "x", "signal": "SIGNOPE"}),
               "enum", "signal")
    assert_422(apid.post("/v1/bash/sessions/create", json={"exec_dir": 5}), "string_type",
               "exec_dir")
    # 400s with upstream's words
    r = apid.post("/v1/bash/exec", json={"command": "true", "env": {"1BAD": "x"}})
    assert_envelope(r, 400, False, "Invalid environment variable name: '1BAD'")
    r = apid.post("/v1/bash/exec", json={"command": "true", "exec_dir": "/no/such/dir"})
    assert_envelope(r, 400, False, "Working directory does not exist: /no/such/dir")
    # unknown ids: 404
    for path, body in (("/v1/bash/output", {"session_id": "nope"}),
                       ("/v1/bash/write", {"session_id": "nope", "input": "x"}),
                       ("/v1/bash/kill", {"session_id": "nope"}),
                       ("/v1/bash/sessions/nope/close", None)):
        assert_envelope(apid.post(path, json=body), 404, False, "Session nope not found")
    sid = ex(apid, command="true")["session_id"]
    r = apid.post("/v1/bash/output", json={"session_id": sid, "command_id": "nope"})
    assert_envelope(r, 404, False, f"Command nope not found in session {sid}")
    # nulls where the spec allows them are the defaults
    d = ex(apid, command="echo n", session_id=None, exec_dir=None, env=None, timeout=None,
           hard_timeout=None)
    assert d["stdout"] == "n\n"
    assert_422(apid.post("/v1/bash/exec", json={"command": "true", "async_mode": None}),
               "bool_type", "async_mode")


# --- output volume and encoding -----------------------------------------------------------------

def seq_text(n):
    return "".join(f"{i}\n" for i in range(1, n + 1))


def test_10mb_stdout_read_by_offsets(apid):
    n = 1_400_000
    want = seq_text(n)
    assert 9_500_000 < len(want) < 10 * MiB
    d = ex(apid, command=f"seq 1 {n}; echo done >&2", async_mode=True)
    got, off, eoff, parts = [], d["offset"], d["stderr_offset"], 0
    while True:
        o = out(apid, session_id=d["session_id"], command_id=d["command_id"], offset=off,
                stderr_offset=eoff, wait=True, wait_timeout=10)
        assert "stdout_skipped" not in o
        got.append(o["stdout"])
        off, parts = o["offset"], parts + 1
        if o["command"]["status"] != "running" and not o["stdout"]:
            break
    assert "".join(got) == want and off == len(want)
    assert o["stderr"] == "done\n" or eoff == 0
    # read again from 0 in one go: every byte, still held
    o = out(apid, session_id=d["session_id"])
    assert o["stdout"] == want and o["stderr"] == "done\n"
    # the sync answer is truncated in the middle by default (50000 characters)
    d = ex(apid, command=f"seq 1 {n}")
    assert len(d["stdout"]) == 50000 + 1 or len(d["stdout"]) == 50000
    assert d["stdout"].startswith("1\n2\n3\n") and d["stdout"].endswith(f"{n}\n")
    assert "characters omitted] ..." in d["stdout"]
    assert d["offset"] == len(want)  # a new session
    d = ex(apid, command="seq 1 100000", max_output_length=0)
    assert d["stdout"] == seq_text(100000)


def test_stream_cap_drops_the_head_and_says_so(apid):
    n = 3_500_000  # ~27 MB: over the 10 MiB cap, so the head is dropped
    want = seq_text(n)
    d = ex(apid, command=f"seq 1 {n}", max_output_length=10)
    assert d["status"] == "completed" and d["offset"] == len(want)
    o = out(apid, session_id=d["session_id"])
    skipped = o["stdout_skipped"]
    assert skipped > 0 and skipped + len(o["stdout"]) == len(want)
    assert 5 * MiB <= len(o["stdout"]) <= 10 * MiB
    assert want.endswith(o["stdout"]) and o["offset"] == len(want)
    # offsets past the dropped part are still exact
    o2 = out(apid, session_id=d["session_id"], offset=len(want) - 8)
    assert o2["stdout"] == want[-8:] and "stdout_skipped" not in o2


def test_non_utf8_output_is_valid_json(apid):
    d = ex(apid, command=r"printf 'a\377b\342\202c\nok\360\237\230\200\n'; printf '\000z' >&2")
    assert d["stdout"] == "a\ufffdb\ufffdc\nok\U0001F600\n"
    assert d["stderr"] == "\x00z"
    assert d["offset"] == 14
    d = ex(apid, command="head -c 100000 /dev/urandom", max_output_length=0)
    assert d["offset"] == 100000 and isinstance(d["stdout"], str)
    # a character cut by a read boundary is not split into two replacement characters
    d = ex(apid, command=r"printf '\342\202'; sleep 0.5; printf '\254\n'", async_mode=True)
    time.sleep(0.25)
    o = out(apid, session_id=d["session_id"])
    assert o["stdout"] == "" and o["offset"] == 0
    o = out(apid, session_id=d["session_id"], wait=True, wait_timeout=5)
    while o["command"]["status"] == "running":
        o = out(apid, session_id=d["session_id"], wait=True, wait_timeout=5)
    assert o["stdout"] == "\u20ac\n"


# --- load and clients -----------------------------------------------------------------------

def test_50_concurrent_commands_server_stays_responsive(apid):
    ids = []
    for i in range(50):
        d = ex(apid, command=f"echo start {i}; sleep 4; echo end {i}", async_mode=True)
        ids.append(d["session_id"])
    worst = 0
    for _ in range(10):
        t = time.monotonic()
        assert apid.get("/v1/sandbox").status_code == 200
        worst = max(worst, time.monotonic() - t)
    assert worst < 0.5, worst
    sessions = assert_envelope(apid.get("/v1/bash/sessions"), 200, True)["data"]
    assert len(sessions) == 50
    assert all(s["current_command"] and s["status"] == "ready" for s in sessions)
    results = {}

    def waiter(sid):
        o = out(apid, session_id=sid, wait=True, wait_timeout=20)
        while o["command"]["status"] == "running":
            o = out(apid, session_id=sid, wait=True, wait_timeout=20)
        results[sid] = out(apid, session_id=sid)

    threads = [threading.Thread(target=waiter, args=(s,)) for s in ids]
    for t in threads:
        t.start()
    t0 = time.monotonic()
    assert apid.get("/v1/sandbox").status_code == 200 and time.monotonic() - t0 < 0.5
    for t in threads:
        t.join(30)
    for i, sid in enumerate(ids):
        assert results[sid]["stdout"] == f"start {i}\nend {i}\n"
        assert results[sid]["command"]["exit_code"] == 0
    wait_no_children(apid)


def test_client_disconnecting_mid_wait(start):
    a = start("-v", "-v")
    with pytest.raises(requests.exceptions.ReadTimeout):
        a.post("/v1/bash/exec", json={"command": "echo $$; sleep 30", "session_id": "dc"},
               timeout=0.5)
    t = time.monotonic()
    while "the client left" not in a.stderr() and time.monotonic() - t < 3:
        time.sleep(0.05)
    assert "the client left" in a.stderr()
    # the command itself goes on, and is there to read and kill
    o = out(a, session_id="dc")
    assert o["command"]["status"] == "running"
    pid = int(o["stdout"])
    assert alive(pid)
    with pytest.raises(requests.exceptions.ReadTimeout):
        a.post("/v1/bash/output", json={"session_id": "dc", "offset": o["offset"],
                                        "wait": True, "wait_timeout": 60}, timeout=0.5)
    t = time.monotonic()
    while a.stderr().count("the client left") < 2 and time.monotonic() - t < 3:
        time.sleep(0.05)
    assert a.stderr().count("the client left") == 2
    assert_envelope(a.post("/v1/bash/sessions/dc/close"), 200, True)
    wait_dead(pid, 10)


def test_sessions_create_list_snapshot(apid, tmp_path):
    snap = tmp_path / "snap.sh"
    snap.write_text("export FROM_SNAPSHOT=yes\n")
    r = apid.post("/v1/bash/sessions/create",
                  json={"session_id": "mine", "exec_dir": str(tmp_path),
                        "snapshot_path": str(snap)})
    info = assert_envelope(r, 200, True)["data"]
    assert info["session_id"] == "mine" and info["status"] == "ready"
    assert info["working_dir"] == str(tmp_path) and info["command_count"] == 0
    assert info["current_command"] is None
    for k in ("created_at", "last_used_at"):
        time.strptime(info[k].split(".")[0], "%Y-%m-%dT%H:%M:%S")
    d = ex(apid, session_id="mine", command="pwd; echo $FROM_SNAPSHOT")
    assert d["stdout"] == f"{tmp_path}\nyes\n"
    # no body at all: a new session with a generated id
    r = requests.post(apid.url + "/v1/bash/sessions/create", timeout=10)
    other = assert_envelope(r, 200, True)["data"]["session_id"]
    assert len(other) == 36
    listed = {s["session_id"]: s for s in
              assert_envelope(apid.get("/v1/bash/sessions"), 200, True)["data"]}
    assert set(listed) == {"mine", other} and listed["mine"]["command_count"] == 1
    r = apid.post("/v1/bash/sessions/create", json={"snapshot_path": "/no/such"})
    assert_envelope(r, 400, False)
    assert_envelope(apid.post("/v1/bash/sessions/mine/close"), 200, True, "Session mine closed")
    assert [s["session_id"] for s in apid.get("/v1/bash/sessions").json()["data"]] == [other]
    # exec on a closed (forgotten) id starts afresh, as upstream does
    d = ex(apid, session_id="mine", command="pwd")
    assert d["stdout"] == os.environ["HOME"] + "\n"


def test_session_limit_evicts_least_recently_used(start):
    a = start(env={"MAX_BASH_SESSIONS": "3"})
    for s in ("a", "b", "c"):
        ex(a, session_id=s, command="true")
    ex(a, session_id="a", command="true")  # b is now the least recently used
    ex(a, session_id="d", command="true")
    ids = sorted(s["session_id"] for s in a.get("/v1/bash/sessions").json()["data"])
    assert ids == ["a", "c", "d"]


def test_shutdown_kills_running_commands(start):
    a = start()
    d = ex(a, command="trap '' TERM; echo $$; sleep 100 & echo $!; wait", async_mode=True)
    o = out(a, session_id=d["session_id"], wait=True, wait_timeout=5)
    while o["stdout"].count("\n") < 2:
        o = out(a, session_id=d["session_id"], wait=True, wait_timeout=5)
    pids = [int(p) for p in o["stdout"].split()]
    t = time.monotonic()
    assert a.stop() == 0, a.stderr()
    assert time.monotonic() - t < 5
    for p in pids:
        assert not alive(p)


# --- packages --------------------------------------------------------------------------------

def test_python_packages(apid):
    body = assert_envelope(apid.get("/v1/sandbox/packages/python"), 200, True,
                           "Packages information retrieved")
    lines = body["data"].split("\n")
    assert all(l.startswith("  - ") and "==" in l for l in lines)
    names = [l[4:].split("==")[0] for l in lines]
    norm = [n.lower().replace("_", "-").replace(".", "-") for n in names]
    assert norm == sorted(norm) and len(set(norm)) == len(norm)
    pip = subprocess.run(["/usr/bin/python3", "-m", "pip", "list", "--format=json"],
                         capture_output=True, text=True,
                         env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    if pip.returncode != 0:
        pytest.skip("no pip to compare with")
    ours = {l[4:].split("==")[0].lower(): l.split("==")[1] for l in lines}
    for p in json.loads(pip.stdout):
        key = p["name"].lower()
        alt = {key, key.replace("-", "_"), key.replace("_", "-")}
        hit = [k for k in ours if k in alt]
        assert hit and ours[hit[0]] == p["version"], p


def test_nodejs_packages(apid):
    body = assert_envelope(apid.get("/v1/sandbox/packages/nodejs"), 200, True,
                           "Packages information retrieved")
    text = body["data"]
    assert text.startswith("Node.js Packages:\n") and text.endswith("\n")
    root = Path("/usr/lib/node_modules")
    if not root.is_dir():
        return
    for pkg in root.iterdir():
        meta = pkg / "package.json"
        if not pkg.name.startswith((".", "@")) and meta.exists():
            info = json.loads(meta.read_text())
            assert f"  - {info['name']}@{info['version']}\n" in text


# --- in a real jail ----------------------------------------------------------------------------

def test_commands_run_as_gem_in_the_jail(aio):
    """aio-run up (rootfs host): /v1/bash commands run as gem in /home/gem, inside the jail's
    namespaces, and nothing is left when it stops."""
    from test_up import start_up, stop
    need_apid()
    proc, url = start_up(aio, "--port", "0", "--name", "bashgem")
    try:
        r = requests.post(url + "/v1/bash/exec", timeout=30, json={
            "command": "id -un; id -u; pwd; echo $HOME; readlink /proc/self/ns/pid; "
                       "echo oops >&2; exit 7"})
        d = assert_envelope(r, 200, True)["data"]
        user, uid, cwd, home, pidns = d["stdout"].split()
        assert (user, uid, cwd, home) == ("gem", "1000", "/home/gem", "/home/gem")
        assert pidns != os.readlink("/proc/self/ns/pid")
        assert d["stderr"] == "oops\n" and d["exit_code"] == 7
        d = assert_envelope(requests.post(url + "/v1/bash/exec", timeout=30, json={
            "command": "sleep 60", "async_mode": True}), 200, True)["data"]
        r = requests.post(url + "/v1/bash/kill", timeout=30,
                          json={"session_id": d["session_id"], "signal": "SIGKILL"})
        assert_envelope(r, 200, True)
        r = requests.post(url + "/v1/bash/output", timeout=30, json={
            "session_id": d["session_id"], "wait": True, "wait_timeout": 10})
        assert assert_envelope(r, 200, True)["data"]["command"]["status"] == "killed"
        assert requests.get(url + "/v1/sandbox/packages/python", timeout=30).json()["success"]
    finally:
        assert stop(proc) == 0
