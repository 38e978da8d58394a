"""Fixtures for the escape battery: the probes (build/probes/NAME, static, bound read-only at
/probes inside the jail), a runner that starts them inside real `aio-run` jails, and the host-side
counterparts some probes need (a host process, an abstract socket, a setuid copy, ns inodes).

The build directory comes from $AIO_BUILD (absolute; default <repo>/build).  Every test skips,
with the reason, when not run as root or when build/bin/aio-run is missing.

This file shadows tests/conftest.py's module name on sys.path, so it keeps the names other test
modules import from there (REPO, BUILD, AIO_RUN, need_root) with the same meaning.
"""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("AIO_BUILD", REPO / "build"))
AIO_RUN = BUILD / "bin" / "aio-run"
PROBES = BUILD / "probes"
PROBE_SRC = REPO / "tests" / "security" / "probes"
LINE = re.compile(r"^(BLOCKED|ESCAPED|UNEXPECTED|OPEN|ERROR) (.+?): (.*)$")
SYSCTLS = ["dev.tty.legacy_tiocsti", "dev.tty.ldisc_autoload", "vm.unprivileged_userfaultfd",
           "kernel.unprivileged_bpf_disabled", "kernel.perf_event_paranoid",
           "kernel.io_uring_disabled", "user.max_user_namespaces"]


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: the jail maps a 65536-id range and creates cgroups")
    if not AIO_RUN.exists():
        pytest.skip(f"{AIO_RUN} is not built (run make)")


def probe_names():
    return sorted(p.stem for p in PROBE_SRC.glob("*.c"))


def sysctl(name):
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return "absent"


def pytest_report_header(config):
    return "escape battery kernel: " + os.uname().release + "; " + \
        ", ".join(f"{s}={sysctl(s)}" for s in SYSCTLS)


class Result:
    """A finished probe run: exit status, parsed lines, and a printable record."""

    def __init__(self, argv, proc):
        self.argv, self.rc = argv, proc.returncode
        self.stdout, self.stderr = proc.stdout, proc.stderr
        self.lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
        self.parsed = [LINE.match(ln) for ln in self.lines]

    def tags(self):
        return [m.group(1) if m else "?" for m in self.parsed]

    def count(self, tag):
        return self.tags().count(tag)

    def __str__(self):
        return (f"$ {' '.join(map(str, self.argv))}\nexit {self.rc}\n{self.stdout}"
                + (f"stderr:\n{self.stderr}" if self.stderr else ""))


class Battery:
    """Runs probes inside aio-run (jail) or directly on the host."""

    def __init__(self, state):
        self.state = state

    def jail_argv(self, name, args=(), opts=(), rootfs="host"):
        return [str(AIO_RUN), "run", "--state-dir", str(self.state), "--rootfs", str(rootfs),
                "--bind", f"{PROBES}:/probes:ro", *opts, "--", f"/probes/{name}", *args]

    def run(self, argv, timeout=30, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
        return Result(argv, proc)

    def jail(self, name, args=(), opts=(), rootfs="host", **kw):
        return self.run(self.jail_argv(name, args, opts, rootfs), **kw)

    def host(self, name, args=(), wrap=(), **kw):
        return self.run([*wrap, str(PROBES / name), "--expect-open=host", *args], **kw)


@pytest.fixture(scope="session")
def battery():
    need_root()
    missing = [n for n in probe_names() if not (PROBES / n).exists()]
    if missing:
        pytest.fail(f"probes not built: make {' '.join(f'{BUILD}/probes/{n}' for n in missing)}")
    state = tempfile.mkdtemp(prefix="aio-sec-", dir="/var/tmp")
    os.chmod(state, 0o711)
    yield Battery(state)
    subprocess.run([str(AIO_RUN), "gc", "--state-dir", state], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def host_process():
    """A process in the host's pid namespace, for the pid-namespace and ptrace probes."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture(scope="session")
def abstract_socket():
    """A listener on @aio-test-<random> in the host network namespace."""
    name = f"aio-test-{uuid.uuid4().hex[:12]}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(b"\0" + name.encode())
    sock.listen(16)
    yield name
    sock.close()


@pytest.fixture(scope="session")
def suid_dir():
    """A world-readable directory with a setuid-root copy of the nnp probe."""
    need_root()
    d = tempfile.mkdtemp(prefix="aio-suid-", dir="/var/tmp")
    os.chmod(d, 0o755)
    shutil.copy(PROBES / "nnp", Path(d) / "nnp-suid")
    os.chown(Path(d) / "nnp-suid", 0, 0)
    os.chmod(Path(d) / "nnp-suid", 0o4755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def host_ns():
    """The host's namespace inodes, as the namespaces probe's --host-ns value."""
    names = ["user", "pid", "mnt", "net", "uts", "ipc", "cgroup"]
    return ",".join(f"{n}:{os.stat(f'/proc/self/ns/{n}').st_ino}" for n in names)
