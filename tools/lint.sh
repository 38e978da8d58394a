#!/usr/bin/env bash
# make lint: clang-format check, cppcheck, gcc -fanalyzer and clang-tidy over the C sources.
# Exits non-zero on the first tool that finds something.
set -eu
cd "$(dirname "$0")/.."
mapfile -t srcs < <(git ls-files '*.c' | grep -v '^tests/security/probes/' | grep -v '^tests/fuzz/')
mapfile -t prod < <(printf '%s\n' "${srcs[@]}" | grep -v '^tests/')
defs=(-D_GNU_SOURCE -iquote runtime -iquote . -iquote build/gen)

echo "lint: clang-format"
clang-format --dry-run --Werror $(git ls-files '*.c' '*.h')

echo "lint: cppcheck"
cppcheck -q --error-exitcode=1 --inline-suppr --std=c11 --enable=warning,portability \
        --suppress=memleak --suppress=resourceLeak --suppress=missingIncludeSystem \
        -D_GNU_SOURCE -I runtime -I . -I build/gen "${prod[@]}"

echo "lint: gcc -fanalyzer"
for f in "${prod[@]}"; do
        gcc -std=gnu11 -fsyntax-only -fanalyzer -Werror -Wno-analyzer-malloc-leak \
                -Wno-analyzer-fd-leak "${defs[@]}" "$f"
done

echo "lint: clang-tidy"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "${prod[@]}"; do
        printf '{"directory":"%s","file":"%s","command":"clang -std=gnu11 -D_GNU_SOURCE -iquote runtime -iquote . -iquote build/gen -c %s"},\n' \
                "$PWD" "$f" "$f"
done | sed '$ s/,$//' | { echo '['; cat; echo ']'; } >"$tmp/compile_commands.json"
run-clang-tidy-14 -quiet -p "$tmp" "${prod[@]}" >"$tmp/tidy.log" 2>&1 || {
        grep -E 'error:|warning:' "$tmp/tidy.log" | sort -u | head -50
        exit 1
}
echo "lint: clean"
