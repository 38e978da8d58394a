#!/usr/bin/env bash
# make bench, issue 5's figures for the default image (rootfs/): its size, uncompressed and
# compressed, from its manifest; unpacking it into a fresh store with aio-unpack against
# `tar --zstd -x` of the same tarball (median of BENCH_IMAGE_RUNS, default 3, alternating);
# and a second sandbox from it performing no unpack. Skipped, with a line saying so, when the
# image is not built (make rootfs). Results in $1/image.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: image.sh OUTDIR}
build=${BUILD:-build}
runs=${BENCH_IMAGE_RUNS:-3}
cache=${AIO_ROOTFS_CACHE:-/var/cache/aio-rootfs}
tarball=$cache/default.tar.zst
manifest=$cache/default.json
if [ ! -e "$tarball" ] || [ ! -e "$manifest" ]; then
        echo "bench: image: the default image is not built (make rootfs): skipped"
        exit 0
fi
mkdir -p "$out"
work=$(mktemp -d /var/tmp/aio-bench-image.XXXXXX)
chmod 711 "$work"
trap 'rm -rf "$work"' EXIT
ms() { date +%s%N | cut -c1-13; }
aio_times=() tar_times=()
time_aio() {
        local t
        t=$(ms)
        "$build/bin/aio-run" run --state-dir "$work/state" --rootfs "$tarball" -- /bin/true
        aio_times+=($(($(ms) - t)))
}
time_tar() {
        local t
        t=$(ms)
        tar --zstd -xf "$tarball" -C "$work/tar"
        tar_times+=($(($(ms) - t)))
}
# Each round starts from deleted trees, synced; the order alternates, because ext4 makes the
# first one to create inodes after a mass deletion pay for it (recently_deleted()).
for i in $(seq "$runs"); do
        rm -rf "$work/state" "$work/tar"
        mkdir -p "$work/state" "$work/tar"
        sync
        if [ $((i % 2)) -eq 1 ]; then time_aio; time_tar; else time_tar; time_aio; fi
done
# a second sandbox from the same image: no unpack (the store's entry is reused); after a
# sync, so that the writeback of the unpacks above is not what is measured; median of 3
sync
seconds=()
for i in 1 2 3; do
        t=$(ms)
        "$build/bin/aio-run" run --state-dir "$work/state" --rootfs "$tarball" -- /bin/true
        seconds+=($(($(ms) - t)))
done
second=$(printf '%s\n' "${seconds[@]}" | sort -n | sed -n 2p)
python3 - "$manifest" "$out/image.json" "$second" "${aio_times[*]}" "${tar_times[*]}" <<'PY'
import json, statistics, sys
m = json.load(open(sys.argv[1]))
second = int(sys.argv[3])
aio = statistics.median(int(x) for x in sys.argv[4].split())
tar = statistics.median(int(x) for x in sys.argv[5].split())
r = {"size_uncompressed_mib": round(m["size_uncompressed"] / 2**20),
     "size_compressed_mib": round(m["size_compressed"] / 2**20),
     "packages": len(m.get("packages", [])),
     "first_start_ms": aio, "tar_x_ms": tar, "throughput_vs_tar": round(tar / aio, 2),
     "second_start_ms": second}
json.dump(r, open(sys.argv[2], "w"), indent=1)
print("bench: default image: %d MiB uncompressed (target < 1024: %s), %d MiB zstd, %d packages"
      % (r["size_uncompressed_mib"], "met" if r["size_uncompressed_mib"] < 1024 else "MISSED",
         r["size_compressed_mib"], r["packages"]))
print("bench: first start (unpack) %.1f s vs tar --zstd -x %.1f s: %.2fx (target >= 1.0: %s); "
      "second start %d ms (no unpack)" % (aio / 1000, tar / 1000, r["throughput_vs_tar"],
                                         "met" if r["throughput_vs_tar"] >= 1.0 else "MISSED",
                                         second))
PY
