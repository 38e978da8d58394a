#!/usr/bin/python3
"""Writes the manifest of a built image (JSON): what went in (the inputs' digest and files, the
apt sources), what came out (every package with its version, the tarball's sha256 and sizes).
Called by build.sh; see rootfs/README.md for the fields."""
import argparse
import hashlib
import json
import os
import time


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    for opt in ("out", "tarball", "name", "digest", "suite", "arch", "sources", "packages",
                "inputs", "requested"):
        ap.add_argument("--" + opt, required=True)
    ap.add_argument("--tar-bytes", type=int, required=True)
    ap.add_argument("--seconds", type=int, required=True)
    a = ap.parse_args()

    packages = {}
    with open(a.packages, encoding="utf-8") as f:
        for line in f:
            name, version, arch = line.rstrip("\n").split("\t")
            packages[name] = {"version": version, "arch": arch}
    with open(a.requested, encoding="utf-8") as f:
        requested = [line.strip() for line in f if line.strip()]
    missing = [p for p in requested if p not in packages]
    if missing:
        raise SystemExit("manifest.py: requested packages not installed: " + " ".join(missing))
    inputs = {}
    for top, dirs, files in os.walk(a.inputs):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(top, name)
            inputs[os.path.relpath(path, a.inputs)] = sha256_file(path)
    with open(a.sources, encoding="utf-8") as f:
        sources = [line.strip() for line in f if line.strip()]

    manifest = {
        "name": "default",
        "tarball": a.name,
        "format": "tar+zstd",
        "sha256": sha256_file(a.tarball),
        "size_compressed": os.path.getsize(a.tarball),
        "size_uncompressed": a.tar_bytes,
        "inputs_digest": a.digest,
        "inputs": inputs,
        "suite": a.suite,
        "arch": a.arch,
        "apt_sources": sources,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": a.seconds,
        "requested": requested,
        "packages": packages,
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
