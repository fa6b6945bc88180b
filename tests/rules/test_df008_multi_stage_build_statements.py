"""DF008 says what it checked: why an app folder cannot be told, and one verdict per file and run."""

import pytest

from support.fixing import fix_folder, make_project

PLAIN_PACKAGE = '{"name": "app", "dependencies": {"express": "^4.19.2"}, "devDependencies": {"nodemon": "^3.1.4"}}'
LOCK = {"package-lock.json": "{}"}
REFUSED = "the image builds and runs the app in one stage; not split automatically because of "


def df008(findings):
    return [f.message for f in findings if f.code == "DF008"]


@pytest.mark.parametrize(
    ("dockerfile", "reason"),
    [
        (
            'FROM node:22\nCOPY . .\nRUN npm install\nCMD ["node", "index.js"]\n',
            "the app is in the root folder / (no WORKDIR names its folder)",
        ),
        (
            'FROM node:22\nWORKDIR /\nCOPY package*.json ./\nRUN npm install\nCOPY . .\nCMD ["node", "index.js"]\n',
            "the app is in the root folder / (its WORKDIR is /)",
        ),
        # The shape reported: a WORKDIR names the app's folder, package.json goes to / beside it.
        (
            "FROM node:22\nADD . /nodejsAction/\nCOPY package.json /\nRUN cd / && npm install\n"
            'WORKDIR /nodejsAction\nCMD ["node", "app.js"]\n',
            "the app's files are in /nodejsAction and / (line 3), which share only the root folder /",
        ),
    ],
)
def test_an_app_folder_that_cannot_be_told_is_reported_as_it_is(tmp_path, dockerfile, reason):
    folder = make_project(tmp_path, dockerfile, package_json=PLAIN_PACKAGE, files=LOCK)
    assert df008(fix_folder(folder, unsafe=False, select=["DF008"]).initial) == [REFUSED + reason]


ONLY_DEV_DEPENDENCIES = (
    'FROM node:22-alpine\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install\nCOPY . .\nCMD ["npm", "start"]\n'
)
START_PACKAGE = (
    '{"name": "app", "scripts": {"start": "node server.js"}, "dependencies": {"express": "^4.19.2"},'
    ' "devDependencies": {"nodemon": "^3.1.4"}}'
)


def test_a_split_for_dev_dependencies_the_install_leaves_out_is_not_offered(tmp_path):
    # The shape reported: DF008 offered a split for the dev dependencies alone, and once DF002
    # left them out of the install, said in the same run that one stage is enough.
    folder = make_project(tmp_path, ONLY_DEV_DEPENDENCIES, package_json=START_PACKAGE, files=LOCK)
    result = fix_folder(folder)
    assert df008([*result.initial, *result.remaining]) == []
    assert df008(result.notes) == [
        "one stage is enough here: the production stage would run on the same image (`node:22-alpine`) with the"
        " whole app folder, and the build installs no build tools and no dev dependencies to leave behind"
    ]
    assert any(f.code == "DF002" and "--omit=dev" in f.message for f in result.initial)
    # Without DF002's fix in the run, the split is what leaves them behind.
    safe = fix_folder(folder, unsafe=False)
    assert [m[:60] for m in df008(safe.initial)] == ["the image builds and runs the app in one stage: split into a"]
    assert df008(safe.notes) == []


def test_dev_dependencies_a_build_step_uses_still_get_the_split(tmp_path):
    package = START_PACKAGE.replace('"start"', '"build": "node build.js", "start"')
    dockerfile = ONLY_DEV_DEPENDENCIES.replace("COPY . .\n", "COPY . .\nRUN npm run build\n")
    folder = make_project(tmp_path, dockerfile, package_json=package, files=LOCK)
    messages = df008(fix_folder(folder).initial)
    assert len(messages) == 1 and "leaving behind the dev dependencies" in messages[0]
