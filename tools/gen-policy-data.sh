#!/usr/bin/env bash
# Turns policy/caps.json and policy/mounts.json into build/gen/policy-data.h, so aio-run and
# aio-policy are built from the one copy of that data (as the seccomp profiles are compiled to
# BPF): the capability keep-list of jail root and the masked and read-only paths.
# Usage: gen-policy-data.sh caps.json mounts.json > policy-data.h
set -euo pipefail
caps=$1 mounts=$2

# The strings of one top-level array, one per line; refuses anything but plain values.
array() {
        local file=$1 key=$2 re=$3 vals
        vals=$(tr -d '\n' <"$file" | grep -o "\"$key\"[[:space:]]*:[[:space:]]*\[[^]]*\]" |
                sed 's/^[^[]*\[//; s/\]$//' | tr ',' '\n' | sed 's/^[[:space:]]*"//; s/"[[:space:]]*$//' |
                grep -v '^[[:space:]]*$' || true)
        [ -n "$vals" ] || { echo "gen-policy-data: $file: no \"$key\" array" >&2; exit 1; }
        while IFS= read -r v; do
                [[ $v =~ $re ]] || { echo "gen-policy-data: $file: $key: bad entry '$v'" >&2; exit 1; }
                printf '%s\n' "$v"
        done <<<"$vals"
}

echo "/* Generated from $caps and $mounts by tools/gen-policy-data.sh: do not edit. */"
echo "#pragma once"
echo
echo "#define AIO_POLICY_CAPS_DEFAULT \\"
array "$caps" capabilities '^CAP_[A-Z_]+$' | sed 's/.*/        &, \\/'
echo
echo "#define AIO_POLICY_MASKED_PATHS \\"
array "$mounts" maskedPaths '^/(proc|sys)(/[A-Za-z0-9_.-]+)+$' | sed 's/.*/        "&", \\/'
echo
echo "#define AIO_POLICY_READONLY_PATHS \\"
array "$mounts" readonlyPaths '^/(proc|sys)(/[A-Za-z0-9_.-]+)+$' | sed 's/.*/        "&", \\/'
echo
