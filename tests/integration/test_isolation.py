"""aio-run's isolation, checked from inside real jails."""
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

DEFAULT_ROOT_CAPS = 0x405FB  # CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE SYS_CHROOT


def status_field(text, name):
    m = re.search(rf"^{name}:\s*(\S+)", text, re.M)
    assert m, f"{name} missing in:\n{text}"
    return m.group(1)


def test_own_pid1_and_hostname(aio):
    p = aio.sh("echo $$; hostname; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'",
               "--hostname", "box", check=0)
    pid, host, comm, nprocs = p.stdout.split()
    assert host == "box"
    assert comm == "aio-run"  # our init is pid 1
    assert int(pid) == 2
    assert int(nprocs) <= 4  # init, sh, ls, grep: no host process is visible
    assert os.uname().nodename != "box"


def test_host_processes_invisible(aio):
    me = os.getpid()
    p = aio.sh(f"test -e /proc/{me} && echo visible || echo hidden; kill -0 {me} && echo killable")
    assert "hidden" in p.stdout
    assert "killable" not in p.stdout


def test_uid_map_is_unprivileged(aio):
    p = aio.sh("cat /proc/self/uid_map /proc/self/gid_map", check=0)
    rows = [r.split() for r in p.stdout.strip().splitlines()]
    assert len(rows) == 2
    for inside, outside, count in rows:
        assert inside == "0"
        assert int(outside) >= 65536  # never host root or a system id
        assert count == "65536"


def test_hygiene_flags_for_root(aio):
    p = aio("--", "/bin/cat", "/proc/self/status", check=0)
    st = p.stdout
    assert status_field(st, "NoNewPrivs") == "1"
    assert status_field(st, "Seccomp") == "2"
    assert int(status_field(st, "CapEff"), 16) == DEFAULT_ROOT_CAPS
    assert int(status_field(st, "CapBnd"), 16) == DEFAULT_ROOT_CAPS
    assert int(status_field(st, "CapInh"), 16) == 0
    assert int(status_field(st, "CapAmb"), 16) == 0


def test_gem_has_no_capabilities(aio):
    p = aio("--user", "gem", "--", "/bin/cat", "/proc/self/status", check=0)
    st = p.stdout
    for f in ("CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb"):
        assert int(status_field(st, f), 16) == 0, f
    assert re.search(r"^Uid:\s+1000\s+1000\s+1000\s+1000", st, re.M)


def test_caps_option(aio):
    p = aio("--caps", "CAP_CHOWN", "--", "/bin/cat", "/proc/self/status", check=0)
    assert int(status_field(p.stdout, "CapEff"), 16) == 1
    p = aio("--caps", "none", "--", "/bin/cat", "/proc/self/status", check=0)
    assert int(status_field(p.stdout, "CapEff"), 16) == 0


def test_proc_masked_and_readonly(aio):
    p = aio.sh("cat /proc/kcore 2>/dev/null | wc -c; cat /proc/keys 2>/dev/null | wc -c; "
               "echo x > /proc/sys/kernel/hostname && echo procsys-writable; "
               "echo c > /proc/sysrq-trigger && echo sysrq-writable; "
               "touch /sys/x 2>/dev/null && echo sys-writable; "
               "grep -E ' /(sys|proc/sys) ' /proc/self/mounts", check=0)
    lines = p.stdout.split("\n")
    assert lines[0].strip() == "0" and lines[1].strip() == "0"
    assert "writable" not in p.stdout
    assert re.search(r" /sys sysfs ro,", p.stdout)
    assert re.search(r" /proc/sys proc ro,", p.stdout)


def test_mount_refused(aio):
    p = aio.sh("mount -t tmpfs none /mnt && echo mounted", check=None)
    assert "mounted" not in p.stdout
    # also without seccomp: the capability set alone refuses it
    p = aio.sh("mount -t tmpfs none /mnt && echo mounted", "--seccomp", "unconfined")
    assert "mounted" not in p.stdout


def test_host_files_invisible(aio, tmp_path):
    secret = Path("/var/tmp") / f"aio-secret-{os.getpid()}"
    secret.write_text("s3cret")
    try:
        p = aio.sh(f"cat {secret}; ls /root; test -e /etc/shadow && echo shadow; "
                   "test -e /etc/ssh && echo ssh; cat /etc/passwd", check=None)
        assert "s3cret" not in p.stdout
        assert "shadow" not in p.stdout.split("\n")
        assert "ssh" not in p.stdout.split("\n")
        assert "gem:x:1000:1000" in p.stdout
        host_users = [l.split(":")[0] for l in Path("/etc/passwd").read_text().splitlines()]
        jail_users = [l.split(":")[0] for l in p.stdout.splitlines() if l.count(":") >= 6]
        assert set(jail_users) <= {"root", "gem", "nobody"}
        assert len(host_users) > len(jail_users)
    finally:
        secret.unlink()


def test_host_usr_read_only(aio):
    p = aio.sh("touch /usr/bin/aio-x && echo wrote; echo $?", check=0)
    assert "wrote" not in p.stdout
    p = aio.sh("stat -c %u:%g /usr/bin/env", check=0)
    assert p.stdout.strip() == "0:0"  # idmapped: host root's files are jail root's


def test_loopback_only_network(aio):
    p = aio.sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '", check=0)
    assert p.stdout.split() == ["lo"]
    p = aio.sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '", "--net", "host",
               check=0)
    assert len(p.stdout.split()) > 1


def test_no_leaked_fds(aio, tmp_path):
    f = open("/etc/hostname")
    try:
        p = aio("--", "/bin/ls", "/proc/self/fd", pass_fds=(f.fileno(),), check=0)
        fds = sorted(int(x) for x in p.stdout.split())
        assert fds[:3] == [0, 1, 2]
        assert len(fds) <= 4  # ls's own directory fd
        assert f.fileno() not in fds or f.fileno() == fds[-1] and len(fds) == 3
    finally:
        f.close()


def test_image_unchanged_writes_in_layer(aio, rootfs_dir, state_dir):
    before = subprocess.run(["sh", "-c", f"cd {rootfs_dir} && find . -printf '%p %s %m %u\\n' | sort | sha256sum"],
                            capture_output=True, text=True).stdout
    p = aio.sh("echo data > /newfile; rm /bin/ls; echo more >> /etc/passwd; mkdir /d; echo ok",
               "--rootfs", str(rootfs_dir), "--name", "keepme", "--keep", check=0)
    assert "ok" in p.stdout
    after = subprocess.run(["sh", "-c", f"cd {rootfs_dir} && find . -printf '%p %s %m %u\\n' | sort | sha256sum"],
                           capture_output=True, text=True).stdout
    assert before == after
    upper = state_dir / "sandboxes" / "keepme" / "upper"
    assert (upper / "newfile").read_text() == "data\n"
    assert (upper / "d").is_dir()
    assert not (rootfs_dir / "newfile").exists()
    assert (rootfs_dir / "bin" / "ls").exists()


def test_sandboxes_do_not_see_each_other(aio, rootfs_dir):
    a = aio.popen("--rootfs", str(rootfs_dir), "--", "/bin/sh", "-c",
                  "echo A > /tmp/marker-a; sleep 3; echo done")
    time.sleep(0.5)
    p = aio.sh("ls /tmp; ps -o comm | grep -c sleep || true", "--rootfs", str(rootfs_dir), check=0)
    a.wait(timeout=10)
    assert "marker-a" not in p.stdout
    assert p.stdout.strip().endswith("0")


def test_bind_and_tmpfs(aio, tmp_path):
    d = Path("/var/tmp") / f"aio-bind-{os.getpid()}"
    d.mkdir()
    # jail root is an unprivileged host uid: the host dir must be writable by it
    d.chmod(0o777)
    (d / "in").write_text("hello")
    try:
        p = aio.sh("cat /data/in; echo x > /data/out && echo wrote-ro", "--bind", f"{d}:/data:ro")
        assert "hello" in p.stdout and "wrote-ro" not in p.stdout
        aio.sh("echo x > /data/out", "--bind", f"{d}:/data", check=0)
        assert (d / "out").exists()
        p = aio.sh("dd if=/dev/zero of=/scratch/f bs=1k count=2048 2>&1; echo rc=$?",
                   "--tmpfs", "/scratch:1m")
        assert "No space left" in p.stdout
    finally:
        subprocess.run(["rm", "-rf", str(d)])


def test_bind_missing_source_is_clear(aio):
    p = aio("--bind", "/nonexistent-src:/data", "--", "/bin/true")
    assert p.returncode == 125
    assert "/nonexistent-src" in p.stderr


def test_environment_is_cleared(aio):
    env = dict(os.environ, AIO_HOST_SECRET="leak")
    p = aio("-e", "FOO=bar", "--", "/usr/bin/env", env=env, check=0)
    assert "AIO_HOST_SECRET" not in p.stdout
    assert "FOO=bar" in p.stdout
    assert "PATH=/usr/local/sbin:" in p.stdout
    assert "HOME=/root" in p.stdout


def test_user_workdir_rlimits(aio):
    p = aio.sh("id -u; id -g; pwd; ulimit -n; ulimit -c", "--user", "1234:4321", "--workdir", "/tmp",
               "--rlimit", "nofile=64:128", check=0)
    assert p.stdout.split() == ["1234", "4321", "/tmp", "64", "0"]
    p = aio.sh("pwd", "--user", "gem", check=0)
    assert p.stdout.strip() == "/home/gem"


def test_exit_codes(aio):
    assert aio.sh("exit 7").returncode == 7
    assert aio.sh("kill -TERM $$").returncode == 128 + 15
    p = aio("--", "/no/such/cmd")
    assert p.returncode == 127 and "/no/such/cmd" in p.stderr
    p = aio("--", "/etc/passwd")
    assert p.returncode == 126 and "/etc/passwd" in p.stderr
    p = aio("--bogus", "--", "/bin/true")
    assert p.returncode == 125 and "--bogus" in p.stderr
    p = aio("--rootfs", "/nonexistent/root", "--", "/bin/true")
    assert p.returncode == 125 and "/nonexistent/root" in p.stderr
    p = aio("--memory", "lots", "--", "/bin/true")
    assert p.returncode == 125 and "lots" in p.stderr
    p = aio()
    assert p.returncode == 125 and "no command" in p.stderr


def test_orphans_reaped_and_killed_at_exit(aio):
    tag = f"aio-orphan-{os.getpid()}"
    p = aio.sh(f"(sh -c 'exec -a {tag} sleep 100' &) ; (true &); sleep 0.3; "
               "ps -o stat,comm | grep -c '^Z' || true", check=0)
    assert p.stdout.strip().endswith("0")  # no zombies while running
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", tag], capture_output=True, text=True)
    assert left.stdout == "", "a process of the jail outlived it"


def test_signal_forwarded_and_cleanup(aio, state_dir):
    proc = aio.popen("--name", "sig", "--memory", "64m", "--", "/bin/sh", "-c",
                     "trap 'echo got-term; exit 3' TERM; sleep 30 & wait")
    time.sleep(1)
    proc.terminate()
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 3 and "got-term" in out
    assert not (state_dir / "sandboxes" / "sig").exists()
    for ctl in ("memory", "pids", "cpu", "freezer", "unified"):
        assert not Path(f"/sys/fs/cgroup/{ctl}/aio/sig").exists()


def test_launcher_command_line_not_visible(aio):
    # /proc/1/cmdline is world-readable even for a non-dumpable pid 1
    p = aio("-e", "TOKEN=hunter2", "--", "/bin/cat", "/proc/1/cmdline", check=0)
    assert "hunter2" not in p.stdout
    assert "--state-dir" not in p.stdout
    assert p.stdout.startswith("aio-init")


def test_init_memory_not_readable(aio):
    p = aio.sh("cat /proc/1/environ >/dev/null 2>&1 && echo environ-readable; "
               "readlink /proc/1/exe >/dev/null 2>&1 && echo exe-readable; "
               "cat /proc/1/mem >/dev/null 2>&1 && echo mem-readable; echo done", check=0)
    assert p.stdout.strip() == "done"
