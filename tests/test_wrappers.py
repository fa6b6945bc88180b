"""The commands a command runs through the wrappers that run it, read with the shell reader."""

import pytest

from dockfix.dockerfile.wrappers import commands_run

RUNS = [
    (["gosu", "node", "yarn", "install"], [["yarn", "install"]]),
    (["su-exec", "node:node", "yarn"], [["yarn"]]),
    (["su", "-c", "cd /app && yarn install", "node"], [["cd", "/app"], ["yarn", "install"]]),
    (["su", "node", "-c", "yarn build"], [["yarn", "build"]]),
    (["su", "-s", "/bin/sh", "node", "-c", "yarn"], [["yarn"]]),
    (["su", "--command=yarn start", "node"], [["yarn", "start"]]),
    (["sudo", "-u", "node", "-E", "HOME=/home/node", "yarn"], [["yarn"]]),
    (["runuser", "-u", "node", "--", "yarn", "install"], [["yarn", "install"]]),
    (["runuser", "-l", "node", "-c", "yarn"], [["yarn"]]),
    (["env", "-i", "A=1", "B=2", "yarn"], [["yarn"]]),
    (["env", "-S", "yarn --version"], [["yarn", "--version"]]),
    (["nice", "-n", "5", "yarn"], [["yarn"]]),
    (["xargs", "-n", "1", "npm", "i", "-g"], [["npm", "i", "-g"]]),
    (["sh", "-c", "npm config set cache-min 1 && npm i"], [["npm", "config", "set", "cache-min", "1"], ["npm", "i"]]),
    (["/bin/bash", "-ec", "gosu node yarn"], [["gosu", "node", "yarn"], ["yarn"]]),
    (["bash", "-o", "pipefail", "-c", "yarn | tee log"], [["yarn"], ["tee", "log"]]),
    (["tini", "--", "yarn", "start"], [["yarn", "start"]]),
    (["dumb-init", "--single-child", "yarn"], [["yarn"]]),
    (["--", "yarn"], [["yarn"]]),
    # a script file or a plain command runs nothing more that can be read
    (["sh", "./start.sh"], []),
    (["yarn", "install"], []),
    (["gosu", "node"], []),
]


@pytest.mark.parametrize(("argv", "inner"), RUNS, ids=[" ".join(r[0])[:40] for r in RUNS])
def test_what_a_wrapper_runs(argv, inner):
    first, *rest = commands_run(argv)
    assert first == argv
    assert rest == inner


def test_wrappers_inside_wrappers():
    found = list(commands_run(["dumb-init", "/bin/sh", "-c", "su node -c 'env CI=1 nice yarn test'"]))
    assert ["yarn", "test"] in found
