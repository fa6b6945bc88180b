"""A cache mount dockfix writes (DF011) builds with buildah, and a rebuild after a dependency
change downloads only the package that changed.

The app (apps/cache-mount) installs six made-up packages with ``npm ci`` from a registry of its
own: a loopback HTTP server made here, which serves their tarballs (1 MB each, random, so no
earlier run's cache holds them) at 2 MB/s, one request at a time, as a slow company registry
would, and counts each request. The naive Dockerfile ends its install with ``npm cache clean
--force``. ``dockfix --write --unsafe-fixes`` must mount npm's cache on the install and drop the
clean. Then the fixed Dockerfile, and the same file without the mount, are each built twice on
the stand-in node images: once, and again after a seventh package is added to package.json and
the lockfile. With the mount the second build downloads only the new package; without it, all
seven. Both second builds' times are recorded (shown in the terminal summary).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .harness import point_at_registry, render_dockerfile
from .test_fixed_images import APPS, pack_npm_package, run_dockfix

pytestmark = pytest.mark.e2e

APP = APPS / "cache-mount"
PACKAGES = [f"cm-pkg-{index}" for index in range(7)]
FIRST = PACKAGES[:6]  # the app's dependencies at first; the seventh is added before the rebuild
PAYLOAD_BYTES = 1_000_000
BYTES_PER_SECOND = 2_000_000
MOUNT = "--mount=type=cache,target=/root/.npm "


@dataclass
class PackageRegistry:
    """Tarballs by URL path, and every path asked for, in order."""

    tarballs: dict[str, bytes]
    integrity: dict[str, str]
    requested: list[str] = field(default_factory=list)
    url: str = ""

    def tarball_path(self, name: str) -> str:
        return f"/{name}/-/{name}-1.0.0.tgz"

    def downloads(self, since: int = 0) -> list[str]:
        """The packages whose tarball was asked for, after the first `since` requests."""
        paths = self.requested[since:]
        return sorted(name for name in self.tarballs_by_name if self.tarball_path(name) in paths)

    @property
    def tarballs_by_name(self) -> list[str]:
        return [path.split("/")[1] for path in self.tarballs]


def _made_up_packages(folder: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """Each package folder packed as npm packs one; a random payload makes every run's tarballs new."""
    tarballs, integrity = {}, {}
    for name in PACKAGES:
        package = folder / name
        package.mkdir(parents=True)
        (package / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", "main": "index.js"}))
        (package / "index.js").write_text("module.exports = 'made up for the cache-mount test';\n")
        (package / "payload.bin").write_bytes(os.urandom(PAYLOAD_BYTES))
        file_name, digest = pack_npm_package(package, folder / "tarballs")
        tarballs[f"/{name}/-/{file_name}"] = (folder / "tarballs" / file_name).read_bytes()
        integrity[name] = digest
    return tarballs, integrity


@pytest.fixture(scope="module")
def package_registry(tmp_path_factory) -> Iterator[PackageRegistry]:
    """The loopback registry: one request at a time, each tarball sent at BYTES_PER_SECOND."""
    tarballs, integrity = _made_up_packages(tmp_path_factory.mktemp("made-up-packages"))
    registry = PackageRegistry(tarballs, integrity)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            registry.requested.append(self.path)
            data = registry.tarballs.get(self.path)
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("content-type", "application/octet-stream")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            chunk = 64 * 1024
            for start in range(0, len(data), chunk):
                self.wfile.write(data[start : start + chunk])
                time.sleep(chunk / BYTES_PER_SECOND)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    registry.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()


def write_dependencies(context: Path, registry: PackageRegistry, names: list[str]) -> None:
    """package.json and the npm 7+ lockfile of an app depending on `names`, each resolved at the registry."""
    package = {"name": "cache-mount", "version": "1.0.0", "private": True, "main": "server.js"}
    package["dependencies"] = {name: "1.0.0" for name in names}
    packages: dict[str, dict] = {
        "": {"name": "cache-mount", "version": "1.0.0", "dependencies": package["dependencies"]}
    }
    for name in names:
        packages[f"node_modules/{name}"] = {
            "version": "1.0.0",
            "resolved": registry.url.rstrip("/") + registry.tarball_path(name),
            "integrity": registry.integrity[name],
        }
    lock = {"name": "cache-mount", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": packages}
    (context / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    (context / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")


@pytest.fixture(scope="module")
def fixed_context(e2e_registry, package_registry, tmp_path_factory) -> Path:
    """The app with its first six dependencies and the Dockerfile dockfix wrote."""
    root = tmp_path_factory.mktemp("cache-mount")
    context = root / "fixed"
    shutil.copytree(APP / "app", context)
    naive = render_dockerfile((APP / "naive.Dockerfile").read_text(), registry=package_registry.url)
    (context / "Dockerfile").write_text(naive)
    write_dependencies(context, package_registry, FIRST)
    fixed = run_dockfix(context, e2e_registry.url, root / "xdg-cache")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    return context


def test_fixed_dockerfile_mounts_npms_cache_and_drops_the_clean(fixed_context):
    dockerfile = (fixed_context / "Dockerfile").read_text()
    assert dockerfile.startswith("# syntax=docker/dockerfile:1\n")
    assert f"RUN {MOUNT}npm ci --no-audit --no-fund\n" in dockerfile
    assert "cache clean" not in dockerfile


def npm_cache_in_layers(engine, image_id: str) -> list[str]:
    """The files of npm's cache the image's own layers hold."""
    with engine.image_files(image_id) as files:
        return [
            path for layer in files.layers if not layer.from_base for path in layer.paths if ".npm/_cacache/" in path
        ]


def _build_twice(engine, registry_host, package_registry, context, dockerfile, label, record_build):
    """Build, add the seventh package, build again; (packages downloaded by each build, the second build)."""
    context = shutil.copytree(context, context.parent / label)
    write_dependencies(context, package_registry, FIRST)
    mark = len(package_registry.requested)
    text = point_at_registry(dockerfile, registry_host)
    record_build(f"cache-mount {label}, first build", engine.build(text, context, f"localhost/e2e-cache-{label}:1"))
    first = package_registry.downloads(mark)
    write_dependencies(context, package_registry, PACKAGES)
    mark = len(package_registry.requested)
    second_build = record_build(
        f"cache-mount {label}, rebuild after a dependency change",
        engine.build(text, context, f"localhost/e2e-cache-{label}:2"),
    )
    return first, package_registry.downloads(mark), second_build


def test_rebuild_after_a_dependency_change_downloads_only_the_new_package(
    e2e_engine, e2e_registry, node_bases, package_registry, fixed_context, record_build
):
    dockerfile = (fixed_context / "Dockerfile").read_text()
    assert MOUNT in dockerfile
    first, second, mounted = _build_twice(
        e2e_engine, e2e_registry.host, package_registry, fixed_context, dockerfile, "mounted", record_build
    )
    assert first == sorted(FIRST)
    assert second == [PACKAGES[-1]], "with the cache mounted, the unchanged packages come from the cache"
    listing = e2e_engine.node_modules_listing(mounted.image_id, "/usr/src/app")
    assert set(PACKAGES) <= set(listing), listing
    assert npm_cache_in_layers(e2e_engine, mounted.image_id) == [], "the cache lands in no layer"

    # The same file without the mount downloads everything again.
    first, second, unmounted = _build_twice(
        e2e_engine,
        e2e_registry.host,
        package_registry,
        fixed_context,
        dockerfile.replace(MOUNT, ""),
        "unmounted",
        record_build,
    )
    assert first == sorted(FIRST) and second == sorted(PACKAGES)
    assert npm_cache_in_layers(e2e_engine, unmounted.image_id), "without the mount (or the clean) the cache is shipped"
    print(
        f"\nrebuild after a dependency change: {mounted.seconds:.1f} s with the cache mount, {unmounted.seconds:.1f} s without"
    )
    assert mounted.seconds < unmounted.seconds
