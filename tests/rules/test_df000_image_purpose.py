"""DF000: a note, once per file, where the image is a development, test, CI or base image; notes
are shown in every report format and are never counted as problems."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from support.fixing import fix_folder, fix_repository, make_project
from support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"

DEV_SCRIPT = json.dumps({"scripts": {"dev": "nodemon server.js"}, "devDependencies": {"nodemon": "^3.0.0"}})
APP = json.dumps({"scripts": {"start": "node server.js"}, "dependencies": {"express": "^4.0.0"}})

# name -> (package.json, Dockerfile, the reason the note gives, or None where no note is due)
SHAPES = {
    "dev script": (
        DEV_SCRIPT,
        'FROM node:24\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["npm", "run", "dev"]\n',
        "start command marks a development image",
    ),
    "no CMD: a base image": (
        APP,
        "FROM node:24-slim\nWORKDIR /app\nCOPY package.json ./\nRUN npm install\n",
        "no CMD or ENTRYPOINT of its own",
    ),
    "cypress image": (
        APP,
        'FROM node:24\nWORKDIR /e2e\nCOPY . .\nRUN npm install cypress\nCMD ["npx", "cypress", "run"]\n',
        "cypress",
    ),
    "stage named dev": (
        APP,
        'FROM node:24 AS dev\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["node", "server.js"]\n',
        "stage name",
    ),
    # Beside them, the images that must get no note: a production app, and a non-Node image.
    "production app": (
        APP,
        'FROM node:24-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD ["node", "server.js"]\n',
        None,
    ),
    "not a node image": (
        APP,
        'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD ["python", "app.py"]\n',
        None,
    ),
}


@pytest.mark.parametrize("package_json, dockerfile, reason", SHAPES.values(), ids=SHAPES.keys())
def test_one_note_says_why_the_image_is_left_alone(tmp_path, package_json, dockerfile, reason):
    folder = make_project(tmp_path, dockerfile, package_json=package_json, files={"package-lock.json": "{}"})
    result = fix_folder(folder)
    notes = [f for f in result.notes if f.code == "DF000"]
    if reason is None:
        assert notes == []
        return
    assert len(notes) == 1
    (note,) = notes
    assert note.note and note.fix is None and note.line == 1
    assert reason in note.message
    assert all(not f.note for f in result.initial + result.remaining)


def _dockfix(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "dockfix", "--offline", "--isolated", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def dev_image(tmp_path):
    # A .dockerignore, so the only finding left is about the init process (DF005) and the base (DF001).
    package_json, dockerfile, _ = SHAPES["dev script"]
    return make_project(
        tmp_path, dockerfile, package_json=package_json, files={".dockerignore": "node_modules\n.git\n"}
    )


def test_a_note_is_shown_in_the_text_report_but_not_counted(dev_image):
    run = _dockfix("--select", "DF000", ".", cwd=dev_image)
    assert run.returncode == 0, run.stderr
    assert "Dockerfile:1: DF000 note: left alone:" in run.stdout
    assert "No problems found in 1 file." in run.stderr


def test_a_note_does_not_fail_check(dev_image):
    run = _dockfix("--check", "--select", "DF000", ".", cwd=dev_image)
    assert run.returncode == 0, run.stdout + run.stderr


def test_json_sarif_and_github_carry_the_note(dev_image):
    record = json.loads(_dockfix("--output-format", "json", "--select", "DF000", ".", cwd=dev_image).stdout)
    assert [n["code"] for n in record["notes"]] == ["DF000"] and record["remaining"] == []
    sarif = json.loads(_dockfix("--output-format", "sarif", "--select", "DF000", ".", cwd=dev_image).stdout)
    (result,) = sarif["runs"][0]["results"]
    assert result["kind"] == "informational" and result["level"] == "none"
    github = _dockfix("--output-format", "github", "--select", "DF000", ".", cwd=dev_image).stdout
    assert github.startswith("::notice file=Dockerfile,line=1,title=DF000 image-purpose::left alone")


LEFT_ALONE = (
    "production practices would defeat a development, test, CI or base image, so its dependencies, NODE_ENV,"
    " user, start command, init and stages are not changed (deprecated forms that mean the same still are);"
    " what every image needs is still checked: its base image's tag and Node.js version, .dockerignore,"
    " build secrets and the app's SIGTERM handling"
)


def test_the_note_says_exactly_what_is_left_alone(dev_image):
    result = fix_folder(dev_image)
    (note,) = [f for f in result.notes if f.code == "DF000"]
    assert note.message == (
        f"left alone: its file name, stage name or start command marks a development image; {LEFT_ALONE}"
    )
    # No init, no start-command rewrite, no production setting, no stage.
    assert result.fixed.decode() == SHAPES["dev script"][1]
    assert [f.code for f in result.applied + result.remaining if f.code in PRODUCTION_RULES] == []


PRODUCTION_RULES = ("DF002", "DF003", "DF004", "DF005", "DF008")


def test_a_compose_development_build_is_left_alone(tmp_path):
    root = tmp_path / "compose-dev-nodemon"
    shutil.copytree(FIXTURES / "compose-dev-nodemon", root)
    dockerfile = root / "Dockerfile"
    result = fix_repository(root, dockerfile)
    (note,) = [f for f in result.notes if f.code == "DF000"]
    assert note.message == f"left alone: compose.yaml service api builds it with NODE_ENV=development; {LEFT_ALONE}"
    assert result.fixed == dockerfile.read_bytes()  # no USER, NODE_ENV, --omit=dev, stage or dumb-init
    assert [f.code for f in result.applied + result.remaining if f.code in PRODUCTION_RULES] == []
    # The file alone, as a plain `docker build` sees it, is a production image.
    assert [f for f in fix_folder(root).notes if f.code == "DF000"] == []


def test_a_compose_command_running_nodemon_makes_a_development_image(tmp_path):
    root = tmp_path / "compose-dev-nodemon"
    shutil.copytree(FIXTURES / "compose-dev-nodemon", root)
    compose = root / "compose.yaml"
    compose.write_text(compose.read_text().replace("      args:\n        NODE_ENV: development\n", ""))
    result = fix_repository(root, root / "Dockerfile")
    (note,) = [f for f in result.notes if f.code == "DF000"]
    assert note.message.startswith("left alone: compose.yaml service api runs it with `nodemon`; ")


def test_a_development_build_beside_a_production_default_is_not_left_alone(tmp_path):
    """`ARG NODE_ENV=production`: a plain `docker build` makes a production image of the same file."""
    root = tmp_path / "compose-dev-nodemon"
    shutil.copytree(FIXTURES / "compose-dev-nodemon", root)
    dockerfile = root / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace(
            "WORKDIR /app\n", "ARG NODE_ENV=production\nENV NODE_ENV=$NODE_ENV\nWORKDIR /app\n"
        )
    )
    result = fix_repository(root, dockerfile)
    assert [f for f in result.notes if f.code == "DF000"] == []
    fixed = result.fixed.decode()
    assert "--omit=dev" not in fixed and "ENV NODE_ENV=production" not in fixed and fixed.count("FROM ") == 1
