"""DF005: start commands that run a package's binary or a chain of commands, as before/after
tables, each beside the shapes that must stay as they are (with the reason they are reported).
The plain shapes (exec form, `npm start` -> node, dumb-init) are in test_df005_exec_form_init_tables.py.
Every output is checked to parse with BuildKit's parser, to pass the real-image guard and to be
a fixpoint."""

import json
import shutil

import pytest

from dockfix.context import Options
from dockfix.project.discover import discover
from dockfix.rules import select_rules
from dockfix.run import Settings, process_paths
from support.fixing import TODAY, check_fix_is_sound, fix_folder, make_project
from support.oracle import oracle_view
from support.paths import FIXTURES

INIT = "RUN apk add --no-cache dumb-init\n"
# Apps of the shapes real projects have, to read their start commands from.
START_COMMANDS = FIXTURES / "start_commands"


def package(scripts, dependencies=None, dev_dependencies=None, **fields):
    return json.dumps(
        {"scripts": scripts, "dependencies": dependencies or {}, "devDependencies": dev_dependencies or {}, **fields}
    )


def run(tmp_path, dockerfile, package_json, *, files=None, select=("DF005",)):
    folder = make_project(
        tmp_path, dockerfile, package_json=package_json, files={"package-lock.json": "{}", **(files or {})}
    )
    result = fix_folder(folder, select=list(select))
    assert result.error is None, result.error
    assert oracle_view(result.fixed)[0] == "ok"
    (folder / "Dockerfile").write_bytes(result.fixed)
    again = fix_folder(folder, select=list(select))
    assert again.fixed == result.fixed, "not a fixpoint"
    return result


# (Dockerfile, package.json, the Dockerfile after)
PACKAGE_BINARIES = [
    (  # the start script runs a dependency's binary: exec it from node_modules/.bin
        'FROM node:22-alpine\nWORKDIR /app\nCMD ["npm", "start"]\n',
        package({"start": "next start"}, {"next": "15"}),
        f'FROM node:22-alpine\n{INIT}WORKDIR /app\nCMD ["dumb-init", "node_modules/.bin/next", "start"]\n',
    ),
    (  # its NAME=value prefix becomes ENV, its arguments and those after `--` stay
        'FROM node:22-alpine\nCMD ["npm", "run", "serve", "--", "-p", "80"]\n',
        package({"serve": "NODE_ENV=production fastify start -l info app.js"}, {"fastify-cli": "6"}, {}),
        None,  # fastify-cli's binary is `fastify`: not known without a lockfile, see below
    ),
    (  # cross-env's assignments become ENV too; what it runs is node
        'FROM node:22-alpine\nCMD ["yarn", "start"]\n',
        package({"start": "cross-env PORT=4000 HOST=0.0.0.0 node server.js"}, {"cross-env": "7"}),
        f'FROM node:22-alpine\n{INIT}ENV PORT=4000 HOST=0.0.0.0\nCMD ["dumb-init", "node", "server.js"]\n',
    ),
    (  # a dev dependency's binary, in an image that installs dev dependencies
        'FROM node:22-alpine\nRUN npm install\nCMD ["npm", "start"]\n',
        package({"start": "ts-node src/index.ts"}, {}, {"ts-node": "10"}),
        f'FROM node:22-alpine\n{INIT}RUN npm install\nCMD ["dumb-init", "node_modules/.bin/ts-node", "src/index.ts"]\n',
    ),
    (  # a path to the binary runs as written, from the folder npm runs scripts in
        'FROM node:22-alpine\nCMD ["yarn", "start"]\n',
        package({"start": "HOSTIP=127.0.0.1 ./node_modules/.bin/pm2-runtime app.js"}, {"pm2": "5"}),
        f'FROM node:22-alpine\n{INIT}ENV HOSTIP=127.0.0.1\nCMD ["dumb-init", "./node_modules/.bin/pm2-runtime", "app.js"]\n',
    ),
    (  # a variable the image already sets to the same value needs no second ENV line
        'FROM node:22-alpine\nENV NODE_ENV=production\nCMD ["npm", "start"]\n',
        package({"start": "NODE_ENV=production nest start"}, {"@nestjs/cli": "10"}),
        f'FROM node:22-alpine\n{INIT}ENV NODE_ENV=production\nCMD ["dumb-init", "node_modules/.bin/nest", "start"]\n',
    ),
]
PACKAGE_BINARIES = [case for case in PACKAGE_BINARIES if case[2] is not None]


@pytest.mark.parametrize("before, package_json, after", PACKAGE_BINARIES)
def test_package_binary_is_executed_directly(tmp_path, before, package_json, after):
    assert run(tmp_path, before, package_json).fixed.decode() == after


def test_binary_named_in_the_lockfile(tmp_path):
    """package-lock.json records each package's `bin`: a binary not named after its package."""
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"dependencies": {"fastify-cli": "6"}},
            "node_modules/fastify-cli": {"version": "6.0.0", "bin": {"fastify": "cli.js"}},
        },
    }
    folder = make_project(
        tmp_path,
        'FROM node:22-alpine\nCMD ["npm", "run", "serve", "--", "-p", "80"]\n',
        package_json=package({"serve": "NODE_ENV=production fastify start -l info app.js"}, {"fastify-cli": "6"}),
        files={"package-lock.json": json.dumps(lock)},
    )
    result = check_fix_is_sound(folder)
    assert result.fixed.decode().endswith(
        'ENV NODE_ENV=production\nCMD ["dumb-init", "node_modules/.bin/fastify", "start", "-l", "info", "app.js", "-p", "80"]\n'
    )


# (Dockerfile under an init already, package.json, what the finding that stays says)
PACKAGE_BINARIES_KEPT = [
    (  # neither package.json nor the lockfile provides `serve`: node_modules/.bin may not have it
        package({"start": "serve -s build"}),
        "no package of package.json is known to provide it",
    ),
    (  # runs further commands by name, which would not find node_modules/.bin outside npm
        package({"start": "concurrently 'tsc -w' 'nodemon dist'"}, {"concurrently": "8"}),
        "runs further commands by name",
    ),
    (  # npm's own variables exist only in the scripts npm runs
        package({"start": "node server.js --version $npm_package_version"}),
        "npm's own variables",
    ),
    (  # Yarn Plug'n'Play: no node_modules at all
        package({"start": "next start"}, {"next": "15"}, packageManager="yarn@4.5.0"),
        "Plug'n'Play",
    ),
]


@pytest.mark.parametrize("package_json, reason", PACKAGE_BINARIES_KEPT)
def test_package_binary_kept_behind_npm(tmp_path, package_json, reason):
    source = f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "npm", "start"]\n'
    result = run(tmp_path, source, package_json)
    assert result.fixed.decode() == source
    assert [f.message for f in result.remaining if reason in f.message], result.remaining


def test_script_setting_what_the_image_sets_otherwise_is_kept(tmp_path):
    """ENV NODE_ENV=development before the CMD would be what the app sees, but not what the
    image declares: the script's assignment is not turned into a second, contrary ENV."""
    source = f'FROM node:22-alpine\n{INIT}ENV NODE_ENV=production\nCMD ["dumb-init", "npm", "start"]\n'
    result = run(tmp_path, source, package({"start": "NODE_ENV=development node server.js"}))
    assert result.fixed.decode() == source
    assert any("the image sets NODE_ENV=production" in f.message for f in result.remaining)


def test_development_script_whose_name_is_the_only_sign_is_kept(tmp_path):
    """`npm run dev` running `next` (its dev server): resolved, nothing would say any more that
    this is a development image, and the other rules would make it a production one."""
    source = f'FROM node:22-alpine\n{INIT}RUN npm install\nCMD ["dumb-init", "npm", "run", "dev"]\n'
    result = run(
        tmp_path, source, package({"dev": "next"}, {"next": "15"}), select=("DF002", "DF003", "DF004", "DF005")
    )
    assert result.fixed.decode() == source
    # A development image is left alone (DF000): its start command and init are not changed.
    assert [f for f in result.remaining if f.code == "DF005"] == []


def test_dev_dependency_binary_keeps_dev_dependencies_installed(tmp_path):
    """The start runs ts-node, a dev dependency: DF002 must not leave it out of the install."""
    source = 'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["npm", "start"]\n'
    result = run(
        tmp_path,
        source,
        package({"start": "ts-node src/index.ts"}, {"express": "4"}, {"ts-node": "10"}),
        select=("DF002", "DF005"),
    )
    fixed = result.fixed.decode()
    assert 'CMD ["dumb-init", "node_modules/.bin/ts-node", "src/index.ts"]' in fixed
    assert "RUN npm ci\n" in fixed and "--omit=dev" not in fixed


# (Dockerfile, package.json, the Dockerfile after)
CHAINS = [
    (  # shell form: written out as the `/bin/sh -c` Docker runs, the last command exec'd
        "FROM node:22-alpine\nCMD npx wait-port db:5432 && npm start\n",
        package({"start": "node server.js"}),
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "/bin/sh", "-c", "npx wait-port db:5432 && exec node server.js"]\n',
    ),
    (  # continuation lines; the script's package binary gets its node_modules/.bin path
        "FROM node:22-alpine\nCMD npm config set fund false && \\\n    npm run start:prod\n",
        package({"start:prod": "next start -p 3000"}, {"next": "15"}),
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "/bin/sh", "-c", "npm config set fund false && exec node_modules/.bin/next start -p 3000"]\n',
    ),
    (  # an npm script that chains: `sh -c` of the chain, its binaries with their paths
        'FROM node:22-alpine\nCMD ["npm", "start"]\n',
        package({"start": "next build && NODE_ENV=production node server.js"}, {"next": "15"}),
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "sh", "-c", "node_modules/.bin/next build && NODE_ENV=production exec node server.js"]\n',
    ),
    (  # a chain of scripts: the last resolves, the others stay npm's (npm is on the PATH)
        'FROM node:22-alpine\nCMD ["npm", "run", "prod"]\n',
        package({"prod": "npm run migrate && npm run serve", "serve": "node dist/main.js", "migrate": "knex migrate"}),
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "sh", "-c", "npm run migrate && exec node dist/main.js"]\n',
    ),
    (  # the arguments after `--` go to the end of the script, as npm appends them
        'FROM node:22-alpine\nCMD ["npm", "run", "prod", "--", "--port", "80"]\n',
        package({"prod": "npm run migrate && node dist/main.js", "migrate": "knex migrate"}),
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "sh", "-c", "npm run migrate && exec node dist/main.js --port 80"]\n',
    ),
    (  # one command with variables: npm runs it with sh -c, so does the image
        'FROM node:22-alpine\nENTRYPOINT ["npm", "start", "--", "--userDir", "/data"]\n',
        package({"start": "node $NODE_OPTIONS node_modules/node-red/red.js -v $FLOWS"}),
        f'FROM node:22-alpine\n{INIT}ENTRYPOINT ["dumb-init", "sh", "-c", "exec node $NODE_OPTIONS node_modules/node-red/red.js -v $FLOWS --userDir /data"]\n',
    ),
    (  # exec form `sh -c` already: only the exec
        'FROM node:22-alpine\nCMD ["sh", "-c", "node migrate.js && node server.js"]\n',
        package({}),
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "sh", "-c", "node migrate.js && exec node server.js"]\n',
    ),
]


@pytest.mark.parametrize("before, package_json, after", CHAINS)
def test_chain_ends_in_exec(tmp_path, before, package_json, after):
    assert run(tmp_path, before, package_json).fixed.decode() == after


# (Dockerfile, package.json, what the finding that stays says)
CHAINS_KEPT = [
    (  # `||`: the last command does not always end the script
        "FROM node:22-alpine\nCMD node migrate.js || node server.js\n",
        package({}),
        "uses shell features",
    ),
    (  # a pipe: the shell waits for both sides
        "FROM node:22-alpine\nCMD node server.js | tee /tmp/log\n",
        package({}),
        "uses shell features",
    ),
    (  # whichever lockfile is there: a choice made when the container starts
        "FROM node:22-alpine\nCMD if [ -f yarn.lock ]; then yarn start; else npm start; fi\n",
        package({"start": "node server.js"}),
        "uses shell features",
    ),
    (  # a SHELL instruction: the shell-form command does not run in /bin/sh
        'FROM node:22-alpine\nSHELL ["/bin/bash", "-c"]\nCMD node migrate.js && node server.js\n',
        package({}),
        "uses shell features",
    ),
    (  # npm's script is chained with a command no package is known to provide
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "npm", "start"]\n',
        package({"start": "wait-for db && node server.js"}),
        "no package of package.json is known to provide it",
    ),
    (  # the arguments would reach npm's last script call as npm's own options: npm stays
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "npm", "run", "prod", "--", "--port", "80"]\n',
        package({"prod": "npm run migrate && npm run serve", "serve": "node dist/main.js"}),
        "runs `npm run serve --port 80`",
    ),
    (  # an ENTRYPOINT's CMD would reach `sh -c` as $0, not the app
        f'FROM node:22-alpine\n{INIT}ENTRYPOINT ["dumb-init", "npm", "start", "--"]\nCMD ["--port", "80"]\n',
        package({"start": "node migrate.js && node server.js"}),
        "would not pass the CMD on",
    ),
]


@pytest.mark.parametrize("source, package_json, reason", CHAINS_KEPT)
def test_chain_kept(tmp_path, source, package_json, reason):
    result = run(tmp_path, source, package_json)
    assert result.fixed.decode() == source
    assert [f.message for f in result.remaining if reason in f.message], result.remaining


@pytest.mark.parametrize(
    "app, start",
    [
        # fastify-cli's binary runs the app: `npm start` -> `fastify start ...`
        ("fastify-cli", '["dumb-init", "node_modules/.bin/fastify", "start", "-l", "info", "app.js"]'),
        # A wait for a dependency, then `npm start`: the shell stays, the last command is exec'd.
        ("wait-then-start", '["dumb-init", "/bin/sh", "-c", "npx wait-port queue:5672 && exec node ./src/index.js"]'),
        # A start script that builds, then runs the server with an environment variable.
        (
            "build-then-start",
            '["dumb-init", "sh", "-c", "node_modules/.bin/next build && NODE_ENV=production exec node server.js"]',
        ),
    ],
)
def test_real_start_commands(tmp_path, app, start):
    """Start commands of the shapes real projects have: the start command all rules together leave."""
    folder = tmp_path / app
    shutil.copytree(START_COMMANDS / app, folder)
    result = check_fix_is_sound(folder)
    assert [line for line in result.fixed.decode().splitlines() if line.startswith("CMD")] == [f"CMD {start}"]


def test_binary_of_a_linked_local_package(tmp_path):
    """A `file:` dependency (or a workspace) is a link in package-lock.json: its `bin` is on the
    folder it links to."""
    lock = {
        "lockfileVersion": 3,
        "packages": {
            "": {"dependencies": {"local-server": "file:local-server"}},
            "local-server": {"version": "1.0.0", "bin": {"serve-data": "cli.js"}},
            "node_modules/local-server": {"resolved": "local-server", "link": True},
        },
    }
    folder = make_project(
        tmp_path,
        'FROM node:22-alpine\nCOPY . .\nRUN npm ci\nVOLUME /data\nCMD ["npm", "start"]\n',
        package_json=package({"start": "serve-data --data /data"}, {"local-server": "file:local-server"}),
        files={"package-lock.json": json.dumps(lock)},
    )
    fixed = check_fix_is_sound(folder).fixed.decode()
    assert fixed.endswith('CMD ["dumb-init", "node_modules/.bin/serve-data", "--data", "/data"]\n')


def test_chain_whose_last_command_keeps_npm_says_so(tmp_path):
    """`exec npm start` is as far as it goes without package.json: npm stays, and that is reported."""
    source = "FROM node:22-alpine\nCMD node migrate.js && npm start\n"
    folder = make_project(tmp_path, source)
    result = fix_folder(folder, select=["DF005"])
    assert result.fixed.decode() == (
        f'FROM node:22-alpine\n{INIT}CMD ["dumb-init", "/bin/sh", "-c", "node migrate.js && exec npm start"]\n'
    )
    assert [f.message for f in result.remaining] == [
        "`node migrate.js && exec npm start` keeps npm/yarn between the init and the app: its last command runs"
        " `npm start`: no package.json in the build context"
    ]


@pytest.mark.parametrize(
    "scripts, dependencies, start",
    [
        # a development image is left alone (DF000): no init, its script call stays as written
        ({"dev": "nodemon server.js"}, {"nodemon": "3"}, '["npm", "run", "dev"]'),
        ({"dev": "gatsby develop -H 0.0.0.0"}, {"gatsby": "5"}, '["npm", "run", "dev"]'),
    ],
)
def test_development_image_stays_one_for_every_rule(tmp_path, scripts, dependencies, start):
    """No rule may make a development image a production one (split it, leave out the dev
    dependencies its dev server needs) because DF005 changed how its start command reads."""
    source = 'FROM node:24\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["npm", "run", "dev"]\n'
    folder = make_project(
        tmp_path,
        source,
        package_json=package(scripts, {}, dependencies),
        files={"package-lock.json": "{}", ".dockerignore": "node_modules\n"},
    )
    fixed = check_fix_is_sound(folder).fixed.decode()
    assert fixed.count("FROM ") == 1 and "RUN npm install\n" in fixed and "USER" not in fixed, fixed
    assert fixed.endswith(f"CMD {start}\n")


# The scripts read are those of the package.json the image has in its WORKDIR ------------------

ROOT_PACKAGE = json.dumps({"name": "root", "private": True, "workspaces": ["packages/*"]})
API_PACKAGE = json.dumps({"name": "api", "scripts": {"start:prod": "node dist/main.js"}})


def df005(tmp_path, dockerfile, package_json, files=None):
    folder = make_project(tmp_path, dockerfile, package_json=package_json, files=files)
    return [f.message for f in fix_folder(folder, unsafe=False, select=["DF005"]).initial]


@pytest.mark.parametrize(
    "copies",
    [
        "WORKDIR /app\nCOPY packages/api/package.json ./\nRUN npm install\nCOPY packages/api/ ./\n",
        # the package copied whole from a build stage that copied the repository
        "WORKDIR /app\nCOPY --from=build /src/packages/api ./\n",
    ],
)
def test_monorepo_package_scripts_are_read_from_the_package_the_image_has(tmp_path, copies):
    # The shape reported: "package.json has no `start:prod` script", read from the root package.json.
    build = "FROM node:22-alpine AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci\n"
    dockerfile = build + "FROM node:22-alpine\n" + copies + 'CMD ["npm", "run", "start:prod"]\n'
    messages = df005(tmp_path, dockerfile, ROOT_PACKAGE, {"packages/api/package.json": API_PACKAGE})
    assert messages == [
        "`npm run start:prod` runs `node dist/main.js` (package.json script `start:prod`): start node directly so it"
        " gets the signals"
    ]


def test_a_runner_entrypoint_is_read_with_the_script_its_cmd_names(tmp_path):
    # The shape reported: "`pnpm run` ... package.json has no `run` script".
    dockerfile = (
        'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nRUN pnpm install\nENTRYPOINT ["pnpm", "run"]\nCMD ["start"]\n'
    )
    messages = df005(tmp_path, dockerfile, package({"start": "node server.js"}))
    assert messages == [
        "`pnpm run start` (ENTRYPOINT and CMD) runs `node server.js` (package.json script `start`): start it directly"
        " so it gets the signals; not rewritten, as the command is split between ENTRYPOINT and CMD",
        "no init process: PID 1 is `pnpm`, which does not reap zombies or handle signals as an init; start it under"
        " dumb-init",
    ]


def test_a_runner_entrypoint_without_a_script_is_no_script_call(tmp_path):
    dockerfile = 'FROM node:22-alpine\nWORKDIR /app\nCOPY . .\nRUN pnpm install\nENTRYPOINT ["pnpm", "run"]\n'
    assert df005(tmp_path, dockerfile, package({"start": "node server.js"})) == [
        "no init process: PID 1 is `pnpm`, which does not reap zombies or handle signals as an init; start it under"
        " dumb-init"
    ]


def test_a_package_binary_is_not_run_from_node_modules_the_image_lacks(tmp_path):
    # The app's package.json and its build are copied from a build stage, its server installed globally.
    web = json.dumps(
        {
            "name": "web",
            "scripts": {"serve": "http-server build -p 4200"},
            "devDependencies": {"http-server": "^0.13.0"},
        }
    )
    dockerfile = (
        "FROM node:22-alpine AS build\nWORKDIR /src\nCOPY . .\nRUN npm ci && npm run build --workspace web\n"
        "FROM node:22-alpine\nRUN npm install -g http-server\nWORKDIR /app\n"
        "COPY --from=build /src/apps/web/build /app/build\nCOPY --from=build /src/apps/web/package.json /app/package.json\n"
        'CMD ["npm", "run", "serve"]\n'
    )
    messages = df005(tmp_path, dockerfile, ROOT_PACKAGE, {"apps/web/package.json": web})
    assert messages[0] == (
        "`npm run serve` keeps npm/yarn between the init and node: the `serve` script would run"
        " `node_modules/.bin/http-server`, and the image neither installs nor copies node_modules into its WORKDIR"
    )


VARIANT_DOCKERFILE = """ARG VARIANT=alpine
FROM node:24-alpine AS final-alpine
FROM node:24-slim AS final-debian
FROM final-${VARIANT}
WORKDIR /app
COPY . .
CMD ["node", "server.js"]
"""


@pytest.mark.parametrize(
    ("variant", "installed"),
    [("debian", False), ("${{ matrix.variant }}", False), ("alpine", True)],
)
def test_no_package_install_where_a_build_may_choose_another_base(tmp_path, variant, installed):
    # The base is chosen by a build argument: compose (or a CI matrix) passing another value may
    # build on Debian, where `apk add` would fail, so dumb-init is installed only when every build
    # keeps the file's own default.
    (tmp_path / "Dockerfile").write_text(VARIANT_DOCKERFILE)
    (tmp_path / "package.json").write_text(json.dumps({"scripts": {"start": "node server.js"}}))
    (tmp_path / "server.js").write_text("require('http').createServer().listen(3000)\n")
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  app:\n    build:\n      context: .\n      args:\n        VARIANT: '{variant}'\n"
    )
    found = discover([tmp_path])
    settings = Settings(
        rules=select_rules(["DF005"], None), options=Options(unsafe_fixes=True, offline=True, today=TODAY)
    )
    [result] = process_paths(found.files, settings, contexts=found.contexts, builds=found.builds)
    assert (b"apk add --no-cache dumb-init" in result.fixed) is installed
    messages = [finding.message for finding in result.remaining if finding.code == "DF005"]
    if installed:
        assert b'CMD ["dumb-init", "node", "server.js"]' in result.fixed
    else:
        assert result.fixed == VARIANT_DOCKERFILE.encode()
        assert messages == [
            f"no init process: PID 1 is `node`; a build of this file passes `VARIANT={variant}`, which may put it on"
            " another base image, so the package manager to install dumb-init with is not known: install"
            " dumb-init or tini in each base and start the app under it"
        ]
