"""aio-run started by an unprivileged user: a single-id user namespace, no cgroups, same jail."""
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import AIO_RUN, need_root


@pytest.fixture
def nobody_state():
    need_root()
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop to an unprivileged user")
    d = tempfile.mkdtemp(prefix="aio-rootless-", dir="/var/tmp")
    os.chown(d, 65534, 65534)
    os.chmod(d, 0o711)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def as_nobody(state, *args):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                           str(AIO_RUN), "run", "--state-dir", state, *args],
                          capture_output=True, text=True, timeout=60)


def test_rootless_single_id_map(nobody_state, rootfs_dir):
    p = as_nobody(nobody_state, "--", "/bin/sh", "-c",
                  "id -u; cat /proc/self/uid_map; grep -E 'NoNewPrivs|Seccomp:' /proc/self/status; "
                  "echo x > /tmp/f && echo tmp-ok; touch /usr/x 2>/dev/null || echo usr-ro")
    assert p.returncode == 0, p.stderr
    out = p.stdout.split("\n")
    assert out[0] == "0"
    assert out[1].split() == ["0", "65534", "1"]
    assert "NoNewPrivs:\t1" in p.stdout and "Seccomp:\t2" in p.stdout
    assert "tmp-ok" in p.stdout and "usr-ro" in p.stdout
    p = as_nobody(nobody_state, "--rootfs", str(rootfs_dir), "--", "/bin/sh", "-c",
                  "echo hi > /new && cat /new")
    assert p.returncode == 0 and p.stdout == "hi\n", p.stderr
    assert not (rootfs_dir / "new").exists()
    assert os.listdir(os.path.join(nobody_state, "sandboxes")) == []


def test_rootless_refuses_unmapped_user(nobody_state):
    p = as_nobody(nobody_state, "--user", "gem", "--", "/bin/true")
    assert p.returncode == 125
    assert "subordinate range" in p.stderr
