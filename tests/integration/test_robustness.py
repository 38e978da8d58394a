"""aio-run up under attack from its own agent: a memory bomb or a fork bomb run through the API
is stopped by the sandbox's limits in the work cgroup leaf, the API (in its own leaf) answers
at once, and the result says which limit stopped the command."""
import subprocess
import time

import pytest
import requests

from conftest import AIO_RUN, BUILD

MEMORY_BOMB = "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while :; do x=$x$x; done"
# dash does not retry a refused fork as bash does: the bomb ends on its own
FORK_BOMB = "exec dash -c 'for i in $(seq 200); do sleep 3 & done 2>/dev/null; echo end'"


@pytest.fixture
def sandbox(aio):
    if not (BUILD / "bin" / "aio-apid").exists():
        pytest.skip("aio-apid is not built")
    r = subprocess.run([str(AIO_RUN), "up", "--state-dir", str(aio.state), "--name", "bombed",
                        "--port", "0", "--memory", "64m", "--pids", "64", "--detach"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    yield r.stdout.strip()
    subprocess.run([str(AIO_RUN), "stop", "bombed", "--state-dir", str(aio.state)],
                   capture_output=True, timeout=30)


def bash(url, command, timeout=60):
    r = requests.post(url + "/v1/bash/exec", json={"command": command}, timeout=timeout)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def answers_fast(url):
    t0 = time.monotonic()
    r = requests.get(url + "/v1/sandbox", timeout=5)
    return r.status_code == 200 and time.monotonic() - t0 < 1.0


def test_commands_run_in_the_work_leaf(sandbox):
    d = bash(sandbox, "grep -E ':(memory|pids):' /proc/self/cgroup; id -u")
    lines = d["stdout"].split()
    assert "1000" in lines
    assert all(line.endswith("/work") for line in lines if ":" in line), d["stdout"]
    assert "killed_by" not in d


def test_memory_bomb(sandbox):
    d = bash(sandbox, MEMORY_BOMB)
    assert d["exit_code"] == -9 and d["killed_by"] == "memory_limit", d
    assert answers_fast(sandbox)
    # and the sandbox goes on working
    assert bash(sandbox, "echo alive")["stdout"] == "alive\n"


def test_fork_bomb(sandbox):
    d = bash(sandbox, FORK_BOMB)
    assert d["killed_by"] == "pids_limit", d
    assert answers_fast(sandbox)
    time.sleep(3.5)  # the bomb's sleeps end: pids free again
    assert bash(sandbox, "echo alive")["stdout"] == "alive\n"


def shell(url, command, timeout=60):
    r = requests.post(url + "/v1/shell/exec", json={"command": command}, timeout=timeout)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_shell_memory_bomb(sandbox):
    """In a shell session: a child that eats memory dies alone (137); a bomb at the session's
    top level takes the session's bash with it. Both are named; the API answers at once."""
    d = shell(sandbox, "python3 -c 'a = []\nwhile 1: a.append(bytearray(10**7))'")
    assert d["exit_code"] == 137 and d["killed_by"] == "memory_limit", d
    assert answers_fast(sandbox)
    d = shell(sandbox, MEMORY_BOMB)
    assert d["status"] == "terminated" and d["killed_by"] == "memory_limit", d
    assert answers_fast(sandbox)
    assert shell(sandbox, "echo alive")["output"] == "alive"


def test_shell_fork_bomb(sandbox):
    d = shell(sandbox, FORK_BOMB)
    assert d["killed_by"] == "pids_limit", d
    assert answers_fast(sandbox)
