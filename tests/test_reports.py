"""Machine-readable reports (json, sarif, github), --statistics, --quiet and colour.

The CLI runs in-process with the sample rules, so the findings are known exactly; SARIF is
validated against the official SARIF 2.1.0 schema kept in tests/fixtures.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from dockfix.cli import app
from dockfix.output.github import annotation
from dockfix.output.style import color_diff, wants_color
from support import sample_rules
from support.paths import FIXTURES, REPO

NAIVE = b'FROM node\nMAINTAINER me\nRUN npm install\nCMD ["node", "server.js"]\n'


@pytest.fixture(autouse=True)
def sample_rule_table(monkeypatch):
    sample_rules.install(monkeypatch)


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = tmp_path / "project"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "Dockerfile").write_bytes(NAIVE)
    (folder / "broken").mkdir()
    (folder / "broken" / "Dockerfile").write_bytes(b"FROM node\nRUN x\n&& y\n")
    monkeypatch.chdir(folder)
    return folder


def dockfix(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_sarif_is_valid_sarif_2_1_0_with_findings_rules_and_errors(project):
    jsonschema = pytest.importorskip("jsonschema")
    result = dockfix("--output-format", "sarif", "-j", "1")
    assert result.exit_code == 2
    log = json.loads(result.stdout)
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == [
        entry.code for entry in sample_rules.SAMPLE_RULES
    ]
    found = sorted(
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in run["results"]
    )
    assert found == [("DF901", "warning", 3), ("DF902", "warning", 4), ("DF903", "note", 2)]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "app/Dockerfile",
        "uriBaseId": "%SRCROOT%",
    }
    notification = run["invocations"][0]["toolExecutionNotifications"][0]
    assert notification["level"] == "error" and "broken/Dockerfile" in notification["message"]["text"]


def test_a_sarif_log_that_breaks_the_schema_is_caught(project):
    # The validation above can fail: a result without a message is refused.
    jsonschema = pytest.importorskip("jsonschema")
    log = json.loads(dockfix("--output-format", "sarif").stdout)
    del log["runs"][0]["results"][0]["message"]
    schema = json.loads((FIXTURES / "sarif-schema-2.1.0.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(log)


def test_json_records_one_line_per_file_valid_against_the_documented_schema(project):
    jsonschema = pytest.importorskip("jsonschema")
    result = dockfix("--write", "--output-format", "json")
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    schema = json.loads((REPO / "docs" / "json-report.schema.json").read_text())
    for record in records:
        jsonschema.validate(record, schema)
    app_record, broken = records
    assert app_record["path"] == "app/Dockerfile" and app_record["status"] == "changed" and app_record["written"]
    assert app_record["changed_files"] == ["app/Dockerfile", "app/.dockerignore"]
    assert [f["code"] for f in app_record["applied"]] == ["DF901"]
    assert [f["code"] for f in app_record["withheld"]] == ["DF902"]
    assert [f["code"] for f in app_record["remaining"]] == ["DF903"]
    assert broken["status"] == "failed" and broken["error"]["line"] == 3 and not broken["written"]


def test_github_annotations_for_findings_and_errors(project):
    result = dockfix("--output-format", "github")
    lines = result.stdout.splitlines()
    assert "::warning file=app/Dockerfile,line=3,title=DF901 sample-npm-ci::use npm ci" in lines
    assert "::notice file=app/Dockerfile,line=2,title=DF903 sample-maintainer::MAINTAINER is deprecated" in lines
    assert any(
        line.startswith("::error file=broken/Dockerfile,line=3,title=dockfix::unknown instruction") for line in lines
    )


def test_github_annotation_values_are_escaped():
    from pathlib import Path

    assert (
        annotation("error", Path("a,b:c"), 2, "T:1", "50%\nnext")
        == "::error file=a%2Cb%3Ac,line=2,title=T%3A1::50%25%0Anext"
    )


def test_statistics_count_findings_by_rule_like_ruff(project):
    (project / "app" / "Dockerfile.dev").write_bytes(NAIVE)
    result = dockfix("--statistics", "app")
    assert result.stdout.splitlines() == [
        "2\tDF901\t[*] sample-npm-ci",
        "2\tDF902\t[ ] sample-user",
        "2\tDF903\t[ ] sample-maintainer",
    ]


def test_quiet_keeps_findings_and_errors_and_drops_the_summary(project):
    result = dockfix("--quiet")
    assert "app/Dockerfile:3: DF901 [*] use npm ci" in result.stdout
    assert result.stderr.splitlines() == [
        "broken/Dockerfile:3: error: unknown instruction: && (line 2 probably lacks a trailing backslash)"
    ]


def test_the_run_breakdown_counts_files_and_fixes_by_rule(project):
    result = dockfix("--check")
    assert "Scanned 2 Dockerfiles: 1 to change, 0 unchanged, 1 failed." in result.stderr
    assert "Fixes by rule: DF901 1." in result.stderr


def test_output_format_with_diff_is_a_usage_error(project):
    result = dockfix("--diff", "--output-format", "json")
    assert result.exit_code == 2
    assert result.stderr.startswith("dockfix: error: --diff prints a diff")


def test_colour_only_on_a_terminal_and_never_with_no_color():
    class Terminal:
        def isatty(self):
            return True

    class Pipe:
        def isatty(self):
            return False

    assert wants_color(Terminal(), {})
    assert not wants_color(Terminal(), {"NO_COLOR": "1"})
    assert not wants_color(Terminal(), {"TERM": "dumb"})
    assert not wants_color(Pipe(), {})
    assert wants_color(Pipe(), {"FORCE_COLOR": "1"})


def test_colour_is_used_when_forced_and_plain_text_when_piped(project):
    plain = dockfix("app", env={"NO_COLOR": "1", "FORCE_COLOR": ""})
    assert "\x1b[" not in plain.stdout
    coloured = dockfix("app", env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert (
        "\x1b[1mapp/Dockerfile:3\x1b[0m: \x1b[31m\x1b[1mDF901\x1b[0m \x1b[36m[*]\x1b[0m use npm ci" in coloured.stdout
    )
    diff = dockfix("--diff", "app", env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[32m+RUN npm ci\x1b[0m" in diff.stdout


def test_a_coloured_diff_keeps_every_byte_of_its_lines():
    diff = b"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\r\n+new\n"
    stripped = (
        color_diff(diff)
        .replace(b"\x1b[0m", b"")
        .replace(b"\x1b[1m", b"")
        .replace(b"\x1b[36m", b"")
        .replace(b"\x1b[31m", b"")
        .replace(b"\x1b[32m", b"")
    )
    assert stripped == diff
