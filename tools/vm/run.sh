#!/usr/bin/env bash
# Runs tests/vm/cases/* inside a real Debian kernel under qemu, with cgroup v2 only.
#
#   tools/vm/run.sh            (make vm)
#
# 1. Kernel: the package `apt-cache depends linux-image-amd64` names, fetched once with
#    `apt-get download` and unpacked with `dpkg -x` into the cache ($AIO_VM_CACHE, default
#    /var/cache/aio-vm when writable, else build/vm/cache); reruns reuse it without apt.
# 2. Programs: tests/vm/cgtest.c is compiled -static with runtime/cgroup*.c and runtime/common/*.c.
# 3. Initramfs: busybox-static, tests/vm/init as /init, every binary listed in tests/vm/binaries
#    in /aio/bin with its shared libraries (ldd), tests/vm/cases/* in /vmtests; cpio + gzip.
# 4. Boot: qemu-system-x86_64 (TCG, no KVM), serial console to build/vm/console.log, bounded
#    by $AIO_VM_TIMEOUT seconds (default 170).
# 5. Verdicts: the "VMTEST PASS|FAIL" lines of the console; a run without the closing
#    "VMTEST DONE" line counts as one more failure. Prints "vm: N passed, M failed" and exits
#    non-zero unless every test passed (and at least one ran).
#
# Environment: BUILD (default build), CC (default gcc), AIO_VM_CACHE, AIO_VM_TIMEOUT,
# AIO_VM_MEM (MiB, default 512), AIO_VM_APPEND (extra kernel arguments), AIO_VM_VERBOSE=1
# (stream the console while it runs).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
out=$top/${BUILD:-build}/vm
cc=${CC:-gcc}
timeout_s=${AIO_VM_TIMEOUT:-170}
mem=${AIO_VM_MEM:-512}
append="console=ttyS0 cgroup_no_v1=all panic=-1 quiet ${AIO_VM_APPEND:-}"

die() {
        echo "vm: $*" >&2
        echo "vm: 0 passed, 1 failed"
        exit 1
}

need() {
        command -v "$1" >/dev/null 2>&1 || die "$1 not found (make deps installs $2)"
}

pick_cache() {
        local c=${AIO_VM_CACHE:-/var/cache/aio-vm}
        if mkdir -p "$c" 2>/dev/null && [ -w "$c" ]; then
                cache=$c
        else
                cache=$out/cache
                mkdir -p "$cache"
        fi
}

kernel_package() {
        apt-cache depends linux-image-amd64 2>/dev/null |
                awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Sets $vmlinuz: the cached kernel of the package apt names now, fetched if missing.
kernel_fetch() {
        local pkg kdir
        pkg=$(kernel_package)
        if [ -z "$pkg" ] && [ "$(id -u)" -eq 0 ]; then
                apt-get update -qq >/dev/null 2>&1 || true
                pkg=$(kernel_package)
        fi
        if [ -z "$pkg" ]; then
                # No package lists: fall back to the newest kernel already cached.
                kdir=$(find "$cache" -maxdepth 2 -name .unpacked -printf '%h\n' 2>/dev/null |
                        sort -V | tail -n 1)
                [ -n "$kdir" ] || die "apt-cache does not know linux-image-amd64 (apt-get update?)"
        else
                kdir=$cache/$pkg
        fi
        if [ ! -f "$kdir/.unpacked" ]; then
                echo "vm: fetching $pkg into $cache"
                (
                        cd "$cache"
                        flock 9
                        if [ ! -f "$kdir/.unpacked" ]; then
                                rm -f "${pkg}"_*.deb
                                if [ "$(id -u)" -eq 0 ]; then
                                        apt-get download -q -o APT::Sandbox::User=root "$pkg" >/dev/null
                                else
                                        apt-get download -q "$pkg" >/dev/null
                                fi
                                rm -rf "$kdir"
                                dpkg -x "${pkg}"_*.deb "$kdir"
                                rm -f "${pkg}"_*.deb
                                touch "$kdir/.unpacked"
                        fi
                ) 9>"$cache/.lock"
        fi
        vmlinuz=$(find "$kdir/boot" -name 'vmlinuz-*' | sort | head -n 1)
        overlay_ko=$(find "$kdir/lib/modules" -name 'overlay.ko' | head -n 1)
        [ -n "$vmlinuz" ] || die "no vmlinuz in $kdir"
}

build_programs() {
        local warn=(-Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes
                -Wmissing-prototypes -Wmissing-declarations -Wvla -Wimplicit-fallthrough
                -Wnull-dereference -Wwrite-strings -Wundef)
        mkdir -p "$out"
        "$cc" -std=gnu11 -O2 "${warn[@]}" -D_GNU_SOURCE -iquote runtime -iquote . -iquote "${BUILD:-build}/gen" -static \
                -o "$out/cgtest" tests/vm/cgtest.c runtime/cgroup.c runtime/cgroup-host.c runtime/common/*.c -lcap
}

# Copies $1 to $2 inside the stage, and the shared libraries ldd finds for it (same paths).
stage_binary() {
        local src=$1 dst=$2 lib
        mkdir -p "$stage$(dirname "$dst")"
        cp -L "$src" "$stage$dst"
        { ldd "$src" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
                while read -r lib; do
                        [ -e "$stage$lib" ] && continue
                        mkdir -p "$stage$(dirname "$lib")"
                        cp -L "$lib" "$stage$lib"
                done
}

build_initramfs() {
        local line path optional
        stage=$out/initramfs
        rm -rf "$stage"
        mkdir -p "$stage"/{bin,dev,proc,sys,tmp,etc,aio/bin,vmtests}
        cp /bin/busybox "$stage/bin/busybox"
        install -m 0755 tests/vm/init "$stage/init"
        while IFS= read -r line || [ -n "$line" ]; do
                line=${line%%#*}
                line=$(echo "$line" | tr -d '[:space:]')
                [ -n "$line" ] || continue
                optional=
                if [ "${line:0:1}" = "?" ]; then
                        optional=1
                        line=${line:1}
                fi
                path=$line
                [ "${path:0:1}" = / ] || path=$top/$path
                if [ ! -e "$path" ]; then
                        [ -n "$optional" ] || die "binary $line not found"
                        echo "vm: optional $line missing, not in the VM"
                        continue
                fi
                stage_binary "$path" "/aio/bin/$(basename "$path")"
        done <tests/vm/binaries
        # aio-run's seccomp profiles beside it (../policy), overlayfs for image roots, and a
        # busybox image to run in.
        if compgen -G "${BUILD:-build}/policy/*.bpf" >/dev/null; then
                mkdir -p "$stage/aio/policy"
                cp "${BUILD:-build}"/policy/*.bpf "$stage/aio/policy/"
        fi
        if [ -n "${overlay_ko:-}" ]; then
                mkdir -p "$stage/lib/modules"
                cp "$overlay_ko" "$stage/lib/modules/overlay.ko"
        fi
        tests/fixtures/mkrootfs.sh "$stage/fixture" >/dev/null
        for c in tests/vm/cases/*; do
                [ -f "$c" ] && install -m 0755 "$c" "$stage/vmtests/"
        done
        (cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) |
                gzip -1 >"$out/initrd.gz"
}

boot() {
        local log=$out/console.log t0 t1 rc=0
        t0=$(date +%s.%N)
        if [ "${AIO_VM_VERBOSE:-0}" = 1 ]; then
                timeout -k 5 "$timeout_s" qemu-system-x86_64 -nographic -no-reboot -nic none \
                        -m "$mem" -kernel "$vmlinuz" -initrd "$out/initrd.gz" -append "$append" \
                        </dev/null 2>&1 | tee "$log" || rc=$?
        else
                timeout -k 5 "$timeout_s" qemu-system-x86_64 -nographic -no-reboot -nic none \
                        -m "$mem" -kernel "$vmlinuz" -initrd "$out/initrd.gz" -append "$append" \
                        </dev/null >"$log" 2>&1 || rc=$?
        fi
        t1=$(date +%s.%N)
        vm_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
        [ "$rc" -eq 0 ] || echo "vm: qemu exited with status $rc (124: timeout after ${timeout_s}s)"
}

verdict() {
        local log=$out/console.log lines pass fail
        lines=$(tr -d '\r' <"$log" | grep -a -o 'VMTEST .*' || true)
        printf '%s\n' "$lines" | grep -E '^VMTEST (BOOT|PASS|FAIL|DONE)' || true
        pass=$(printf '%s\n' "$lines" | grep -c '^VMTEST PASS ' || true)
        fail=$(printf '%s\n' "$lines" | grep -c '^VMTEST FAIL ' || true)
        if ! printf '%s\n' "$lines" | grep -q '^VMTEST DONE'; then
                echo "VMTEST FAIL vm: no closing line (crash or timeout); last console lines:"
                tr -d '\r' <"$log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | tail -n 25 | sed 's/^/  | /'
                fail=$((fail + 1))
        fi
        [ "$pass" -gt 0 ] || [ "$fail" -gt 0 ] || fail=1
        echo "vm: qemu ran ${vm_seconds}s; console in ${log#"$top"/}"
        echo "vm: $pass passed, $fail failed"
        [ "$fail" -eq 0 ]
}

need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need apt-cache apt
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx poweroff ||
        die "/bin/busybox missing (make deps installs busybox-static)"
mkdir -p "$out"
pick_cache
kernel_fetch
build_programs
build_initramfs
echo "vm: booting $(basename "$vmlinuz") (timeout ${timeout_s}s)"
boot
verdict
