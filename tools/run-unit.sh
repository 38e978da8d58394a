#!/usr/bin/env bash
# Runs every cmocka unit test binary given; prints one closing line with the totals.
set -u
pass=0 fail=0
for t in "$@"; do
        if out=$("$t" 2>&1); then
                pass=$((pass + $(grep -c '^\[       OK \]' <<<"$out")))
        else
                printf '%s\n' "$out"
                pass=$((pass + $(grep -c '^\[       OK \]' <<<"$out")))
                fail=$((fail + $(grep -c '^\[  FAILED  \]' <<<"$out" | head -1)))
                [ "$fail" -eq 0 ] && fail=1
        fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
