"""The project and the run the tables of the core rules (DF002-DF005) share: a package.json with
a dev dependency, a lockfile and a server, fixed to a fixpoint whose output BuildKit parses."""

import json

from support.fixing import fix_folder, make_project
from support.oracle import oracle_view

PKG = json.dumps(
    {"scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}, "devDependencies": {"jest": "29"}}
)
START = 'CMD ["node", "server.js"]\n'  # an app image: base and tooling images without one are left alone
LOCK = {"package-lock.json": "{}", "server.js": "require('http').createServer().listen(3000)\n"}


def run(tmp_path, dockerfile, *, select, unsafe=True, package_json=PKG, files=LOCK, name="Dockerfile"):
    folder = make_project(tmp_path, dockerfile, package_json=package_json, files=files, name=name)
    result = fix_folder(folder, unsafe=unsafe, select=select, name=name)
    assert result.error is None, result.error
    assert oracle_view(result.fixed)[0] == "ok"
    (folder / name).write_bytes(result.fixed)
    again = fix_folder(folder, unsafe=unsafe, select=select, name=name)
    assert again.fixed == result.fixed, "not a fixpoint"
    return result
