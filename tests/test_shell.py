"""The shell a RUN runs, heredocs included: which scripts, which commands, mapped back to the source."""

import json

import pytest

from dockfix.dockerfile import shell
from dockfix.dockerfile.document import Document
from support.paths import corpus_cases, shapes

# RUN instruction -> the commands of each script it runs, (from a heredoc body, argv list).
SCRIPTS = {
    "plain line": ("RUN npm ci && npm run build\n", [(False, [["npm", "ci"], ["npm", "run", "build"]])]),
    "a heredoc alone is the script": ("RUN <<EOT\nset -e\nnpm ci\nEOT\n", [(True, [["set", "-e"], ["npm", "ci"]])]),
    "`<<-` and a quoted name": ("RUN <<-'EOT'\n\tnpm ci\n\tEOT\n", [(True, [["npm", "ci"]])]),
    "flags before the heredoc": (
        "RUN --mount=type=cache,target=/root/.npm <<EOT\nnpm ci\nEOT\n",
        [(True, [["npm", "ci"]])],
    ),
    "a shebang naming a shell": ("RUN <<EOT\n#!/bin/bash\nnpm ci\nEOT\n", [(True, [["npm", "ci"]])]),
    "a shebang naming python: no shell": ("RUN <<EOT\n#!/usr/bin/env python3\nprint(1)\nEOT\n", []),
    "a shell reading the heredoc": (
        'RUN <<"EOT" bash -e\nnpm ci\nEOT\n',
        [(False, [["bash", "-e"]]), (True, [["npm", "ci"]])],
    ),
    "`sh -s` reads its input too": (
        "RUN sh -s x <<EOT\nnpm ci\nEOT\n",
        [(False, [["sh", "-s", "x"]]), (True, [["npm", "ci"]])],
    ),
    "cat writes the heredoc to a file": (
        "RUN cat <<EOF > /app/x && npm ci\nnpm i\nEOF\n",
        [(False, [["cat"], ["npm", "ci"]])],
    ),
    "python reads the heredoc": ("RUN python3 <<EOF\nimport os\nEOF\n", [(False, [["python3"]])]),
    "a shell told to run -c": ("RUN bash -c 'true' <<EOF\nnpm ci\nEOF\n", [(False, [["bash", "-c", "true"]])]),
    "a shell running a file": ("RUN sh setup.sh <<EOF\nnpm ci\nEOF\n", [(False, [["sh", "setup.sh"]])]),
    "another file descriptor": ("RUN 3<<EOF sh\nnpm ci\nEOF\n", [(False, [["sh"]])]),
    "two heredocs, the second for a shell": (
        "RUN <<A cat > /a && <<B sh\nx\nA\nnpm ci\nB\n",
        [(False, [["cat"], ["sh"]]), (True, [["npm", "ci"]])],
    ),
}


@pytest.mark.parametrize("run, expected", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_run_scripts(run, expected):
    doc = Document.parse(b"FROM node:22\n" + run.encode())
    inst = doc.instructions[-1]
    scripts = inst.scripts
    assert [(s.from_heredoc, [c.argv for c in s.commands]) for s in scripts] == expected
    for script in scripts:
        assert not script.has_errors
        for command in script.commands:
            start, end = script.to_source(command.name_start, command.end)
            assert doc.source[start:end] == script.text[command.name_start : command.end]


# Scripts the grammar is spared (`shell._plain_command`) and scripts it must still read.
PLAIN = [
    "npm ci",
    "  npm   run build  ",
    "yarn install --frozen-lockfile --production=false",
    "npm install -g npm@10.2.4 pm2@5",
    "node ./scripts/build.js --out=dist/ 10 1.5",
    "chown -R node:node /app",
    "apt-get\tupdate",
    "./configure --prefix=/usr/local",
    "sleep 10",
    "echo done in if",  # keywords after the first word are plain words
]
NOT_PLAIN = [
    "",
    "   ",
    "A=1 npm ci",
    "export NODE_ENV=production",
    "if true; then x; fi",
    "time npm ci",
    "npm ci && npm run build",
    "npm ci # comment",
    "echo $HOME",
    "echo ~/x",
    "ls *.js",
    "echo 'quoted'",
    'echo "quoted"',
    "npm ci > log",
    "npm ci\nnpm test",
    "echo a\\ b",
    "échô x",
    "-x y",
    "10 x",
]


def grammar_reading(script: bytes):
    """The commands, errors and shell features of `script` as the grammar reads them (no fast path)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shell, "_plain_command", lambda script: None)
        return (
            shell.commands_in(script),
            shell.parse_bash(script).root_node.has_error,
            shell.uses_shell_features(script),
        )


@pytest.mark.parametrize("script", PLAIN)
def test_a_plain_script_is_read_without_the_grammar_exactly_as_the_grammar_reads_it(script):
    plain = shell._plain_command(script.encode())
    assert plain is not None
    commands, has_error, uses_features = grammar_reading(script.encode())
    assert ([plain], has_error, uses_features) == (commands, False, False)
    assert shell.commands_in(script.encode()) == commands


@pytest.mark.parametrize("script", NOT_PLAIN)
def test_scripts_with_anything_more_go_to_the_grammar(script):
    assert shell._plain_command(script.encode()) is None


@pytest.mark.shared
def test_every_plain_script_of_the_corpus_reads_as_the_grammar_reads_it():
    """Every shell script in the corpus's RUN instructions and npm scripts the fast path takes."""
    cases = corpus_cases() + shapes()
    scripts: set[bytes] = set()
    for case in cases:
        for path in case.iterdir():
            if path.is_file() and path.name.startswith("Dockerfile"):
                doc = Document.parse(path.read_bytes())
                for inst in doc.instructions:
                    scripts.update(script.text for script in inst.scripts)
        package = case / "package.json"
        if package.is_file():
            try:
                npm_scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts") or {}
            except (ValueError, AttributeError):
                continue
            if isinstance(npm_scripts, dict):
                scripts.update(text.encode() for text in npm_scripts.values() if isinstance(text, str))
    plain = [script for script in scripts if shell._plain_command(script) is not None]
    assert len(plain) > 100  # the fast path is taken often enough to matter
    for script in plain:
        commands, has_error, uses_features = grammar_reading(script)
        assert ([shell._plain_command(script)], has_error, uses_features) == (commands, False, False), script


def test_each_run_script_is_read_once_and_held_by_its_instruction(monkeypatch):
    """However often rules ask, a RUN's scripts are parsed once each, and a new parse of the same
    text (a fix's next pass) reads them anew: no script outlives the document that holds it."""
    source = b"FROM node:22\n" + b"".join(b"RUN mkdir -p /srv/%d && touch /srv/%d/x\n" % (n, n) for n in range(3000))
    parsed: list[bytes] = []
    real_parse = shell.parse_bash
    monkeypatch.setattr(shell, "parse_bash", lambda script: parsed.append(script) or real_parse(script))
    for _ in range(2):
        doc = Document.parse(source)
        for _ in range(3):
            commands = [command.argv for inst in doc.instructions for command in inst.commands]
        assert commands[:2] == [["mkdir", "-p", "/srv/0"], ["touch", "/srv/0/x"]]
        assert len(commands) == 6000
    assert len(parsed) == 2 * 3000
    assert len(set(parsed)) == 3000
