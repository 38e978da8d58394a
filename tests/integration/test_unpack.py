"""aio-unpack, and aio-run without libarchive: a tarball rootfs is looked up in the store by
aio-run itself and unpacked by the aio-unpack helper only when it is not there yet."""
import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from conftest import AIO_RUN, BUILD

AIO_UNPACK = BUILD / "bin" / "aio-unpack"
UNPACKING = "unpacking with aio-unpack"
FOUND = "found in the store"


def need_build():
    for b in (AIO_RUN, AIO_UNPACK):
        if not b.exists():
            pytest.skip(f"{b} is not built (run make)")


def unpack(state_dir, *args, **kw):
    return subprocess.run([str(AIO_UNPACK), "--state-dir", str(state_dir), *map(str, args)],
                          capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def tarball(rootfs_dir):
    tar = Path("/var/tmp") / f"aio-unpack-{os.getpid()}.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(rootfs_dir, arcname=".")
    yield tar
    tar.unlink()


def hostile_tarball(member):
    tar = Path("/var/tmp") / f"aio-unpack-hostile-{os.getpid()}.tar"
    with tarfile.open(tar, "w") as t:
        t.addfile(tarfile.TarInfo("ok"))
        t.addfile(tarfile.TarInfo(member))
    return tar


def libraries(binary):
    p = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True)
    return p.stdout


def test_aio_run_does_not_load_libarchive():
    need_build()
    assert "libarchive" not in libraries(AIO_RUN)
    assert "libxml2" not in libraries(AIO_RUN)
    # the check itself works: the helper does load it
    assert "libarchive" in libraries(AIO_UNPACK)


def test_unpack_prints_the_store_dir_once(state_dir, tarball):
    need_build()
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    want = f"{state_dir}/images/{digest}/rootfs"
    first = unpack(state_dir, tarball)
    assert first.returncode == 0, first.stderr
    assert first.stdout == want + "\n"
    assert (Path(want) / "bin" / "busybox").exists()
    assert first.stderr == ""  # progress only on a terminal
    stamp = Path(want).stat().st_mtime_ns
    second = unpack(state_dir, tarball)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert Path(want).stat().st_mtime_ns == stamp
    assert {p.name for p in (state_dir / "images").iterdir()} == {digest, "by-file"}


def test_unpack_progress_on_a_terminal(state_dir, tarball):
    need_build()
    cmd = f"{AIO_UNPACK} --state-dir {state_dir} {tarball}"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stdout
    assert f"\runpacking {tarball.name}: ".encode() in p.stdout  # one line, rewritten
    assert b"/rootfs\r\n" in p.stdout


@pytest.mark.parametrize("member", ["../escape", "/abs", "a/../../x"])
def test_unpack_refuses_hostile_entries(state_dir, member):
    need_build()
    tar = hostile_tarball(member)
    try:
        p = unpack(state_dir, tar)
        assert p.returncode == 125
        assert p.stdout == ""
        assert f"entry '{member}'" in p.stderr, p.stderr
        images = state_dir / "images"
        assert [x for x in images.iterdir() if x.name != "by-file"] == []
    finally:
        tar.unlink()


def test_unpack_usage_errors(state_dir, tmp_path):
    need_build()
    for args in ([], ["a.tar", "b.tar"], ["--bogus", "a.tar"]):
        p = unpack(state_dir, *args)
        assert p.returncode == 125, args
        assert p.stdout == ""
        assert p.stderr.strip(), args
    p = unpack(state_dir, tmp_path / "missing.tar")
    assert p.returncode == 125 and "missing.tar: No such file" in p.stderr
    p = subprocess.run([str(AIO_UNPACK), "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "Usage: aio-unpack" in p.stdout


def test_run_unpacks_with_the_helper_once(aio, state_dir, tarball):
    need_build()
    first = aio("-v", "--rootfs", str(tarball), "--", "/bin/sh", "-c", "echo hi from $(ls /bin/busybox)")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "hi from /bin/busybox\n"
    assert UNPACKING in first.stderr and FOUND not in first.stderr
    second = aio("-v", "--rootfs", str(tarball), "--", "/bin/true")
    assert second.returncode == 0, second.stderr
    assert FOUND in second.stderr and UNPACKING not in second.stderr
    # same store entry
    assert len([x for x in (state_dir / "images").iterdir() if x.name != "by-file"]) == 1


def test_run_finds_what_aio_unpack_stored(aio, state_dir, tarball):
    need_build()
    pre = unpack(state_dir, tarball)
    assert pre.returncode == 0, pre.stderr
    p = aio("-v", "--rootfs", str(tarball), "--", "/bin/true")
    assert p.returncode == 0, p.stderr
    assert f"{FOUND}: {pre.stdout.strip()}" in p.stderr and UNPACKING not in p.stderr


def test_run_changed_tarball_is_unpacked_again(aio, state_dir, tarball, rootfs_dir):
    need_build()
    aio("--rootfs", str(tarball), "--", "/bin/true", check=0)
    with tarfile.open(tarball, "w:gz") as t:  # rewritten in place: a new mtime, other bytes
        t.add(rootfs_dir, arcname=".")
        info = tarfile.TarInfo("etc/marker")
        t.addfile(info)
    p = aio("-v", "--rootfs", str(tarball), "--", "/bin/sh", "-c", "test -e /etc/marker")
    assert p.returncode == 0, p.stderr
    assert UNPACKING in p.stderr


def test_run_hostile_tarball_names_the_entry(aio, state_dir):
    need_build()
    tar = hostile_tarball("../escape")
    try:
        p = aio("--rootfs", str(tar), "--", "/bin/true")
        assert p.returncode == 125
        # the helper's message names the entry; aio-run's says the unpack failed
        assert "aio-unpack: " in p.stderr and "entry '../escape'" in p.stderr, p.stderr
        assert "aio-run: rootfs: " in p.stderr and "could not be unpacked" in p.stderr
    finally:
        tar.unlink()
