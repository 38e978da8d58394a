"""Resource limits, terminals, failure paths and what is left behind (nothing)."""
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from conftest import AIO_RUN

CTRLS = ("memory", "pids", "cpu", "freezer", "unified")


def leftovers(state_dir, name):
    """What a sandbox called name left: its state dir entries and its cgroups. Other sandboxes
    on this machine (a benchmark, another test run) have other names and do not count."""
    found = []
    sb = state_dir / "sandboxes"
    if sb.exists():
        found += [str(p) for p in sb.iterdir()]
    for c in CTRLS:
        p = Path(f"/sys/fs/cgroup/{c}/aio/{name}")
        if p.exists():
            found.append(str(p))
    return found


def unique(tag):
    return f"{tag}-{os.getpid()}-{time.monotonic_ns() % 10**9}"


FORK_BOMB = """
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(10)
            os._exit(0)
        n += 1
except OSError as e:
    print(n, e.errno)
"""


def test_pids_limit_stops_fork_bomb(aio):
    p = aio("--pids", "20", "--", "/usr/bin/python3", "-c", FORK_BOMB, timeout=60)
    forked, errno = p.stdout.split()
    assert int(errno) == 11  # EAGAIN
    assert 15 <= int(forked) <= 19  # init and python count too
    assert "pids limit (--pids 20)" in p.stderr
    # the host is untouched: the next sandbox starts fine
    aio("--", "/bin/true", check=0)


def test_memory_limit_oom_reported(aio):
    # python would be simplest, but the host rootfs may not have it: grow a shell string
    p = aio.sh("x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; "
               "while :; do x=$x$x; done", "--memory", "32m", timeout=120)
    assert p.returncode == 137, (p.returncode, p.stderr)
    assert "memory limit" in p.stderr and "32MiB" in p.stderr
    # the host is fine and the next sandbox starts
    aio("--", "/bin/true", check=0)


def test_cpu_quota_applied(aio):
    name = f"cpu{os.getpid()}"
    proc = aio.popen("--name", name, "--cpus", "0.5", "--", "/bin/sleep", "2")
    time.sleep(0.7)
    q = Path(f"/sys/fs/cgroup/cpu/aio/{name}/cpu.cfs_quota_us")
    if not q.exists():
        q = Path(f"/sys/fs/cgroup/cpu,cpuacct/aio/{name}/cpu.cfs_quota_us")
    assert q.read_text().strip() == "50000"
    proc.wait(timeout=10)


def test_tty_gives_a_terminal(aio):
    cmd = " ".join(aio.argv("-t", "--", "/bin/sh", "-c", "tty; stty size"))
    p = subprocess.run(["script", "-qec", f"stty rows 33 cols 111; {cmd}", "/dev/null"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "/dev/pts/0" in p.stdout
    assert "33 111" in p.stdout


def test_nothing_left_after_failures(aio, state_dir):
    for args in (["--rootfs", "/nonexistent"], ["--bind", "/nonexistent:/x"],
                 ["--workdir", "/nonexistent"], ["--rlimit", "nofile=99999999"]):
        name = unique("fail")
        p = aio("--name", name, "--memory", "64m", *args, "--", "/bin/true")
        assert p.returncode == 125, (args, p.stderr)
        assert p.stderr.strip(), args
        assert leftovers(state_dir, name) == []


def test_unwritable_state_dir(aio):
    p = subprocess.run([str(AIO_RUN), "run", "--state-dir", "/proc/aio-state", "--", "/bin/true"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 125
    assert "/proc/aio-state" in p.stderr


def test_uid_ranges_exhausted(aio, state_dir):
    name = unique("second")
    first = aio.popen("--uid-slots", "1", "--", "/bin/sleep", "3")
    time.sleep(0.5)
    p = aio("--uid-slots", "1", "--name", name, "--", "/bin/true")
    first.wait(timeout=10)
    assert p.returncode == 125 and "no free uid range" in p.stderr
    assert first.returncode == 0
    assert leftovers(state_dir, name) == []


def test_distinct_uid_ranges_concurrently(aio):
    procs = [aio.popen("--", "/bin/sh", "-c", "cat /proc/self/uid_map; sleep 1") for _ in range(4)]
    bases = set()
    for p in procs:
        out, _ = p.communicate(timeout=20)
        assert p.returncode == 0
        bases.add(out.split()[1])
    assert len(bases) == 4


def test_same_name_refused_while_running(aio):
    first = aio.popen("--name", "dup", "--", "/bin/sleep", "2")
    time.sleep(0.5)
    p = aio("--name", "dup", "--", "/bin/true")
    first.wait(timeout=10)
    assert p.returncode == 125 and "already running" in p.stderr


def test_gc_after_killed_launcher(aio, state_dir):
    proc = aio.popen("--name", "killed", "--memory", "64m", "--", "/bin/sleep", "30")
    time.sleep(1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    assert (state_dir / "sandboxes" / "killed").exists()
    p = subprocess.run([str(AIO_RUN), "gc", "--state-dir", str(state_dir)], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert "killed" in p.stdout
    assert leftovers(state_dir, "killed") == []


def test_tarball_rootfs_unpacked_once(aio, rootfs_dir, state_dir, tmp_path):
    tar = Path("/var/tmp") / f"aio-rootfs-{os.getpid()}.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(rootfs_dir, arcname=".")
    try:
        aio("--rootfs", str(tar), "--", "/bin/sh", "-c", "echo hi > /x", check=0)
        images = list((state_dir / "images").iterdir())
        stamp = {p: p.stat().st_mtime_ns for p in images}
        p = aio("--rootfs", str(tar), "--", "/bin/sh", "-c", "cat /x 2>&1; ls /bin/busybox", check=0)
        assert "No such file" in p.stdout  # the first sandbox's write stayed in its layer
        assert {p: p.stat().st_mtime_ns for p in (state_dir / "images").iterdir()} == stamp
    finally:
        tar.unlink()


@pytest.mark.parametrize("member", ["../escape", "/abs", "a/../../x"])
def test_hostile_tarball_refused(aio, state_dir, member):
    tar = Path("/var/tmp") / f"aio-hostile-{os.getpid()}.tar"
    with tarfile.open(tar, "w") as t:
        info = tarfile.TarInfo("ok")
        t.addfile(info)
        info = tarfile.TarInfo(member)
        t.addfile(info)
    try:
        name = unique("hostile")
        p = aio("--rootfs", str(tar), "--name", name, "--", "/bin/true")
        assert p.returncode == 125
        assert member in p.stderr
        images = state_dir / "images"
        assert not images.exists() or [x for x in images.iterdir() if x.name != "by-file"] == []
        assert leftovers(state_dir, name) == []
    finally:
        tar.unlink()


def test_symlink_escape_tarball_refused(aio, state_dir):
    tar = Path("/var/tmp") / f"aio-hostile-link-{os.getpid()}.tar"
    with tarfile.open(tar, "w") as t:
        info = tarfile.TarInfo("evil")
        info.type = tarfile.SYMTYPE
        info.linkname = "../../../../etc"
        t.addfile(info)
    try:
        p = aio("--rootfs", str(tar), "--", "/bin/true")
        assert p.returncode == 125 and "evil" in p.stderr
    finally:
        tar.unlink()


def tar_header(name, typeflag=b"0", size=0):
    """One ustar header block, built by hand: a million of them cost nothing to make."""
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def test_million_entry_tarball_refused(aio, state_dir):
    import gzip
    tar = Path("/var/tmp") / f"aio-million-{os.getpid()}.tar.gz"
    # a million entries that all name the same empty file: tiny on disk, endless to unpack
    with gzip.open(tar, "wb", compresslevel=1) as f:
        block = tar_header(b"f") * 10000
        for _ in range(100):
            f.write(block)
        f.write(b"\0" * 1024)
    name = unique("million")
    try:
        p = aio("--rootfs", str(tar), "--name", name, "--", "/bin/true", timeout=300)
        assert p.returncode == 125
        assert "entries" in p.stderr and "'f'" in p.stderr, p.stderr
        images = state_dir / "images"
        assert not images.exists() or [x for x in images.iterdir() if x.name != "by-file"] == []
        assert leftovers(state_dir, name) == []
    finally:
        tar.unlink()


def host_state():
    mounts = Path("/proc/self/mountinfo").read_text()
    procs = subprocess.run(["pgrep", "-f", "aio-leftover-marker"], capture_output=True, text=True).stdout
    return mounts, procs


def test_failures_leave_no_mounts_or_processes(aio, rootfs_dir):
    before = host_state()
    # set-up fails late (after the namespaces and mounts exist), and an exec failure
    for args in (["--bind", "/nonexistent:/x"], ["--workdir", "/nonexistent"],
                 ["--rootfs", str(rootfs_dir), "--workdir", "/nonexistent"]):
        p = aio(*args, "--", "/bin/sh", "-c", "exec -a aio-leftover-marker sleep 30")
        assert p.returncode == 125
    p = aio("--", "/bin/sh", "-c", "(exec -a aio-leftover-marker sleep 30 &); exit 3")
    assert p.returncode == 3
    assert host_state() == before


def test_tty_follows_window_size_changes(aio):
    """-t: the jail's pty takes the caller's window size, and later changes to it."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    def set_size(fd, rows, cols):
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    pid, fd = pty.fork()
    if pid == 0:
        os.execv(aio.argv()[0], aio.argv("-t", "--", "/bin/sh", "-c",
                                         "stty size; read x; stty size"))
    set_size(fd, 20, 70)
    out = b""
    deadline = time.monotonic() + 20
    while b"\n" not in out and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            out += os.read(fd, 1024)
    set_size(fd, 41, 123)
    os.kill(pid, signal.SIGWINCH)  # what a terminal emulator's resize delivers
    time.sleep(0.3)
    os.write(fd, b"go\n")
    while out.count(b"\n") < 3 and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                out += os.read(fd, 1024)
            except OSError:
                break
    _, status = os.waitpid(pid, 0)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "20 70" in text, text
    assert "41 123" in text, text


def test_sigint_stops_and_cleans_up(aio, state_dir):
    name = unique("int")
    proc = aio.popen("--name", name, "--memory", "64m", "--", "/bin/sleep", "30")
    time.sleep(1)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGINT
    assert leftovers(state_dir, name) == []
