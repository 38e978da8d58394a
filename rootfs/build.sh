#!/bin/bash
# rootfs/build.sh: builds the default aio image, a Debian root filesystem, with debootstrap from
# the Debian mirror the host's apt sources name (rootfs/host-sources.py; never a hard-coded one).
#
# Inputs (all in rootfs/): suite, packages.txt, dpkg-excludes, files/ (copied over the tree),
# this script, chroot-steps.sh, host-sources.py and manifest.py. Their digest names the output,
# so a rebuild with unchanged inputs is a no-op:
#   $CACHE/default-<digest>.tar.zst   the root filesystem (no device nodes, fifos, sockets,
#                                     /proc, /sys, /run contents, apt caches or documentation)
#   $CACHE/default-<digest>.json      its manifest: packages and versions, sha256, sizes, inputs
#   $CACHE/default.tar.zst, .json     symlinks to the newest build
# CACHE is $AIO_ROOTFS_CACHE, else /var/cache/aio-rootfs (root) or ~/.cache/aio-rootfs.
# Downloaded .debs are kept in $CACHE/debs and $CACHE/apt: an interrupted build restarts from
# scratch in a fresh temporary directory without downloading again; the output appears only
# when complete (renamed into place, the manifest last); stale temporary directories are
# removed by the next build.
#
# Usage: build.sh [--force]      build unless up to date (--force: rebuild anyway)
#        build.sh --print-path   print the tarball path for the current inputs (built or not)
#        build.sh --find         print the newest existing image (current inputs first); exit 1
#                                when there is none
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -n "${AIO_ROOTFS_CACHE:-}" ]; then
        CACHE=$AIO_ROOTFS_CACHE
elif [ "$(id -u)" = 0 ]; then
        CACHE=/var/cache/aio-rootfs
else
        CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/aio-rootfs
fi
SUITE=$(tr -d ' \n' <"$HERE/suite")
ARCH=$(dpkg --print-architecture)
STEPS=8
STEP=0
START=$SECONDS
WORK=

die() { echo "build.sh: $*" >&2; exit 1; }
step() {
        STEP=$((STEP + 1))
        printf '\n==> [%d/%d] %s  (%ds)\n' "$STEP" "$STEPS" "$*" $((SECONDS - START)) >&2
}

INPUTS=(build.sh chroot-steps.sh host-sources.py manifest.py suite packages.txt dpkg-excludes
        files)

# The digest of every input in directory $1, in a fixed order: the names and contents of the
# files, which of them are executable (what git keeps of a mode), and the architecture.
inputs_digest() {
        (
                cd "$1"
                echo "arch $ARCH"
                find "${INPUTS[@]}" \( -type f -o -type l \) -print0 | LC_ALL=C sort -z |
                        xargs -0 sha256sum
                find "${INPUTS[@]}" -type f -perm -u+x | LC_ALL=C sort
        ) | sha256sum | cut -c1-64
}

# Output names for the inputs in directory $1.
set_names() {
        DIGEST=$(inputs_digest "$1")
        NAME=default-${DIGEST:0:16}
        TARBALL=$CACHE/$NAME.tar.zst
        MANIFEST=$CACHE/$NAME.json
}
set_names "$HERE"

up_to_date() {
        [ -f "$TARBALL" ] && [ -f "$MANIFEST" ] &&
                python3 - "$MANIFEST" "$TARBALL" "$DIGEST" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
sys.exit(0 if m.get("inputs_digest") == sys.argv[3]
         and m.get("size_compressed") == os.path.getsize(sys.argv[2]) else 1)
PY
}

case "${1:-}" in
--print-path)
        echo "$TARBALL"
        exit 0
        ;;
--find)
        if up_to_date; then
                echo "$TARBALL"
        elif [ -e "$CACHE/default.tar.zst" ]; then
                readlink -f "$CACHE/default.tar.zst"
        else
                exit 1
        fi
        exit 0
        ;;
--force | "") ;;
*) die "unknown option '$1' (build.sh [--force|--print-path|--find])" ;;
esac

if [ "${1:-}" != --force ] && up_to_date; then
        echo "rootfs: up to date: $TARBALL (inputs $DIGEST)" >&2
        exit 0
fi
[ "$(id -u)" = 0 ] || die "debootstrap needs root (run make rootfs as root)"
command -v debootstrap >/dev/null || {
        echo "rootfs: installing debootstrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 ||
                die "apt-get install debootstrap failed"
}
command -v zstd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q zstd >&2

mkdir -p "$CACHE/debs" "$CACHE/apt/partial"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
        echo "rootfs: another build holds $CACHE/.lock; waiting" >&2
        flock 9
fi
if [ "${1:-}" != --force ] && up_to_date; then
        echo "rootfs: up to date (built meanwhile): $TARBALL" >&2
        exit 0
fi

# Unmounts whatever is mounted below $1 (deepest first).
unmount_below() {
        local m
        awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
                while read -r m; do umount -l "$m" || true; done
}
remove_tree() {
        unmount_below "$1"
        rm -rf --one-file-system "$1"
}
cleanup() {
        local rc=$?
        if [ -n "$WORK" ] && [ -d "$WORK" ]; then
                remove_tree "$WORK"
        fi
        [ $rc = 0 ] || echo "rootfs: build failed or interrupted (exit $rc); nothing was" \
                "published; the next make rootfs starts over (downloads are kept)" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# We hold the lock: any temporary directory left is a dead build's.
for d in "$CACHE"/.build-*; do
        [ -e "$d" ] || continue
        echo "rootfs: removing the stale build directory $d" >&2
        remove_tree "$d"
done
WORK=$(mktemp -d "$CACHE/.build-XXXXXX")
ROOT=$WORK/root
# The build reads a copy of its inputs, named after the copy: editing rootfs/ meanwhile cannot
# make a tarball whose name or manifest says otherwise.
mkdir "$WORK/inputs"
(cd "$HERE" && cp -R --preserve=mode "${INPUTS[@]}" "$WORK/inputs/")
HERE=$WORK/inputs
set_names "$HERE"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

step "apt sources of the host for $SUITE"
"$HERE/host-sources.py" "$SUITE" >"$WORK/sources.list"
sed 's/^/    /' "$WORK/sources.list" >&2
MIRROR=$(awk 'NR == 1 { print $2 }' "$WORK/sources.list")

step "debootstrap $SUITE ($ARCH, minbase) from $MIRROR"
debootstrap --variant=minbase --arch="$ARCH" --cache-dir="$CACHE/debs" \
        "$SUITE" "$ROOT" "$MIRROR" >&2 || die "debootstrap failed (see above)"

# shellcheck source=rootfs/chroot-steps.sh
. "$HERE/chroot-steps.sh"

step "apt configuration: excludes, sources, no daemons"
setup_chroot
step "apt-get install ($(packages | wc -l) packages and their dependencies)"
install_packages
step "user gem and the layout files"
add_layout
step "clean-up: apt caches, logs, documentation, special files"
clean_tree
step "tar + zstd"
pack_tree
step "manifest"
write_manifest
publish
echo "rootfs: built $TARBALL in $((SECONDS - START))s" >&2
