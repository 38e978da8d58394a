#!/usr/bin/python3
"""Print the Debian apt sources the host already uses for one suite, as sources.list lines.

Reads /etc/apt/sources.list and /etc/apt/sources.list.d/*.list (one-line format) and
/etc/apt/sources.list.d/*.sources (deb822), keeps the "deb" entries whose suite is SUITE,
SUITE-updates or SUITE-security, and prints one line per (URI, suite):

    deb URI SUITE main

The first line is the entry for SUITE itself: build.sh gives its URI to debootstrap. Exit
status 1 (with a message) when the host names no mirror for SUITE: the recipe never falls back
to a hard-coded mirror. Usage: host-sources.py SUITE [ROOT]   (ROOT: /, for tests)
"""
import glob
import os
import sys


def one_line(path):
    """Yield (types, uris, suites, components) from a one-line-format file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            kind = words.pop(0)
            if words and words[0].startswith("["):
                # Options: "[a=b c=d]", possibly spread over several words.
                while words and not words[0].endswith("]"):
                    words.pop(0)
                if words:
                    words.pop(0)
            if len(words) < 2:
                continue
            yield [kind], [words[0]], [words[1]], words[2:]


def deb822(path):
    """Yield (types, uris, suites, components) from a deb822 .sources file."""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    stanza, key = {}, None
    for raw in text.splitlines() + [""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if stanza and stanza.get("enabled", "yes").strip().lower() != "no":
                yield (stanza.get("types", "").split(), stanza.get("uris", "").split(),
                       stanza.get("suites", "").split(), stanza.get("components", "").split())
            stanza, key = {}, None
            continue
        if raw[0] in " \t" and key:
            stanza[key] += " " + raw.strip()
            continue
        if ":" in raw:
            key, value = raw.split(":", 1)
            key = key.strip().lower()
            stanza[key] = value.strip()


def entries(root):
    base = os.path.join(root, "etc/apt")
    files = [os.path.join(base, "sources.list")]
    files += sorted(glob.glob(os.path.join(base, "sources.list.d/*.list")))
    for path in files:
        if os.path.isfile(path):
            yield from one_line(path)
    for path in sorted(glob.glob(os.path.join(base, "sources.list.d/*.sources"))):
        yield from deb822(path)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: host-sources.py SUITE [ROOT]")
    suite, root = sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "/"
    wanted = [suite, suite + "-updates", suite + "-security"]
    found = {}
    for types, uris, suites, _components in entries(root):
        if "deb" not in types:
            continue
        for s in suites:
            if s in wanted:
                for uri in uris:
                    found.setdefault(s, []).append(uri.rstrip("/"))
    if suite not in found:
        sys.exit("host-sources.py: no 'deb' entry for suite '%s' in %s/etc/apt/sources.list"
                 " or sources.list.d/: name a Debian mirror there" % (suite, root.rstrip("/")))
    for s in wanted:
        for uri in dict.fromkeys(found.get(s, [])):
            print("deb %s %s main" % (uri, s))


if __name__ == "__main__":
    main()
