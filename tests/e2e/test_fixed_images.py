"""Images built from dockfix's output build and run: the proof behind every fix.

For each app below, the naive Dockerfile is fixed by ``dockfix --write --unsafe-fixes`` (run as
a program, resolving digests through the loopback registry as it would through Docker Hub),
then both Dockerfiles are built and compared:

* the fixed Dockerfile builds (with ``--secret id=npmrc`` where it mounts the npm token), and so
  does the naive one;
* the fixed container answers HTTP, has dumb-init as PID 1, runs the app as uid 1000, and lets a
  slow request finish on ``podman stop`` (SIGTERM), exiting 0 well inside the stop timeout;
* the fixed image ships no ``.npmrc`` and no token (in no layer, not in the history), no
  devDependency, has ``NODE_ENV=production`` and pins its base by the digest that was pushed.

The naive images are checked too, where they should fail, so the checks are known to be able to.

Docker Hub is not reachable here: the stand-in node images (see standins.py) are served under
exactly the tags Docker Hub has for the majors of versions.json, and under the tags of ended
majors the naive files name (Docker Hub keeps those), and before building, each FROM that names
Docker Hub's node image is pointed at the loopback registry. Only the registry host is rewritten
(``node:26-alpine@sha256:X`` becomes ``<host>/library/node:26-alpine@sha256:X``); the tag and the
digest dockfix wrote are built exactly as written, so a fix that names a tag, or a tool, the
real images lack fails here as it would there.

The apps: the article's ladder (``FROM node / WORKDIR / COPY . . / RUN npm install / CMD "npm"
"start"``), an app whose naive Dockerfile writes its npm token into ``.npmrc`` with ``echo``, a
TypeScript app with a build step and a devDependency (typescript), a Yarn v1 app on ``node:18``
(``yarn install --frozen-lockfile``), a pnpm app whose pnpm comes from Corepack on ``node:20``
(``corepack enable && pnpm install --frozen-lockfile``), a Next.js-shaped app built and served in
one stage (its ``next`` a stand-in package from a ``file:`` tarball: ``next build`` writes ``.next``,
``next start`` serves it; the split's production stage must hold ``.next``, ``public``, the config,
``package.json`` and ``node_modules`` and no sources), an app started by a tool installed globally
from a tarball of the app folder (as ``pm2-runtime``; the split must install it where the app
runs), and three single-stage npm apps written as real projects commonly are: one laid out as
Express's generator lays an app out (``bin/www`` starting ``app.js``) and run by ``node`` itself
on an ended major's Alpine tag, the same app started by ``npm start`` on an ended major, and one
installed with ``npm ci --only=production`` on the moving ``lts`` tag. Their naive Dockerfiles
keep the quirks real ones have (a trailing space, a blank last line, no final newline). Last, an
app built in one stage and run in another, both on ``node:14-alpine``: its build script writes
``dist/``, which the second stage copies with ``node_modules``; the two stages must move to the same
supported major together.

Three more apps must keep doing what they did before the fix, each checked on its own terms at
the end of this module: a development image whose CMD is `npm run dev` (a dev server from
devDependencies), an app whose `npm start` runs a devDependency's command-line tool, and an app
that writes its cache under a VOLUME when it starts. Their dev tools are tiny packages of their
own (apps/<app>/packages), packed into the app's vendor/ folder and installed by npm as
`file:` tarballs, with a `bin` as a registry package has.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .harness import (
    BuildResult,
    ContainerEngine,
    HarnessError,
    assert_stops_gracefully,
    node_image_tags,
    point_at_registry,
    registry_manifest_digest,
    stop_during_slow_request,
)
from .standins import TAGS_AS_OF, PublishedBase, archived_tag_image, publish_standins, versions_data

pytestmark = pytest.mark.e2e

APPS = Path(__file__).parent / "apps"
#: The day the stand-ins' tags are served as of: dockfix runs as on that day.
DOCKFIX_TODAY = TAGS_AS_OF.isoformat()
STOP_TIMEOUT = 10  # seconds podman waits after SIGTERM before SIGKILL
NAIVE_STOP_TIMEOUT = 3  # short: some naive images are expected to sit it out
NPM_SECRET_ID = "npmrc"

#: A shell that does not pass SIGTERM on is PID 1: podman SIGKILLs it after the stop timeout.
KILLED = "killed"
#: npm is PID 1: it passes SIGTERM to the ``sh -c`` running the start script, which dies of it
#: at once with the app, so the request in flight gets no answer and npm exits 1.
DROPPED = "dropped"
#: Yarn v1 or pnpm is PID 1: on SIGTERM it exits at once, without waiting for the start script or
#: naming the signal; the container ends, the app is killed with it, and the request in flight
#: gets no answer.
ABANDONED = "abandoned"
#: An exec-form ``node`` CMD: the app is PID 1 and gets SIGTERM itself (the stand-in app handles
#: it; a real app without a handler would sit out the timeout instead).
GRACEFUL = "graceful"


# -- the apps ---------------------------------------------------------------------------------


def _own_app(name: str, *, ladder_server: bool = True) -> Callable[[Path], None]:
    """Lay out ``apps/<name>``: its app folder, with ``naive.Dockerfile`` as the Dockerfile.

    An app folder without a ``server.js`` (those that differ from the ladder only in their
    package manager) gets the ladder's, unless ``ladder_server`` is false (an app that brings its
    own server under another name).
    """

    def lay_out(destination: Path) -> None:
        shutil.copytree(APPS / name / "app", destination)
        shutil.copy(APPS / name / "naive.Dockerfile", destination / "Dockerfile")
        if ladder_server and not (destination / "server.js").exists():
            shutil.copy(APPS / "ladder" / "app" / "server.js", destination / "server.js")

    return lay_out


def pack_npm_package(folder: Path, destination: Path) -> tuple[str, str]:
    """Pack a package folder as ``npm pack`` does (``package/`` inside a gzipped tar); (file name, integrity).

    Files of a ``bin`` are executable, every date is fixed, so the same folder packs to the same bytes.
    """
    manifest = json.loads((folder / "package.json").read_text())
    bins = set((manifest.get("bin") or {}).values())
    name = f"{manifest['name']}-{manifest['version']}.tgz"
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            info = tarfile.TarInfo(f"package/{relative}")
            data = path.read_bytes()
            info.size, info.mtime = len(data), 499162500  # npm pack's fixed date, 1985-10-26
            info.mode = 0o755 if relative in bins else 0o644
            archive.addfile(info, io.BytesIO(data))
    packed = gzip.compress(raw.getvalue(), mtime=0)
    destination.mkdir(parents=True, exist_ok=True)
    (destination / name).write_bytes(packed)
    return name, "sha512-" + base64.b64encode(hashlib.sha512(packed).digest()).decode()


def _app_with_vendored_tool(name: str) -> Callable[[Path], None]:
    """Lay out ``apps/<name>`` with its dev tool (``packages/<tool>``) packed into ``vendor/``.

    The tool is a devDependency ``file:vendor/<tool>-<version>.tgz``: npm installs it as it
    installs a package of the registry (its ``bin`` linked into node_modules/.bin, left out by
    ``--omit=dev``), and no registry has to know it. The lockfile is written here, with the
    tarball's integrity, beside the ladder app's entry for its one runtime dependency.
    """

    def lay_out(destination: Path) -> None:
        _own_app(name)(destination)
        package = json.loads((destination / "package.json").read_text())
        ladder_lock = json.loads((APPS / "ladder" / "app" / "package-lock.json").read_text())
        root = {key: package[key] for key in ("name", "version", "dependencies", "devDependencies")}
        packages = {"": root}
        for dependency in package["dependencies"]:
            packages[f"node_modules/{dependency}"] = ladder_lock["packages"][f"node_modules/{dependency}"]
        for tool_folder in sorted((APPS / name / "packages").iterdir()):
            manifest = json.loads((tool_folder / "package.json").read_text())
            tarball, integrity = pack_npm_package(tool_folder, destination / "vendor")
            assert package["devDependencies"][manifest["name"]] == f"file:vendor/{tarball}"
            packages[f"node_modules/{manifest['name']}"] = {
                "version": manifest["version"],
                "resolved": f"file:vendor/{tarball}",
                "integrity": integrity,
                "dev": True,
                "license": manifest["license"],
                "bin": manifest["bin"],
            }
        lock = {"name": package["name"], "version": package["version"], "lockfileVersion": 3, "requires": True}
        lock["packages"] = packages
        (destination / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")

    return lay_out


def _pack(package: Path, tarball: Path) -> str:
    """`npm pack` of a local package folder, made reproducibly; returns the tarball's npm integrity."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w") as tar:
        for path in sorted(p for p in package.rglob("*") if p.is_file()):
            info = tarfile.TarInfo(f"package/{path.relative_to(package).as_posix()}")
            data = path.read_bytes()
            info.size, info.mtime = len(data), 0
            info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
            tar.addfile(info, io.BytesIO(data))
    tarball.parent.mkdir(parents=True, exist_ok=True)
    tarball.write_bytes(buffer.getvalue())
    return "sha512-" + base64.b64encode(hashlib.sha512(buffer.getvalue()).digest()).decode()


def _nextjs_app(destination: Path) -> None:
    """A Next.js-shaped app whose `next` is the stand-in package (apps/nextjs-standin/next), as a
    `file:` tarball dependency with its lockfile entry; the rest of the lockfile is the ladder's."""
    _own_app("nextjs-standin")(destination)
    integrity = _pack(APPS / "nextjs-standin" / "next", destination / "vendor" / "next-14.2.0.tgz")
    lock = json.loads((APPS / "ladder" / "app" / "package-lock.json").read_text())
    lock["name"] = lock["packages"][""]["name"] = "nextjs-standin"
    lock["packages"][""]["dependencies"]["next"] = "file:vendor/next-14.2.0.tgz"
    lock["packages"]["node_modules/next"] = {
        "version": "14.2.0",
        "resolved": "file:vendor/next-14.2.0.tgz",
        "integrity": integrity,
        "license": "MIT",
        "bin": {"next": "bin/next.js"},
    }
    lock["packages"] = dict(sorted(lock["packages"].items()))
    (destination / "package-lock.json").write_text(json.dumps(lock, indent=2) + "\n")


def _global_cli_app(destination: Path) -> None:
    """An app started by a tool installed globally from a tarball in the app folder."""
    _own_app("global-cli")(destination)
    _pack(APPS / "global-cli" / "app-runner", destination / "tools" / "app-runner-1.0.0.tgz")


@dataclass(frozen=True)
class AppCase:
    """One app, its naive Dockerfile, and what its images are expected to show."""

    name: str
    lay_out: Callable[[Path], None]
    runtime_dependencies: tuple[str, ...]
    dev_dependencies: tuple[str, ...]
    #: What ``podman stop`` does to the naive container with a slow request in flight: one of
    #: KILLED, DROPPED, GRACEFUL (see there).
    naive_stop: str
    #: Whether the naive image installs the devDependencies too.
    naive_ships_dev_dependencies: bool = True
    #: The npm token the naive Dockerfile bakes in (written by echo from this build argument).
    token: str | None = None
    naive_build_args: dict[str, str] = field(default_factory=dict)
    #: A field of the app's JSON answer that proves the right program answers.
    answer_marks: dict[str, object] = field(default_factory=dict)


def _token_of(app: str) -> str:
    npmrc = (APPS / app / "app" / ".npmrc").read_text()
    return re.search(r"_authToken=(\S+)", npmrc).group(1)


PRIVATE_TOKEN = _token_of("private-registry")

CASES = [
    AppCase("ladder", _own_app("ladder"), ("ms",), ("is-number",), naive_stop=KILLED),
    AppCase(
        "private-registry",
        _own_app("private-registry"),
        ("ms",),
        ("is-number",),
        naive_stop=DROPPED,
        token=PRIVATE_TOKEN,
        naive_build_args={"NPM_TOKEN": PRIVATE_TOKEN},
    ),
    AppCase(
        "typescript-build",
        _own_app("typescript-build"),
        ("ms",),
        ("typescript",),
        naive_stop=DROPPED,
        answer_marks={"compiled": True},
    ),
    # yarn.lock, `RUN yarn install --frozen-lockfile` on node:18, CMD ["yarn", "start"]
    AppCase("yarn-classic", _own_app("yarn-classic"), ("ms",), ("is-number",), naive_stop=ABANDONED),
    # pnpm-lock.yaml, `RUN corepack enable && pnpm install --frozen-lockfile` on node:20; its
    # packageManager carries pnpm's hash as `corepack use` writes it (see standins.py on why)
    AppCase("pnpm-corepack", _own_app("pnpm-corepack"), ("ms",), ("is-number",), naive_stop=ABANDONED),
    # bin/www starting app.js, with a .dockerignore: node:10-alpine, `npm install && npm cache
    # clean --force`, CMD [ "node", "./bin/www" ]
    AppCase(
        "bin-www-alpine",
        _own_app("bin-www-alpine", ladder_server=False),
        ("ms",),
        ("is-number",),
        naive_stop=GRACEFUL,
    ),
    # the same app on node:12, CMD ["npm", "start"] with start `node ./bin/www`
    AppCase(
        "bin-www-npm-start",
        _own_app("bin-www-npm-start", ladder_server=False),
        ("ms",),
        ("is-number",),
        naive_stop=DROPPED,
    ),
    # node:lts, `npm ci --only=production` (which npm still honours: no devDependency),
    # CMD ["node", "server.js"]
    AppCase(
        "npm-ci-only-production",
        _own_app("npm-ci-only-production"),
        ("ms",),
        ("is-number",),
        naive_stop=GRACEFUL,
        naive_ships_dev_dependencies=False,
    ),
    # one stage that builds and serves a Next.js app: `npm run build` (`next build`), then
    # CMD ["node_modules/.bin/next", "start"]
    AppCase(
        "nextjs-standin",
        _nextjs_app,
        ("ms", "next"),
        ("is-number",),
        naive_stop=GRACEFUL,
        answer_marks={"page": "index", "compiled": True},
    ),
    # a globally installed start tool (as pm2-runtime), from a tarball in the app folder
    AppCase(
        "global-cli",
        _global_cli_app,
        ("ms",),
        ("is-number",),
        naive_stop=GRACEFUL,
        answer_marks={"runner": "1.0.0"},
    ),
    # two stages on node:14-alpine: the first runs `npm ci`, its own build script (writes dist/)
    # and `npm prune --production`; the second copies package.json, node_modules and dist/ from
    # it and runs CMD ["node", "dist/server.js"]. Both must move to 24 together, in one fix.
    AppCase(
        "two-stage-node14",
        _own_app("two-stage-node14", ladder_server=False),
        ("ms",),
        ("is-number",),
        naive_stop=GRACEFUL,
        naive_ships_dev_dependencies=False,
        answer_marks={"compiled": True},
    ),
]

#: The apps whose naive Dockerfile bakes an npm token into the image.
TOKEN_CASES = [case for case in CASES if case.token is not None]


# -- building both images ---------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltCase:
    """Both images of one app, and what dockfix wrote.

    A fixed Dockerfile that does not build is kept as its build log: the checks of the naive
    image still run, and every check of the fixed image fails with that log.
    """

    case: AppCase
    fixed_dockerfile: str
    dockfix_output: str
    naive: BuildResult
    fixed_build: BuildResult | None
    fixed_build_error: str | None
    naive_base: str  # the naive final stage's base, as pulled from the loopback registry
    fixed_base: str  # the fixed final stage's base, as pulled from the loopback registry

    @property
    def fixed(self) -> BuildResult:
        """The fixed image; fails the test that asks when dockfix's Dockerfile did not build."""
        if self.fixed_build is None:
            pytest.fail(
                f"dockfix's Dockerfile for {self.case.name} does not build on the official images:\n"
                f"{self.fixed_dockerfile}\n{self.fixed_build_error}"
            )
        return self.fixed_build


@pytest.fixture(scope="module")
def published_bases(node_standins, e2e_registry, node_bases) -> dict[str, PublishedBase]:
    """Every official tag, and the tags of ended majors the naive Dockerfiles here name.

    Docker Hub still serves ``node:10-alpine`` or ``node:18``, frozen; versions.json no longer
    describes them (see standins.archived_tag_image). No other tag is added: a tag dockfix
    writes must be an official one.
    """
    versions = versions_data()
    archived = {}
    for case in CASES:
        for tag in node_image_tags((APPS / case.name / "naive.Dockerfile").read_text()):
            image = archived_tag_image(tag, versions)
            if tag not in node_bases and image is not None:
                archived[tag] = image
    return {**node_bases, **publish_standins(node_standins, e2e_registry, archived)}


def run_dockfix(directory: Path, registry_url: str, cache_home: Path) -> subprocess.CompletedProcess:
    """``dockfix --write --unsafe-fixes`` on ``directory``, as a user runs it.

    Digests are resolved through ``registry_url``; dockfix's cache goes to ``cache_home`` so the
    user's own cache is not touched.
    """
    environment = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    environment.pop("DOCKFIX_REGISTRY_MIRROR", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "dockfix",
            "--write",
            "--unsafe-fixes",
            "--today",
            DOCKFIX_TODAY,
            "--registry-mirror",
            registry_url,
            str(directory),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


def final_base(dockerfile_text: str, registry_host: str) -> str:
    """The image the last stage starts from, as the rewritten Dockerfile names it."""
    froms = re.findall(
        r"^\s*FROM\s+(?:--\S+\s+)*(\S+)",
        point_at_registry(dockerfile_text, registry_host),
        re.IGNORECASE | re.MULTILINE,
    )
    return froms[-1]


def secret_ids(dockerfile_text: str) -> list[str]:
    """The ids of the build secrets the Dockerfile's RUN instructions mount."""
    return re.findall(r"--mount=type=secret,(?:[^\s]*,)?id=([\w.-]+)", dockerfile_text)


def _build_case(case: AppCase, engine: ContainerEngine, registry_url: str, host: str, root: Path, record_build):
    """Lay out the app, fix a copy with dockfix, and build the naive and the fixed image."""
    naive_dir, fixed_dir = root / "naive", root / "fixed"
    case.lay_out(naive_dir)
    shutil.copytree(naive_dir, fixed_dir)

    fixed = run_dockfix(fixed_dir, registry_url, root / "xdg-cache")
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode == 0, f"dockfix failed on {case.name}:\n{output}"
    naive_text = (naive_dir / "Dockerfile").read_text()
    fixed_text = (fixed_dir / "Dockerfile").read_text()
    assert fixed_text != naive_text, output

    naive_build = record_build(
        f"{case.name} naive",
        engine.build(
            point_at_registry(naive_text, host),
            naive_dir,
            f"localhost/e2e-{case.name}:naive",
            build_args=case.naive_build_args,
        ),
    )
    # dockfix asks for the npm token as a build secret: the file it means is the app's .npmrc
    secrets = {secret_id: fixed_dir / ".npmrc" for secret_id in secret_ids(fixed_text)}
    fixed_build, fixed_error = None, None
    try:
        fixed_build = record_build(
            f"{case.name} fixed by dockfix",
            engine.build(
                point_at_registry(fixed_text, host), fixed_dir, f"localhost/e2e-{case.name}:fixed", secrets=secrets
            ),
        )
    except HarnessError as error:
        fixed_error = str(error)
    return BuiltCase(
        case,
        fixed_text,
        output,
        naive_build,
        fixed_build,
        fixed_error,
        final_base(naive_text, host),
        final_base(fixed_text, host),
    )


@pytest.fixture(scope="module")
def build_case(
    e2e_engine, e2e_registry, published_bases, tmp_path_factory, record_build
) -> Callable[[AppCase], BuiltCase]:
    """Builds each app once for every test of this module that asks for it (a failure too)."""
    finished: dict[str, BuiltCase | BaseException] = {}

    def build(case: AppCase) -> BuiltCase:
        if case.name not in finished:
            root = tmp_path_factory.mktemp(case.name)
            try:
                finished[case.name] = _build_case(
                    case, e2e_engine, e2e_registry.url, e2e_registry.host, root, record_build
                )
            except BaseException as error:  # re-raised for every test of the case (a skip too)
                finished[case.name] = error
        outcome = finished[case.name]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return build


@pytest.fixture(scope="module", params=CASES, ids=[case.name for case in CASES])
def built(request, build_case) -> BuiltCase:
    """Each app, built naive and fixed."""
    return build_case(request.param)


@pytest.fixture(scope="module", params=TOKEN_CASES, ids=[case.name for case in TOKEN_CASES])
def built_with_token(request, build_case) -> BuiltCase:
    """Each app whose naive Dockerfile bakes in an npm token, built naive and fixed."""
    return build_case(request.param)


def test_fixed_dockerfile_builds_on_the_official_images(built):
    assert built.fixed_build_error is None, f"{built.fixed_dockerfile}\n{built.fixed_build_error}"
    assert built.fixed.image_id


# -- what dockfix wrote -----------------------------------------------------------------------


def test_fixed_base_is_pinned_by_the_digest_that_was_pushed(built, published_bases, e2e_registry):
    pins = re.findall(
        r"^\s*FROM\s+(?:--\S+\s+)*node:([\w.-]+)@(sha256:[0-9a-f]{64})",
        built.fixed_dockerfile,
        re.IGNORECASE | re.MULTILINE,
    )
    unpinned = [
        line
        for line in built.fixed_dockerfile.splitlines()
        if re.match(r"\s*FROM\s+(?:--\S+\s+)*node(?::[\w.-]+)?(?:\s|$)", line, re.I)
    ]
    assert pins and not unpinned, f"{built.fixed_dockerfile}\n{built.dockfix_output}"
    for tag, digest in pins:
        # a supported LTS line: 24 (an end-of-life major moves to the oldest LTS line with a year
        # of support left), 26 (what a floating tag means today), or 22 the file already named
        assert tag.split("-")[0] in ("24", "26", "22"), tag
        assert digest == published_bases[tag].digest
        assert digest == registry_manifest_digest(e2e_registry.host, "library/node", tag)


def test_a_secret_is_mounted_only_where_a_token_was_baked_in(built):
    assert secret_ids(built.fixed_dockerfile) == ([NPM_SECRET_ID] if built.case.token else [])


def test_token_becomes_a_build_secret(built_with_token):
    assert secret_ids(built_with_token.fixed_dockerfile) == [NPM_SECRET_ID]
    assert "echo" not in built_with_token.fixed_dockerfile
    assert "NPM_TOKEN" not in built_with_token.fixed_dockerfile


# -- the images -------------------------------------------------------------------------------


def test_fixed_image_config(e2e_engine, built):
    config = e2e_engine.image_config(built.fixed.image_id)
    assert config.env.get("NODE_ENV") == "production"
    assert config.user in ("node", "1000", "node:node", "1000:1000")
    launch = (*config.entrypoint, *config.cmd)  # the base's entrypoint script execs the CMD
    assert any(Path(word).name == "dumb-init" for word in launch[:2]), launch


def test_naive_image_config_is_not_production(e2e_engine, built):
    config = e2e_engine.image_config(built.naive.image_id)
    assert "NODE_ENV" not in config.env
    assert config.user in ("", "root", "0")


def test_fixed_image_ships_no_npmrc(e2e_engine, built):
    with e2e_engine.image_files(built.fixed.image_id, base_image=built.fixed_base) as files:
        assert [layer for layer in files.layers if not layer.from_base]
        assert files.paths_named(".npmrc") == []


def test_fixed_image_ships_no_token(e2e_engine, built_with_token):
    built = built_with_token
    with e2e_engine.image_files(built.fixed.image_id, base_image=built.fixed_base) as files:
        assert files.paths_containing(built.case.token) == []
        assert files.history_containing(built.case.token) == []
        assert files.history_containing("NPM_TOKEN") == []


def test_naive_image_ships_the_token(e2e_engine, built_with_token):
    built = built_with_token
    with e2e_engine.image_files(built.naive.image_id, base_image=built.naive_base) as files:
        in_layers = [path for _, path in files.paths_containing(built.case.token)]
        in_history = files.history_containing(built.case.token)
        assert in_layers or in_history
        assert any(path.rsplit("/", 1)[-1] == ".npmrc" for path in in_layers)


def _workdir(engine: ContainerEngine, image: str) -> str:
    return engine.image_config(image).raw["OCIv1"]["config"].get("WorkingDir") or "/"


def test_fixed_image_has_no_dev_dependency(e2e_engine, built):
    listing = e2e_engine.node_modules_listing(built.fixed.image_id, _workdir(e2e_engine, built.fixed.image_id))
    assert set(built.case.runtime_dependencies) <= set(listing)
    assert not set(built.case.dev_dependencies) & set(listing), listing


def test_naive_image_ships_dev_dependencies(e2e_engine, built):
    listing = e2e_engine.node_modules_listing(built.naive.image_id, _workdir(e2e_engine, built.naive.image_id))
    assert set(built.case.runtime_dependencies) <= set(listing)
    shipped = set(built.case.dev_dependencies) <= set(listing)
    assert shipped == built.case.naive_ships_dev_dependencies, listing


# -- the containers ---------------------------------------------------------------------------


def test_fixed_container_answers_as_uid_1000_under_dumb_init(e2e_engine, built):
    container = e2e_engine.run_container(built.fixed.image_id)
    try:
        answer = json.loads(e2e_engine.wait_for_http(container))
        assert answer["uid"] == 1000 and answer["env"] == "production"
        for key, value in built.case.answer_marks.items():
            assert answer[key] == value
        pid1, *others = e2e_engine.processes(container.name)
        assert pid1.pid_in_container == 1
        assert Path(pid1.argv[0]).name == "dumb-init", pid1.argv
        assert [Path(process.argv[0]).name for process in others] == ["node"], others
        assert {process.uid for process in [pid1, *others]} == {1000}
    finally:
        e2e_engine.remove_container(container.name)


def test_fixed_container_lets_a_slow_request_finish_on_sigterm(e2e_engine, built):
    assert_stops_gracefully(e2e_engine, built.fixed.image_id, f"{built.case.name} fixed", STOP_TIMEOUT)


def test_naive_container_runs_as_root_and_stops_as_expected(e2e_engine, built):
    container = e2e_engine.run_container(built.naive.image_id)
    try:
        assert json.loads(e2e_engine.wait_for_http(container))["uid"] == 0
        outcome = stop_during_slow_request(e2e_engine, container, NAIVE_STOP_TIMEOUT)
        print(f"\n{built.case.name} naive: stopped in {outcome.stop.seconds:.1f} s, exit {outcome.stop.exit_code}")
        logs = outcome.stop.logs
        if built.case.naive_stop == KILLED:
            assert outcome.stop.exit_code == 137, logs  # SIGKILL: SIGTERM never reached the app
            assert outcome.stop.seconds >= NAIVE_STOP_TIMEOUT
            assert "SIGTERM received" not in logs
        elif built.case.naive_stop in (DROPPED, ABANDONED):
            assert outcome.stop.exit_code != 0, logs
            assert outcome.status is None and outcome.request_error, outcome
            assert "SIGTERM received" not in logs
            # npm says which signal its start script died of
            assert ("signal SIGTERM" in logs) == (built.case.naive_stop == DROPPED), logs
        else:
            assert outcome.stop.exit_code == 0, logs
            assert outcome.status == 200 and "SIGTERM received" in logs
    finally:
        e2e_engine.remove_container(container.name)


# -- the split of a Next.js app and of an app started by a global tool ------------------------


@pytest.fixture(scope="module")
def built_nextjs(build_case) -> BuiltCase:
    return build_case(next(case for case in CASES if case.name == "nextjs-standin"))


@pytest.fixture(scope="module")
def built_global_cli(build_case) -> BuiltCase:
    return build_case(next(case for case in CASES if case.name == "global-cli"))


TWO_STAGE_CASES = [case for case in CASES if case.name == "two-stage-node14"]


@pytest.fixture(scope="module", params=TWO_STAGE_CASES, ids=[case.name for case in TWO_STAGE_CASES])
def built_two_stage(request, build_case) -> BuiltCase:
    """The app whose two stages share an ended major, built naive and fixed."""
    return build_case(request.param)


def _listing(engine: ContainerEngine, image: str, folder: str) -> list[str]:
    script = f"console.log(JSON.stringify(require('fs').readdirSync({json.dumps(folder)}).sort()))"
    return json.loads(engine.run_command(image, ["node", "-e", script]).stdout)


def _stages(dockerfile_text: str) -> list[str]:
    return re.split(r"^(?=FROM\s)", dockerfile_text, flags=re.MULTILINE | re.IGNORECASE)[1:]


def test_nextjs_production_stage_has_the_build_output_and_no_sources(e2e_engine, built_nextjs):
    assert len(_stages(built_nextjs.fixed_dockerfile)) == 2, built_nextjs.fixed_dockerfile
    fixed = built_nextjs.fixed.image_id
    assert _listing(e2e_engine, fixed, ".") == [".next", "next.config.js", "node_modules", "package.json", "public"]
    assert _listing(e2e_engine, fixed, ".next/server/pages") == ["index.js"]
    # the naive image carries the sources and the packed stand-in: the check can fail
    naive = _listing(e2e_engine, built_nextjs.naive.image_id, ".")
    assert {"pages", "vendor", ".next"} <= set(naive), naive


def test_nextjs_container_serves_public_files_with_its_config(e2e_engine, built_nextjs):
    container = e2e_engine.run_container(built_nextjs.fixed.image_id)
    try:
        assert e2e_engine.wait_for_http(container, "/robots.txt").startswith("User-agent: *")
    finally:
        e2e_engine.remove_container(container.name)


def test_global_tool_is_installed_in_the_production_stage(e2e_engine, built_global_cli):
    _, production = _stages(built_global_cli.fixed_dockerfile)
    assert "npm install -g ./tools/app-runner-1.0.0.tgz" in production
    assert production.index("COPY ") < production.index("npm install -g")  # the tarball comes with the app
    usage = e2e_engine.run_command(built_global_cli.fixed.image_id, ["app-runner"], check=False)
    assert usage.returncode == 2 and "usage: app-runner" in usage.stderr, usage


# -- stages of one ended major, upgraded together ---------------------------------------------


def _node_majors(dockerfile_text: str) -> list[str]:
    """The major of the node image each FROM names, in stage order."""
    return re.findall(r"^\s*FROM\s+(?:--\S+\s+)*node:(\d+)", dockerfile_text, re.IGNORECASE | re.MULTILINE)


def test_stages_sharing_an_ended_major_move_to_24_together(built_two_stage, tmp_path):
    naive_text = (APPS / "two-stage-node14" / "naive.Dockerfile").read_text()
    assert _node_majors(naive_text) == ["14", "14"]
    # the oldest LTS line with a year of support left, in both stages: the build output still fits
    fixed_majors = _node_majors(built_two_stage.fixed_dockerfile)
    assert fixed_majors == ["24", "24"], f"{built_two_stage.fixed_dockerfile}\n{built_two_stage.dockfix_output}"
    # one upgrade for the build, not one per stage: a single DF007 fix names the other stage
    built_two_stage.case.lay_out(tmp_path / "app")
    options = ["--unsafe-fixes", "--offline", "--today", DOCKFIX_TODAY, "--output-format", "json"]
    report = subprocess.run(
        [sys.executable, "-m", "dockfix", *options, str(tmp_path / "app")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")},
    )
    upgrades = [fix for fix in json.loads(report.stdout)["applied"] if fix["code"] == "DF007"]
    assert [fix["line"] for fix in upgrades] == [1], report.stdout
    assert "line 8 to `node:24-alpine`" in upgrades[0]["message"]


# -- apps that must keep doing what they did ----------------------------------------------------
#
# Production settings must not stop an image from doing its job: a development image keeps its
# dev server (and its dev dependencies, and root, for the source mounted from the host), a start
# command that runs a dev dependency's CLI keeps that dependency, and an app that writes at start
# can still write where it writes once it runs as the node user. Each is built naive and fixed,
# and the fixed container must answer as the naive one does.

DEV_SERVER = AppCase("dev-server", _app_with_vendored_tool("dev-server"), ("ms",), ("devwatch",), naive_stop=DROPPED)
DEV_TOOL_START = AppCase(
    "dev-tool-start", _app_with_vendored_tool("dev-tool-start"), ("ms",), ("launch-app",), naive_stop=DROPPED
)
CACHE_AT_START = AppCase("cache-at-start", _own_app("cache-at-start"), ("ms",), ("is-number",), naive_stop=GRACEFUL)
CACHE_FILE = "data/cache/started.json"


def _answer(engine: ContainerEngine, image_id: str) -> tuple[dict, str]:
    """What the container answers on /, and its logs; the container is removed."""
    container = engine.run_container(image_id)
    try:
        return json.loads(engine.wait_for_http(container)), engine.logs(container.name)
    finally:
        engine.remove_container(container.name)


def test_dev_image_still_starts_its_dev_server(e2e_engine, build_case):
    built = build_case(DEV_SERVER)
    assert "--omit=dev" not in built.fixed_dockerfile and "NODE_ENV" not in built.fixed_dockerfile
    assert not re.search(r"^\s*USER\b", built.fixed_dockerfile, re.I | re.M), built.fixed_dockerfile
    config = e2e_engine.image_config(built.fixed.image_id)
    assert "NODE_ENV" not in config.env and config.user in ("", "root", "0")
    workdir = _workdir(e2e_engine, built.fixed.image_id)
    assert "devwatch" in e2e_engine.node_modules_listing(built.fixed.image_id, workdir)
    naive_answer, _ = _answer(e2e_engine, built.naive.image_id)
    fixed_answer, logs = _answer(e2e_engine, built.fixed.image_id)
    assert naive_answer["launchedBy"] == "devwatch"
    assert {key: fixed_answer[key] for key in ("launchedBy", "env", "uid")} == {
        key: naive_answer[key] for key in ("launchedBy", "env", "uid")
    }
    assert "devwatch: watching, running server.js" in logs


def test_start_command_running_a_dev_dependency_still_starts(e2e_engine, build_case):
    built = build_case(DEV_TOOL_START)
    naive_answer, _ = _answer(e2e_engine, built.naive.image_id)
    assert naive_answer["launchedBy"] == "launch-app"
    fixed_answer, logs = _answer(e2e_engine, built.fixed.image_id)
    assert fixed_answer["launchedBy"] == "launch-app", logs
    assert fixed_answer["uid"] == 1000 and fixed_answer["env"] == "production"
    workdir = _workdir(e2e_engine, built.fixed.image_id)
    assert "launch-app" in e2e_engine.node_modules_listing(built.fixed.image_id, workdir)


def _cache_file_owner(engine: ContainerEngine, image_id: str) -> tuple[int, str]:
    """(uid owning the cache file the app wrote at start, the container's logs)."""
    container = engine.run_container(image_id)
    try:
        answer = json.loads(engine.wait_for_http(container))
        script = f"console.log(require('node:fs').statSync({CACHE_FILE!r}).uid)"
        owner = int(engine.exec_in(container.name, ["node", "-e", script]).strip())
        assert owner == answer["uid"]
        return owner, engine.logs(container.name)
    finally:
        engine.remove_container(container.name)


def test_app_writing_its_cache_at_start_still_writes_it_as_uid_1000(e2e_engine, build_case):
    built = build_case(CACHE_AT_START)
    assert _cache_file_owner(e2e_engine, built.naive.image_id)[0] == 0
    owner, logs = _cache_file_owner(e2e_engine, built.fixed.image_id)
    assert owner == 1000 and f"cache written to {CACHE_FILE}" in logs, logs
    config = e2e_engine.image_config(built.fixed.image_id)
    assert config.user in ("node", "1000", "node:node", "1000:1000")
