import sys
from pathlib import Path

# tests/support is imported as `support` by the test modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest

from support.paths import CORPUS

# ../shared: other people's Dockerfiles (the corpus) and the reference copies of the shipped data.
SHARED = CORPUS.parents[1]
_NOT_RUN = pytest.StashKey[int]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "shared: needs ../shared (the real corpus, the reference data) beside the checkout"
    )


def pytest_collection_modifyitems(config, items):
    """Without ../shared, the tests that read it are not run, and the run says so once (below)."""
    if SHARED.is_dir():
        return
    needing = [item for item in items if item.get_closest_marker("shared")]
    if needing:
        config.hook.pytest_deselected(items=needing)
        items[:] = [item for item in items if not item.get_closest_marker("shared")]
        config.stash[_NOT_RUN] = len(needing)


def pytest_terminal_summary(terminalreporter, config):
    not_run = config.stash.get(_NOT_RUN, 0)
    if not_run:
        terminalreporter.write_line(
            f"{not_run} tests over the shared corpus and reference data were not run: ../shared is not next to this checkout"
        )


@pytest.fixture(autouse=True, scope="session")
def _isolated_user_folders(tmp_path_factory):
    """No test reads or writes the user's own cache or Docker credentials."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    docker_config = tmp_path_factory.mktemp("docker-config")
    (docker_config / "config.json").write_text("{}\n")  # buildah and podman insist on the file
    patch.setenv("DOCKER_CONFIG", str(docker_config))
    yield
    patch.undo()
