# rootfs/chroot-steps.sh: the steps of build.sh that work inside the new tree ($ROOT). Sourced
# by build.sh, which sets HERE (its copy of the inputs), ROOT, WORK, CACHE, SUITE, ARCH, DIGEST,
# NAME, TARBALL and MANIFEST.
# shellcheck shell=bash

# The package names of packages.txt, one a line.
packages() {
        sed -e 's/#.*//' -e 's/[[:space:]]//g' "$HERE/packages.txt" | grep -v '^$'
}

in_root() {
        chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
                LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

# Removes from $ROOT what the path-exclude patterns of dpkg-excludes name (debootstrap unpacked
# its packages before the patterns were in place), keeping the path-include ones.
apply_excludes() {
        local kind pat
        while IFS='=' read -r kind pat; do
                [ "$kind" = path-exclude ] || continue
                # pat is /dir/* or /dir/x/*/doc/*: delete below the matching directories
                find "$ROOT" -xdev -path "$ROOT${pat%/\*}" -prune -print0 2>/dev/null |
                        while IFS= read -r -d '' d; do
                                find "$d" -mindepth 1 \( -type f -o -type l \) \
                                        ! -path "$ROOT/usr/share/doc/*/copyright" \
                                        ! -path "$ROOT/usr/share/locale/locale.alias" -delete
                                find "$d" -mindepth 1 -depth -type d -empty -delete
                        done
        done < <(grep -E '^path-exclude=' "$HERE/dpkg-excludes")
}

setup_chroot() {
        install -m 0644 "$HERE/dpkg-excludes" "$ROOT/etc/dpkg/dpkg.cfg.d/90-aio-excludes"
        apply_excludes
        install -m 0644 "$WORK/sources.list" "$ROOT/etc/apt/sources.list"
        # No service starts during the build (there is no init in a chroot).
        printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
        chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
        cat >"$ROOT/etc/apt/apt.conf.d/90-aio" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Dpkg::Use-Pty "false";
CONF
        # Downloads go to the cache, kept across builds (an interrupted build downloads nothing
        # twice); they are not in the tree when it is packed.
        mount --bind "$CACHE/apt" "$ROOT/var/cache/apt/archives"
        mount -t proc proc "$ROOT/proc"
}

install_packages() {
        local -a pkgs
        mapfile -t pkgs < <(packages)
        in_root apt-get update -q >&2
        in_root apt-get -y -q dist-upgrade >&2
        in_root apt-get -y -q install "${pkgs[@]}" >&2
}

add_layout() {
        in_root groupadd --gid 1000 gem
        in_root useradd --uid 1000 --gid 1000 --create-home --home-dir /home/gem \
                --shell /bin/bash gem
        mkdir -p "$ROOT/opt/aio/bin"
        if [ -d "$HERE/files" ]; then
                # --remove-destination: never write through a symlink the tree holds
                cp -R --remove-destination --no-preserve=ownership "$HERE/files/." "$ROOT/"
        fi
}

clean_tree() {
        umount "$ROOT/proc"
        umount "$ROOT/var/cache/apt/archives"
        rm -f "$ROOT/usr/sbin/policy-rc.d"
        in_root apt-get clean
        rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/apt/*.bin \
                "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/dpkg/*-old \
                "$ROOT"/var/cache/man "$ROOT"/var/cache/fontconfig/* "$ROOT"/root/.cache
        find "$ROOT/var/log" -type f -delete
        find "$ROOT/tmp" "$ROOT/var/tmp" "$ROOT/run" -mindepth 1 -delete
        apply_excludes
        # The Python packages' own test suites (pandas, numpy, sympy...: ~100 MB), never imported.
        find "$ROOT/usr/lib/python3/dist-packages" -mindepth 2 -type d -name tests -prune \
                -exec rm -rf {} +
        # Each machine (each sandbox) gets its own id.
        : >"$ROOT/etc/machine-id"
        rm -f "$ROOT/var/lib/dbus/machine-id"
        # The image store refuses device nodes, fifos and sockets: /dev's are not packed, and
        # none may be elsewhere.
        local special
        special=$(find "$ROOT" -xdev \( -path "$ROOT/dev" -o -path "$ROOT/proc" -o \
                -path "$ROOT/sys" \) -prune -o \( -type b -o -type c -o -type p -o -type s \) \
                -print)
        [ -z "$special" ] || die "special files in the tree: $special"
}

pack_tree() {
        local tree
        tree=$(du -sbx --apparent-size "$ROOT" | cut -f1)
        echo "    tree: $((tree / 1048576)) MiB" >&2
        tar -C "$ROOT" --numeric-owner --xattrs --xattrs-include=security.capability \
                --sort=name --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
                -cf - . | zstd -T0 -10 -q -o "$WORK/out.tar.zst"
        zstd -dc "$WORK/out.tar.zst" | wc -c >"$WORK/tar-bytes"
        echo "    tar: $(($(cat "$WORK/tar-bytes") / 1048576)) MiB," \
                "zstd: $(($(stat -c %s "$WORK/out.tar.zst") / 1048576)) MiB" >&2
}

write_manifest() {
        # shellcheck disable=SC2016 # dpkg-query formats, not shell expansions
        in_root dpkg-query -W -f '${Package}\t${Version}\t${Architecture}\n' >"$WORK/packages"
        python3 "$HERE/manifest.py" --out "$WORK/out.json" --tarball "$WORK/out.tar.zst" \
                --name "$NAME.tar.zst" --digest "$DIGEST" --suite "$SUITE" --arch "$ARCH" \
                --sources "$WORK/sources.list" --packages "$WORK/packages" \
                --tar-bytes "$(cat "$WORK/tar-bytes")" --seconds $((SECONDS - START)) \
                --inputs "$HERE" --requested <(packages)
}

# Renames the outputs into place (the manifest last: it marks the build complete), points the
# default.* symlinks at them and removes the images of older inputs.
publish() {
        local old
        mv -f "$WORK/out.tar.zst" "$TARBALL"
        mv -f "$WORK/out.json" "$MANIFEST"
        ln -sfn "$NAME.tar.zst" "$CACHE/.default.tar.zst.new"
        mv -Tf "$CACHE/.default.tar.zst.new" "$CACHE/default.tar.zst"
        ln -sfn "$NAME.json" "$CACHE/.default.json.new"
        mv -Tf "$CACHE/.default.json.new" "$CACHE/default.json"
        for old in "$CACHE"/default-*.tar.zst "$CACHE"/default-*.json; do
                case "$old" in "$TARBALL" | "$MANIFEST") continue ;; esac
                [ -e "$old" ] && echo "rootfs: removing the older image $old" >&2
                rm -f "$old"
        done
}
