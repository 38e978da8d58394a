"""The default image (rootfs/build.sh, `make rootfs`): built once from the Debian mirror the
host's apt sources name and kept in its cache dir between runs; started from its tarball through
the image store, as user gem, with the programs the sandbox's services need; the stored image
unchanged although the sandboxes wrote everywhere they could.

Figures (build times, sizes, first and second start) are written to
$AIO_BUILD/rootfs-measurements.json and printed (pytest -s): reported, not asserted."""
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import AIO_RUN, BUILD, REPO, need_root

BUILD_SH = REPO / "rootfs" / "build.sh"
MEASURE = {}


def measured(key, value):
    MEASURE[key] = value
    out = BUILD / "rootfs-measurements.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(MEASURE, indent=1) + "\n")
    print(f"rootfs: {key} = {value}")


def mirror_reachable():
    """(True, url) when the suite's Release file of the host's mirror answers, else (False, why)."""
    suite = (REPO / "rootfs" / "suite").read_text().strip()
    p = subprocess.run([str(REPO / "rootfs" / "host-sources.py"), suite], capture_output=True,
                       text=True)
    if p.returncode != 0:
        return False, p.stderr.strip()
    mirror = p.stdout.split()[1]
    url = f"{mirror}/dists/{suite}/Release"
    try:
        with urllib.request.urlopen(url, timeout=15) as r:
            r.read(64)
        return True, url
    except OSError as e:
        return False, f"{url}: {e}"


def host_sources(root, suite="bookworm"):
    return subprocess.run([str(REPO / "rootfs" / "host-sources.py"), suite, str(root)],
                          capture_output=True, text=True)


def test_host_sources_reads_both_formats_and_never_invents_a_mirror(tmp_path):
    d = tmp_path / "etc/apt/sources.list.d"
    d.mkdir(parents=True)
    (tmp_path / "etc/apt/sources.list").write_text(
        "# a comment\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main contrib\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb http://old.example/debian bullseye main\n")
    (d / "security.sources").write_text(
        "Types: deb deb-src\nURIs: http://sec.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n"
        "Components: main\n\n"
        "Types: deb\nURIs:\n http://upd.example/debian\nSuites: bookworm-updates\n"
        "Components: main\n")
    (d / "vendor.list").write_text("deb https://vendor.example/apt nodistro main\n")
    p = host_sources(tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://upd.example/debian bookworm-updates main",
        "deb http://sec.example/debian-security bookworm-security main"]
    p = host_sources(tmp_path, "trixie")
    assert p.returncode == 1 and "no 'deb' entry for suite 'trixie'" in p.stderr
    assert p.stdout == ""


@pytest.fixture(scope="module")
def image():
    """The default image's tarball and manifest, built with `make rootfs` when not cached."""
    need_root()
    tarball = Path(subprocess.run([str(BUILD_SH), "--print-path"], capture_output=True,
                                  text=True, check=True).stdout.strip())
    manifest = tarball.with_suffix("").with_suffix(".json")
    if not (tarball.exists() and manifest.exists()):
        ok, why = mirror_reachable()
        if not ok:
            pytest.skip(f"the default image is not built and the Debian mirror is unreachable: "
                        f"{why}")
        t0 = time.monotonic()
        log = BUILD / "rootfs-build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "w") as f:  # build.sh reports its progress on stderr
            p = subprocess.run(["make", "--no-print-directory", "rootfs"], cwd=REPO,
                               stdout=f, stderr=subprocess.STDOUT, timeout=4 * 3600)
        assert p.returncode == 0, f"make rootfs failed: see {log}:\n" + log.read_text()[-4000:]
        measured("build_cold_seconds", round(time.monotonic() - t0, 1))
    m = json.loads(manifest.read_text())
    measured("build_cold_seconds_manifest", m["build_seconds"])
    measured("size_compressed_mib", round(m["size_compressed"] / 2**20, 1))
    measured("size_uncompressed_mib", round(m["size_uncompressed"] / 2**20, 1))
    return tarball, m


def test_rebuild_with_unchanged_inputs_is_a_noop(image):
    tarball, m = image
    before = tarball.stat()
    t0 = time.monotonic()
    p = subprocess.run(["make", "--no-print-directory", "rootfs"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    measured("build_warm_seconds", round(time.monotonic() - t0, 2))
    assert p.returncode == 0, p.stderr
    assert "up to date" in p.stderr
    after = tarball.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == \
        (before.st_ino, before.st_mtime_ns, before.st_size)
    assert not list(tarball.parent.glob(".build-*"))  # no temporary directory left


def test_manifest_pins_what_went_in_and_came_out(image):
    tarball, m = image
    h = hashlib.sha256()
    with open(tarball, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    assert m["sha256"] == h.hexdigest()
    assert m["size_compressed"] == tarball.stat().st_size
    assert m["size_compressed"] < m["size_uncompressed"]
    digest = subprocess.run([str(BUILD_SH), "--print-path"], capture_output=True, text=True,
                            check=True).stdout
    assert m["inputs_digest"][:16] in digest
    for name in ("build.sh", "packages.txt", "suite", "dpkg-excludes"):
        assert name in m["inputs"]
    pkgs = m["packages"]
    for want in m["requested"] + ["python3-ipykernel", "chromium", "fonts-noto-cjk",
                                  "fonts-noto-color-emoji", "novnc", "x11vnc", "xvfb", "pandoc"]:
        assert want in pkgs and pkgs[want]["version"], want
    assert all(p["version"] for p in pkgs.values())
    # the mirror came from the host's apt sources, not from the recipe
    sources = subprocess.run([str(REPO / "rootfs" / "host-sources.py"), m["suite"]],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert m["apt_sources"] == sources


def tar_listing(tarball):
    p = subprocess.run(f"zstd -dc '{tarball}' | tar -tv --numeric-owner", shell=True,
                       capture_output=True, text=True, check=True)
    return p.stdout.splitlines()


def test_tarball_holds_nothing_the_store_refuses_nor_caches(image):
    tarball, _ = image
    lines = tar_listing(tarball)
    names = []
    for line in lines:
        fields = line.split(None, 5)
        kind, name = fields[0][0], fields[5].split(" -> ")[0].split(" link to ")[0]
        assert kind in "-dlh", line  # no device nodes, fifos, sockets
        names.append(name.removeprefix("./"))
    for top in ("dev/", "proc/", "sys/", "run/", "var/lib/apt/lists/", "var/cache/apt/archives/"):
        inside = [n for n in names if n.startswith(top) and n != top and
                  n.removeprefix(top) not in ("partial/", "lock")]  # apt's empty lock and dir
        assert inside == [], (top, inside[:5])
    docs = [n for n in names if n.startswith("usr/share/doc/") and not n.endswith("/")
            and not n.endswith("/copyright")]
    assert docs == [], docs[:5]
    assert not [n for n in names if n.startswith("usr/share/man/") and not n.endswith("/")]
    assert "home/gem/" in names and "opt/aio/bin/" in names
    gem_home = next(line for line in lines if line.endswith(" ./home/gem/"))
    assert gem_home.split()[1] == "1000/1000", gem_home


# ---- sandboxes from the image ----------------------------------------------------------------

@pytest.fixture(scope="module")
def store(image):
    """A state dir shared by this module's sandboxes: the image is unpacked once, on the first
    start, and its stored tree's digest taken then."""
    tarball, _ = image
    d = Path(tempfile.mkdtemp(prefix="aio-rootfs-", dir="/var/tmp"))
    os.chmod(d, 0o711)
    try:
        run = Run(d, tarball)
        t0 = time.monotonic()
        p = run("--", "/bin/true", timeout=600)
        measured("first_start_unpack_seconds", round(time.monotonic() - t0, 2))
        assert p.returncode == 0, p.stderr[-2000:]
        images = [e for e in (d / "images").iterdir() if len(e.name) == 64]
        assert len(images) == 1
        t0 = time.monotonic()
        p = run("--", "/bin/true")
        measured("second_start_seconds", round(time.monotonic() - t0, 2))
        assert p.returncode == 0, p.stderr
        run.image_dir = images[0]
        run.digest_before = tree_digest(d / "images")
        yield run
    finally:
        subprocess.run([str(AIO_RUN), "gc", "--state-dir", str(d)], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


class Run:
    def __init__(self, state, tarball):
        self.state, self.tarball = state, tarball

    def __call__(self, *args, timeout=120):
        return subprocess.run([str(AIO_RUN), "run", "--state-dir", str(self.state),
                               "--rootfs", str(self.tarball), *args],
                              capture_output=True, text=True, timeout=timeout)

    def gem(self, script, *opts, timeout=120):
        p = self("--user", "gem", *opts, "--", "/bin/bash", "-c", script, timeout=timeout)
        assert p.returncode == 0, (p.stdout[-2000:], p.stderr[-2000:])
        return p.stdout


def tree_digest(top):
    """sha256 over every entry below top: path, type, mode, owner, size, mtime, xattrs,
    symlink target and file content. Nothing is followed."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(root, name)
            st = os.lstat(path)
            h.update(f"{os.path.relpath(path, top)}\0{st.st_mode:o}\0{st.st_uid}\0{st.st_gid}\0"
                     f"{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
            for x in sorted(os.listxattr(path, follow_symlinks=False)):
                h.update(x.encode() + os.getxattr(path, x, follow_symlinks=False))
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(path).encode("utf-8", "surrogateescape"))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
    return h.hexdigest()


def test_second_start_does_not_unpack(store):
    st = store.image_dir.stat()
    p = store("-v", "--", "/bin/true")
    assert p.returncode == 0, p.stderr
    assert "found in the store" in p.stderr and "aio-unpack" not in p.stderr, p.stderr
    assert store.image_dir.stat().st_ino == st.st_ino
    assert not [e for e in (store.state / "images").iterdir() if e.name.startswith(".tmp-")]


def test_gem_runs_the_python_data_stack(store):
    out = store.gem("id -u; id -g; echo $HOME; python3 -c 'import numpy, pandas, matplotlib\n"
                    "matplotlib.use(\"Agg\")\nimport matplotlib.pyplot as plt\n"
                    "df = pandas.DataFrame({\"x\": numpy.arange(4)})\n"
                    "plt.plot(df.x, df.x ** 2); plt.savefig(\"/tmp/p.png\")\n"
                    "print(int(df.x.sum()))'; head -c 4 /tmp/p.png | od -An -c | tr -d ' '")
    assert out.split("\n")[:5] == ["1000", "1000", "/home/gem", "6", "211PNG"], out
    out = store.gem("python3 -c 'import ipykernel, requests; print(ipykernel.__name__)'")
    assert out.strip() == "ipykernel"


def test_gem_runs_node(store):
    out = store.gem("node -e 'console.log([1, 2, 3].map(x => x * 2).join(\",\"))'; npm --version")
    lines = out.split()
    assert lines[0] == "2,4,6" and lines[1][0].isdigit(), out


def test_gem_converts_html_to_markdown_with_pandoc(store):
    out = store.gem("printf '<h1>Title</h1><p>Hello <strong>world</strong></p>' | "
                    "pandoc -f html -t markdown")
    assert "Title" in out and "**world**" in out, out
    assert out.lstrip().startswith("# Title"), out


def test_gem_takes_a_chromium_screenshot(store):
    out = Path(tempfile.mkdtemp(prefix="aio-rootfs-shot-", dir="/var/tmp"))
    out.chmod(0o777)  # written by jail gem, an unprivileged host uid
    page = ("<html><body style='background:#00aa00'><h1>aio \u4e2d\u6587 \U0001F600</h1>"
            "</body></html>")
    try:
        store.gem("set -e; printf '%s' \"$PAGE\" > /tmp/page.html; "
                  "chromium --headless --no-sandbox --disable-gpu --no-first-run "
                  "--disable-background-networking --disable-component-update --disable-sync "
                  "--user-data-dir=/tmp/profile --window-size=320,240 "
                  "--screenshot=/work/shot.png file:///tmp/page.html",
                  "--seccomp", "browser", "--bind", f"{out}:/work", "--env", f"PAGE={page}",
                  timeout=180)
        png = (out / "shot.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(png[16:20], "big") == 320  # IHDR width
        assert int.from_bytes(png[20:24], "big") == 240
    finally:
        shutil.rmtree(out)


def test_fonts_cover_latin_cjk_and_emoji(store):
    out = store.gem("fc-match -f '%{family}\\n' sans-serif; "
                    "fc-match -f '%{family}\\n' 'sans:lang=zh-cn'; "
                    "fc-match -f '%{family}\\n' emoji; fc-list ':charset=1f600' family")
    latin, cjk, emoji, *with_grin = out.splitlines()
    assert latin and "CJK" in cjk and emoji == "Noto Color Emoji", out
    assert "Noto Color Emoji" in with_grin, out  # a font that has U+1F600


def test_display_and_vnc_programs_are_there(store):
    out = store.gem("command -v Xvfb x11vnc websockify; ls /usr/share/novnc/vnc.html")
    assert len(out.split()) == 4, out


def test_every_library_of_aio_apid_resolves_in_the_image(store):
    apid = BUILD / "bin" / "aio-apid"
    if not apid.exists():
        pytest.skip("aio-apid is not built")
    out = store.gem("ldd /opt/aio/bin/aio-apid", "--bind", f"{apid}:/opt/aio/bin/aio-apid:ro")
    libs = [line for line in out.splitlines() if "=>" in line]
    assert libs, out
    assert "not found" not in out, out


def test_aio_run_up_serves_the_api_from_the_image(store):
    if not (BUILD / "bin" / "aio-apid").exists():
        pytest.skip("aio-apid is not built")
    proc = subprocess.Popen([str(AIO_RUN), "up", "--state-dir", str(store.state), "--rootfs",
                             str(store.tarball), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read()
                                                     if proc.poll() is not None else "")
        with urllib.request.urlopen(url + "/v1/sandbox", timeout=10) as r:
            body = json.loads(r.read())
        assert r.status == 200 and body["success"] is True, body
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


WRITE_EVERYWHERE = r"""
n=0
for d in $(find / -xdev -type d -writable 2>/dev/null); do
        echo x > "$d/.aio-wrote" 2>/dev/null && n=$((n + 1))
done
for f in $(find / -xdev -type f -writable -size -64k 2>/dev/null | head -3000); do
        printf 'aio' >> "$f" 2>/dev/null && n=$((n + 1))
done
rm -rf /usr/share/fonts /home/gem/.bashrc /etc/aio-image 2>/dev/null
chmod -R 0777 /etc 2>/dev/null
touch -d 2000-01-01 /usr/bin/* 2>/dev/null
ln -sfn / /usr/lib/aio-loop 2>/dev/null
echo "$n"
test -f /.aio-wrote -o -f /home/gem/.aio-wrote && echo wrote
"""


@pytest.mark.parametrize("user", ["root", "gem"])
def test_sandbox_writes_stay_in_the_sandbox(store, user):
    p = store("--user", user, "--", "/bin/bash", "-c", WRITE_EVERYWHERE, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    count, wrote = p.stdout.split()[-2:]
    assert int(count) > (100 if user == "root" else 3) and wrote == "wrote", p.stdout[-500:]
    # a new sandbox from the same image sees none of it
    out = store.gem("test -e /etc/aio-image && test -d /usr/share/fonts && "
                    "test ! -e /.aio-wrote && test ! -e /home/gem/.aio-wrote && echo clean")
    assert out.strip() == "clean"


def test_stored_image_is_unchanged(store):
    """Last in this module: after every sandbox above wrote what it could, the store's tree is
    byte-for-byte what the first start unpacked."""
    assert tree_digest(store.state / "images") == store.digest_before


def test_image_build_imports_it_by_name(image, state_dir):
    """aio-run image build: the build (a no-op here, the image is current) and the import
    under the name "default", which --image then selects."""
    state = state_dir
    r = subprocess.run([str(AIO_RUN), "image", "build", "--state-dir", str(state)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout + r.stderr
    ls = subprocess.run([str(AIO_RUN), "image", "ls", "-q", "--state-dir", str(state)],
                        capture_output=True, text=True, timeout=60)
    assert "default" in ls.stdout, ls.stdout
    r = subprocess.run([str(AIO_RUN), "run", "--state-dir", str(state), "--image", "default",
                        "--user", "gem", "--", "/bin/sh", "-c", "node -e 'console.log(6*7)'"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "42", r.stderr
