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


SUBUSER = "aio-rootless-test"
SUBRANGE = (200000000, 65536)  # far above the ranges root's sandboxes use


@pytest.fixture
def subid_user():
    """A throwaway system user with a subordinate uid/gid range, removed afterwards."""
    need_root()
    for tool in ("useradd", "userdel", "setpriv", "/usr/bin/newuidmap"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is needed (uidmap, passwd, util-linux)")
    subprocess.run(["userdel", SUBUSER], capture_output=True)
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                    SUBUSER], check=True)
    uid = int(subprocess.run(["id", "-u", SUBUSER], capture_output=True, text=True).stdout)
    gid = int(subprocess.run(["id", "-g", SUBUSER], capture_output=True, text=True).stdout)
    line = f"{SUBUSER}:{SUBRANGE[0]}:{SUBRANGE[1]}\n"
    saved = {f: open(f).read() if os.path.exists(f) else "" for f in ("/etc/subuid", "/etc/subgid")}
    for f, text in saved.items():
        with open(f, "a") as fh:
            fh.write(line)
    d = tempfile.mkdtemp(prefix="aio-subid-", dir="/var/tmp")
    os.chown(d, uid, gid)
    try:
        yield uid, gid, d
    finally:
        for f, text in saved.items():
            with open(f, "w") as fh:
                fh.write(text)
        subprocess.run(["userdel", SUBUSER], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def test_rootless_with_subordinate_range(subid_user):
    uid, gid, state = subid_user
    p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                        str(AIO_RUN), "run", "--state-dir", state, "--user", "gem", "--",
                        "/bin/sh", "-c", "id -u; cat /proc/self/uid_map; touch /tmp/x && stat -c %u /tmp/x"],
                       capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "HOME": state})
    assert p.returncode == 0, p.stderr
    out = p.stdout.split("\n")
    assert out[0] == "1000"  # gem exists: ids above 0 come from the subordinate range
    rows = [r.split() for r in out[1:3]]
    assert rows[0] == ["0", str(uid), "1"]
    assert rows[1] == ["1", str(SUBRANGE[0]), str(SUBRANGE[1] - 1)]
    assert out[3] == "1000"
