"""Session fixtures for the end-to-end image tests.

One container engine, the stand-in node images and a loopback registry serving them under every
official tag are made once per test run and shared by every test here. Every build's time and
size is collected and shown in the terminal summary.
"""

from __future__ import annotations

import os
import time

import pytest

from support.registry import registry_available, start_registry

from . import harness, standins

_MEASUREMENTS = pytest.StashKey[list]()


def _skip_reason() -> str | None:
    missing = harness.missing_tools()
    if missing:
        return (
            f"end-to-end image tests need {', '.join(missing)}, not installed here "
            "(install them with .ci/install-e2e.sh, as root)"
        )
    if os.geteuid() != 0:
        return "end-to-end image tests need root: buildah and podman run rootful here"
    return registry_available()


@pytest.fixture(autouse=True)
def _require_container_tools() -> None:
    """Skip every test of this folder, with the reason, where images cannot be built."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def e2e_engine(tmp_path_factory):
    """buildah and podman on a private storage, removed at the end of the session."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    workdir = tmp_path_factory.mktemp("engine")
    engine = harness.ContainerEngine(workdir, harness.choose_storage_driver(workdir))
    try:
        engine.runtime = harness.choose_oci_runtime(engine)
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def node_standins(image_measurements) -> standins.StandIns:
    """The stand-in node images, built once (their layers kept between runs in the cache folder)."""
    built = standins.build_standins(harness.default_cache_dir())
    layers = {layer.digest: layer.size for image in built.images.values() for layer in image.layers}
    image_measurements.append(
        (
            f"stand-in node images: {len(built.images)}, {len(layers)} layers ({built.built_layers} built now)",
            built.seconds,
            sum(layers.values()),
        )
    )
    return built


@pytest.fixture(scope="session")
def e2e_registry(tmp_path_factory):
    """Debian's docker-registry on a loopback port, without auth."""
    with start_registry(tmp_path_factory.mktemp("e2e-registry"), auth="none") as registry:
        yield registry


@pytest.fixture(scope="session")
def node_bases(node_standins, e2e_registry, image_measurements) -> dict[str, standins.PublishedBase]:
    """The stand-ins served as ``<registry>/library/node:<tag>`` under every official tag."""
    started = time.monotonic()
    published = standins.publish_standins(node_standins, e2e_registry)
    image_measurements.append((f"stand-ins published under {len(published)} tags", time.monotonic() - started, 0))
    return published


@pytest.fixture(scope="session")
def image_measurements(pytestconfig) -> list:
    """(label, seconds, size in bytes) of every image built; shown in the terminal summary."""
    return pytestconfig.stash.setdefault(_MEASUREMENTS, [])


@pytest.fixture(scope="session")
def record_build(image_measurements):
    """Record a BuildResult under a label, and print it (visible with ``-s``)."""

    def record(label: str, result: harness.BuildResult) -> harness.BuildResult:
        image_measurements.append((label, result.seconds, result.size_bytes))
        print(f"\n{label}: built in {result.seconds:.1f} s, {result.size_mb:.1f} MB")
        return result

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Print the time and size of every image the end-to-end tests built."""
    measurements = config.stash.get(_MEASUREMENTS, [])
    if not measurements:
        return
    terminalreporter.section("image builds (end-to-end)")
    width = max(len(label) for label, _, _ in measurements)
    for label, seconds, size in measurements:
        terminalreporter.write_line(f"{label:<{width}}  {seconds:6.1f} s  {size / 1_000_000:7.1f} MB")
