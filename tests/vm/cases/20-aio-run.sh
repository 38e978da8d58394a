#!/bin/sh
# aio-run itself under cgroup v2 only: limits enforced, OOM reported, everything removed.
state=/var/lib/aio
pass() { echo "VMTEST PASS $1"; }
fail() { echo "VMTEST FAIL $1: $2"; }
if ! command -v aio-run >/dev/null; then
        fail aio-run-present "build/bin/aio-run was not built before make vm"
        exit 1
fi
run() { aio-run run --state-dir "$state" --rootfs /fixture "$@"; }

out=$(run -- /bin/sh -c 'echo $$; cat /proc/self/uid_map' 2>&1)
case "$out" in
"2"*" 0 "*) pass aio-run-v2-starts ;;
*) fail aio-run-v2-starts "$out" ;;
esac

run --memory 32m --pids 64 --cpus 0.5 --name lim -- /bin/sh -c 'cat /proc/self/cgroup; sleep 1' >/tmp/lim.out 2>&1 &
sleep 0.5
cg=/sys/fs/cgroup/aio/lim
mem=$(cat $cg/memory.max 2>/dev/null) pids=$(cat $cg/pids.max 2>/dev/null)
cpu=$(cat $cg/cpu.max 2>/dev/null) swap=$(cat $cg/memory.swap.max 2>/dev/null)
wait
out=$(cat /tmp/lim.out)
if [ "$mem" = 33554432 ] && [ "$pids" = 64 ] && [ "$cpu" = "50000 100000" ] && [ "$swap" = 0 ]; then
        pass aio-run-v2-limits
else
        fail aio-run-v2-limits "memory.max=$mem pids.max=$pids cpu.max=$cpu swap=$swap"
fi
case "$out" in
*"0::/"*) pass aio-run-v2-cgroupns ;;
*) fail aio-run-v2-cgroupns "$out" ;;
esac
[ -e $cg ] && fail aio-run-v2-removed "$cg still exists" || pass aio-run-v2-removed

out=$(run --memory 32m -- /bin/sh -c 'x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while :; do x=$x$x; done' 2>&1)
rc=$?
case "$rc:$out" in
137:*"memory limit"*) pass aio-run-v2-oom-reported ;;
*) fail aio-run-v2-oom-reported "exit $rc: $out" ;;
esac

out=$(run --pids 10 -- /bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 3 & done; wait' 2>&1)
case "$out" in
*"pids limit"*) pass aio-run-v2-pids ;;
*) fail aio-run-v2-pids "$out" ;;
esac

left=$(ls /sys/fs/cgroup/aio 2>/dev/null | grep -v '^cgroup\.' | grep -v '\.' | tr '\n' ' ')
[ -z "$left" ] && pass aio-run-v2-nothing-left || fail aio-run-v2-nothing-left "$left"
