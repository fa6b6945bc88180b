"""DF009: .dockerignore created or completed, with Docker's pattern rules, never hiding a COPY source."""

import pytest

from dockfix.project.dockerignore_patterns import DockerIgnore, clean
from support.fixing import fix_folder, make_project

PACKAGE = '{"name": "app", "version": "1.0.0", "dependencies": {"express": "^4.19.2"}}'
PLAIN = 'FROM node:22-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nCMD ["node", "server.js"]\n'


def dockerignore_of(result, folder):
    path = folder / ".dockerignore"
    assert path in result.other_files, "the .dockerignore must be part of the result"
    return result.other_files[path]


# --- Docker's pattern rules -------------------------------------------------------------


@pytest.mark.parametrize(
    "patterns, path, excluded",
    [
        ("node_modules", "node_modules", True),
        ("node_modules", "node_modules/express/index.js", True),  # a folder covers its content
        ("node_modules", "packages/a/node_modules", False),  # not gitignore: top level only
        ("**/node_modules", "packages/a/node_modules", True),
        ("**/node_modules", "node_modules", True),
        ("/node_modules", "node_modules", True),  # leading slash dropped
        ("./node_modules/", "node_modules", True),  # cleaned like filepath.Clean
        ("*.md", "README.md", True),
        ("*.md", "docs/README.md", False),  # `*` does not cross `/`
        ("docs/**/*.md", "docs/a/b/c.md", True),
        (".env*", ".env.local", True),
        ("*\n!README.md", "README.md", False),  # last match wins
        ("!README.md\n*", "README.md", True),
        ("# node_modules", "node_modules", False),  # comment
        (" # x\nnode_modules", "node_modules", True),  # `#` not in the first column: a pattern
        ("file?.txt", "file1.txt", True),
        ("file[0-9].txt", "filea.txt", False),
        ("file[^0-9].txt", "filea.txt", True),
        ("\\*.txt", "*.txt", True),
        ("\\*.txt", "a.txt", False),
    ],
)
def test_docker_pattern_rules(patterns, path, excluded):
    assert DockerIgnore.parse(patterns).excludes(path) is excluded


def test_clean_follows_go():
    assert clean("./a//b/../c/") == "a/c"
    assert clean("/") == "/"
    assert clean("/abc") == "abc"


def test_malformed_pattern_matches_nothing():
    assert not DockerIgnore.parse("[").excludes("[")


# --- creating ---------------------------------------------------------------------------


def test_creates_a_dockerignore_when_there_is_none(tmp_path):
    folder = make_project(tmp_path, PLAIN, package_json=PACKAGE)
    result = fix_folder(folder, unsafe=False, select=["DF009"])
    original, content = dockerignore_of(result, folder)
    assert original is None  # a new file: the diff starts from /dev/null
    lines = content.decode().splitlines()
    for name in (
        "node_modules",
        ".git",
        ".npmrc",
        ".env",
        ".env.*",
        "Dockerfile*",
        ".dockerignore",
        "coverage",
        "npm-debug.log*",
    ):
        assert name in lines
    assert result.fixed == PLAIN.encode()
    assert result.applied[0].fix.applicability.value == "safe"


def test_never_ignores_what_a_copy_names(tmp_path):
    dockerfile = PLAIN.replace("COPY . .", "COPY .npmrc package.json ./\nCOPY dist ./dist\nCOPY .env* ./")
    folder = make_project(
        tmp_path,
        dockerfile,
        package_json=PACKAGE,
        files={".npmrc": "registry=x\n", ".env.production": "A=1\n", "dist/server.js": ""},
    )
    result = fix_folder(folder, unsafe=False, select=["DF009"])
    _, content = dockerignore_of(result, folder)
    rules = DockerIgnore.parse(content)
    for needed in (".npmrc", "package.json", "dist", "dist/server.js", ".env.production", ".env"):
        assert not rules.excludes(needed), needed
    assert rules.excludes("node_modules") and rules.excludes(".git")
    assert ".npmrc" in result.applied[0].message


def test_ignores_the_build_output_only_when_the_image_builds_it(tmp_path):
    package = '{"name": "app", "scripts": {"build": "tsc"}, "devDependencies": {"typescript": "^5.4.0"}}'
    built = PLAIN.replace("RUN npm ci --omit=dev", "RUN npm ci && npm run build").replace("server.js", "dist/server.js")
    folder = make_project(tmp_path, built, package_json=package)
    _, content = dockerignore_of(fix_folder(folder, unsafe=False, select=["DF009"]), folder)
    assert "dist" in content.decode().splitlines()

    prebuilt = PLAIN.replace("COPY . .", "COPY dist ./dist").replace("server.js", "dist/server.js")
    (tmp_path / "other").mkdir()
    other = make_project(tmp_path / "other", prebuilt, package_json=package)
    _, content = dockerignore_of(fix_folder(other, unsafe=False, select=["DF009"]), other)
    assert "dist" not in content.decode().splitlines()


# --- completing -------------------------------------------------------------------------


def test_completes_an_existing_file_keeping_its_lines(tmp_path):
    existing = "# mine\r\n*.md\r\n!README.md\r\nnode_modules"
    folder = make_project(tmp_path, PLAIN, package_json=PACKAGE, files={".dockerignore": existing})
    (folder / ".dockerignore").write_bytes(existing.encode())
    result = fix_folder(folder, unsafe=False, select=["DF009"])
    original, content = dockerignore_of(result, folder)
    assert original == existing.encode()
    assert content.startswith(existing.encode())  # nothing of the user's changes
    assert content == existing.encode() + b"\r\n.git\r\n.npmrc\r\n.env\r\n"


def test_a_file_that_covers_everything_is_left_byte_identical(tmp_path):
    existing = "**/node_modules\n.git/\n/.npmrc\n.env*\n"
    folder = make_project(tmp_path, PLAIN, package_json=PACKAGE, files={".dockerignore": existing})
    result = fix_folder(folder, unsafe=False, select=["DF009"])
    assert result.other_files == {} and result.applied == [] and result.initial == []


def test_a_negation_of_the_user_is_respected(tmp_path):
    existing = "node_modules\n.git\n.npmrc\n!.env\n"
    folder = make_project(tmp_path, PLAIN, package_json=PACKAGE, files={".dockerignore": existing})
    result = fix_folder(folder, unsafe=False, select=["DF009"])
    assert result.other_files == {}


def test_dockerfile_specific_ignore_file_is_the_one_completed(tmp_path):
    folder = make_project(tmp_path, PLAIN, package_json=PACKAGE, files={"Dockerfile.dockerignore": "node_modules\n"})
    result = fix_folder(folder, unsafe=False, select=["DF009"])
    path = folder / "Dockerfile.dockerignore"
    assert set(result.other_files) == {path}
    assert result.other_files[path][1] == b"node_modules\n.git\n.npmrc\n.env\n"


def test_second_run_changes_nothing(tmp_path):
    folder = make_project(tmp_path, PLAIN, package_json=PACKAGE)
    result = fix_folder(folder, unsafe=False, select=["DF009"])
    for path, (_, content) in result.other_files.items():
        path.write_bytes(content)
    again = fix_folder(folder, unsafe=False, select=["DF009"])
    assert again.other_files == {} and again.initial == []


def test_non_node_project_is_left_alone(tmp_path):
    folder = make_project(tmp_path, 'FROM python:3.12\nCOPY . .\nCMD ["python", "app.py"]\n')
    assert fix_folder(folder, unsafe=False, select=["DF009"]).other_files == {}
