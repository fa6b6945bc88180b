"""The Node.js data through the command line: one staleness warning a run, --update-data."""

import http.server
import json
import shutil
import threading
from pathlib import Path

from typer.testing import CliRunner

import dockfix
from dockfix.cli import app
from dockfix.sources import nodedata
from dockfix.sources.images import NodeImages
from support.fixing import make_project

DATA = Path(dockfix.__file__).parent / "data"


def test_stale_data_is_warned_once_per_run_that_depends_on_it(tmp_path):
    folder = make_project(tmp_path, "FROM node:14-alpine\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "Dockerfile").write_text("FROM node:16-alpine\n")
    result = CliRunner().invoke(app, ["--offline", "--today", "2026-11-29", str(folder)])
    assert result.stderr.count("Run `dockfix --update-data`") == 1
    fresh = CliRunner().invoke(app, ["--offline", "--today", "2026-04-08", str(folder)])
    assert "update-data" not in fresh.stderr


def test_no_staleness_warning_when_no_finding_depends_on_the_data(tmp_path):
    # Live majors named explicitly: nothing the run says was judged by the release or advisory data.
    folder = make_project(tmp_path, "FROM node:22-alpine\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "Dockerfile").write_text("FROM node:24-alpine\n")
    result = CliRunner().invoke(app, ["--offline", "--today", "2026-11-29", str(folder)])
    assert "update-data" not in result.stderr


def test_update_data_refuses_offline():
    result = CliRunner().invoke(app, ["--update-data", "--offline"])
    assert result.exit_code == 2 and "cannot be combined with --offline" in result.stderr


def test_update_data_from_a_loopback_server(tmp_path, monkeypatch):
    """The published files, served on loopback in place of the Node.js project's hosts."""
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(DATA / "Release" / "schedule.json", served / "schedule.json")
    shutil.copy(DATA / "security-wg" / "vuln" / "core" / "index.json", served / "index.json")
    shutil.copy(DATA / "docker-node" / "versions.json", served / "versions.json")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(served))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        monkeypatch.setattr(nodedata, "SCHEDULE_URL", f"{base}/schedule.json")
        monkeypatch.setattr(nodedata, "VULNERABILITIES_URL", f"{base}/index.json")
        monkeypatch.setattr(nodedata, "IMAGE_VERSIONS_URL", f"{base}/versions.json")
        cache = tmp_path / "xdg"
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
        result = CliRunner().invoke(app, ["--update-data"])
    finally:
        server.shutdown()
    assert result.exit_code == 0, result.stderr
    stored = cache / "dockfix" / nodedata.CACHE_FILE_NAME
    assert stored.is_file() and json.loads(stored.read_text())
    assert nodedata.NodeData.load(cache / "dockfix").origin == str(stored)
    images = NodeImages.load(cache / "dockfix")
    assert images.origin == str(stored)
    assert sorted(images.releases) == [22, 24, 26]
    assert "majors 22, 24, 26" in result.stdout
