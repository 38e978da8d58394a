#!/usr/bin/python3
"""Turns the raw results in DIR (written by tools/bench/run.sh) into the table printed by
`make bench` and DIR/summary.json.  Usage: report.py DIR

Rows have a value, an optional ratio and an optional target on that ratio (or on the value);
"met?" is yes / NO, or "-" when the row is informational.  Exit status is 0 even when targets
are missed; it is 1 only when a result file is missing or malformed.
"""
import glob
import json
import os
import statistics
import sys


def hyperfine(pattern):
    """command -> all run times (s) from the hyperfine exports matching pattern, merged."""
    files = sorted(glob.glob(pattern))
    if not files:
        raise FileNotFoundError(pattern)
    times = {}
    for path in files:
        with open(path) as f:
            for r in json.load(f)["results"]:
                times.setdefault(r["command"], []).extend(r["times"])
    return times


def ms(times):
    return statistics.median(times) * 1000.0


def rss_median(d, name):
    files = sorted(glob.glob(os.path.join(d, f"rss-{name}-*.json")))
    if not files:
        raise FileNotFoundError(f"rss-{name}-*.json")
    runs = [json.load(open(f)) for f in files]
    keys = ("rss_kib", "pss_kib", "uss_kib", "anon_pss_kib")
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def sysloop(path):
    """{mode: {metric: {iteration: ns}}} from lines 'ITERATION MODE METRIC NS'."""
    vals = {}
    with open(path) as f:
        for line in f:
            it, mode, metric, v = line.split()
            vals.setdefault(mode, {}).setdefault(metric, {})[int(it)] = float(v)
    return vals


def paired_ratio(a, b):
    """Median over iterations of a[i] / b[i]."""
    return statistics.median(a[i] / b[i] for i in a if i in b)


class Table:
    def __init__(self):
        self.rows = []
        self.noise = 0.0

    def add(self, name, value, unit, ratio=None, target=None, note=""):
        """target: ('<=', x) applied to ratio when given, else to value."""
        met = "-"
        if target is not None:
            subject = ratio if ratio is not None else value
            met = "yes" if subject <= target[1] else "NO"
        self.rows.append({"name": name, "value": round(value, 3), "unit": unit,
                          "ratio": None if ratio is None else round(ratio, 3),
                          "target": None if target is None else f"{target[0]} {target[1]}",
                          "met": met, "note": note})

    def print(self):
        hdr = ("name", "median", "ratio", "target", "met?")
        lines = []
        for r in self.rows:
            val = f"{r['value']:.2f} {r['unit']}" if r["unit"] != "KiB" else f"{r['value']:.0f} KiB"
            ratio = "" if r["ratio"] is None else f"{r['ratio']:.3f}"
            lines.append((r["name"], val, ratio, r["target"] or "", r["met"]))
        w = [max(len(x[i]) for x in lines + [hdr]) for i in range(5)]
        fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w[i]}}}" for i in range(5))
        print(fmt.format(*hdr))
        print("  ".join("-" * x for x in w))
        for x in lines:
            print(fmt.format(*x))


def startup_rows(t, d):
    s = hyperfine(os.path.join(d, "startup-*.json"))
    bw, bwh, rc = ms(s["bwrap"]), ms(s["bwrap-host"]), ms(s["runc"])
    aio, host = ms(s["aio-dir"]), ms(s["aio-host"])
    t.add("bwrap /bin/true (DIR)", bw, "ms")
    t.add("bwrap /bin/true (host /usr)", bwh, "ms")
    t.add("runc run /bin/true (DIR)", rc, "ms")
    t.add("aio-run DIR / bwrap", aio, "ms", aio / bw, ("<=", 1.0))
    t.add("aio-run DIR / runc", aio, "ms", aio / rc, ("<=", 0.25))
    t.add("aio-run host / bwrap host", host, "ms", host / bwh, ("<=", 1.0))
    t.add("aio-run host / runc", host, "ms", host / rc, ("<=", 0.25))
    sd, su = ms(s["aio-seccomp-default"]), ms(s["aio-seccomp-unconfined"])
    t.add("aio-run seccomp default start", sd, "ms")
    t.add("aio-run seccomp unconfined start", su, "ms", sd / su,
          note="ratio: default/unconfined start")
    t.add("  filter load cost (difference)", sd - su, "ms")
    # aio-dir and aio-seccomp-default are the same command: their spread is the noise floor.
    t.noise = abs(aio - sd) / min(aio, sd)
    bv, av = ms(s["bwrap-version"]), ms(s["aio-version"])
    t.add("exec only: bwrap --version", bv, "ms")
    t.add("exec only: aio-run version / bwrap", av, "ms", av / bv)
    i = hyperfine(os.path.join(d, "isolated.json"))
    ibw, irc, iaio = ms(i["bwrap"]), ms(i["runc"]), ms(i["aio-dir"])
    t.add("isolated: bwrap (DIR)", ibw, "ms")
    t.add("isolated: runc (DIR)", irc, "ms")
    t.add("isolated: aio-run DIR / bwrap", iaio, "ms", iaio / ibw)
    t.add("isolated: aio-run DIR / runc", iaio, "ms", iaio / irc)
    return aio


def tarball_rows(t, d, aio_dir_ms):
    first = ms(hyperfine(os.path.join(d, "tar-first.json"))["tar-first"])
    later = ms(hyperfine(os.path.join(d, "startup-*.json"))["tar-later"])
    t.add("tarball first start (unpack)", first, "ms")
    t.add("tarball later start / first", later, "ms", later / first)
    t.add("tarball later start / DIR start", later, "ms", later / aio_dir_ms, ("<=", 1.10))


def rss_rows(t, d):
    aio = rss_median(d, "aio-dir")
    t.add("aio-run launcher+init Pss", aio["pss_kib"], "KiB", target=("<=", 4096))
    t.add("aio-run launcher+init Rss", aio["rss_kib"], "KiB")
    t.add("aio-run launcher+init Uss", aio["uss_kib"], "KiB")
    t.add("aio-run launcher+init anon Pss", aio["anon_pss_kib"], "KiB")
    for name in ("bwrap", "runc"):
        r = rss_median(d, name)
        t.add(f"{name} Pss (Rss {r['rss_kib']:.0f}, anon {r['anon_pss_kib']:.0f})", r["pss_kib"],
              "KiB")


def seccomp_rows(t, d):
    s = sysloop(os.path.join(d, "sysloop.txt"))
    med = statistics.median
    for metric, label in (("getppid_ns", "getppid"), ("open_read_close_ns", "open+read+close")):
        dflt, unc, allow = (s[m][metric] for m in ("default", "unconfined", "allow-all"))
        t.add(f"{label} in jail, no filter", med(unc.values()), "ns")
        t.add(f"{label} in jail, default filter", med(dflt.values()), "ns",
              paired_ratio(dflt, unc), ("<=", 1.05))
        t.add("  floor: allow-all filter", med(allow.values()), "ns", paired_ratio(allow, unc))
        t.add("  default / allow-all filter", med(dflt.values()), "ns", paired_ratio(dflt, allow))
    t.add("getppid on host, no jail (reference)", med(s["host"]["getppid_ns"].values()), "ns")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    t = Table()
    try:
        aio_dir = startup_rows(t, d)
        tarball_rows(t, d, aio_dir)
        rss_rows(t, d)
        seccomp_rows(t, d)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"report: bad or missing result in {d}: {e!r}")
    t.print()
    missed = [r["name"] for r in t.rows if r["met"] == "NO"]
    met = sum(r["met"] == "yes" for r in t.rows)
    total = sum(r["met"] != "-" for r in t.rows)
    print(f"\ntargets met: {met}/{total}" + (f"; missed: {', '.join(missed)}" if missed else ""))
    print(f"noise: two identical aio-run start rows differ by {100 * t.noise:.0f} %"
          + ("; the machine was busy, rerun when it is quiet" if t.noise > 0.15 else ""))
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"rows": t.rows, "noise": round(t.noise, 3)}, f, indent=1)


if __name__ == "__main__":
    main()
