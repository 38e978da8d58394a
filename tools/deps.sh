#!/usr/bin/env bash
# Installs, from Debian's packages, what building, running and testing aio need.
# Idempotent and silent when everything is present.
set -eu
pkgs=(
        gcc make pkg-config libc6-dev
        libseccomp-dev libcap-dev libjansson-dev libarchive-dev libnl-3-dev libnl-route-3-dev
        libmicrohttpd-dev libcmocka-dev libssl-dev libwslay-dev libcurl4-openssl-dev
        python3 python3-pytest python3-requests python3-httpx python3-pydantic
        busybox-static uidmap iproute2 tar gzip xz-utils zstd
        bubblewrap runc hyperfine wrk nginx-light chromium
        qemu-system-x86 cpio
        clang libclang-rt-14-dev clang-tidy clang-format cppcheck bear
)
missing=()
for p in "${pkgs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
        echo "deps: run as root (or install the packages above) first" >&2
        exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
