#!/usr/bin/env bash
# Runs every cmocka unit test binary given; prints one closing line with the totals.
set -u
pass=0 fail=0
for t in "$@"; do
        out=$("$t" 2>&1)
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\..*/\1/p' <<<"$out" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:.*/\1/p' <<<"$out" | tail -n 1)
        pass=$((pass + ${p:-0}))
        if [ "$rc" -ne 0 ]; then
                printf '%s\n' "$out"
                fail=$((fail + ${f:-1}))
        fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
