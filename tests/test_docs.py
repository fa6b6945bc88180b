"""docs/: the generated pages are current, and every rule has its page."""

from __future__ import annotations

from dockfix.output import rule_docs as docs_gen
from dockfix.rules import RULES
from support.paths import REPO


def test_generated_pages_are_current():
    stale = [
        str(path.relative_to(REPO))
        for path, text in docs_gen.pages(REPO / "docs").items()
        if not path.is_file() or path.read_text() != text
    ]
    assert stale == [], "run `python -m dockfix.output.rule_docs` to regenerate: " + ", ".join(stale)


def test_every_rule_page_carries_its_documentation_headings():
    for rule in RULES:
        page = (REPO / "docs" / "rules" / f"{rule.code}.md").read_text()
        for heading in ("## What it does", "## Why", "## Example", "## Fix safety", "## Related hadolint rule"):
            assert heading in page, (rule.code, heading)


def test_the_check_mode_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    page = REPO / "docs" / "rules" / f"{RULES[0].code}.md"
    original = page.read_text()
    monkeypatch.setattr(
        docs_gen,
        "rule_page",
        lambda rule: original + "changed\n" if rule.code == RULES[0].code else docs_gen.GENERATED_NOTE,
    )
    assert docs_gen.main(["--check"]) == 1
    assert f"not current: docs/rules/{RULES[0].code}.md" in capsys.readouterr().out
    assert page.read_text() == original  # --check never writes


def test_every_rule_page_names_the_module_and_a_test_file_of_the_rule():
    for rule in RULES:
        page = (REPO / "docs" / "rules" / f"{rule.code}.md").read_text()
        source = rule.source_path.resolve().relative_to(REPO).as_posix()
        tests = docs_gen.tests_of(rule)
        assert f"- Source: [{source}](../../{source}); tests: [{tests}](../../{tests})." in page
        assert rule.code in (REPO / tests).read_text(), f"{tests} does not test {rule.code}"
