"""Fixes that keep the app running: each shape beside the case that must stay untouched.

Development, test, CI and base images keep their settings (DF002, DF003, DF004); a start command
that runs a dev dependency's CLI keeps dev dependencies; the node user gets exactly the folders
the app writes; leaving out a file the build or the app reads is never a safe fix (DF009); DF002
says one thing once per instruction. Every output parses with BuildKit's parser and is a
fixpoint, the files beside the Dockerfile included.
"""

import json

import pytest

from support.fixing import fix_folder, make_project
from support.oracle import oracle_view

CORE = ["DF002", "DF003", "DF004"]
APP_DOCKERFILE = 'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["npm", "start"]\n'
APP_FIXED = (
    "FROM node:22\nWORKDIR /app\nCOPY --chown=node:node . .\nRUN npm ci --omit=dev\nUSER node\n"
    'ENV NODE_ENV=production\nCMD ["npm", "start"]\n'
)
LOCKFILE = {"package-lock.json": "{}"}


def package(start: str | None = None, *, dev=(), prod=("express",), scripts=None) -> str:
    data = {
        "scripts": {**({"start": start} if start else {}), **(scripts or {})},
        "dependencies": {name: "1" for name in prod},
        "devDependencies": {name: "1" for name in ("eslint", *dev)},
    }
    return json.dumps(data)


def run(tmp_path, dockerfile, *, select, package_json, files=None, unsafe=True, name="Dockerfile", folder=None):
    tmp_path.mkdir(parents=True, exist_ok=True)  # a second project of one test lives in a subfolder
    project = make_project(tmp_path, dockerfile, package_json=package_json, files=files, name=name)
    location = project / folder if folder else project
    if folder:
        location.mkdir(parents=True)
        (project / name).rename(location / name)
        for entry in list(project.iterdir()):
            if entry.name != folder.split("/")[0]:
                entry.rename(location / entry.name)
    result = fix_folder(location, unsafe=unsafe, select=select, name=name)
    assert result.error is None, result.error
    assert oracle_view(result.fixed)[0] == "ok"
    (location / name).write_bytes(result.fixed)
    for path, (_, content) in result.other_files.items():
        path.write_bytes(content)
    again = fix_folder(location, unsafe=unsafe, select=select, name=name)
    assert again.fixed == result.fixed and not again.other_files, "not a fixpoint"
    return result


# --- 1. Development, test, CI and base images -------------------------------------------------

# (start script, dev dependencies that carry it) for dev servers, watchers and test runners; each
# is checked through `npm start`, so only the script says what the image is.
DEV_STARTS = [
    ("next dev", ("next",)),
    ("vite --host 0.0.0.0", ("vite",)),
    ("nodemon server.js", ("nodemon",)),
    ("ts-node-dev --respawn src/index.ts", ("ts-node-dev",)),
    ("webpack serve --mode development", ("webpack", "webpack-cli")),
    ("ng serve --host 0.0.0.0", ("@angular/cli",)),
    ("react-scripts start", ("react-scripts",)),
    ("nuxt dev", ("nuxt",)),
    ("gatsby develop -H 0.0.0.0", ("gatsby",)),
    ("vue-cli-service serve", ("@vue/cli-service",)),
    ("npm run watch", ()),  # a script named for development
    ("jest --ci", ("jest",)),
    ("node --watch server.js", ()),
]


@pytest.mark.parametrize("start, dev", DEV_STARTS)
def test_development_image_keeps_its_settings(tmp_path, start, dev):
    scripts = {"watch": "tsc -w & node server.js"} if start == "npm run watch" else None
    pkg = package(start, dev=dev, scripts=scripts)
    result = run(tmp_path, APP_DOCKERFILE, select=CORE, package_json=pkg, files=LOCKFILE)
    assert result.fixed.decode() == APP_DOCKERFILE


def test_production_start_beside_the_dev_server_is_fixed(tmp_path):
    pkg = package("node server.js")
    result = run(tmp_path, APP_DOCKERFILE, select=CORE, package_json=pkg, files=LOCKFILE)
    assert result.fixed.decode() == APP_FIXED


@pytest.mark.parametrize(
    "start, prod",
    [
        ("vite build && vite preview", ("vite",)),  # a preview server is no watcher
        ("nuxt start", ("nuxt",)),
        ("gatsby serve", ("gatsby",)),
        ("serve -s build", ("serve",)),  # `serve` is a static server, not a dev server
    ],
)
def test_production_servers_of_dev_frameworks_are_not_development_images(tmp_path, start, prod):
    pkg = package(start, prod=prod)
    result = run(tmp_path, APP_DOCKERFILE, select=["DF003"], package_json=pkg, files=LOCKFILE)
    assert b"ENV NODE_ENV=production\n" in result.fixed


NO_COMMAND = (
    "FROM node:22\nWORKDIR /workspace\nCOPY package*.json ./\nRUN npm install\nRUN npm install -g @angular/cli\n"
)


def test_final_stage_without_command_is_a_base_image(tmp_path):
    # Its users run `npm install` in images built on it: NODE_ENV=production would skip devDependencies.
    result = run(tmp_path, NO_COMMAND, select=CORE, package_json=package("node server.js"), files=LOCKFILE)
    assert result.fixed.decode() == NO_COMMAND


def test_same_stage_with_a_command_is_an_app(tmp_path):
    source = NO_COMMAND + 'CMD ["node", "server.js"]\n'
    result = run(tmp_path, source, select=["DF002", "DF003"], package_json=package("node server.js"), files=LOCKFILE)
    assert result.fixed.decode() == (
        "FROM node:22\nWORKDIR /workspace\nCOPY package*.json ./\nRUN npm ci --omit=dev\nRUN npm install -g @angular/cli\n"
        'ENV NODE_ENV=production\nCMD ["node", "server.js"]\n'
    )


def test_command_inherited_from_an_earlier_stage_counts(tmp_path):
    source = 'FROM node:22 AS base\nCMD ["node", "server.js"]\nFROM base\nCOPY . .\nRUN npm ci\n'
    result = run(tmp_path, source, select=["DF003"], package_json=package("node server.js"), files=LOCKFILE)
    assert result.fixed.decode() == source.replace("RUN npm ci\n", "RUN npm ci\nENV NODE_ENV=production\n")


def test_legacy_node_env_form_is_still_modernised_in_a_base_image(tmp_path):
    source = "FROM node:22\nENV NODE_ENV development\nRUN npm install\n"
    result = run(tmp_path, source, select=["DF003"], package_json=package(), files=LOCKFILE)
    assert result.fixed.decode() == "FROM node:22\nENV NODE_ENV=development\nRUN npm install\n"


DEVCONTAINER = 'FROM node:22\nCOPY . .\nRUN npm install\nCMD ["sleep", "infinity"]\n'


def test_devcontainer_image_is_left_alone(tmp_path):
    result = run(tmp_path, DEVCONTAINER, select=CORE, package_json=package(), files=LOCKFILE, folder=".devcontainer")
    assert result.fixed.decode() == DEVCONTAINER


def test_same_file_outside_a_devcontainer_folder_is_fixed(tmp_path):
    result = run(tmp_path, DEVCONTAINER, select=["DF003"], package_json=package(), files=LOCKFILE)
    assert b"ENV NODE_ENV=production\n" in result.fixed


CYPRESS = 'FROM node:22\nCOPY . .\nRUN npm ci && npx cypress install\nCMD ["node", "run-e2e.js"]\n'


def test_cypress_image_is_left_alone(tmp_path):
    result = run(tmp_path, CYPRESS, select=CORE, package_json=package(dev=("cypress",)), files=LOCKFILE)
    assert result.fixed.decode() == CYPRESS


def test_removing_a_cypress_folder_is_no_evidence(tmp_path):
    source = CYPRESS.replace("npx cypress install", "rm -rf cypress")
    result = run(tmp_path, source, select=["DF003"], package_json=package(dev=("cypress",)), files=LOCKFILE)
    assert b"ENV NODE_ENV=production\n" in result.fixed


# --- 2. The start command needs a dev dependency ---------------------------------------------


def lockfile(*entries: tuple[str, dict]) -> str:
    """A package-lock.json v3 with the given `node_modules/...` entries."""
    packages = {"": {"name": "app"}} | {f"node_modules/{name}": entry for name, entry in entries}
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages})


DEV_TOOL_STARTS = [
    (  # package-lock.json v3 records which package ships `nest`
        "nest start",
        lockfile(("@nestjs/cli", {"version": "10.0.0", "dev": True, "bin": {"nest": "bin/nest.js"}})),
        "`nest` from `@nestjs/cli`",
    ),
    (  # a bin whose name says nothing of its package: only the lockfile knows
        "acme-serve --port 3000",
        lockfile(("@acme/tools", {"version": "1.0.0", "dev": True, "bin": {"acme-serve": "serve.js"}})),
        "`acme-serve` from `@acme/tools`",
    ),
    (  # no bin records in the lockfile: the table of common CLIs
        "node dist/main.js | pino-pretty",
        "{}",
        "`pino-pretty`",
    ),
    (  # followed through the scripts it calls
        "npm run serve:prod",
        "{}",
        "`vue-cli-service` from `@vue/cli-service`",
    ),
]


@pytest.mark.parametrize("start, lock, named", DEV_TOOL_STARTS)
def test_start_command_running_a_dev_dependency_keeps_dev_dependencies(tmp_path, start, lock, named):
    pkg = json.loads(package(start, dev=("@nestjs/cli", "@acme/tools", "pino-pretty", "@vue/cli-service")))
    pkg["scripts"]["serve:prod"] = "vue-cli-service build && node server.js"
    result = run(
        tmp_path, APP_DOCKERFILE, select=["DF002"], package_json=json.dumps(pkg), files={"package-lock.json": lock}
    )
    # dev dependencies kept; only the lockfile is followed (`npm ci`)
    assert result.fixed.decode() == APP_DOCKERFILE.replace("npm install", "npm ci")
    messages = [f.message for f in result.applied if f.code == "DF002"]
    assert messages == [
        f"the start command runs {named}, a dev dependency, so dev dependencies cannot be left out here;"
        " `npm install` may resolve other versions than package-lock.json: use `npm ci`"
    ]


def test_start_command_running_a_production_dependency_is_fixed(tmp_path):
    lock = lockfile(("@nestjs/cli", {"version": "10.0.0", "bin": {"nest": "bin/nest.js"}}))
    pkg = package("nest start", prod=("@nestjs/cli",))
    result = run(tmp_path, APP_DOCKERFILE, select=["DF002"], package_json=pkg, files={"package-lock.json": lock})
    assert b"RUN npm ci --omit=dev\n" in result.fixed


def test_unknown_binary_without_bin_records_is_no_dev_dependency(tmp_path):
    pkg = package("acme-serve --port 3000", dev=("@acme/tools",))
    result = run(tmp_path, APP_DOCKERFILE, select=["DF002"], package_json=pkg, files=LOCKFILE)
    assert b"RUN npm ci --omit=dev\n" in result.fixed


def test_lockfile_dev_flag_outranks_package_json(tmp_path):
    # `tsc` comes in through a dev tool only: --omit=dev leaves it out though nothing declares it.
    lock = lockfile(("typescript", {"version": "5.0.0", "dev": True, "bin": {"tsc": "bin/tsc"}}))
    result = run(
        tmp_path,
        APP_DOCKERFILE,
        select=["DF002"],
        package_json=package("tsc && node dist/main.js"),
        files={"package-lock.json": lock},
    )
    assert result.fixed.decode() == APP_DOCKERFILE.replace("npm install", "npm ci")


@pytest.mark.parametrize("declared", ["devDependencies", "dependencies"])
def test_yarn_project_uses_the_table_of_clis(tmp_path, declared):
    pkg = json.loads(package("pm2-runtime ecosystem.config.js"))
    pkg[declared]["pm2"] = "5"
    pkg = json.dumps(pkg)
    source = 'FROM node:22\nCOPY . .\nRUN yarn install\nCMD ["yarn", "start"]\n'
    result = run(tmp_path, source, select=["DF002"], package_json=pkg, files={"yarn.lock": "# yarn lockfile v1\n"})
    if declared == "devDependencies":
        assert result.fixed.decode() == source
    else:
        assert result.fixed.decode() == source.replace("yarn install", "yarn install --frozen-lockfile --production")


def test_node_env_not_set_before_a_start_up_install(tmp_path):
    pkg = package("npm install && node server.js", dev=("jest",))
    result = run(tmp_path, APP_DOCKERFILE, select=["DF003"], package_json=pkg, files=LOCKFILE)
    assert result.fixed.decode() == APP_DOCKERFILE
    [finding] = [f for f in result.remaining if f.code == "DF003"]
    assert "runs `npm install` when it starts, which would then skip the dev dependencies" in finding.message


def test_node_env_set_when_the_start_up_install_has_nothing_to_skip(tmp_path):
    pkg = json.dumps({"scripts": {"start": "npm install && node server.js"}, "dependencies": {"express": "4"}})
    result = run(tmp_path, APP_DOCKERFILE, select=["DF003"], package_json=pkg, files=LOCKFILE)
    assert b"ENV NODE_ENV=production\n" in result.fixed


# --- 3. USER node where the app writes ---------------------------------------------------------

APP = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\n"
WRITES = [
    (  # a VOLUME in a parent stage: the folder is given to node before it is declared
        'FROM node:22 AS base\nWORKDIR /app\nVOLUME /app/data\nFROM base\nCOPY . .\nRUN npm ci\nCMD ["node", "server.js"]\n',
        "node server.js",
        "FROM node:22 AS base\nWORKDIR /app\nRUN mkdir -p /app/data && chown node:node /app/data\nVOLUME /app/data\n"
        'FROM base\nCOPY --chown=node:node . .\nRUN npm ci\nUSER node\nCMD ["node", "server.js"]\n',
    ),
    (  # a VOLUME before the last build step of the stage
        'FROM node:22\nWORKDIR /app\nVOLUME ["/app/uploads", "/app/logs"]\nCOPY . .\nCMD ["node", "server.js"]\n',
        "node server.js",
        "FROM node:22\nWORKDIR /app\nRUN mkdir -p /app/uploads /app/logs && chown node:node /app/uploads /app/logs\n"
        'VOLUME ["/app/uploads", "/app/logs"]\nCOPY --chown=node:node . .\nUSER node\nCMD ["node", "server.js"]\n',
    ),
    (  # Next.js writes its cache and regenerated pages under .next
        APP + 'RUN npm run build\nCMD ["npm", "start"]\n',
        "next start",
        "FROM node:22\nWORKDIR /app\nCOPY --chown=node:node . .\nRUN npm ci --omit=dev\nRUN npm run build\n"
        "RUN mkdir -p .next/cache .next/server && chown node:node .next .next/cache && chown -R node:node .next/server\n"
        'USER node\nCMD ["npm", "start"]\n',
    ),
    (  # `USER root` at the end: the folder is given before it, and it becomes node
        'FROM node:22\nWORKDIR /app\nCOPY . .\nUSER root\nVOLUME /data\nCMD ["node", "server.js"]\n',
        "node server.js",
        "FROM node:22\nWORKDIR /app\nCOPY --chown=node:node . .\nRUN mkdir -p /data && chown node:node /data\n"
        'USER node\nVOLUME /data\nCMD ["node", "server.js"]\n',
    ),
]


@pytest.mark.parametrize("before, start, after", WRITES)
def test_node_gets_exactly_the_folders_the_app_writes(tmp_path, before, start, after):
    result = run(tmp_path, before, select=["DF004"], package_json=package(start, prod=("next",)), files=LOCKFILE)
    assert result.fixed.decode() == after


def test_next_folder_copied_from_the_build_stage_needs_no_chown(tmp_path):
    source = (
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\n"
        'FROM node:22\nWORKDIR /app\nCOPY --from=build /app/.next ./.next\nCOPY --from=build /app/node_modules ./node_modules\nCMD ["npm", "start"]\n'
    )
    result = run(tmp_path, source, select=["DF004"], package_json=package("next start", prod=("next",)), files=LOCKFILE)
    assert result.fixed.decode() == source.replace("COPY --from", "COPY --chown=node:node --from").replace(
        'CMD ["npm"', 'USER node\nCMD ["npm"'
    )


@pytest.mark.parametrize(
    "start, named",
    [
        ("npm install && node server.js", "npm install"),
        ("git clone https://example.com/content.git content && node server.js", "git clone"),
        ("next build && next start", "next build"),
        ("gatsby build && gatsby serve", "gatsby build"),
        ("ng build && node dist/server/main.js", "ng build"),  # Angular writes .angular/cache
        ("prisma generate && node dist/main.js", "prisma generate"),
    ],
)
def test_writes_at_start_up_leave_the_switch_displayed_only(tmp_path, start, named):
    source = APP + 'CMD ["npm", "start"]\n'
    result = run(
        tmp_path,
        source,
        select=["DF004"],
        package_json=package(start, prod=("next", "gatsby", "@angular/cli")),
        files=LOCKFILE,
    )
    assert result.fixed.decode() == source
    [finding] = [f for f in result.remaining if f.code == "DF004"]
    assert f"the container runs `{named}" in finding.message and "do that in the image, then apply" in finding.message


def test_read_only_app_beside_them_is_switched(tmp_path):
    source = APP + 'CMD ["npm", "start"]\n'
    result = run(tmp_path, source, select=["DF004"], package_json=package("node server.js"), files=LOCKFILE)
    assert result.fixed.decode() == source.replace("COPY . .", "COPY --chown=node:node . .").replace(
        "CMD", "USER node\nCMD"
    )


def test_volume_declared_as_another_user_is_displayed_only(tmp_path):
    source = (
        'FROM node:22 AS base\nUSER 1001\nVOLUME /data\nUSER root\nFROM base\nCOPY . .\nCMD ["node", "server.js"]\n'
    )
    result = run(tmp_path, source, select=["DF004"], package_json=package("node server.js"), files=LOCKFILE)
    assert result.fixed.decode() == source
    assert any("VOLUME /data as another user" in f.message for f in result.remaining)


def test_entrypoint_that_drops_root_itself_is_left_alone(tmp_path):
    source = (
        "FROM node:22-alpine\nRUN apk add --no-cache su-exec\nWORKDIR /app\nCOPY . .\nVOLUME /app/content\n"
        'ENTRYPOINT ["./docker-entrypoint.sh"]\nCMD ["node", "server.js"]\n'
    )
    result = run(tmp_path, source, select=["DF004"], package_json=package("node server.js"), files=LOCKFILE)
    assert result.fixed.decode() == source and not [f for f in result.remaining if f.code == "DF004"]
    plain = source.replace("RUN apk add --no-cache su-exec\n", "")
    result = run(tmp_path / "plain", plain, select=["DF004"], package_json=package("node server.js"), files=LOCKFILE)
    assert b"USER node\n" in result.fixed


def test_development_image_keeps_root(tmp_path):
    source = APP + 'CMD ["npm", "run", "start:watch"]\n'
    pkg = package("node server.js", scripts={"start:watch": "nodemon server.js"}, dev=("nodemon",))
    result = run(tmp_path, source, select=["DF004"], package_json=pkg, files=LOCKFILE)
    assert result.fixed.decode() == source


# --- 4. Leaving out a file the build or the app reads is not safe ------------------------------

PNPM = 'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN corepack enable && pnpm install --frozen-lockfile\nCMD ["node", "server.js"]\n'
PNPM_AFTER_INSTALL = (
    "FROM node:22\nWORKDIR /app\nCOPY package.json pnpm-lock.yaml ./\nRUN corepack enable && pnpm install --frozen-lockfile\n"
    'COPY . .\nCMD ["node", "server.js"]\n'
)
WORKSPACE_NPMRC = "shamefully-hoist=true\nlink-workspace-packages=true\n"


def ignore_after(tmp_path, dockerfile, *, unsafe, files, pkg=None):
    result = run(tmp_path, dockerfile, select=["DF009"], package_json=pkg or package(), files=files, unsafe=unsafe)
    written = {path.name: content for path, (_, content) in result.other_files.items()}
    return result, written.get(".dockerignore")


def test_npmrc_read_by_the_install_is_left_out_only_unsafely(tmp_path):
    files = {".dockerignore": "node_modules\n.git\n.env\n", ".npmrc": WORKSPACE_NPMRC, "pnpm-lock.yaml": ""}
    result, written = ignore_after(tmp_path, PNPM, unsafe=False, files=files)
    assert written is None  # nothing safe to add
    [finding] = result.withheld
    assert "`pnpm install` reads it after `COPY` brings it in" in finding.message
    _, written = ignore_after(tmp_path / "unsafe", PNPM, unsafe=True, files=files)
    assert written == b"node_modules\n.git\n.env\n.npmrc\n"


def test_npmrc_sent_after_the_install_is_left_out_safely(tmp_path):
    files = {".dockerignore": "node_modules\n.git\n.env\n", ".npmrc": WORKSPACE_NPMRC, "pnpm-lock.yaml": ""}
    _, written = ignore_after(tmp_path, PNPM_AFTER_INSTALL, unsafe=False, files=files)
    assert written == b"node_modules\n.git\n.env\n.npmrc\n"


@pytest.mark.parametrize(
    "after_copy, command, when",
    [
        ('RUN npm run build\nCMD ["node", "dist/server.js"]\n', "npm run", "after `COPY` brings it in"),
        ('RUN npx prisma generate\nCMD ["node", "server.js"]\n', "npx prisma", "after `COPY` brings it in"),
        ('CMD ["npm", "start"]\n', "npm start", "when the container starts"),
    ],
)
def test_npmrc_any_package_manager_reads_is_left_out_only_unsafely(tmp_path, after_copy, command, when):
    # npm reads the project's .npmrc for every command: `script-shell`, `node-options`, the registry for npx.
    source = PNPM_AFTER_INSTALL.replace('CMD ["node", "server.js"]\n', after_copy)
    files = {".dockerignore": "node_modules\n.git\n.env\n", ".npmrc": WORKSPACE_NPMRC, "pnpm-lock.yaml": ""}
    result, written = ignore_after(tmp_path, source, unsafe=False, files=files)
    assert written is None
    [finding] = result.withheld
    assert f"`{command}` reads it {when}" in finding.message


def test_npmrc_with_a_token_read_only_at_start_is_left_out_unsafely(tmp_path):
    # No RUN needs it, so no secret mount either: leaving it out keeps the token out of the image.
    source = PNPM_AFTER_INSTALL.replace('CMD ["node", "server.js"]', 'CMD ["npm", "start"]')
    files = {".dockerignore": "node_modules\n", ".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"}
    result, written = ignore_after(tmp_path, source, unsafe=True, files={**files, "pnpm-lock.yaml": ""})
    assert written == b"node_modules\n.git\n.env\n.npmrc\n"
    assert not any("DF010" in f.message for f in result.remaining)


def test_npmrc_with_a_token_goes_to_a_secret_mount(tmp_path):
    files = {
        ".dockerignore": "node_modules\n",
        ".npmrc": "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
        "pnpm-lock.yaml": "",
    }
    result, written = ignore_after(tmp_path, PNPM, unsafe=True, files=files)
    assert written == b"node_modules\n.git\n.env\n"
    assert any("holds a registry token" in f.message and "DF010" in f.message for f in result.remaining)


@pytest.mark.parametrize(
    "files, pkg",
    [
        ({}, package(prod=("express", "dotenv"))),
        ({"src/index.js": "import 'dotenv/config'\n"}, json.dumps({"scripts": {"start": "node src/index.js"}})),
        ({}, package("node --env-file=.env server.js")),
    ],
)
def test_env_file_the_app_loads_is_left_out_only_unsafely(tmp_path, files, pkg):
    files = {".dockerignore": "node_modules\n.git\n.npmrc\n", ".env": "PORT=8080\n", **files}
    source = 'FROM node:22\nWORKDIR /app\nCOPY . .\nCMD ["npm", "start"]\n'
    result, written = ignore_after(tmp_path, source, unsafe=False, files=files, pkg=pkg)
    assert written is None
    [finding] = result.withheld
    assert "leaving it out changes what the build or the app does" in finding.message


def test_env_file_nothing_loads_is_left_out_safely(tmp_path):
    files = {".dockerignore": "node_modules\n.git\n.npmrc\n", ".env": "PORT=8080\n"}
    source = 'FROM node:22\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
    _, written = ignore_after(tmp_path, source, unsafe=False, files=files, pkg=package("node server.js"))
    assert written == b"node_modules\n.git\n.npmrc\n.env\n"


def test_new_dockerignore_keeps_env_files_a_framework_loads(tmp_path):
    files = {".env": "NEXT_PUBLIC_API=/api\n", ".env.production": "NEXT_PUBLIC_API=https://example.com\n"}
    source = 'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci && npm run build\nCMD ["npm", "start"]\n'
    result, written = ignore_after(
        tmp_path, source, unsafe=False, files=files, pkg=package("next start", prod=("next",))
    )
    assert written is not None
    lines = written.decode().splitlines()
    assert ".env" not in lines and ".env.*" not in lines and "node_modules" in lines and ".npmrc" in lines
    assert any("`next` loads env files" in f.message for f in result.applied)


def test_new_dockerignore_leaves_out_env_files_nothing_loads(tmp_path):
    files = {".env": "PORT=8080\n"}
    source = 'FROM node:22\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
    _, written = ignore_after(tmp_path, source, unsafe=False, files=files, pkg=package("node server.js"))
    assert written is not None and {".env", ".env.*"} <= set(written.decode().splitlines())


# --- 5. Messages that say what the fix does --------------------------------------------------

FOUR_INSTALLS = (
    "FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN \\\n"
    "  if [ -f yarn.lock ]; then yarn --frozen-lockfile; \\\n"
    "  elif [ -f package-lock.json ]; then npm ci; \\\n"
    "  elif [ -f pnpm-lock.yaml ]; then pnpm i; \\\n"
    "  else yarn install; \\\n"
    "  fi\n"
    'RUN npm run build\nCMD ["node", "dist/server.js"]\n'
)


def test_one_finding_per_instruction(tmp_path):
    result = run(tmp_path, FOUR_INSTALLS, select=["DF002"], package_json=package(dev=("typescript",)), files=LOCKFILE)
    assert [f.line for f in result.remaining if f.code == "DF002"] == [4]


def test_separate_instructions_keep_their_own_findings(tmp_path):
    source = 'FROM node:20-alpine\nWORKDIR /app\nCOPY . .\nRUN npm ci\nRUN yarn install\nRUN npm run build\nCMD ["node", "dist/server.js"]\n'
    result = run(tmp_path, source, select=["DF002"], package_json=package(dev=("typescript",)), files=LOCKFILE)
    assert [f.line for f in result.remaining if f.code == "DF002"] == [4, 5]


OLD_NPM = 'FROM node:14\nCOPY package*.json ./\nRUN npm install\nCMD ["node", "server.js"]\n'


def test_old_npm_message_says_the_flag_it_writes(tmp_path):
    # DF007 does not run: the base keeps its npm 6, which reads only `--production`.
    result = run(tmp_path, OLD_NPM, select=["DF002"], package_json=package(), files=LOCKFILE)
    assert b"RUN npm ci --production\n" in result.fixed
    [finding] = [f for f in result.applied if f.code == "DF002"]
    assert "use `npm ci --production`" in finding.message and "npm 6 ignores `--omit=dev`" in finding.message


def test_base_moved_off_npm_6_gets_the_flag_its_message_names(tmp_path):
    # DF007 moves node:14 to Node.js 24 in the same run: DF002 waits for the move, then writes
    # and names `--omit=dev`, rather than naming `--production` that the move then rewrites.
    result = run(tmp_path, OLD_NPM, select=["DF002", "DF007"], package_json=package(), files=LOCKFILE)
    assert result.fixed.decode() == OLD_NPM.replace("node:14", "node:24").replace("npm install", "npm ci --omit=dev")
    assert [f.message for f in result.applied if f.code == "DF002"] == [
        "`npm install` installs dev dependencies and may drift from package-lock.json: use `npm ci --omit=dev`"
    ]
    [waiting] = [f for f in result.initial if f.code == "DF002"]
    assert waiting.fix is None and "once DF007 has moved the base" in waiting.message


def test_safe_only_run_names_the_flag_the_unsafe_run_writes(tmp_path):
    result = run(tmp_path, OLD_NPM, select=["DF002", "DF007"], package_json=package(), files=LOCKFILE, unsafe=False)
    assert result.fixed.decode() == OLD_NPM
    [finding] = [f for f in result.remaining if f.code == "DF002"]
    assert "`--omit=dev` is added once DF007 has moved the base" in finding.message
    assert "--production" not in finding.message
