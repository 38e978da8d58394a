#!/usr/bin/env bash
# make bench: start-up time, tarball unpack, launcher memory and seccomp overhead of aio-run,
# side by side with bwrap and runc on the same busybox rootfs.  docs/benchmarks.md explains
# every figure.  Prints a table; raw results (hyperfine JSON, rss JSON, sysloop output) and
# summary.json land in $BUILD/bench/.  A missed target is reported, never fatal; a tool that
# fails (hyperfine, a launcher exiting non-zero, a build step) fails the run.
#
# Environment: BUILD (default build), AIO_RUN (default $BUILD/bin/aio-run),
# BENCH_RUNS (default 30), BENCH_ROUNDS (default 5), BENCH_COLD_RUNS (default 20),
# BENCH_BULK_MIB (default 100),
# AIO_BENCH_FLAGS (extra aio-run flags for every aio-run command, default empty).
set -euo pipefail
cd "$(dirname "$0")/../.."

build=${BUILD:-build}
out=$build/bench
aio=$(realpath -m "${AIO_RUN:-$build/bin/aio-run}")
runs=${BENCH_RUNS:-30}
rounds=${BENCH_ROUNDS:-5}
cold_runs=${BENCH_COLD_RUNS:-20}
bulk_mib=${BENCH_BULK_MIB:-100}
read -r -a extra <<<"${AIO_BENCH_FLAGS:-}"
limits=(--memory 256m --pids 128)

mkdir -p "$out"
out=$(realpath "$out")
rootfs=$out/rootfs
tarball=$out/rootfs-bulk.tar.gz
state=$out/state
bundle=$out/runc-bundle
runc_root=$out/runc-state
here=$(pwd)

log() { printf 'bench: %s\n' "$*" >&2; }

for t in hyperfine bwrap runc gcc tar python3; do
        command -v "$t" >/dev/null || { log "$t is missing (make deps)"; exit 1; }
done
[ -x "$aio" ] || { log "$aio is missing (make)"; exit 1; }
[ $((runs / rounds)) -ge 1 ] || { log "BENCH_RUNS must be at least BENCH_ROUNDS"; exit 1; }

# --- fixtures -------------------------------------------------------------------------------

# The busybox rootfs, plus the static sysloop probe in /bin.
prepare_rootfs() {
        tests/fixtures/mkrootfs.sh "$rootfs" >/dev/null
        gcc -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -static \
                tools/bench/sysloop.c -o "$out/sysloop"
        cmp -s "$out/sysloop" "$rootfs/bin/sysloop" || cp "$out/sysloop" "$rootfs/bin/sysloop"
}

# The same rootfs plus ~bulk_mib MiB of shared libraries in /usr/lib/bulk, as a .tar.gz.
# Built once; rebuilt when the rootfs fixture or the bulk size changes.
prepare_tarball() {
        local stamp key stage size=0 f
        stamp=$tarball.stamp
        key="$(cat "$rootfs/.aio-fixture") $(sha256sum <"$out/sysloop" | cut -c1-16) $bulk_mib"
        [ -f "$tarball" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] && return 0
        log "building $tarball (${bulk_mib} MiB of bulk)"
        stage=$out/tar-stage
        rm -rf "$stage"
        cp -a "$rootfs" "$stage"
        rm "$stage/.aio-fixture" # mkrootfs.sh's stamp, not part of the image
        mkdir -p "$stage/usr/lib/bulk"
        while IFS= read -r f; do
                cp "$f" "$stage/usr/lib/bulk/"
                size=$((size + $(stat -c %s "$f")))
                [ "$size" -ge $((bulk_mib * 1024 * 1024)) ] && break
        done < <(find /usr/lib/x86_64-linux-gnu -maxdepth 1 -type f -name '*.so*' | LC_ALL=C sort)
        tar --sort=name --numeric-owner -C "$stage" -czf "$tarball.tmp" .
        mv "$tarball.tmp" "$tarball"
        rm -rf "$stage"
        echo "$key" >"$stamp"
}

# An OCI bundle from `runc spec` on the same rootfs, with the same limits as aio-run.
prepare_runc() {
        local args=${1:-/bin/true}
        mkdir -p "$bundle" "$runc_root"
        rm -f "$bundle/config.json"
        # A container left by an interrupted run would make `runc run` refuse its id.
        runc --root "$runc_root" delete -f aio-bench-true >/dev/null 2>&1 || true
        runc --root "$runc_root" delete -f aio-bench-sleep >/dev/null 2>&1 || true
        (cd "$bundle" && runc spec)
        python3 - "$bundle/config.json" "$rootfs" "$args" <<'EOF'
import json, sys
path, rootfs, args = sys.argv[1], sys.argv[2], sys.argv[3].split()
spec = json.load(open(path))
spec["root"] = {"path": rootfs, "readonly": True}
spec["process"]["args"] = args
spec["process"]["terminal"] = False
res = spec["linux"].setdefault("resources", {})
res["memory"] = {"limit": 256 * 1024 * 1024}
res["pids"] = {"limit": 128}
json.dump(spec, open(path, "w"), indent=1)
EOF
}

# --- commands under test ----------------------------------------------------------------------

# Each prints one command line (hyperfine -N splits it on blanks: no quoting needed, none used).
bwrap_cmd() {
        echo "bwrap --unshare-all --die-with-parent --ro-bind $rootfs / --proc /proc --dev /dev $*"
}
bwrap_host_cmd() {
        echo "bwrap --unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin" \
                "--symlink usr/sbin /sbin --symlink usr/lib /lib --symlink usr/lib64 /lib64" \
                "--tmpfs /tmp --tmpfs /home --proc /proc --dev /dev $*"
}
runc_cmd() { echo "runc --root $runc_root run -b $bundle aio-bench-$1"; }
# aio_cmd ROOTFS STATE-DIR [aio-run flags...] -- CMD...
aio_cmd() {
        local root=$1 sd=$2
        shift 2
        echo "$aio run --rootfs $root --state-dir $sd ${limits[*]} ${extra[*]} $*"
}

# Runs a command line made by the functions above, split on blanks (and newlines) as
# hyperfine -N does.
words() {
        local -a argv
        read -r -d '' -a argv <<<"$1" || true
        "${argv[@]}"
}

# --- measurements ---------------------------------------------------------------------------

# All /bin/true starts are measured side by side: `rounds` hyperfine runs in a row, each timing
# every command runs/rounds times, so that a change in the machine's load during the run hits
# every command alike; report.py takes the median over all rounds.  The tarball's "later
# start" is here too (its state dir is filled by one start beforehand).
bench_startup() {
        local warm=$out/state-warm r
        log "start-up: /bin/true, ${runs} runs each in $rounds rounds"
        prepare_runc /bin/true
        rm -rf "$warm" "$out"/startup-*.json
        words "$(aio_cmd "$tarball" "$warm" -- /bin/true)"
        for r in $(seq "$rounds"); do
                hyperfine -N --style basic --warmup 5 --runs $((runs / rounds)) \
                        --export-json "$out/startup-$r.json" \
                        -n bwrap "$(bwrap_cmd /bin/true)" \
                        -n bwrap-host "$(bwrap_host_cmd /bin/true)" \
                        -n runc "$(runc_cmd true)" \
                        -n aio-dir "$(aio_cmd "$rootfs" "$state" -- /bin/true)" \
                        -n aio-host "$(aio_cmd host "$state" -- /bin/true)" \
                        -n tar-later "$(aio_cmd "$tarball" "$warm" -- /bin/true)" \
                        -n aio-seccomp-default \
                        "$(aio_cmd "$rootfs" "$state" --seccomp default -- /bin/true)" \
                        -n aio-seccomp-unconfined \
                        "$(aio_cmd "$rootfs" "$state" --seccomp unconfined -- /bin/true)" \
                        -n bwrap-version "bwrap --version" \
                        -n aio-version "$aio version"
        done
        rm -rf "$warm"
        # Back to back, a start finds kernel state warm that an isolated start does not (on
        # cgroup v1, moving a task into a cgroup waits for an RCU grace period unless another
        # move happened just before).  So once more with 100 ms of quiet before each run.
        log "isolated start-up: /bin/true after 100 ms idle, ${runs} runs each"
        hyperfine -N --style basic --warmup 2 --runs "$runs" --prepare "sleep 0.1" \
                --export-json "$out/isolated.json" \
                -n bwrap "$(bwrap_cmd /bin/true)" \
                -n runc "$(runc_cmd true)" \
                -n aio-dir "$(aio_cmd "$rootfs" "$state" -- /bin/true)"
}

# First start: every run (and the warm-up) begins with an empty state dir.
bench_tarball() {
        local cold=$out/state-cold
        log "tarball: first start (empty state dir), ${cold_runs} runs"
        rm -rf "$cold"
        hyperfine -N --style basic --warmup 1 --runs "$cold_runs" \
                --export-json "$out/tar-first.json" --prepare "rm -rf $cold" \
                -n tar-first "$(aio_cmd "$tarball" "$cold" -- /bin/true)"
        rm -rf "$cold"
}

# Three runs per launcher; report.py takes the median of the peaks.
bench_rss() {
        local i
        log "memory: launcher + init while /bin/sleep 2 runs"
        prepare_runc "/bin/sleep 2"
        for i in 1 2 3; do
                words "python3 tools/bench/rss.py aio-dir $out/rss-aio-dir-$i.json --
                        $(aio_cmd "$rootfs" "$state" -- /bin/sleep 2)"
                words "python3 tools/bench/rss.py bwrap $out/rss-bwrap-$i.json --
                        $(bwrap_cmd /bin/sleep 2)"
                words "python3 tools/bench/rss.py runc $out/rss-runc-$i.json -- $(runc_cmd sleep)"
        done
}

# Runs sysloop under aio-run in triplets: without a filter, with the default filter, and with a
# one-instruction allow-all filter (passed as --seccomp FILE.bpf).  The allow-all run is the floor
# any seccomp filter costs here: the kernel's per-syscall entry work for a filtered task, even
# when its cache skips the BPF program.  The order rotates from one triplet to the next, and
# report.py takes the median of the per-triplet ratios, so that a change in the machine's load
# hits all three alike.  Plus once on the host per triplet.  Lines in sysloop.txt:
# ITERATION MODE METRIC NS.
bench_seccomp() {
        local i j mode flag n=2000000 reps=15 allow=$out/allow-all.bpf
        local -a modes=(unconfined default allow-all)
        log "seccomp: sysloop ($n getppid, $((n / 10)) open/read/close), $reps triplets"
        # BPF_RET|BPF_K SECCOMP_RET_ALLOW
        printf '\x06\x00\x00\x00\x00\x00\xff\x7f' >"$allow"
        : >"$out/sysloop.txt"
        for i in $(seq "$reps"); do
                "$out/sysloop" "$n" "$rootfs/etc/hostname" |
                        sed "s/^/$i host /" >>"$out/sysloop.txt"
                for j in 0 1 2; do
                        mode=${modes[$(((i + j) % 3))]}
                        flag=$mode
                        [ "$mode" = allow-all ] && flag=$allow
                        words "$(aio_cmd "$rootfs" "$state" --seccomp "$flag" \
                                -- /bin/sysloop "$n" /etc/hostname)" |
                                sed "s/^/$i $mode /" >>"$out/sysloop.txt"
                done
        done
}

# Sandboxes or mounts left behind by aio-run would skew later runs: say so.
check_leftovers() {
        local left
        left=$(find "$state/sandboxes" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        [ "$left" -eq 0 ] || log "warning: $left sandbox dirs left in $state/sandboxes"
        left=$(grep -c " $out/" /proc/self/mounts || true)
        [ "$left" -eq 0 ] || log "warning: $left mounts left under $out"
}

main() {
        local t0=$SECONDS
        log "$(nproc) CPUs, kernel $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
        prepare_rootfs
        prepare_tarball
        rm -rf "$state" && mkdir -p "$state"
        bench_startup
        bench_tarball
        bench_rss
        bench_seccomp
        check_leftovers
        python3 tools/bench/report.py "$out"
        BUILD=$build python3 tools/bench/api.py "$out/api" # aio-apid against nginx
        BUILD=$build tools/bench/image.sh "$out" # the default image: size, unpack vs tar -x
        log "load average $(cut -d' ' -f1-3 /proc/loadavg); done in $((SECONDS - t0)) s;" \
                "raw results in ${out#"$here"/}/"
}

main "$@"
