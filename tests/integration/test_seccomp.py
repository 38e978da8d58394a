"""Seccomp profiles as aio-run loads them: shipped names, a user's JSON (compiled once), Docker's
profile enforced as Docker enforces it, --seccomp-log, and real programs still working."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

DOCKER = REPO.parent / "shared" / "reference" / "docker-default-seccomp.json"

# Runs syscalls through ctypes and prints "name errno" for each (0 = allowed).
PROBE = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
calls = {
    "getppid": (110,), "socket_inet": (41, 2, 1, 0), "socket_alg": (41, 38, 5, 0),
    "socket_unix": (41, 1, 1, 0), "unshare_user": (272, 0x10000000), "keyctl": (250, 0, 0),
    "mount": (165, 0, 0, 0, 0, 0), "clone3": (435, 0, 0), "bpf": (321, 0, 0, 0),
    "io_uring_setup": (425, 1, 0), "ptrace_traceme_peek": (101, 2, 1, 0, 0),
    "personality_query": (135, 0xffffffff), "syscall_1000": (1000,),
}
for name in sys.argv[1:]:
    ctypes.set_errno(0)
    r = libc.syscall(*[ctypes.c_long(a) for a in calls[name]])
    print(name, ctypes.get_errno() if r == -1 else 0)
"""

ALL = ["getppid", "socket_inet", "socket_alg", "socket_unix", "unshare_user", "keyctl", "mount",
       "clone3", "bpf", "io_uring_setup", "personality_query", "syscall_1000"]


def errnos(aio, *opts):
    p = aio(*opts, "--", "/usr/bin/python3", "-c", PROBE, *ALL, check=0)
    return dict((k, int(v)) for k, v in (l.split() for l in p.stdout.splitlines()))


def test_default_profile_table(aio):
    e = errnos(aio)
    assert e["getppid"] == 0 and e["socket_inet"] == 0 and e["socket_unix"] == 0
    assert e["personality_query"] == 0
    for denied in ("socket_alg", "unshare_user", "keyctl", "mount", "bpf", "io_uring_setup"):
        assert e[denied] == 1, denied  # EPERM
    assert e["clone3"] == 38 and e["syscall_1000"] == 38  # ENOSYS: libc falls back


def test_strict_profile_only_unix_sockets(aio):
    e = errnos(aio, "--seccomp", "strict")
    assert e["socket_unix"] == 0 and e["getppid"] == 0
    assert e["socket_inet"] == 1


def test_unconfined_is_explicit(aio):
    p = aio("--seccomp", "unconfined", "--", "/bin/grep", "Seccomp:", "/proc/self/status", check=0)
    assert p.stdout.split() == ["Seccomp:", "0"]


@pytest.mark.skipif(not DOCKER.exists(), reason="shared/reference is not beside the repo")
def test_docker_profile_enforced_as_docker(aio, state_dir):
    e = errnos(aio, "--seccomp", str(DOCKER))
    # Docker allows these for a container with its default capabilities...
    assert e["getppid"] == 0 and e["socket_inet"] == 0 and e["personality_query"] == 0
    # ...and refuses these (no CAP_SYS_ADMIN; AF_ALG blocked by its socket rule)
    for denied in ("unshare_user", "keyctl", "mount", "bpf", "socket_alg"):
        assert e[denied] == 1, denied
    # compiled once, then taken from the cache keyed by content
    cache = list((state_dir / "seccomp").glob("*.bpf"))
    assert len(cache) == 1
    mtime = cache[0].stat().st_mtime_ns
    errnos(aio, "--seccomp", str(DOCKER))
    assert cache[0].stat().st_mtime_ns == mtime


def test_bad_json_profile_names_the_field(aio, state_dir):
    bad = Path("/var/tmp") / f"aio-bad-{os.getpid()}.json"
    bad.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO",
                               "syscalls": [{"names": ["getpid", "nosuchcall"], "action": "SCMP_ACT_ALLOW"}]}))
    try:
        p = aio("--seccomp", str(bad), "--", "/bin/true")
        assert p.returncode == 125
        assert "syscalls[0].names[1]" in p.stderr and "nosuchcall" in p.stderr
        assert list((state_dir / "seccomp").glob("*")) == []  # no half-written cache entry
    finally:
        bad.unlink()


def test_seccomp_log_names_refused_calls(aio):
    p = aio("--seccomp-log", "--", "/usr/bin/python3", "-c", PROBE, "keyctl", "getppid", "mount",
            check=0)
    assert "keyctl 1" in p.stdout and "getppid 0" in p.stdout and "mount 1" in p.stdout
    assert "seccomp: denied keyctl(" in p.stderr and ": EPERM" in p.stderr
    assert "seccomp: denied mount(" in p.stderr
    assert "getppid" not in p.stderr


REAL_PROGRAMS = [
    ("bash", ["/bin/bash", "-c", "for i in 1 2 3; do echo $i; done | sort -r | head -1"], "3"),
    ("python3", ["/usr/bin/python3", "-c", "import json,threading,subprocess;"
                 "print(subprocess.run(['echo','ok'],capture_output=True,text=True).stdout.strip())"], "ok"),
    ("git", ["/bin/sh", "-c", "cd /tmp && git init -q r && cd r && git -c user.email=a@b -c user.name=a "
             "commit -q --allow-empty -m m && git log --oneline | wc -l"], "1"),
    ("gcc", ["/bin/sh", "-c", "cd /tmp && printf 'int main(){return 42;}' > a.c && gcc a.c -o a && "
             "(./a; echo $?)"], "42"),
    ("make", ["/bin/sh", "-c", "cd /tmp && printf 'all:\\n\\t@echo built\\n' > Makefile && make"], "built"),
]


@pytest.mark.parametrize("profile", ["default", "browser"])
@pytest.mark.parametrize("name,argv,want", REAL_PROGRAMS, ids=[r[0] for r in REAL_PROGRAMS])
def test_real_programs_work(aio, profile, name, argv, want):
    if not shutil.which(argv[0]) or (name in ("git", "gcc", "make") and not shutil.which(name)):
        pytest.skip(f"{name} is not installed on the host")
    p = aio("--seccomp", profile, "--", *argv, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith(want)


@pytest.mark.parametrize("profile", ["default", "browser"])
def test_node_works(aio, profile):
    if not shutil.which("node"):
        pytest.skip("node is not installed on the host")
    node = os.path.realpath(shutil.which("node"))
    if not node.startswith("/usr/"):
        pytest.skip(f"node at {node} is outside /usr, so not in a host-rootfs jail")
    p = aio("--seccomp", profile, "--", node, "-e",
            "require('child_process').execSync('true'); console.log(require('os').cpus().length > 0)",
            timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "true"


def test_chromium_screenshot_under_browser(aio):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("chromium is not installed (make deps installs it)")
    out = Path("/var/tmp") / f"aio-shot-{os.getpid()}"
    out.mkdir()
    out.chmod(0o777)  # written by jail root, an unprivileged host uid
    (out / "page.html").write_text("<html><body style='background:#00aa00'><h1>aio</h1></body></html>")
    try:
        p = aio("--seccomp", "browser", "--bind", f"{out}:/work", "--", chromium, "--headless",
                "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--user-data-dir=/tmp/profile",
                "--window-size=320,240", "--screenshot=/work/shot.png", "file:///work/page.html",
                timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
        png = (out / "shot.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(png[16:20], "big") == 320  # IHDR width
    finally:
        shutil.rmtree(out)
