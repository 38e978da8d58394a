"""Shared fixtures for the integration and security tests: the build, a fixture rootfs and a
state directory per test that jails can traverse."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("AIO_BUILD", REPO / "build"))
AIO_RUN = BUILD / "bin" / "aio-run"


def need_root():
    if os.geteuid() != 0:
        pytest.skip("needs root: the jail maps a 65536-id range and creates cgroups")
    if not AIO_RUN.exists():
        pytest.skip(f"{AIO_RUN} is not built (run make)")


@pytest.fixture(scope="session")
def rootfs_dir():
    """A busybox root filesystem shared by the tests (never written: sandboxes overlay it)."""
    out = BUILD / "fixtures" / "rootfs"
    subprocess.run([str(REPO / "tests/fixtures/mkrootfs.sh"), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return out


@pytest.fixture
def state_dir():
    """A fresh --state-dir under /var/tmp: pytest's tmp_path is mode 0700 and jail root,
    an unprivileged host uid, must traverse the state dir to reach its sandbox."""
    d = tempfile.mkdtemp(prefix="aio-test-", dir="/var/tmp")
    os.chmod(d, 0o711)
    yield Path(d)
    subprocess.run([str(AIO_RUN), "gc", "--state-dir", d], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    shutil.rmtree(d, ignore_errors=True)


class Runner:
    def __init__(self, state):
        self.state = state

    def argv(self, *args):
        return [str(AIO_RUN), "run", "--state-dir", str(self.state), *args]

    def __call__(self, *args, timeout=60, check=None, **kw):
        p = subprocess.run(self.argv(*args), capture_output=True, text=True,
                           timeout=timeout, **kw)
        if check is not None:
            assert p.returncode == check, (p.returncode, p.stdout, p.stderr)
        return p

    def sh(self, script, *opts, **kw):
        return self(*opts, "--", "/bin/sh", "-c", script, **kw)

    def popen(self, *args, **kw):
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture
def aio(state_dir):
    need_root()
    return Runner(state_dir)
