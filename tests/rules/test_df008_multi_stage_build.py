"""DF008: single-stage Node.js files become a build and a production stage, read from the project."""

import json
import re
import shutil

import pytest

from dockfix import guard
from dockfix.dockerfile.document import Document
from dockfix.project.build_context import Project
from dockfix.sources.images import NodeImages
from support.fixing import TODAY, fix_folder, fix_repository, make_project
from support.oracle import oracle_view
from support.paths import REPO, corpus_cases, lay_out_case

TS_PACKAGE = (
    '{"name": "ts-app", "version": "1.0.0", "scripts": {"build": "tsc", "start": "node dist/server.js"},'
    ' "dependencies": {"express": "^4.19.2"}, "devDependencies": {"typescript": "^5.4.0"}}'
)
TS_APP = (
    "FROM node:22-bookworm-slim\n"
    "WORKDIR /usr/src/app\n"
    "# dependencies first for the layer cache\n"
    "COPY package*.json ./\n"
    "RUN npm install && npm run build\n"
    "COPY . .\n"
    "EXPOSE 3000\n"
    "CMD node dist/server.js\n"
)
TS_FILES = {"package-lock.json": "{}", "tsconfig.json": '{"compilerOptions": {"outDir": "dist"}}'}
PLAIN_PACKAGE = '{"name": "app", "dependencies": {"express": "^4.19.2"}, "devDependencies": {"nodemon": "^3.1.4"}}'
PROD_PACKAGE = '{"name": "app", "dependencies": {"express": "^4.19.2"}}'
LOCK = {"package-lock.json": "{}"}


def stages_of(source: bytes):
    return Document.parse(source).stages


def settle(folder, **kwargs):
    """Fix, write back, fix again: the second run must change nothing."""
    result = fix_folder(folder, **kwargs)
    assert result.error is None, result.error
    assert oracle_view(result.fixed)[0] == "ok"
    (folder / "Dockerfile").write_bytes(result.fixed)
    for path, (_, content) in result.other_files.items():
        path.write_bytes(content)
    again = fix_folder(folder, **kwargs)
    assert again.error is None and again.fixed == result.fixed and not again.other_files
    return result


def test_typescript_app_gets_a_build_stage_with_dev_dependencies(tmp_path):
    folder = make_project(tmp_path, TS_APP, package_json=TS_PACKAGE, files=TS_FILES)
    out = settle(folder).fixed.decode()
    build, production = stages_of(out.encode())
    build_text = out[build.from_instruction.start : production.from_instruction.start]
    production_text = out[production.from_instruction.start :]
    assert build.alias == "build" and production.alias is None
    # the build installs everything the lockfile says (typescript included), builds, then drops
    # dev dependencies
    assert "RUN --mount=type=cache,target=/root/.npm npm ci && npm run build" in build_text
    assert build_text.index("npm run build") < build_text.index("RUN npm prune --omit=dev")
    assert "# dependencies first for the layer cache" in build_text
    # the production stage has no install and takes only what runs
    assert "npm install" not in production_text and "npm ci" not in production_text
    for copied in ("package.json", "node_modules", "dist"):
        assert f"--from=build /usr/src/app/{copied} ./{copied}" in production_text
    assert "COPY . ." not in production_text
    # and the other rules settled on the production stage
    assert 'CMD ["dumb-init", "node", "dist/server.js"]' in production_text
    assert "USER node" in production_text and "ENV NODE_ENV=production" in production_text
    assert "EXPOSE 3000" in production_text


def test_article_token_file_gets_its_secret_mount_and_stays_one_stage(tmp_path):
    """On a slim image, with production dependencies only and the whole folder needed, a split
    would give the production stage nothing less: the secret is mounted, the stage stays."""
    token = "1234"
    dockerfile = (
        "FROM node:22-bookworm-slim\n"
        f"ENV NPM_TOKEN {token}\n"
        "WORKDIR /usr/src/app\n"
        "COPY . .\n"
        'RUN echo "//npm.pkg.github.com/:_authToken=$NPM_TOKEN" > .npmrc && npm ci --omit=dev && rm -f .npmrc\n'
        'CMD ["node", "server.js"]\n'
    )
    folder = make_project(
        tmp_path,
        dockerfile,
        package_json=PLAIN_PACKAGE,
        files={"package-lock.json": "{}", "server.js": "require('http').createServer().listen(3000)\n"},
    )
    result = settle(folder)
    out = result.fixed.decode()
    assert len(stages_of(result.fixed)) == 1
    assert (
        "--mount=type=secret,id=npmrc,target=/usr/src/app/.npmrc --mount=type=cache,target=/root/.npm npm ci --omit=dev"
        in out
    )
    assert "NPM_TOKEN" not in out and f" {token}" not in out and "_authToken" not in out
    assert out.startswith("# syntax=docker/dockerfile:1\n")
    ignore = result.other_files[folder / ".dockerignore"][1].decode().splitlines()
    assert ".npmrc" in ignore
    assert not [f for f in result.remaining if f.code == "DF008"]
    why = next(f.message for f in result.notes if f.code == "DF008")
    assert "one stage is enough" in why and "same image (`node:22-bookworm-slim`)" in why
    assert token not in " ".join(f.message for f in result.applied + result.remaining)


def test_article_token_file_on_the_full_image_becomes_two_stages(tmp_path):
    """The article's ladder: the build stage on the full image, the production stage on slim."""
    dockerfile = (
        "FROM node:22\n"
        "ENV NPM_TOKEN 1234\n"
        "WORKDIR /usr/src/app\n"
        "COPY . .\n"
        'RUN echo "//npm.pkg.github.com/:_authToken=$NPM_TOKEN" > .npmrc && npm ci --omit=dev && rm -f .npmrc\n'
        'CMD ["node", "server.js"]\n'
    )
    folder = make_project(
        tmp_path,
        dockerfile,
        package_json=PLAIN_PACKAGE,
        files={"package-lock.json": "{}", "server.js": "require('http').createServer().listen(3000)\n"},
    )
    out = settle(folder).fixed.decode()
    build, production = stages_of(out.encode())
    assert (build.base, production.base) == ("node:22", "node:22-slim")
    assert (
        "--mount=type=secret,id=npmrc,target=/usr/src/app/.npmrc --mount=type=cache,target=/root/.npm npm ci --omit=dev"
        in out
    )
    assert "COPY --chown=node:node --from=build /usr/src/app /usr/src/app" in out
    assert "npm prune" not in out  # the install already left dev dependencies out


def test_good_multi_stage_file_is_left_byte_identical(tmp_path):
    good = (
        "# syntax=docker/dockerfile:1\n"
        "FROM node:22-bookworm-slim AS build\n"
        "WORKDIR /usr/src/app\n"
        "COPY package*.json ./\n"
        "RUN npm ci\n"
        "COPY . .\n"
        "RUN npm run build && npm prune --omit=dev\n"
        "\n"
        "FROM node:22-bookworm-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends dumb-init && rm -rf /var/lib/apt/lists/*\n"
        "WORKDIR /usr/src/app\n"
        "COPY --chown=node:node --from=build /usr/src/app/node_modules ./node_modules\n"
        "COPY --chown=node:node --from=build /usr/src/app/dist ./dist\n"
        "USER node\n"
        "ENV NODE_ENV=production\n"
        'CMD ["dumb-init", "node", "dist/server.js"]\n'
    )
    folder = make_project(
        tmp_path,
        good,
        package_json=TS_PACKAGE,
        files={**TS_FILES, ".dockerignore": "node_modules\n.git\n.npmrc\n.env\n"},
    )
    result = fix_folder(folder, select=["DF008", "DF009", "DF010", "DF002", "DF003", "DF004", "DF005"])
    assert result.fixed == good.encode() and not result.other_files
    assert not [f for f in result.initial if f.code == "DF008"]


def test_alias_stays_on_the_image_that_runs(tmp_path):
    dockerfile = 'FROM node:22-alpine AS app\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["node", "index.js"]\n'
    folder = make_project(tmp_path, dockerfile, package_json=PLAIN_PACKAGE)
    out = fix_folder(folder, select=["DF008"]).fixed
    build, production = stages_of(out)
    assert (build.alias, production.alias) == ("build", "app")
    assert b"RUN npm prune --omit=dev\n" in out
    assert b"COPY --from=build /app /app\n" in out  # root user: no --chown of its own


TS_LOCK = {**TS_FILES}
NEXT_PACKAGE = (
    '{"name": "web", "scripts": {"build": "next build", "start": "next start"},'
    ' "dependencies": {"next": "14.2.0", "react": "18.3.1"}, "devDependencies": {"typescript": "5.4.0"}}'
)
NEXT_APP = (
    'FROM node:22\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\nCMD ["npm", "start"]\n'
)
WORKSPACES_PACKAGE = (
    '{"name": "mono", "workspaces": ["packages/*"], "scripts": {"build": "npm run build -w api", "start":'
    ' "npm start -w api"}, "devDependencies": {"typescript": "5.4.0"}}'
)
TINI = "ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini /tini\n"

# (package.json, files, before, after): DF008 alone, so each row shows the split itself.
SPLITS = {
    "no build step, full Debian image: the production stage takes its slim variant": (
        PROD_PACKAGE,
        LOCK,
        'FROM node:22\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\nCMD ["node", "server.js"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\n"
        "\n"
        'FROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD ["node", "server.js"]\n',
    ),
    "build step on a Debian release: slim of the same release, only what runs": (
        TS_PACKAGE,
        TS_FILES,
        "FROM node:22-bookworm\nWORKDIR /usr/src/app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
        'RUN npm run build\nCMD ["node", "dist/server.js"]\n',
        "FROM node:22-bookworm AS build\nWORKDIR /usr/src/app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\n"
        "RUN npm run build\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-bookworm-slim\nWORKDIR /usr/src/app\n"
        "COPY --from=build /usr/src/app/package.json ./package.json\n"
        "COPY --from=build /usr/src/app/node_modules ./node_modules\n"
        "COPY --from=build /usr/src/app/dist ./dist\n"
        'CMD ["node", "dist/server.js"]\n',
    ),
    "alpine stays alpine; the build packages stay behind": (
        PROD_PACKAGE,
        LOCK,
        "FROM node:22-alpine\nRUN apk add --no-cache python3 make g++\nWORKDIR /app\nCOPY . .\n"
        'RUN npm ci --omit=dev\nCMD ["node", "index.js"]\n',
        "FROM node:22-alpine AS build\nRUN apk add --no-cache python3 make g++\nWORKDIR /app\nCOPY . .\n"
        "RUN npm ci --omit=dev\n"
        "\n"
        'FROM node:22-alpine\nWORKDIR /app\nCOPY --from=build /app /app\nCMD ["node", "index.js"]\n',
    ),
    "tini and the author's folder and owner are repeated where they run": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22-slim\n" + TINI + "RUN chmod +x /tini\n"
        'ENTRYPOINT ["/tini", "--"]\n'
        "RUN mkdir /app && chown -R node:node /app\nWORKDIR /app\nUSER node\n"
        "COPY --chown=node:node package*.json ./\nRUN npm ci\nCOPY --chown=node:node . .\n"
        'CMD ["node", "server.js"]\n',
        "FROM node:22-slim AS build\n"
        "RUN mkdir /app && chown -R node:node /app\nWORKDIR /app\nUSER node\n"
        "COPY --chown=node:node package*.json ./\nRUN npm ci\nCOPY --chown=node:node . .\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\n" + TINI + "RUN chmod +x /tini\n"
        'ENTRYPOINT ["/tini", "--"]\n'
        "RUN mkdir /app && chown -R node:node /app\nWORKDIR /app\nUSER node\n"
        "COPY --chown=node:node --from=build /app /app\n"
        'CMD ["node", "server.js"]\n',
    ),
    "a heredoc install and build": (
        TS_PACKAGE,
        TS_FILES,
        'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN <<EOF\nset -e\nnpm ci\nnpm run build\nEOF\nCMD ["node", "dist/server.js"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN <<EOF\nset -e\nnpm ci\nnpm run build\nEOF\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\nWORKDIR /app\n"
        "COPY --from=build /app/package.json ./package.json\n"
        "COPY --from=build /app/node_modules ./node_modules\n"
        "COPY --from=build /app/dist ./dist\n"
        'CMD ["node", "dist/server.js"]\n',
    ),
    "a health check that calls curl keeps the full image": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        'HEALTHCHECK CMD curl -f http://localhost:3000/ || exit 1\nCMD ["node", "index.js"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'HEALTHCHECK CMD curl -f http://localhost:3000/ || exit 1\nCMD ["node", "index.js"]\n',
    ),
    "the author's chown of the copied app stays on the production copy": (
        PLAIN_PACKAGE,
        LOCK,
        'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && chown -R 1001:1001 .\nUSER 1001\nCMD ["node", "server.js"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && chown -R 1001:1001 .\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\nWORKDIR /app\nCOPY --chown=1001:1001 --from=build /app /app\nUSER 1001\n"
        'CMD ["node", "server.js"]\n',
    ),
    "an entrypoint on the PATH is copied where it runs": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22-alpine\nCOPY docker-entrypoint.sh /usr/local/bin/\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node", "server.js"]\n',
        "FROM node:22-alpine AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-alpine\nCOPY docker-entrypoint.sh /usr/local/bin/\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'ENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node", "server.js"]\n',
    ),
    "an entrypoint inside the app folder comes with the app": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN chmod +x docker-entrypoint.sh && npm ci\n"
        'ENTRYPOINT ["/app/docker-entrypoint.sh"]\nCMD ["node", "server.js"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN chmod +x docker-entrypoint.sh && npm ci\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'ENTRYPOINT ["/app/docker-entrypoint.sh"]\nCMD ["node", "server.js"]\n',
    ),
    "a pinned base: the slim tag goes unpinned to the base image rule; flags and the alias stay": (
        PLAIN_PACKAGE,
        LOCK,
        f"FROM --platform=linux/amd64 node:22@sha256:{'a' * 64} AS app\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        'CMD ["node", "server.js"]\n',
        f"FROM --platform=linux/amd64 node:22@sha256:{'a' * 64} AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM --platform=linux/amd64 node:22-slim AS app\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'CMD ["node", "server.js"]\n',
    ),
    "the start binary made executable in the install step: both stages get it": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22\n" + TINI + "WORKDIR /app\nCOPY . .\nRUN chmod +x /tini && npm ci\n"
        'ENTRYPOINT ["/tini", "--"]\nCMD ["node", "index.js"]\n',
        "FROM node:22 AS build\n"
        + TINI
        + "WORKDIR /app\nCOPY . .\nRUN chmod +x /tini && npm ci\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\n" + TINI + "WORKDIR /app\nRUN chmod +x /tini\nCOPY --from=build /app /app\n"
        'ENTRYPOINT ["/tini", "--"]\nCMD ["node", "index.js"]\n',
    ),
    "a global tool the app runs is installed in the production stage too": (
        PLAIN_PACKAGE,
        LOCK,
        'FROM node:22\nRUN npm install -g pm2@5\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["pm2-runtime", "server.js"]\n',
        "FROM node:22 AS build\nRUN npm install -g pm2@5\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\nRUN npm install -g pm2@5\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'CMD ["pm2-runtime", "server.js"]\n',
    ),
    "a global install from a tarball of the app folder is repeated once the app is copied": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install -g ./tools/runner-1.0.0.tgz\nRUN npm ci\n"
        'CMD ["runner", "server.js"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm install -g ./tools/runner-1.0.0.tgz\nRUN npm ci\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nRUN npm install -g ./tools/runner-1.0.0.tgz\n"
        'CMD ["runner", "server.js"]\n',
    ),
    "runtime system packages are repeated without the build toolchain": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22-bookworm\nRUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ imagemagick"
        ' && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n',
        "FROM node:22-bookworm AS build\nRUN apt-get update && apt-get install -y --no-install-recommends python3 make g++"
        " imagemagick && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-bookworm-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends imagemagick && rm -rf /var/lib/apt/lists/*\n"
        'WORKDIR /app\nCOPY --from=build /app /app\nCMD ["node", "server.js"]\n',
    ),
    "a package the health check uses is installed in the production stage too": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22-alpine\nRUN apk add --no-cache curl\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        'HEALTHCHECK CMD curl -f http://localhost:3000/ || exit 1\nCMD ["node", "index.js"]\n',
        "FROM node:22-alpine AS build\nRUN apk add --no-cache curl\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-alpine\nRUN apk add --no-cache curl\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'HEALTHCHECK CMD curl -f http://localhost:3000/ || exit 1\nCMD ["node", "index.js"]\n',
    ),
    "the init process installed with build packages: only the init where the app runs": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22-slim\nRUN apt-get update && apt-get install -y --no-install-recommends tini python3 make g++"
        " && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
        'ENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["node", "server.js"]\n',
        "FROM node:22-slim AS build\nRUN apt-get update && apt-get install -y --no-install-recommends tini python3 make g++"
        " && rm -rf /var/lib/apt/lists/*\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*\n"
        'WORKDIR /app\nCOPY --from=build /app /app\nENTRYPOINT ["/usr/bin/tini", "--"]\nCMD ["node", "server.js"]\n',
    ),
    "users, groups and folders outside the app are prepared in the production stage too": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22-alpine\nRUN addgroup -S app && adduser -S -G app app\n"
        "RUN mkdir -p /var/log/app && chown app:app /var/log/app\nWORKDIR /app\nCOPY --chown=app:app . .\nRUN npm ci\n"
        'USER app\nCMD ["node", "server.js"]\n',
        "FROM node:22-alpine AS build\nRUN addgroup -S app && adduser -S -G app app\n"
        "RUN mkdir -p /var/log/app && chown app:app /var/log/app\nWORKDIR /app\nCOPY --chown=app:app . .\nRUN npm ci\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-alpine\nRUN addgroup -S app && adduser -S -G app app\n"
        "RUN mkdir -p /var/log/app && chown app:app /var/log/app\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'USER app\nCMD ["node", "server.js"]\n',
    ),
    "no WORKDIR: the app folder is where the app is copied": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22\nCOPY . /app\nRUN cd /app && npm install\nCMD node /app/index.js\n",
        "FROM node:22 AS build\nCOPY . /app\nRUN cd /app && npm install\nRUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\nCOPY --from=build /app /app\nCMD node /app/index.js\n",
    ),
    "dependencies installed in a parent of the last WORKDIR: the app folder is the parent": (
        PLAIN_PACKAGE,
        LOCK,
        'FROM node:22\nWORKDIR /node\nCOPY package*.json ./\nRUN npm ci\nWORKDIR /node/app\nCOPY . .\nCMD ["node", "app.js"]\n',
        "FROM node:22 AS build\nWORKDIR /node\nCOPY package*.json ./\nRUN npm ci\nWORKDIR /node/app\nCOPY . .\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        'FROM node:22-slim\nWORKDIR /node\nWORKDIR /node/app\nCOPY --from=build /node /node\nCMD ["node", "app.js"]\n',
    ),
    "node_modules moved out of the app folder is copied where it was moved": (
        PROD_PACKAGE,
        LOCK,
        "FROM node:22\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci && mv /app/node_modules /node_modules\nCOPY . .\n"
        'CMD ["node", "server.js"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci && mv /app/node_modules /node_modules\n"
        "COPY . .\n"
        "\n"
        "FROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCOPY --from=build /node_modules /node_modules\n"
        'CMD ["node", "server.js"]\n',
    ),
    "Next.js: .next, public, the config, package.json and pruned node_modules, no sources": (
        NEXT_PACKAGE,
        {**LOCK, "public/favicon.ico": "", "next.config.js": "module.exports = {}\n"},
        NEXT_APP,
        "FROM node:22 AS build\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci\nCOPY . .\nRUN npm run build\n"
        "RUN npm prune --omit=dev\n"
        "\n"
        "FROM node:22-slim\nWORKDIR /app\n"
        "COPY --from=build /app/package.json ./package.json\n"
        "COPY --from=build /app/node_modules ./node_modules\n"
        "COPY --from=build /app/.next ./.next\n"
        "COPY --from=build /app/public ./public\n"
        "COPY --from=build /app/next.config.js ./next.config.js\n"
        'CMD ["npm", "start"]\n',
    ),
    "a monorepo with workspaces: the whole folder, its dev dependencies pruned": (
        WORKSPACES_PACKAGE,
        LOCK,
        'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD ["npm", "start"]\n',
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nRUN npm prune --omit=dev\n"
        "\n"
        'FROM node:22-slim\nWORKDIR /app\nCOPY --from=build /app /app\nCMD ["npm", "start"]\n',
    ),
    "Yarn the start calls comes along; a start that runs a dev dependency keeps them": (
        '{"name": "app", "scripts": {"start": "cross-env PORT=3000 node server.js"},'
        ' "dependencies": {"express": "^4.19.2"}, "devDependencies": {"cross-env": "^7.0.3"}}',
        {"yarn.lock": ""},
        'FROM node:26\nRUN npm install --global yarn@1\nWORKDIR /app\nCOPY . .\nRUN yarn install\nCMD ["yarn", "start"]\n',
        "FROM node:26 AS build\nRUN npm install --global yarn@1\nWORKDIR /app\nCOPY . .\nRUN yarn install\n"
        "\n"
        "FROM node:26-slim\nRUN npm install --global yarn@1\nWORKDIR /app\nCOPY --from=build /app /app\n"
        'CMD ["yarn", "start"]\n',
    ),
}

# (package.json, files, Dockerfile, what the finding says): DF008 reports and leaves the file.
NOT_SPLIT = {
    "slim image, production dependencies, the whole folder: nothing to leave behind": (
        PROD_PACKAGE,
        LOCK,
        'FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD ["node", "index.js"]\n',
        "same image (`node:22-bookworm-slim`)",
    ),
    "alpine image, production dependencies, the whole folder": (
        PROD_PACKAGE,
        LOCK,
        'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD ["node", "index.js"]\n',
        "same image (`node:22-alpine`)",
    ),
    "system packages named by a variable (beside: runtime packages are repeated)": (
        PLAIN_PACKAGE,
        LOCK,
        'FROM node:22-alpine\nARG EXTRA\nRUN apk add --no-cache $EXTRA\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n',
        "line 3: system packages named by a variable",
    ),
    "a global install from a path with a variable (beside: global installs are repeated)": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install -g $TOOLS_DIR/runner.tgz && npm ci\n"
        'CMD ["runner", "server.js"]\n',
        "line 4: a global install from a path with a variable",
    ),
    "a chown with a wildcard (beside: users and folders outside the app are repeated)": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22-alpine\nENV HOME=/home/app\nWORKDIR $HOME/app\nCOPY . .\nRUN npm ci && chown -R node:node $HOME/*\n"
        'CMD ["node", "server.js"]\n',
        "line 5: `chown` on a path with a variable or a wildcard",
    ),
    "the app in the root folder (beside: the app folder read from the COPY destination)": (
        PLAIN_PACKAGE,
        LOCK,
        'FROM node:22\nCOPY . .\nRUN npm install\nCMD ["node", "index.js"]\n',
        "the app is in the root folder /",
    ),
    "the dependencies installed outside the app folder (beside: installed in a parent of the WORKDIR)": (
        PLAIN_PACKAGE,
        LOCK,
        'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN cd / && npm install\nCMD ["node", "index.js"]\n',
        "line 4: the dependencies are installed in /, not in the app folder",
    ),
    "node_modules moved out with dev dependencies to prune (beside: moved out, nothing to prune)": (
        PLAIN_PACKAGE,
        LOCK,
        "FROM node:22\nWORKDIR /app\nCOPY package*.json ./\nRUN npm ci && mv /app/node_modules /node_modules\nCOPY . .\n"
        'CMD ["node", "server.js"]\n',
        "node_modules moved out of the app folder",
    ),
    "Next.js asking for standalone output (beside: the Next.js layout)": (
        NEXT_PACKAGE,
        {**LOCK, "next.config.js": "module.exports = { output: 'standalone' }\n"},
        NEXT_APP,
        "next.config.js asks for standalone output",
    ),
    "a monorepo whose install picks the package manager by lockfile (beside: workspaces split whole)": (
        WORKSPACES_PACKAGE,
        {},
        "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN if [ -f yarn.lock ]; then yarn install; else npm install; fi\n"
        'CMD ["npm", "start"]\n',
        "the install picks its package manager by the lockfile",
    ),
    "a tag the official image does not serve": (
        PLAIN_PACKAGE,
        LOCK,
        'FROM node:22-buster\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "index.js"]\n',
        "`node:22-buster`, which is not a tag",
    ),
}


def _introduced_problems(before: bytes, after: bytes, folder) -> list[guard.Problem]:
    images, project = NodeImages.packaged(), Project(folder)
    return guard.introduced(
        guard.check(Document.parse(before), project, images, TODAY),
        guard.check(Document.parse(after), project, images, TODAY),
    )


@pytest.mark.parametrize("package_json, files, before, after", SPLITS.values(), ids=SPLITS.keys())
def test_split(tmp_path, package_json, files, before, after):
    folder = make_project(tmp_path, before, package_json=package_json, files=files)
    result = settle(folder, select=["DF008"])
    assert result.fixed.decode() == after
    assert _introduced_problems(before.encode(), result.fixed, folder) == []


@pytest.mark.parametrize("package_json, files, dockerfile, reason", NOT_SPLIT.values(), ids=NOT_SPLIT.keys())
def test_not_split(tmp_path, package_json, files, dockerfile, reason):
    folder = make_project(tmp_path, dockerfile, package_json=package_json, files=files)
    result = fix_folder(folder, select=["DF008"])
    assert result.fixed == dockerfile.encode()
    finding = next(f for f in [*result.initial, *result.notes] if f.code == "DF008")
    assert finding.fix is None and reason in finding.message
    # A split that would leave nothing behind meets the practice: a note, not a finding.
    assert finding.note == ("same image" in reason)


@pytest.mark.parametrize(
    "step, reason",
    [
        ("COPY --from=busybox /bin/sh /bin/sh", "another image"),
        ("RUN cp /etc/hosts ./hosts", "`cp` outside the app folder"),
        ("RUN ./configure.sh", "./configure.sh"),
    ],
)
def test_steps_the_runtime_may_need_block_the_split(tmp_path, step, reason):
    dockerfile = f'FROM node:22\nWORKDIR /app\n{step}\nCOPY . .\nRUN npm install\nCMD ["node", "index.js"]\n'
    folder = make_project(tmp_path, dockerfile, package_json=PLAIN_PACKAGE)
    result = fix_folder(folder, select=["DF008"])
    assert result.fixed == dockerfile.encode()
    finding = next(f for f in [*result.initial, *result.notes] if f.code == "DF008")
    assert finding.fix is None and reason in finding.message
    # A split that would leave nothing behind meets the practice: a note, not a finding.
    assert finding.note == ("same image" in reason)


def test_build_tools_stay_in_the_build_stage(tmp_path):
    dockerfile = 'FROM node:22-alpine\nRUN apk add --no-cache python3 make g++\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["node", "index.js"]\n'
    folder = make_project(tmp_path, dockerfile, package_json=PLAIN_PACKAGE, files={"package-lock.json": "{}"})
    out = fix_folder(folder, select=["DF008"]).fixed.decode()
    production = out[out.index("\nFROM") :]
    assert "apk add" not in production and out.index("apk add") < out.index("\nFROM")


def test_split_is_unsafe(tmp_path):
    folder = make_project(tmp_path, TS_APP, package_json=TS_PACKAGE, files=TS_FILES)
    result = fix_folder(folder, unsafe=False, select=["DF008"])
    assert result.fixed == TS_APP.encode()
    assert any(f.code == "DF008" and f.fixable for f in result.remaining)


def test_comments_and_line_endings_are_kept(tmp_path):
    dockerfile = '# top\r\nFROM node:22\r\n# where\r\nWORKDIR /app\r\nCOPY . .\r\n# install\r\nRUN npm install\r\n# run it\r\nCMD ["node", "index.js"]\r\n# the end\r\n'
    folder = make_project(tmp_path, dockerfile, package_json=PLAIN_PACKAGE)
    out = fix_folder(folder, select=["DF008"]).fixed
    assert b"\n" not in out.replace(b"\r\n", b"")
    for comment in (b"# top", b"# where", b"# install", b"# run it", b"# the end"):
        assert out.count(comment) == 1
    assert oracle_view(out)[0] == "ok"


STAGE_REF = re.compile(r"--from=(\S+)")


def _stage_references(source: bytes) -> set[str]:
    doc = Document.parse(source)
    names = {s.alias.lower() for s in doc.stages if s.alias}
    used = set()
    for inst in doc.instructions:
        for flag in inst.flags:
            if flag.name == "from" and flag.value and flag.value.lower() in names:
                used.add(flag.value.lower())
        if inst.name == "FROM" and inst.args.split()[:1] and inst.args.split()[0].lower() in names:
            used.add(inst.args.split()[0].lower())
    return used


MULTI_STAGE = [case for case in corpus_cases() if len(Document.parse((case / "Dockerfile").read_bytes()).stages) > 1]


@pytest.mark.shared
@pytest.mark.parametrize("case", MULTI_STAGE, ids=[c.name for c in MULTI_STAGE])
def test_corpus_keeps_every_stage_reference(case, tmp_path):
    folder = lay_out_case(case, tmp_path)
    source = (folder / "Dockerfile").read_bytes()
    result = fix_folder(folder)
    if result.error is not None:
        return
    after = Document.parse(result.fixed)
    assert len(after.stages) == len(Document.parse(source).stages)
    aliases = {s.alias.lower() for s in after.stages if s.alias}
    assert _stage_references(source) <= aliases


DISTROLESS = (
    "FROM node:{build} AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\n"
    "\n"
    'FROM gcr.io/distroless/{runtime}\nCOPY --from=build /app /app\nWORKDIR /app\nCMD ["server.js"]\n'
)


def test_build_stage_keeps_the_major_of_its_distroless_runtime(tmp_path):
    dockerfile = DISTROLESS.format(build="18", runtime="nodejs18-debian11")
    folder = make_project(tmp_path, dockerfile, package_json=PROD_PACKAGE, files=LOCK)
    result = settle(folder)
    build, runtime = stages_of(result.fixed)
    # an upgrade of the build stage alone would build node_modules for another Node.js
    assert (build.base, runtime.base) == ("node:18", "gcr.io/distroless/nodejs18-debian11")
    messages = [f.message for f in result.remaining if f.code == "DF008"]
    assert messages == [
        "the runtime image `gcr.io/distroless/nodejs18-debian11` runs Node.js 18, which reached its end of life"
        " on 2025-04-30: move it to a supported major, and the stages that build for it to the same major"
    ]


def test_build_stage_on_another_major_than_its_distroless_runtime_is_reported(tmp_path):
    dockerfile = DISTROLESS.format(build="24", runtime="nodejs22-debian12")
    folder = make_project(tmp_path, dockerfile, package_json=PROD_PACKAGE, files=LOCK)
    result = fix_folder(folder, select=["DF008"])
    assert result.fixed == dockerfile.encode()
    [finding] = [f for f in result.initial if f.code == "DF008"]
    assert finding.line == 7 and finding.fix is None
    assert "`build` builds on Node.js 24 for a runtime on Node.js 22" in finding.message
    assert "build it on `node:22`" in finding.message


def test_distroless_runtime_of_a_supported_major_fed_by_the_same_major_is_not_reported(tmp_path):
    dockerfile = DISTROLESS.format(build="22-bookworm", runtime="nodejs22-debian12")
    folder = make_project(tmp_path, dockerfile, package_json=PROD_PACKAGE, files=LOCK)
    result = fix_folder(folder, select=["DF008"])
    assert result.fixed == dockerfile.encode()
    assert not [f for f in result.initial if f.code == "DF008"]


def test_production_stage_is_not_upgraded_away_from_the_major_that_built_its_node_modules(tmp_path):
    """The split's two stages end on one Node.js major: node_modules built on one major never run on
    another (here DF007 moves both to 24, python carried across as python3)."""
    dockerfile = (
        "FROM node:14\nRUN apt-get update && apt-get install -y python make g++\nWORKDIR /app\nCOPY . .\n"
        'RUN npm ci\nCMD ["node", "index.js"]\n'
    )
    folder = make_project(tmp_path, dockerfile, package_json=PLAIN_PACKAGE, files=LOCK)
    result = settle(folder)
    build, production = stages_of(result.fixed)
    assert (build.base, production.base) == ("node:24", "node:24-slim")
    assert b"apt-get install -y python3 make g++" in result.fixed


@pytest.mark.parametrize(
    "runtime_library", ["libc6-compat", "openssl", "ca-certificates", "bash"], ids=lambda name: name
)
def test_libraries_a_running_app_may_load_are_repeated_and_the_compilers_left_behind(tmp_path, runtime_library):
    """Prisma's engines load openssl, prebuilt glibc binaries need libc6-compat on Alpine, start
    scripts run bash: none of them is only the build's."""
    dockerfile = (
        "FROM node:24-alpine\n"
        f"RUN apk add --no-cache python3 make g++ {runtime_library}\n"
        "WORKDIR /app\n"
        "COPY . .\n"
        "RUN npm ci && npm run build\n"
        'CMD ["node", "dist/server.js"]\n'
    )
    package_json = '{"name": "app", "scripts": {"build": "tsc"}, "devDependencies": {"typescript": "^5.0.0"}}'
    folder = make_project(tmp_path, dockerfile, package_json=package_json, files={"package-lock.json": "{}"})
    result = settle(folder, select=["DF008"])
    _build, production = stages_of(result.fixed)
    production_text = result.fixed[production.from_instruction.start :].decode()
    assert f"RUN apk add --no-cache {runtime_library}\n" in production_text, production_text
    assert "g++" not in production_text and "python3" not in production_text
    assert _introduced_problems(dockerfile.encode(), result.fixed, folder) == []


def test_the_production_stage_keeps_the_curl_a_compose_healthcheck_runs(tmp_path):
    root = tmp_path / "compose-healthcheck-curl"
    shutil.copytree(REPO / "tests" / "fixtures" / "repos" / "compose-healthcheck-curl", root)
    result = fix_repository(root, root / "Dockerfile", select=["DF008"])
    production = result.fixed.decode().split("\n\nFROM ", 1)[1]
    assert production.startswith("node:22\n")  # the full image: curl is a tool of the running container
    assert "apt-get install -y curl" in production
    # Read alone, nothing says the container runs curl: it is left behind with the full image.
    alone = fix_folder(root, select=["DF008"]).fixed.decode().split("\n\nFROM ", 1)[1]
    assert alone.startswith("node:22-slim\n") and "curl" not in alone


def test_no_dev_dependencies_are_claimed_where_node_env_is_production(tmp_path):
    source = (
        "FROM node:22\nARG NODE_ENV=production\nENV NODE_ENV=$NODE_ENV\nWORKDIR /app\nCOPY . .\n"
        'RUN npm ci && npm run build\nCMD ["node", "dist/server.js"]\n'
    )
    package_json = json.dumps({"scripts": {"build": "tsc"}, "devDependencies": {"typescript": "5"}})
    folder = make_project(tmp_path, source, package_json=package_json, files={"package-lock.json": "{}"})
    (finding,) = [f for f in fix_folder(folder, select=["DF008"]).initial if f.code == "DF008"]
    assert finding.message == (
        "the image builds and runs the app in one stage: split into a `build` stage (install, build) and a"
        " production stage on `node:22-slim` that copies only package.json, node_modules and dist (add COPY"
        " --from=build lines for other files the app reads at run time) from it, leaving behind the full image,"
        " the sources"
    )
