"""DF011: installs mount the package manager's cache for the stage's user; never where the build
cannot read `RUN --mount`, nor where the cache holds something the image needs."""

import json

import pytest

from dockfix import guard
from dockfix.dockerfile.document import Document
from dockfix.project.build_context import Project
from dockfix.sources.images import NodeImages
from support.fixing import TODAY, check_fix_is_sound, fix_folder, fix_repository, make_project
from support.oracle import oracle_view

SYNTAX = "# syntax=docker/dockerfile:1\n"
START = 'CMD ["node", "server.js"]\n'
NPM_FILES = {"package-lock.json": "{}", "server.js": "require('http').createServer().listen(3000)\n"}


def package(manager: str | None = None) -> str:
    data: dict = {"name": "app", "version": "1.0.0", "dependencies": {"ms": "2.1.3"}}
    if manager:
        data["packageManager"] = manager
    return json.dumps(data)


def fixed(tmp_path, dockerfile, *, manager=None, files=None, unsafe=True, select=("DF011",)):
    folder = make_project(tmp_path, dockerfile, package_json=package(manager), files={**NPM_FILES, **(files or {})})
    result = fix_folder(folder, unsafe=unsafe, select=list(select) if select else None)
    assert result.error is None, result.error
    assert oracle_view(result.fixed)[0] == "ok", "BuildKit's parser must accept the output"
    again = fix_folder(folder, unsafe=unsafe, select=list(select) if select else None, source=result.fixed)
    assert again.fixed == result.fixed and not again.applied, "not a fixpoint"
    return result.fixed.decode()


def install_stage(base: str, install: str, user: str | None = None, env: str = "") -> str:
    user_line = f"USER {user}\n" if user else ""
    return f"FROM {base}\n{env}WORKDIR /app\nCOPY . .\n{user_line}RUN {install}\n{START}"


# (package manager declared, base image, stage user, ENV lines, install) -> the mount the RUN gets
MOUNTS = [
    (None, "node:24-alpine", None, "", "npm ci --omit=dev", "--mount=type=cache,target=/root/.npm"),
    (
        None,
        "node:24-alpine",
        "node",
        "",
        "npm ci --omit=dev",
        "--mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000",
    ),
    (
        None,
        "node:24",
        "1000:1000",
        "",
        "npm install --omit=dev",
        "--mount=type=cache,target=/home/node/.npm,uid=1000,gid=1000",
    ),
    (None, "node:24", "root", "", "npm i -g pm2", "--mount=type=cache,target=/root/.npm"),
    (
        None,
        "node:24",
        None,
        "ENV npm_config_cache=/var/cache/npm\n",
        "npm ci",
        "--mount=type=cache,target=/var/cache/npm",
    ),
    (
        "yarn@1.22.22",
        "node:22",
        None,
        "",
        "yarn install --frozen-lockfile",
        "--mount=type=cache,target=/usr/local/share/.cache/yarn,sharing=locked",
    ),
    (
        "yarn@1.22.22",
        "node:22",
        "node",
        "",
        "yarn --frozen-lockfile --production",
        "--mount=type=cache,target=/home/node/.cache/yarn,uid=1000,gid=1000,sharing=locked",
    ),
    (
        "yarn@1.22.22",
        "node:22",
        None,
        "ENV YARN_CACHE_FOLDER=/yarn-cache\n",
        "yarn install",
        "--mount=type=cache,target=/yarn-cache,sharing=locked",
    ),
    (
        "yarn@4.5.3",
        "node:22",
        None,
        "",
        "corepack enable && yarn install --immutable",
        "--mount=type=cache,target=/root/.yarn/berry/cache",
    ),
    (
        "pnpm@9.15.9",
        "node:22-slim",
        None,
        "",
        "corepack enable && pnpm install --frozen-lockfile",
        "--mount=type=cache,target=/root/.local/share/pnpm/store",
    ),
    (
        "pnpm@9.15.9",
        "node:22-slim",
        None,
        'ENV PNPM_HOME="/pnpm"\n',
        "corepack enable && pnpm install --prod --frozen-lockfile",
        "--mount=type=cache,target=/pnpm/store",
    ),
    (
        "pnpm@9.15.9",
        "node:22-slim",
        "node",
        "",
        "pnpm install",
        "--mount=type=cache,target=/home/node/.local/share/pnpm/store,uid=1000,gid=1000",
    ),
    (None, "node:22", None, "", "npm i -g bun && bun install", None),
    (
        "bun@1.1.38",
        "node:22",
        None,
        "",
        "bun install --frozen-lockfile",
        "--mount=type=cache,target=/root/.bun/install/cache",
    ),
]


@pytest.mark.parametrize(("manager", "base", "user", "env", "install", "mount"), MOUNTS)
def test_each_manager_and_user_gets_its_cache_folder(tmp_path, manager, base, user, env, install, mount):
    out = fixed(tmp_path, install_stage(base, install, user, env), manager=manager)
    if mount is None:  # npm's and bun's caches both
        mount = "--mount=type=cache,target=/root/.npm --mount=type=cache,target=/root/.bun/install/cache"
    assert out == SYNTAX + install_stage(base, f"{mount} {install}", user, env)


@pytest.mark.parametrize(
    ("install", "expected"),
    [
        ("npm ci --omit=dev && npm cache clean --force", "npm ci --omit=dev"),
        ("npm cache clean --force && npm ci", "npm ci"),
        (
            "npm ci \\\n    && npm cache clean --force \\\n    && mv node_modules /deps",
            "npm ci \\\n    && mv node_modules /deps",
        ),
        ("yarn install --frozen-lockfile && yarn cache clean", "yarn install --frozen-lockfile"),
    ],
)
def test_cache_cleaning_the_mount_makes_pointless_goes(tmp_path, install, expected):
    manager = "yarn@1.22.22" if "yarn" in install else None
    out = fixed(tmp_path, install_stage("node:24", install), manager=manager)
    assert "cache clean" not in out and "prune" not in out
    assert expected in out


NOT_OFFERED = [
    ("a frontend older than 1.2", "# syntax=docker/dockerfile:1.1\n" + install_stage("node:24", "npm ci"), None, {}),
    ("a frontend it does not know", "# syntax=example.com/frontend:2\n" + install_stage("node:24", "npm ci"), None, {}),
    (
        "an offline install reading the cache",
        install_stage("node:24", "npm ci").replace(START, "RUN npm install --offline left-pad\n" + START),
        None,
        {},
    ),
    (
        "a cache folder copied in",
        install_stage("node:24", "npm ci").replace("COPY . .\n", "COPY . .\nCOPY npm-cache /root/.npm\n"),
        None,
        {},
    ),
    ("a cache set with npm config", install_stage("node:24", "npm config set cache /tmp/c && npm ci"), None, {}),
    ("the project's .npmrc names a cache", install_stage("node:24", "npm ci"), None, {".npmrc": "cache=/tmp/c\n"}),
    (
        "the project's .yarnrc names a cache",
        install_stage("node:24", "yarn install"),
        "yarn@1.22.22",
        {".yarnrc": 'cache-folder "/c"\n'},
    ),
    ("a --cache flag", install_stage("node:24", "npm ci --cache /tmp/empty"), None, {}),
    ("a cache variable on the install", install_stage("node:24", "npm_config_cache=/tmp/c npm ci"), None, {}),
    ("an rm of the cache folder", install_stage("node:24", "npm ci && rm -rf /root/.npm"), None, {}),
    ("an rm of the home folder's cache", install_stage("node:24", "npm ci && rm -rf ~/.npm /tmp/*"), None, {}),
    (
        "a cache folder that is the app folder",
        install_stage("node:24", "npm ci", env="ENV npm_config_cache=/app\n"),
        None,
        {},
    ),
    ("a user of unknown home", install_stage("node:24", "npm ci", user="appuser"), None, {}),
    ("a RUN that mounts a cache already", install_stage("node:24", "--mount=type=cache,target=/c npm ci"), None, {}),
    ("Yarn 3, whose cache is the project's", install_stage("node:24", "yarn install"), "yarn@3.6.4", {}),
    ("pnpm 6, whose store is ~/.pnpm-store", install_stage("node:24", "pnpm install"), "pnpm@6.35.1", {}),
    ("not the node image", install_stage("ubuntu:24.04", "npm ci"), None, {}),
    ("a Windows image", install_stage("mcr.microsoft.com/windows/servercore:ltsc2022", "npm ci"), None, {}),
    ("a development image", install_stage("node:24", "npm ci").replace(START, 'CMD ["npm", "run", "dev"]\n'), None, {}),
]


@pytest.mark.parametrize(
    ("dockerfile", "manager", "files"), [c[1:] for c in NOT_OFFERED], ids=[c[0] for c in NOT_OFFERED]
)
def test_not_offered_where_a_mount_would_not_build_or_would_hide_the_cache(tmp_path, dockerfile, manager, files):
    folder = make_project(tmp_path, dockerfile, package_json=package(manager), files={**NPM_FILES, **files})
    result = fix_folder(folder, select=["DF011"])
    assert result.error is None
    assert not [f for f in [*result.applied, *result.remaining] if f.code == "DF011"]
    assert result.fixed == dockerfile.encode()


def test_a_frontend_that_reads_mounts_keeps_its_syntax_line(tmp_path):
    dockerfile = "# syntax=docker/dockerfile:1.4\n" + install_stage("node:24", "npm ci")
    out = fixed(tmp_path, dockerfile)
    assert out == "# syntax=docker/dockerfile:1.4\n" + install_stage(
        "node:24", "--mount=type=cache,target=/root/.npm npm ci"
    )


def test_only_stages_that_install_get_a_mount(tmp_path):
    dockerfile = (
        "FROM node:24 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
        "FROM node:24-alpine\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\nRUN ls dist\n" + START
    )
    out = fixed(tmp_path, dockerfile)
    assert out == SYNTAX + dockerfile.replace("RUN npm ci", "RUN --mount=type=cache,target=/root/.npm npm ci")
    assert out.count("--mount") == 1


def test_unsafe_fix_is_only_offered_without_unsafe_fixes(tmp_path):
    folder = make_project(tmp_path, install_stage("node:24", "npm ci"), package_json=package(), files=NPM_FILES)
    result = fix_folder(folder, unsafe=False, select=["DF011"])
    assert result.fixed == result.original
    [finding] = [f for f in result.remaining if f.code == "DF011"]
    assert finding.fixable and "/root/.npm" in finding.message


def test_with_every_rule_the_pipeline_settles(tmp_path):
    """DF002 rewrites the install, DF004 adds `USER node` after it, DF011 mounts root's cache: the
    install still runs as root, so the mount stays root's."""
    dockerfile = "FROM node:24-alpine\nWORKDIR /app\nCOPY . .\nRUN npm install && npm cache clean --force\n" + START
    folder = make_project(tmp_path, dockerfile, package_json=package(), files=NPM_FILES)
    out = check_fix_is_sound(folder).fixed.decode()  # a fixpoint, parsed by BuildKit, refused nothing
    assert "RUN --mount=type=cache,target=/root/.npm npm ci\n" in out  # no devDependencies: no --omit=dev
    assert out.startswith(SYNTAX) and "cache clean" not in out and "USER node" in out


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("package.json", json.dumps({"scripts": {"image": "DOCKER_BUILDKIT=0 docker build -t app ."}})),
        ("Makefile", "image:\n\tDOCKER_BUILDKIT=0 docker build -t app .\n"),
    ],
)
def test_not_offered_where_the_repository_builds_without_buildkit(tmp_path, name, text):
    root = make_project(
        tmp_path, install_stage("node:24", "npm ci"), package_json=package(), files={**NPM_FILES, name: text}
    )
    result = fix_repository(root, root / "Dockerfile", select=["DF011"])
    assert result.fixed == result.original


def test_compose_env_file_turning_buildkit_off(tmp_path):
    compose = "services:\n  app:\n    build: .\n"
    files = {**NPM_FILES, "compose.yaml": compose, ".env": "DOCKER_BUILDKIT=0\nCOMPOSE_DOCKER_CLI_BUILD=0\n"}
    root = make_project(tmp_path, install_stage("node:24", "npm ci"), package_json=package(), files=files)
    assert fix_repository(root, root / "Dockerfile", select=["DF011"]).fixed == (root / "Dockerfile").read_bytes()
    (root / ".env").write_text("PORT=3000\n")
    assert b"--mount=type=cache" in fix_repository(root, root / "Dockerfile", select=["DF011"]).fixed


def test_guard_refuses_a_mount_the_pinned_frontend_cannot_read(tmp_path):
    plain = "# syntax=docker/dockerfile:1.1\n" + install_stage("node:24", "npm ci")
    mounted = plain.replace("RUN npm ci", "RUN --mount=type=cache,target=/root/.npm npm ci")
    images, project = NodeImages.packaged(), Project(tmp_path)
    before = guard.check(Document.parse(plain.encode()), project, images, TODAY)
    after = guard.check(Document.parse(mounted.encode()), project, images, TODAY)
    [problem] = guard.introduced(before, after)
    assert "older than 1.2" in problem.message
    newer = mounted.replace("dockerfile:1.1", "dockerfile:1.2")
    assert guard.check(Document.parse(newer.encode()), project, images, TODAY) == []
