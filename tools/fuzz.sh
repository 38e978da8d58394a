#!/usr/bin/env bash
# make fuzz: builds every tests/fuzz/fuzz-*.c with libFuzzer (clang) and runs each for a bounded
# time (AIO_FUZZ_SECONDS, default 20) on a corpus seeded from the repository's own data.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${AIO_FUZZ_SECONDS:-20}
out=build/fuzz
mkdir -p "$out"
mapfile -t libsrc < <(find policy runtime runtime/common api api/routes -maxdepth 1 -name '*.c' \
        ! -name main.c ! -name '*-main.c' | sort)
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -Werror=implicit-function-declaration -std=gnu11 -D_GNU_SOURCE -iquote runtime -iquote . -iquote build/gen)
libs=(-lseccomp -lcap -ljansson -larchive -lcrypto -lmicrohttpd -lwslay -lpthread)
status=0
for src in tests/fuzz/fuzz-*.c; do
        [ -e "$src" ] || continue
        name=$(basename "$src" .c)
        echo "fuzz: $name (${secs}s)"
        # a harness that #includes a source (to reach its static functions) is not linked
        # against that source again
        mapfile -t inc < <(sed -n 's/^#include "\(.*\.c\)"$/\1/p' "$src")
        link=()
        for f in "${libsrc[@]}"; do
                [[ " ${inc[*]} " == *" $f "* ]] || link+=("$f")
        done
        clang "${flags[@]}" "$src" "${link[@]}" "${libs[@]}" -o "$out/$name"
        corpus=$out/corpus-$name
        mkdir -p "$corpus"
        seed=tests/fuzz/seeds/$name
        [ -d "$seed" ] && cp -n "$seed"/* "$corpus"/ 2>/dev/null || true
        case $name in
        fuzz-policy) cp -n policy/profiles/*.json policy/*.json "$corpus"/ 2>/dev/null || true ;;
        esac
        if ! "$out/$name" -max_total_time="$secs" -max_len=65536 -print_final_stats=0 \
                "$corpus" >"$out/$name.log" 2>&1; then
                tail -n 40 "$out/$name.log"
                status=1
        fi
done
[ "$status" -eq 0 ] && echo "fuzz: no crashes"
exit "$status"
