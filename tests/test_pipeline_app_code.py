"""App code that fixes edit must still parse: a fix that would break a JS/TS file is withheld.

The rules that edit app code are sample rules (support/sample_rules.py, APP_CODE_RULES), so what
is tested is the pipeline; DF006 on a normal app shows a real fix still goes through.
"""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from dockfix import rules as rule_table
from dockfix.appcode.syntax import parses
from dockfix.cli import app
from dockfix.context import Options, RuleContext
from dockfix.pipeline import FileResult, fix_document
from dockfix.project.build_context import Project
from support.fixing import TODAY, fix_folder, make_project
from support.paths import FIXTURES
from support.sample_rules import APP_CODE_RULES, BROKEN_OPENING, CHECKED, SAMPLE_RULES

DOCKERFILE = 'FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["node", "server.js"]\n'
SERVER = "const http = require('http')\nhttp.createServer().listen(3000)\n"
RULES = {entry.code: entry for entry in (*SAMPLE_RULES, *APP_CODE_RULES)}
NPM_CI, BREAK, MARK, AT_LINE_END, AT_LINE_START = (
    RULES[code] for code in ("DF901", "DF907", "DF908", "DF909", "DF910")
)


def fix_with(folder, rules) -> FileResult:
    dockerfile = folder / "Dockerfile"
    ctx = RuleContext(dockerfile, Project(folder), Options(unsafe_fixes=True, offline=True, today=TODAY))
    return fix_document(dockerfile, dockerfile.read_bytes(), ctx, list(rules))


def test_a_fix_that_breaks_app_code_is_withheld_and_the_others_applied(tmp_path):
    folder = make_project(tmp_path, DOCKERFILE, package_json="{}", files={"server.js": SERVER})
    server = folder / "server.js"

    result = fix_with(folder, [NPM_CI, BREAK, MARK])

    assert result.error is None, result.error
    assert b"RUN npm ci" in result.fixed  # the Dockerfile's fix went in
    assert result.other_files[server] == (SERVER.encode(), SERVER.encode() + CHECKED)
    assert [f.code for f in result.applied] == ["DF901", "DF908"]
    [withheld] = [f for f in result.remaining if f.code == "DF907"]
    assert withheld.fix is None and not withheld.fixable
    assert withheld.message == "server.js needs a wrapper (fix withheld: it would leave server.js failing to parse)"
    assert result.withheld == []  # not one of the fixes --unsafe-fixes would enable


def test_the_withheld_fix_is_reported_and_the_rest_written(tmp_path, monkeypatch):
    folder = make_project(tmp_path, DOCKERFILE, package_json="{}", files={"server.js": SERVER})
    monkeypatch.setattr(rule_table, "RULES", (BREAK, MARK))
    monkeypatch.chdir(folder)

    result = CliRunner().invoke(app, ["--write", "--unsafe-fixes", "--offline", "--isolated", "Dockerfile"])

    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert (folder / "server.js").read_bytes() == SERVER.encode() + CHECKED
    assert "DF907 server.js needs a wrapper (fix withheld: it would leave server.js failing to parse)" in result.stdout
    assert "1 remaining (no automatic fix)" in result.output


def test_a_file_that_did_not_parse_is_not_guarded(tmp_path):
    """Whether a file that was already broken stays broken is not the pipeline's call."""
    already_broken = b"http.createServer().listen(3000\n"
    folder = make_project(tmp_path, DOCKERFILE, package_json="{}", files={"server.js": already_broken.decode()})

    result = fix_with(folder, [BREAK])

    assert [f.code for f in result.applied] == ["DF907"]
    assert result.other_files[folder / "server.js"] == (already_broken, BROKEN_OPENING + already_broken)


def test_fixes_that_break_a_file_only_together_are_judged_apart(tmp_path):
    folder = make_project(tmp_path, DOCKERFILE, package_json="{}", files={"calc.js": "a\nb\n"})

    result = fix_with(folder, [AT_LINE_END, AT_LINE_START])

    # Together `a *` / `*b` does not parse: the later rule waits a pass, then on its own breaks it.
    assert [f.code for f in result.applied] == ["DF909"]
    assert result.other_files[folder / "calc.js"] == (b"a\nb\n", b"a *\nb\n")
    [withheld] = result.remaining
    assert withheld.code == "DF910" and withheld.fix is None
    assert withheld.message.endswith("(fix withheld: it would leave calc.js failing to parse)")


def test_graceful_shutdown_on_a_normal_app_is_still_applied(tmp_path):
    folder = tmp_path / "app"
    shutil.copytree(FIXTURES / "apps" / "express-discarded", folder)
    (folder / "Dockerfile").write_text('FROM node:22\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n')

    result = fix_folder(folder, select=["DF006"])

    assert result.error is None, result.error
    assert [f.code for f in result.applied] == ["DF006"]
    assert not any("fix withheld" in f.message for f in result.remaining)
    [(path, (before, after))] = result.other_files.items()
    assert path.name == "server.js" and before == (folder / "server.js").read_bytes()
    assert after == (FIXTURES / "apps" / "_expected" / "express-discarded" / "server.js").read_bytes()
    assert parses(after, "javascript")
