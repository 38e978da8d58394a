"""--workspace DIR: a host directory at /home/gem/workspace, idmapped so that its owner on the
host and user gem in the jail are the same person, both ways."""
import os
import stat

import pytest

WS = "/home/gem/workspace"


@pytest.fixture
def ws(tmp_path):
    d = tmp_path / "ws"
    d.mkdir()
    os.chmod(tmp_path, 0o711)
    return d


def run_gem(aio, ws, script, **kw):
    return aio.sh(script, "--rootfs", "host", "--user", "gem", "--workspace", str(ws), **kw)


@pytest.mark.parametrize("owner", [0, 4321])
def test_owner_is_gem_both_ways(aio, ws, owner):
    (ws / "host.txt").write_text("from host\n")
    (ws / "sub").mkdir()
    for p in (ws, ws / "host.txt", ws / "sub"):
        os.chown(p, owner, owner)
    r = run_gem(aio, ws, f"""
        set -e
        stat -c '%u:%g %n' {WS} {WS}/host.txt {WS}/sub
        cat {WS}/host.txt
        echo appended >> {WS}/host.txt
        echo from jail > {WS}/sub/jail.txt
        mkdir {WS}/newdir
        ln -s host.txt {WS}/link
    """, check=0)
    lines = r.stdout.splitlines()
    assert lines[:3] == [f"1000:1000 {WS}", f"1000:1000 {WS}/host.txt", f"1000:1000 {WS}/sub"]
    assert lines[3] == "from host"
    assert (ws / "host.txt").read_text() == "from host\nappended\n"
    assert (ws / "sub" / "jail.txt").read_text() == "from jail\n"
    for p in (ws / "sub" / "jail.txt", ws / "newdir"):
        st = p.stat()
        assert (st.st_uid, st.st_gid) == (owner, owner), p
    assert os.lstat(ws / "link").st_uid == owner


def test_foreign_files_read_only_and_no_setuid(aio, ws):
    other = ws / "other.txt"
    other.write_text("someone else's\n")
    os.chown(other, 777, 777)
    os.chmod(other, 0o644)
    suid = ws / "suid-sh"
    suid.write_bytes(open("/bin/dash", "rb").read())
    os.chmod(suid, 0o4755)
    r = run_gem(aio, ws, f"""
        stat -c '%u' {WS}/other.txt
        cat {WS}/other.txt
        echo x >> {WS}/other.txt && echo WROTE
        {WS}/suid-sh -c 'id -u'
        grep -w {WS} /proc/self/mountinfo
    """)
    out = r.stdout.splitlines()
    assert out[0] == "65534"  # not mapped: nobody
    assert out[1] == "someone else's"
    assert "WROTE" not in r.stdout and "Permission denied" in r.stderr
    assert out[2] == "1000"  # setuid bit of the (mapped) owner ignored: nosuid
    assert "nosuid" in out[3] and "nodev" in out[3] and "idmapped" in out[3]
    assert other.read_text() == "someone else's\n"


def test_jail_root_sees_owner_as_gem(aio, ws):
    (ws / "f").write_text("x")
    r = aio.sh(f"stat -c '%u' {WS}/f; touch {WS}/byroot", "--rootfs", "host", "--workspace",
               str(ws))
    assert r.stdout.strip() == "1000"
    # jail root has no id in the workspace's map: it cannot create files there
    assert r.returncode != 0 and "Value too large" in r.stderr
    assert not (ws / "byroot").exists()


@pytest.mark.parametrize("bad,msg", [
    ("/nonexistent/ws", "--workspace /nonexistent/ws"),
    ("/etc/hostname", "not a directory"),
])
def test_bad_workspace_refused(aio, state_dir, bad, msg):
    r = aio.sh("true", "--rootfs", "host", "--workspace", bad)
    assert r.returncode == 125 and msg in r.stderr, r.stderr
    sandboxes = state_dir / "sandboxes"
    assert not sandboxes.exists() or list(sandboxes.iterdir()) == []
