"""The escape battery: every probe in tests/security/probes runs inside a real aio-run jail and
must report each attempt BLOCKED (exit 0).  Then the same probes run with a protection switched
off, to prove they really try: under --seccomp unconfined (the attempts the filter alone stops
must now get through: OPEN lines; the others show which layer still stops them), and as root on
the host (no jail at all).  Rootfs-level classes (#19 symlinked /dev and /proc, #22 a fake /proc,
the caller's terminal, leaked fds, the hostname) are checked here directly.
See docs/security-battery.md for the table of classes.
"""
import fcntl
import os
import pty
import select
import shutil
import socket
import subprocess
import tempfile
import termios
from pathlib import Path

import pytest

from conftest import AIO_RUN, PROBES, probe_names

ALL = probe_names()

# Extra probe arguments (formatted with the host-side fixtures) and extra aio-run options.
ARGS = {
    "pidns": ["--host-pid={host_pid}"],
    "abstract": ["--abstract={abstract}"],
    "nnp": ["--suid=/suid/nnp-suid"],
    "namespaces": ["--host-ns={host_ns}"],
}
OPTS = {"nnp": ["--bind", "{suid_dir}:/suid:ro"]}
HOST_ARGS = {
    "proc-exe": ["--target={host_pid}"],
    "ptrace-init": ["--target={host_pid}"],
    "leaked-fds": ["--target={host_pid}"],
    "pidns": ["--host-pid={host_pid}"],
    "abstract": ["--abstract={abstract}"],
    "nnp": ["--suid={suid_dir}/nnp-suid"],
    "namespaces": ["--host-ns={host_ns}"],
}
# Probes whose attempts the seccomp filter alone stops in a default jail: with
# --seccomp unconfined at least one attempt must get through.
SECCOMP_ONLY = ["abi", "fs-context", "io-uring", "keyring", "nnp", "perf", "sockets", "tiocsti",
                "userfaultfd", "userns"]
# Need their own set-up on the host (a controlling terminal, a chroot): tested below.
HOST_SPECIAL = ["tiocsti", "chroot"]
# Host-mode outcomes meaning "this kernel lacks the feature", not "the probe does not try".
ABSENT = ("ENOSYS", "EAFNOSUPPORT", "ENOENT", "no module support", "not in this kernel")


@pytest.fixture
def ctx(host_process, abstract_socket, suid_dir, host_ns):
    return {"host_pid": host_process, "abstract": abstract_socket, "suid_dir": suid_dir,
            "host_ns": host_ns}


def fmt(items, ctx):
    return [s.format(**ctx) for s in items]


def assert_all_blocked(res):
    assert res.lines, f"probe printed nothing\n{res}"
    assert res.rc == 0 and set(res.tags()) == {"BLOCKED"}, f"not every attempt was blocked\n{res}"


def require_open(res, why):
    """At least one OPEN line, unless every non-OPEN line says the kernel lacks the feature."""
    if res.count("OPEN"):
        return
    if all(any(a in ln for a in ABSENT) for ln in res.lines):
        pytest.skip(f"this kernel lacks what the probe uses:\n{res}")
    pytest.fail(f"{why}: no attempt got through\n{res}")


# Jail configurations every probe must be blocked in: --rootfs host as root and as gem, the
# browser profile (it must keep every denial), and a directory rootfs (overlay + idmapped image).
CONFIGS = {
    "root": ("host", ["--user", "root"]),
    "gem": ("host", ["--user", "gem"]),
    "root-browser": ("host", ["--seccomp", "browser"]),
    "root-dirfs": ("dir", ["--user", "root"]),
    "gem-dirfs": ("dir", ["--user", "gem"]),
}
# Under a directory rootfs the image below the overlay is writable by design (copy-up into the
# sandbox's layer), so rofs, which checks the host's /usr, only runs with --rootfs host.
HOST_ROOTFS_ONLY = ["rofs"]


@pytest.mark.parametrize("config", sorted(CONFIGS))
@pytest.mark.parametrize("name", ALL)
def test_blocked_in_jail(battery, ctx, rootfs_dir, name, config):
    """Every attempt fails the recorded way."""
    rootfs, opts = CONFIGS[config]
    if rootfs == "dir" and name in HOST_ROOTFS_ONLY:
        pytest.skip(f"{name} checks --rootfs host's read-only /usr")
    res = battery.jail(name, fmt(ARGS.get(name, []), ctx), [*opts, *fmt(OPTS.get(name, []), ctx)],
                       rootfs_dir if rootfs == "dir" else "host")
    print(res)
    assert_all_blocked(res)


@pytest.mark.parametrize("name", ALL)
def test_blocked_with_tty(battery, ctx, name):
    """With -t (a pty inside the jail, the caller's terminal outside) nothing changes."""
    argv = battery.jail_argv(name, fmt(ARGS.get(name, []), ctx),
                             ["-t", *fmt(OPTS.get(name, []), ctx)])
    proc, _ = run_on_tty(argv)
    out = f"$ {' '.join(argv)}\nexit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    print(out)
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    assert lines and proc.returncode == 0, out
    assert all(ln.startswith("BLOCKED ") for ln in lines), out


@pytest.mark.parametrize("name", ALL)
def test_nothing_escapes_strict(battery, ctx, name):
    """Under the strict profile an attempt may be stopped earlier than recorded (UNEXPECTED:
    e.g. ptrace denied before the pid namespace answers), but nothing may escape."""
    res = battery.jail(name, fmt(ARGS.get(name, []), ctx),
                       ["--seccomp", "strict", *fmt(OPTS.get(name, []), ctx)])
    print(res)
    assert res.lines and res.rc in (0, 3), str(res)
    assert set(res.tags()) <= {"BLOCKED", "UNEXPECTED"}, str(res)


@pytest.mark.parametrize("name", ALL)
def test_unconfined_layers(battery, ctx, name):
    """Seccomp off: nothing may escape (other layers hold), and seccomp-only probes get through."""
    res = battery.jail(name, ["--expect-open", *fmt(ARGS.get(name, []), ctx)],
                       ["--seccomp", "unconfined", *fmt(OPTS.get(name, []), ctx)])
    print(res)
    assert res.rc == 0 and set(res.tags()) <= {"BLOCKED", "OPEN"}, \
        f"unexpected outcome with --seccomp unconfined\n{res}"
    if name in SECCOMP_ONLY:
        require_open(res, "the probe should get past a disabled seccomp filter")


@pytest.mark.parametrize("name", [n for n in ALL if n not in HOST_SPECIAL])
def test_probe_tries_on_host(battery, ctx, name):
    """Root on the host, no jail: the attacks the jail stops work here (mount ones in a private
    mount namespace, so nothing touches the host's mount table)."""
    wrap = ["unshare", "--mount", "--propagation", "private"] if name == "mount" else []
    leak = os.open("/", os.O_RDONLY | os.O_DIRECTORY)  # what leaked-fds must find here
    try:
        res = battery.host(name, fmt(HOST_ARGS.get(name, []), ctx), wrap, pass_fds=(leak,))
    finally:
        os.close(leak)
    print(res)
    assert res.rc == 0 and set(res.tags()) <= {"BLOCKED", "OPEN"}, f"host run\n{res}"
    require_open(res, "the probe should succeed outside any jail")


def test_net_host_reaches_abstract_socket(battery, abstract_socket):
    """#23 with the protection off: under --net host the same probe connects."""
    res = battery.jail("abstract", ["--expect-open=host", f"--abstract={abstract_socket}"],
                       ["--net", "host"])
    print(res)
    assert res.rc == 0 and "OPEN connect to a host abstract socket" in res.stdout, str(res)


def test_chroot_probe_escapes_plain_chroot(battery, rootfs_dir, tmp_path):
    """The chroot probe escapes a plain chroot on the host (what pivot_root prevents)."""
    root = tmp_path / "root"
    shutil.copytree(rootfs_dir, root, symlinks=True)
    shutil.copy(PROBES / "chroot", root / "chroot")
    res = battery.run(["chroot", str(root), "/chroot", "--expect-open=host"])
    print(res)
    assert res.rc == 0 and res.count("OPEN") == 1, str(res)


# --- the caller's terminal (#4) ---------------------------------------------------------------

def run_on_tty(argv, timeout=30):
    """Runs argv with a fresh pty as stdin and controlling terminal; returns (result, echoed)."""
    master, slave = pty.openpty()

    def ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        proc = subprocess.run(argv, stdin=slave, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=ctty)
        echoed = b""
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            echoed += chunk
    finally:
        os.close(master)
        os.close(slave)
    return proc, echoed


@pytest.mark.parametrize("seccomp,tty", [("default", False), ("unconfined", False),
                                         ("default", True)])
def test_tiocsti_cannot_reach_callers_terminal(battery, seccomp, tty):
    """The caller's terminal is the jail's stdin (and, with -t, the outer end of the jail's pty):
    the filter refuses TIOCSTI, and without the filter setsid() still keeps it out of reach."""
    argv = battery.jail_argv("tiocsti", [] if seccomp == "default" else ["--expect-open"],
                             ["--seccomp", seccomp] + (["-t"] if tty else []))
    proc, echoed = run_on_tty(argv)
    out = f"$ {' '.join(argv)}\nexit {proc.returncode}\n{proc.stdout}{proc.stderr}"
    print(out, "\ncaller's terminal received:", echoed)
    assert proc.returncode == 0, out
    assert "TIOCSTI on inherited stdin: EPERM" in proc.stdout, out
    assert b"#" not in echoed, f"a byte reached the caller's terminal\n{out}"


def test_tiocsti_probe_injects_on_host():
    proc, echoed = run_on_tty([str(PROBES / "tiocsti"), "--expect-open=host"])
    print(proc.stdout, proc.stderr, echoed)
    assert proc.returncode == 0 and "OPEN TIOCSTI on inherited stdin" in proc.stdout
    assert b"#" in echoed


# --- leaked fds and cwd (#2) ------------------------------------------------------------------

def test_launcher_closes_inherited_fds(battery):
    """aio-run started with extra open fds (a host directory, a file): none reaches the jail."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
        ffd = os.open("/etc/hostname", os.O_RDONLY)
        try:
            res = battery.jail("leaked-fds", pass_fds=(dfd, ffd))
        finally:
            os.close(dfd)
            os.close(ffd)
    print(res)
    assert_all_blocked(res)
    assert d not in res.stdout


@pytest.mark.parametrize("fd", range(3, 12))
def test_workdir_proc_self_fd_refused(battery, fd):
    """CVE-2024-21626's shape: --workdir /proc/self/fd/N must not land outside the root."""
    leak = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        res = battery.jail("leaked-fds", opts=["--workdir", f"/proc/self/fd/{fd}"],
                           pass_fds=(leak,))
    finally:
        os.close(leak)
    print(res)
    if res.rc == 125:
        return
    assert_all_blocked(res)


# --- rootfs-level classes: symlinked /dev, /proc, mount targets (#19), fake /proc (#22) -------

def snapshot(path):
    """Names, sizes and contents of a host directory tree, to prove it was not touched."""
    out = {}
    for p in sorted(Path(path).rglob("*")):
        st = p.lstat()
        out[str(p)] = (st.st_mode, st.st_size, p.read_bytes() if p.is_file() else None)
    return out


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [ln for ln in f if f" {path}" in ln]


@pytest.fixture
def hostile(rootfs_dir, tmp_path):
    """A copy of the fixture rootfs and a host directory its symlinks point to."""
    root = tmp_path / "root"
    shutil.copytree(rootfs_dir, root, symlinks=True)
    target = Path(tempfile.mkdtemp(prefix="aio-host-target-", dir="/var/tmp"))
    (target / "marker").write_text("host file\n")
    yield root, target
    shutil.rmtree(target, ignore_errors=True)


def relative_to_root(root, target):
    return "../" * (len(root.parts) + 2) + str(target).lstrip("/")


SYMLINKS = {
    "dev-absolute": ("dev", lambda root, t: str(t)),
    "dev-relative": ("dev", lambda root, t: relative_to_root(root, t)),
    "proc-absolute": ("proc", lambda root, t: str(t)),
    "proc-relative": ("proc", lambda root, t: relative_to_root(root, t)),
    "sys-absolute": ("sys", lambda root, t: str(t)),
    "tmp-absolute": ("tmp", lambda root, t: str(t)),
    "etc-hostname": ("etc/hostname", lambda root, t: str(t / "marker")),
}


@pytest.mark.parametrize("case", sorted(SYMLINKS))
def test_symlinked_rootfs_paths_stay_inside(battery, hostile, case):
    root, target = hostile
    rel, dest = SYMLINKS[case]
    link = root / rel
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    elif link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(dest(root, target))
    before, mounts = snapshot(target), mounts_under(target)
    argv = [str(AIO_RUN), "run", "--state-dir", battery.state, "--rootfs", str(root),
            "--hostname", "aio-hostile", "--", "/bin/sh", "-c",
            "echo x > /dev/null && ls /proc/self/ >/dev/null && echo inside-ok"]
    res = battery.run(argv)
    print(res)
    assert res.rc in (0, 125), str(res)
    assert res.rc == 125 or "inside-ok" in res.stdout, str(res)
    assert snapshot(target) == before, f"the host directory changed\n{res}"
    assert mounts_under(target) == mounts, f"a mount landed on the host directory\n{res}"


@pytest.mark.parametrize("opt", ["bind", "tmpfs"])
def test_mount_target_through_symlink_stays_inside(battery, hostile, opt):
    root, target = hostile
    (root / "mnt").symlink_to(str(target))
    src = tempfile.mkdtemp(prefix="aio-src-", dir="/var/tmp")
    try:
        before, mounts = snapshot(target), mounts_under(target)
        spec = ["--bind", f"{src}:/mnt/x"] if opt == "bind" else ["--tmpfs", "/mnt/x"]
        argv = [str(AIO_RUN), "run", "--state-dir", battery.state, "--rootfs", str(root), *spec,
                "--", "/bin/true"]
        res = battery.run(argv)
    finally:
        shutil.rmtree(src, ignore_errors=True)
    print(res)
    assert res.rc in (0, 125), str(res)
    assert snapshot(target) == before, f"the host directory changed\n{res}"
    assert mounts_under(target) == mounts, f"a mount landed on the host directory\n{res}"


FAKE_PROC = {
    "bind-proc": lambda d: ["--bind", f"{d}:/proc"],
    "bind-proc-ro": lambda d: ["--bind", f"{d}:/proc:ro"],
    "bind-proc-sys": lambda d: ["--bind", f"{d}:/proc/sys"],
    "tmpfs-proc": lambda d: ["--tmpfs", "/proc"],
}


@pytest.mark.parametrize("case", sorted(FAKE_PROC))
def test_fake_proc_refused(battery, case):
    """#22 (CVE-2019-16884 family): a mount over /proc or under it must be refused."""
    d = tempfile.mkdtemp(prefix="aio-fakeproc-", dir="/var/tmp")
    try:
        res = battery.run([str(AIO_RUN), "run", "--state-dir", battery.state, "--rootfs", "host",
                           *FAKE_PROC[case](d), "--", "/bin/sh", "-c",
                           "stat -f -c %T /proc /proc/sys"])
        left = os.listdir(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print(res)
    assert not left, f"the launcher wrote into the fake /proc: {left}\n{res}"
    assert res.rc == 125, f"a mount over /proc was accepted\n{res}"


# --- hostname (uts namespace) -----------------------------------------------------------------

def test_hostname_change_stays_in_jail(battery):
    before = socket.gethostname()
    script = ("import socket\nprint(socket.gethostname())\n"
              "try:\n    socket.sethostname('aio-evil')\nexcept OSError as e:\n    print(e.errno)\n"
              "print(socket.gethostname())\n")
    res = battery.run([str(AIO_RUN), "run", "--state-dir", battery.state, "--rootfs", "host",
                       "--hostname", "aio-sec", "--", "/usr/bin/python3", "-c", script])
    print(res)
    assert res.rc == 0, str(res)
    assert res.lines[0] == "aio-sec", str(res)
    assert socket.gethostname() == before
    assert os.uname().nodename == before
