#!/bin/sh
# Installs the Debian tools the end-to-end image tests use, only when some are missing.
#   buildah         builds images without a daemon (vfs storage, chroot isolation)
#   podman          runs the built images
#   runc            the OCI runtime podman uses here (crun fails on this cgroup setup)
#   busybox-static  the shell and core utilities of the stand-in node base images
#   dumb-init       the init binary the stand-in package managers install into images
#   docker-registry the loopback registry the stand-in base images are pushed to
# Safe to run again: when everything is present it only says so.
set -eu

packages="buildah podman runc busybox-static dumb-init docker-registry"

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done

if [ -z "$missing" ]; then
    echo "install-e2e: all present ($packages), apt not run"
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
