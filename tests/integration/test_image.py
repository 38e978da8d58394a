"""aio-run image: the image store. Hand-made `docker save` archives and OCI image layouts (built
here with tarfile, json and hashlib) are imported, their layers applied with whiteouts, opaque
directories, hard links, symlinks, modes, owners and xattrs, then read from inside a jail; hostile
archives are refused naming the entry, leaving the store as it was."""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import AIO_RUN, BUILD, need_root

AIO_UNPACK = BUILD / "bin" / "aio-unpack"
CAP_NET_RAW = bytes.fromhex("0100000200200000000000000000000000000000")  # v2: cap_net_raw+ep


# ---- building archives ------------------------------------------------------------------------

def member(name, data=b"", kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, link="", xattrs=None):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.linkname = link
    info.mtime = 1700000000
    if xattrs:
        info.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in xattrs.items()}
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def d(name, mode=0o755, **kw):
    return member(name, kind=tarfile.DIRTYPE, mode=mode, **kw)


def sym(name, target):
    return member(name, kind=tarfile.SYMTYPE, link=target, mode=0o777)


def hard(name, target):
    return member(name, kind=tarfile.LNKTYPE, link=target)


def tar_bytes(members, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in members:
            t.addfile(info, io.BytesIO(data) if info.size else None)
    return buf.getvalue()


def base_layer(rootfs_dir):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.add(rootfs_dir, arcname=".")
    return buf.getvalue()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def compress(data, how):
    if how == "gzip":
        return gzip.compress(data, compresslevel=1)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True,
                              check=True).stdout
    return data


def config_json(layers, created="2024-05-01T12:00:00Z"):
    return json.dumps({
        "architecture": "amd64", "os": "linux", "created": created,
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{sha(x)}" for x in layers]},
    }).encode()


def docker_save(path, layers, tag="test/img:1"):
    """The legacy `docker save` layout: <id>/layer.tar, <config-digest>.json, manifest.json."""
    cfg = config_json(layers)
    cfg_name = f"{sha(cfg)}.json"
    members, paths = [], []
    for i, layer in enumerate(layers):
        lid = sha(f"layer{i}".encode() + layer)
        members += [d(lid), member(f"{lid}/VERSION", b"1.0"), member(f"{lid}/layer.tar", layer)]
        paths.append(f"{lid}/layer.tar")
    manifest = [{"Config": cfg_name, "RepoTags": [tag] if tag else None, "Layers": paths}]
    members += [member(cfg_name, cfg), member("manifest.json", json.dumps(manifest).encode())]
    Path(path).write_bytes(tar_bytes(members))
    return sha(cfg)


def oci_files(layers, ref="test/oci:2", how="gzip", index_ref=None):
    """An OCI image layout as {path: bytes}: blobs, manifest, config, index.json."""
    files = {"oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode()}
    descs = []
    for layer in layers:
        blob = compress(layer, how)
        files[f"blobs/sha256/{sha(blob)}"] = blob
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+" + how if how else "")
        descs.append({"mediaType": mt, "digest": f"sha256:{sha(blob)}", "size": len(blob)})
    cfg = config_json(layers)
    files[f"blobs/sha256/{sha(cfg)}"] = cfg
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{sha(cfg)}", "size": len(cfg)},
        "layers": descs}).encode()
    files[f"blobs/sha256/{sha(manifest)}"] = manifest
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": f"sha256:{sha(manifest)}", "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"}}
    if ref:
        desc["annotations"] = {"io.containerd.image.name": f"docker.io/{ref}",
                               "org.opencontainers.image.ref.name": ref.split(":")[-1]}
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode()
    return files, sha(cfg)


def write_dir(root, files):
    for name, data in files.items():
        p = Path(root) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def write_tar(path, files):
    Path(path).write_bytes(tar_bytes([member(n, b) for n, b in files.items()]))


def upper_layer():
    """Deletes, replaces, links and decorates what base_layer() holds."""
    return tar_bytes([
        d("etc"),
        member("etc/.wh.hostname"),                    # whiteout: gone
        d("opaque"), member("opaque/.wh..wh..opq"),    # opaque: old contents gone...
        member("opaque/new", b"new\n"),                # ...this layer's kept
        member("-early/x", b""),                       # sorts before .wh. names
        member("data/file", b"payload\n", mode=0o640, uid=1234, gid=5678,
               xattrs={"user.aio": "yes", "trusted.overlay.opaque": "y"}),
        hard("data/hard", "data/file"),
        sym("data/link", "file"),
        sym("data/abs", "/etc/passwd"),
        member("data/ping", b"#!/bin/sh\n", mode=0o755,
               xattrs={"security.capability": CAP_NET_RAW.decode("latin-1")}),
        member("data/big-owner", b"x", uid=100000, gid=200000),
        member("replaced-dir", b"now a file\n"),       # was a directory with children
    ])


def middle_layer():
    return tar_bytes([d("opaque"), member("opaque/old1", b"1"), d("opaque/sub"),
                      member("opaque/sub/old2", b"2"), d("replaced-dir"),
                      member("replaced-dir/child", b"c"), member("gone-later", b"g"),
                      member("etc/.wh.nothing-here")])


# ---- running ----------------------------------------------------------------------------------

def image(state, *args, timeout=300, **kw):
    return subprocess.run([str(AIO_RUN), "image", args[0], "--state-dir", str(state),
                           *map(str, args[1:])], capture_output=True, text=True,
                          timeout=timeout, **kw)


def store_listing(state):
    images = Path(state) / "images"
    out = set()
    if not images.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(images):
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = p.lstat()
            out.add((str(p.relative_to(images)), st.st_mode, st.st_size if not p.is_dir() else 0))
    return out


def inspect(state, ref):
    p = image(state, "inspect", ref)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


@pytest.fixture
def base(rootfs_dir):
    return base_layer(rootfs_dir)


@pytest.fixture
def work():
    d = Path(tempfile.mkdtemp(prefix="aio-image-", dir="/var/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_docker_save_layers_in_a_jail(aio, state_dir, base, work):
    layers = [base, middle_layer(), upper_layer()]
    cfg = docker_save(work / "img.tar", layers)
    p = image(state_dir, "import", work / "img.tar")
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"test/img:1 sha256:{cfg}\n"
    script = """
        set -e
        test ! -e /etc/hostname && echo hostname-gone
        test -e /etc/passwd && echo passwd-kept
        ls -A /opaque | tr '\\n' ' '; echo
        test ! -e /gone-later || echo gone-later-present
        cat /data/file
        stat -c '%a %u:%g %h' /data/file
        test "$(stat -c %i /data/file)" = "$(stat -c %i /data/hard)" && echo hard-linked
        readlink /data/link; readlink /data/abs
        cat /replaced-dir
        stat -c '%u:%g' /data/big-owner
    """
    r = aio.sh(script, "--image", "test/img:1")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:2] == ["hostname-gone", "passwd-kept"]
    assert lines[2].split() == ["new"]                 # opaque: old1 and sub/ gone
    assert "gone-later-present" in lines               # a later layer did not delete it
    i = lines.index("payload")
    assert lines[i + 1] == "640 1234:5678 2"
    assert lines[i + 2:i + 7] == ["hard-linked", "file", "/etc/passwd", "now a file",
                                  "65534:65534"]
    # xattrs, on the stored tree: capabilities and user.* kept, overlay's own names dropped
    root = Path(state_dir) / "images" / cfg / "rootfs"
    assert os.getxattr(root / "data/ping", "security.capability") == CAP_NET_RAW
    assert os.getxattr(root / "data/file", "user.aio") == b"yes"
    assert "trusted.overlay.opaque" not in os.listxattr(root / "data/file")
    assert (root / "-early/x").exists()


def test_oci_layout_dir_and_tar_are_one_image(aio, state_dir, base, work):
    files, cfg = oci_files([base, upper_layer()], how="zstd")
    write_dir(work / "layout", files)
    write_tar(work / "layout.tar", files)
    p = image(state_dir, "import", work / "layout")
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"test/oci:2 sha256:{cfg}\n"
    p = image(state_dir, "import", "--name", "again:1", work / "layout.tar")
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"again:1 sha256:{cfg}\n"
    assert "already in the store" in p.stderr
    info = inspect(state_dir, "again:1")
    assert info["digest"] == f"sha256:{cfg}"
    assert sorted(info["names"]) == ["again:1", "test/oci:2"]
    assert info["format"] == "oci" and info["created"] == "2024-05-01T12:00:00Z"
    assert info["layers"] == [f"sha256:{sha(base)}", f"sha256:{sha(upper_layer())}"]
    assert info["size"] > 0 and info["in_use"] is False
    ls = image(state_dir, "ls")
    assert ls.returncode == 0 and "test/oci:2" in ls.stdout and cfg[:12] in ls.stdout
    # --rootfs NAME, a digest prefix, and NAME without its tag (:latest) all select it
    r = aio.sh("cat /data/file", "--rootfs", "test/oci:2")
    assert r.returncode == 0 and r.stdout == "payload\n", r.stderr
    r = aio.sh("cat /data/file", "--image", cfg[:12])
    assert r.returncode == 0 and r.stdout == "payload\n", r.stderr
    r = aio.sh("true", "--image", "nosuch:1")
    assert r.returncode == 125 and "no image 'nosuch:1'" in r.stderr


def test_gzip_layers_and_rootfs_tarball(aio, state_dir, base, work):
    files, cfg = oci_files([base, upper_layer()], ref="gz:1", how="gzip")
    write_tar(work / "gz.tar", files)
    p = image(state_dir, "import", work / "gz.tar")
    assert p.returncode == 0, p.stderr
    (work / "plain.tar.gz").write_bytes(gzip.compress(base, compresslevel=1))
    p = image(state_dir, "import", work / "plain.tar.gz")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("plain sha256:")
    assert inspect(state_dir, "plain")["format"] == "rootfs"
    r = aio.sh("test ! -e /etc/hostname && cat /opaque/new", "--image", "gz:1")
    assert r.returncode == 0 and r.stdout == "new\n", r.stderr


def test_rootfs_option_takes_an_image_archive(aio, state_dir, base, work):
    docker_save(work / "img.tar", [base, upper_layer()])
    r = aio.sh("cat /data/file", "--rootfs", str(work / "img.tar"))
    assert r.returncode == 0 and r.stdout == "payload\n", r.stderr
    # unnamed, so prune removes it once no sandbox uses it
    assert image(state_dir, "ls", "-q").stdout.startswith("sha256:")
    p = image(state_dir, "prune")
    assert p.returncode == 0 and "1 image(s) removed" in p.stdout, p.stderr


# ---- hostile archives -------------------------------------------------------------------------

def sparse_member(name, realsize):
    info = tarfile.TarInfo(f"GNUSparseFile.0/{name}")
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                        "GNU.sparse.name": name, "GNU.sparse.realsize": str(realsize)}
    data = b"0\n".ljust(512, b"\0")  # the map: no data blocks at all
    info.size = len(data)
    return info, data


HOSTILE = {
    "traversal": ([member("../escape", b"x")], "entry '../escape'"),
    "absolute": ([member("/abs", b"x")], "entry '/abs'"),
    "symlink-written-through": ([sym("esc", "/tmp"), member("esc/pwned", b"x")],
                                "entry 'esc/pwned'"),
    "device": ([member("dev/evil", kind=tarfile.CHRTYPE)], "entry 'dev/evil'"),
    "fifo": ([member("fifo", kind=tarfile.FIFOTYPE)], "entry 'fifo'"),
    "whiteout-dotdot": ([member("../.wh.x")], "entry '../.wh.x'"),
    "whiteout-of-dotdot": ([member("etc/.wh...")], "entry 'etc/.wh...'"),
    "whiteout-through-symlink": ([sym("lnk", "etc"), member("lnk/.wh.passwd")],
                                 "entry 'lnk/.wh.passwd'"),
    "huge-sparse": ([sparse_member("huge", 100 << 30)], "entry 'huge'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_layers_refused_store_unchanged(state_dir, base, work, case):
    need_root()
    docker_save(work / "ok.tar", [base], tag="ok:1")
    assert image(state_dir, "import", work / "ok.tar").returncode == 0
    before = store_listing(state_dir)
    members, want = HOSTILE[case]
    for fmt, make in (("docker", "docker"), ("oci", "oci")):
        layers = [base, tar_bytes(members)]
        if make == "docker":
            docker_save(work / "bad.tar", layers, tag="bad:1")
        else:
            write_tar(work / "bad.tar", oci_files(layers, ref="bad:1")[0])
        p = image(state_dir, "import", work / "bad.tar")
        assert p.returncode == 125, (fmt, p.stdout, p.stderr)
        assert want in p.stderr, (fmt, p.stderr)
        assert "layer 2" in p.stderr, (fmt, p.stderr)
        assert store_listing(state_dir) == before, fmt


def test_tampered_layer_refused(state_dir, base, work):
    need_root()
    files, _ = oci_files([base, upper_layer()], how=None)
    blob = next(k for k, v in files.items() if v == upper_layer())
    files[blob] = upper_layer().replace(b"payload", b"PAYLOAD")
    write_dir(work / "layout", files)
    p = image(state_dir, "import", work / "layout")
    assert p.returncode == 125 and "does not match its digest" in p.stderr, p.stderr
    assert store_listing(state_dir) - {x for x in store_listing(state_dir)
                                       if x[0] == "by-file"} == set()


def million_empty_files():
    """A tar of 1,000,000 empty files (raw ustar headers: tarfile is too slow), gzipped."""
    proto = bytearray(tarfile.TarInfo("m/0000000").tobuf(format=tarfile.USTAR_FORMAT))
    proto[148:156] = b" " * 8
    base_sum = sum(proto) - sum(b"0000000")
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as z:
        chunk = []
        for i in range(1_000_000):
            name = b"%07d" % i
            proto[2:9] = name
            proto[148:156] = b"%06o\0 " % (base_sum + sum(name))
            chunk.append(bytes(proto))
            if len(chunk) == 10000:
                z.write(b"".join(chunk))
                chunk = []
        z.write(b"\0" * 1024)
    return out.getvalue()


def test_million_empty_files_refused(state_dir, base, work):
    need_root()
    files, _ = oci_files([base], ref="small:1")
    write_tar(work / "ok.tar", files)
    assert image(state_dir, "import", work / "ok.tar").returncode == 0
    before = store_listing(state_dir)
    layer = million_empty_files()
    blob = f"blobs/sha256/{sha(layer)}"
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', blob: layer}
    raw = gzip.decompress(layer)
    cfg = json.dumps({"rootfs": {"type": "layers",
                                 "diff_ids": [f"sha256:{sha(raw)}"]}}).encode()
    files[f"blobs/sha256/{sha(cfg)}"] = cfg
    man = json.dumps({"schemaVersion": 2, "config": {"digest": f"sha256:{sha(cfg)}"},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  "digest": f"sha256:{sha(layer)}"}]}).encode()
    files[f"blobs/sha256/{sha(man)}"] = man
    files["index.json"] = json.dumps({"manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": f"sha256:{sha(man)}"}]}).encode()
    write_dir(work / "million", files)
    t = time.monotonic()
    p = image(state_dir, "import", work / "million", timeout=900)
    print(f"\nmillion empty files refused after {time.monotonic() - t:.1f} s")
    assert p.returncode == 125, p.stderr
    assert "more than max_entries (500000) entries" in p.stderr
    assert "entry 'm/0500000'" in p.stderr, p.stderr
    assert store_listing(state_dir) == before


# ---- concurrency, rm and prune ----------------------------------------------------------------

def test_concurrent_imports_of_one_image(state_dir, base, work):
    need_root()
    cfg = docker_save(work / "img.tar", [base, upper_layer()])
    copies = []
    for i in range(4):  # other files: no by-file shortcut, four real unpacks racing
        shutil.copy(work / "img.tar", work / f"img{i}.tar")
        copies.append(work / f"img{i}.tar")
    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(lambda f: image(state_dir, "import", f), copies))
    for p in results:
        assert p.returncode == 0, p.stderr
        assert p.stdout == f"test/img:1 sha256:{cfg}\n"
    entries = sorted(x.name for x in (Path(state_dir) / "images").iterdir())
    assert entries == sorted([cfg, "by-file", "names"]), entries
    assert (Path(state_dir) / "images" / cfg / "rootfs/data/file").read_text() == "payload\n"


def test_rm_and_prune_spare_a_running_sandbox(aio, state_dir, base, work):
    docker_save(work / "a.tar", [base, upper_layer()], tag="busy:1")
    docker_save(work / "b.tar", [base], tag="idle:1")
    assert image(state_dir, "import", work / "a.tar").returncode == 0
    assert image(state_dir, "import", work / "b.tar").returncode == 0
    busy = inspect(state_dir, "busy:1")["digest"][7:]
    proc = aio.popen("--image", "busy:1", "--", "/bin/sh", "-c", "echo up; sleep 60")
    try:
        assert proc.stdout.readline() == "up\n"
        assert inspect(state_dir, "busy:1")["in_use"] is True
        p = image(state_dir, "rm", "busy:1")
        assert p.returncode == 125 and "used by a running sandbox" in p.stderr, p.stderr
        p = image(state_dir, "prune", "--all")
        assert p.returncode == 0, p.stderr
        assert "1 image(s) removed" in p.stdout          # idle:1 only
        assert (Path(state_dir) / "images" / busy / "rootfs").is_dir()
        assert image(state_dir, "ls", "-q").stdout == "busy:1\n"
        # the sandbox still reads its image
        r = subprocess.run(["ls", str(Path(state_dir) / "images" / busy / "rootfs/data")],
                           capture_output=True, text=True)
        assert "file" in r.stdout
    finally:
        proc.kill()
        proc.wait()
    for _ in range(50):  # the launcher's cleanup releases the lock
        if not inspect(state_dir, "busy:1")["in_use"]:
            break
        time.sleep(0.1)
    p = image(state_dir, "rm", "busy:1")
    assert p.returncode == 0, p.stderr
    assert image(state_dir, "ls", "-q").stdout == ""
    assert sorted(x.name for x in (Path(state_dir) / "images").iterdir()
                  if x.name.startswith(".tmp")) == []


def test_rm_a_name_keeps_an_image_with_another(state_dir, base, work):
    need_root()
    cfg = docker_save(work / "img.tar", [base], tag="one:1")
    assert image(state_dir, "import", work / "img.tar").returncode == 0
    assert image(state_dir, "import", "--name", "two:2", work / "img.tar").returncode == 0
    assert image(state_dir, "rm", "one:1").returncode == 0
    assert inspect(state_dir, "two:2")["names"] == ["two:2"]
    assert image(state_dir, "rm", f"sha256:{cfg}").returncode == 0
    assert image(state_dir, "ls", "-q").stdout == ""
    p = image(state_dir, "rm", "two:2")
    assert p.returncode == 125 and "no image 'two:2'" in p.stderr


def test_usage_errors(state_dir, work):
    need_root()
    for args in (["import"], ["import", "--name", "../x", "f"], ["inspect"], ["rm"],
                 ["frob"], ["ls", "--bogus"]):
        p = image(state_dir, *args)
        assert p.returncode == 125, args
        assert p.stderr.strip(), args
    p = image(state_dir, "import", work)
    assert p.returncode == 125 and "OCI image layout" in p.stderr


# ---- throughput -------------------------------------------------------------------------------

def test_unpack_throughput_against_tar(state_dir, work):
    """Reported, not asserted: aio-unpack against `tar -x` of the same tarball."""
    need_root()
    src = Path("/usr/lib/python3")
    if not src.is_dir():
        pytest.skip("no /usr/lib/python3 to build a tarball from")
    tarball = work / "bench.tar.gz"
    subprocess.run(["tar", "-C", str(src.parent), "-czf", str(tarball), src.name], check=True)
    out = work / "tar-x"
    out.mkdir()
    subprocess.run(["sync"])
    t = time.monotonic()
    subprocess.run(["tar", "-C", str(out), "-xzf", str(tarball)], check=True)
    tar_s = time.monotonic() - t
    t = time.monotonic()
    p = subprocess.run([str(AIO_UNPACK), "--state-dir", str(state_dir), str(tarball)],
                       capture_output=True, text=True)
    ours_s = time.monotonic() - t
    assert p.returncode == 0, p.stderr
    mib = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    print(f"\nunpack {mib:.0f} MiB ({tarball.stat().st_size / 2**20:.0f} MiB gzip): "
          f"tar -x {tar_s:.2f} s, aio-unpack {ours_s:.2f} s, ratio {tar_s / ours_s:.2f}x")


def test_import_progress_on_a_terminal(state_dir, base, work):
    need_root()
    docker_save(work / "img.tar", [base, upper_layer()])
    cmd = f"{AIO_RUN} image import --state-dir {state_dir} {work / 'img.tar'}"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stdout
    assert b"\runpacking img.tar: " in p.stdout             # the archive itself
    assert b"\runpacking img.tar layer 1/2: " in p.stdout   # then each layer
    assert b"\runpacking img.tar layer 2/2: " in p.stdout
    assert b"test/img:1 sha256:" in p.stdout
