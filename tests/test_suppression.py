"""Inline suppression comments: dockfix's own, file-wide, and hadolint's for mapped rules."""

from __future__ import annotations

from dockfix.dockerfile.suppression import hadolint_codes
from support.fixing import fix_folder, make_project

PACKAGE = '{"name": "app", "scripts": {"start": "node server.js"}, "dependencies": {"express": "4"}}'


def project(folder, dockerfile, **kwargs):
    folder.mkdir(parents=True, exist_ok=True)
    return make_project(folder, dockerfile, **kwargs)


def codes(result):
    return sorted({finding.code for finding in result.initial})


def test_a_dockfix_ignore_comment_silences_that_rule_on_the_next_instruction_only(tmp_path):
    base = "FROM node:22\nWORKDIR /app\nCOPY . .\nRUN npm ci\n"
    plain = fix_folder(
        project(
            tmp_path / "plain", base + "CMD node server.js\n", package_json=PACKAGE, files={"package-lock.json": ""}
        )
    )
    assert "DF005" in codes(plain) and "DF003" in codes(plain)
    dockerfile = base + "# a shell on purpose\n# dockfix: ignore=DF005\nCMD node server.js\n"
    result = fix_folder(project(tmp_path / "quiet", dockerfile, package_json=PACKAGE, files={"package-lock.json": ""}))
    assert "DF005" not in codes(result)
    assert "DF003" in codes(result)
    assert b"CMD node server.js\n" in result.fixed


def test_ignore_file_silences_everything(tmp_path):
    result = fix_folder(
        make_project(
            tmp_path, "# dockfix: ignore-file\nFROM node\nRUN npm install\nCMD npm start\n", package_json=PACKAGE
        )
    )
    assert result.initial == [] and result.fixed == result.original and result.other_files == {}


def test_hadolint_ignore_is_honoured_for_rules_that_map_to_it(tmp_path):
    dockerfile = '# hadolint ignore=DL3006,DL3007\nFROM node:latest\nCMD ["node", "server.js"]\n'
    result = fix_folder(project(tmp_path / "a", dockerfile, package_json=PACKAGE))
    assert "DF001" not in codes(result)
    other = '# hadolint ignore=DL3008\nFROM node:latest\nCMD ["node", "server.js"]\n'
    assert "DF001" in codes(fix_folder(project(tmp_path / "b", other, package_json=PACKAGE)))


def test_hadolint_codes_come_from_the_rule_documentation():
    from dockfix.rules import rule_by_code

    assert hadolint_codes(rule_by_code("DF001").docs) == {"DL3006", "DL3007"}
    assert hadolint_codes(rule_by_code("DF009").docs) == set()
