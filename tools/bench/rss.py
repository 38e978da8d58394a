#!/usr/bin/python3
"""Memory of a sandbox launcher and its init while the sandboxed command runs.

Usage: rss.py NAME OUT.json -- LAUNCHER ARGS... /bin/sleep 2

Starts the launcher, waits until one of its descendants has become the command (its comm is
"sleep"), then samples every 20 ms, until the command exits, every process of the launcher's
tree except the command and its own descendants: the launcher itself, the jail's pid 1 and any
helper the launcher keeps alive.  For each sample it sums, from /proc/PID/smaps_rollup:
  Rss  resident pages, counted in full in every process mapping them;
  Pss  each resident page divided by the number of processes mapping it (the fair share);
  Uss  Private_Clean + Private_Dirty (what would be freed if these processes exited);
  Anon Pss_Anon: the Pss of anonymous memory (heap, stacks, data), which no process outside
       the sandbox shares, so it does not change with what else runs on the host.
The peak of each sum over the samples is written to OUT.json (KiB) and printed, with each
process's share at the Pss peak (role "launcher" for the launcher, "child" for the others).
The launcher must exit 0, or this script exits 1.
"""
import json
import os
import subprocess
import sys
import time

TARGET_COMM = "sleep"
POLL = 0.02
START_TIMEOUT = 20.0


def read_stat(pid):
    """(comm, ppid) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    lpar, rpar = data.index("("), data.rindex(")")
    return data[lpar + 1:rpar], int(data[rpar + 2:].split()[1])


def process_table():
    table = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = read_stat(int(name))
            if st:
                table[int(name)] = st
    return table


def tree(root, table):
    """pid -> comm for root and all its descendants."""
    children = {}
    for pid, (_, ppid) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in table:
            out[pid] = table[pid][0]
            todo.extend(children.get(pid, []))
    return out


def rollup(pid):
    vals = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    vals[parts[0].rstrip(":")] = int(parts[1])
    except OSError:
        return None
    return {"rss": vals.get("Rss", 0), "pss": vals.get("Pss", 0),
            "uss": vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0),
            "anon": vals.get("Pss_Anon", 0)}


def measured(root, table):
    """Pids of root's tree minus the command's own subtree; None until the command runs."""
    procs = tree(root, table)
    cmds = [p for p, c in procs.items() if c == TARGET_COMM and p != root]
    if not cmds:
        return None
    excluded = set()
    for c in cmds:
        excluded |= set(tree(c, table))
    return {p: c for p, c in procs.items() if p not in excluded}


def sample(proc):
    """Peak sums, the per-process split at the Pss peak, comms seen, number of samples."""
    peak = {"rss": 0, "pss": 0, "uss": 0, "anon": 0}
    split = []
    comms, samples = set(), 0
    deadline = time.monotonic() + START_TIMEOUT
    while proc.poll() is None:
        pids = measured(proc.pid, process_table())
        if pids is None:
            if samples == 0 and time.monotonic() > deadline:
                proc.kill()
                sys.exit("rss: the command never started")
            time.sleep(POLL / 4)
            continue
        total = {"rss": 0, "pss": 0, "uss": 0, "anon": 0}
        procs = []
        for pid in sorted(pids):
            r = rollup(pid)
            if r:
                for k in total:
                    total[k] += r[k]
                role = "launcher" if pid == proc.pid else "child"
                procs.append(dict(r, comm=pids[pid], role=role))
        comms |= set(pids.values())
        samples += 1
        if total["pss"] > peak["pss"]:
            split = procs
        for k in peak:
            peak[k] = max(peak[k], total[k])
        time.sleep(POLL)
    return peak, split, sorted(comms), samples


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    name, out, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
    peak, split, comms, samples = sample(proc)
    if proc.wait() != 0:
        sys.exit(f"rss: {name}: {argv[0]} exited {proc.returncode}")
    if samples == 0:
        sys.exit(f"rss: {name}: no sample taken while the command ran")
    res = {"name": name, "command": argv, "samples": samples, "processes": comms,
           "rss_kib": peak["rss"], "pss_kib": peak["pss"], "uss_kib": peak["uss"],
           "anon_pss_kib": peak["anon"],
           "at_pss_peak": split}
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print(f"rss: {name}: Rss {peak['rss']} KiB, Pss {peak['pss']} KiB, Uss {peak['uss']} KiB, "
          f"anon Pss {peak['anon']} KiB "
          f"({samples} samples of {', '.join(comms)})")


if __name__ == "__main__":
    main()
