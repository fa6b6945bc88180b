import sys
from pathlib import Path

# tests/support is imported as `support` by the test modules.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest


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
