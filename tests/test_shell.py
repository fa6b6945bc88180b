"""The shell a RUN runs, heredocs included: which scripts, which commands, mapped back to the source."""

import pytest

from dockfix.dockerfile.document import Document
from dockfix.dockerfile.shell import run_scripts

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
    scripts = list(run_scripts(doc, inst))
    assert [(s.from_heredoc, [c.argv for c in s.commands()]) for s in scripts] == expected
    for script in scripts:
        assert not script.has_errors
        for command in script.commands():
            start, end = script.to_source(command.name_start, command.end)
            assert doc.source[start:end] == script.text[command.name_start : command.end]
