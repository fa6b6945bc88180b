#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian machine: the system tools the tests run
# for real (Debian's docker-registry; buildah/podman for the end-to-end builds when that suite
# is present), then dockfix itself with its test extras in .venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v docker-registry >/dev/null 2>&1 || apt_packages+=(docker-registry)
command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
if [ ${#apt_packages[@]} -gt 0 ]; then
    echo "install: apt-get install ${apt_packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi
if [ -f .ci/install-e2e.sh ] && [ -d tests/e2e ] && ls tests/e2e/test_*.py >/dev/null 2>&1; then
    bash .ci/install-e2e.sh || echo "install: end-to-end tools not installed; image tests will be skipped"
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

# The graceful-shutdown test runs a real Express app; it installs express from npm's cache
# only (--offline), so warm the cache here, where the registry is reachable.
if command -v npm >/dev/null 2>&1; then
    scratch=$(mktemp -d)
    (cd "$scratch" && npm install --silent --no-audit --no-fund express@4 >/dev/null 2>&1) \
        || echo "install: could not cache express from npm; the Express shutdown test will skip"
    rm -rf "$scratch"
fi
echo "install: done"
