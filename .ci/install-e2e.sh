#!/bin/sh
# Installs the Debian tools the end-to-end image tests use, only when some are missing.
#   buildah         builds images without a daemon (chroot isolation)
#   podman          runs the built images
#   runc            an OCI runtime podman can use here (crun fails on cgroups in hybrid mode;
#                   the tests try each installed runtime and use one that runs a container)
#   docker-registry the loopback registry the stand-in node images are served from
#   mmdebstrap      builds the Debian root file systems of the stand-in node images
#   busybox-static  the userland of the alpine stand-ins
#   musl-tools      musl-gcc (with gcc), builds dumb-init for the alpine stand-ins
#   npm             fetches the stand-ins' Node.js, npm, Corepack and Yarn from the npm registry
#                   (any npm on PATH will do; Debian's is installed only when there is none)
# Safe to run again: when everything is present it only says so.
set -eu

packages="buildah podman runc docker-registry mmdebstrap busybox-static musl-tools gcc"

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
if ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi

if [ -z "$missing" ]; then
    echo "install-e2e: all present ($packages npm), apt not run"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-e2e: missing:$missing; run as root to install them (e2e tests will be skipped)" >&2
    exit 1
fi

echo "install-e2e: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split into words
apt-get install -y -qq --no-install-recommends $missing
echo "install-e2e: installed:$missing"
