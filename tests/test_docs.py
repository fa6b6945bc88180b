"""docs/: the generated pages are current, and every rule has its page, which links its module and all its tests."""

from __future__ import annotations

import importlib.util

from dockfix.rules import RULES
from support.paths import REPO


def _generator():
    """scripts/rule_docs.py, the generator of the pages (a script of the repository, not of the package)."""
    spec = importlib.util.spec_from_file_location("rule_docs", REPO / "scripts" / "rule_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


docs_gen = _generator()


def test_generated_pages_are_current():
    stale = [
        str(path.relative_to(REPO))
        for path, text in docs_gen.pages(REPO / "docs").items()
        if not path.is_file() or path.read_text() != text
    ]
    assert stale == [], "run `python scripts/rule_docs.py` to regenerate: " + ", ".join(stale)


def test_every_rule_page_carries_its_documentation_headings():
    for rule in RULES:
        page = (REPO / "docs" / "rules" / f"{rule.code}.md").read_text()
        for heading in ("## What it does", "## Why", "## Example", "## Fix safety", "## Related hadolint rule"):
            assert heading in page, (rule.code, heading)


def test_the_check_mode_reports_a_stale_page(monkeypatch, capsys):
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


def test_every_rule_page_links_its_module_and_every_test_file_named_by_its_code():
    for rule in RULES:
        page = (REPO / "docs" / "rules" / f"{rule.code}.md").read_text()
        source = docs_gen.source_of(rule)
        assert f"- Source: [{source}](../../{source}); tests: " in page
        tests = sorted((REPO / "tests" / "rules").glob(f"test_{rule.code.lower()}_*.py"))
        assert tests, f"{rule.code} has no test file named by its code"
        for path in tests:
            relative = path.relative_to(REPO).as_posix()
            assert f"[{relative}](../../{relative})" in page, (rule.code, relative)
            assert rule.code in path.read_text(), f"{relative} does not name {rule.code}"
