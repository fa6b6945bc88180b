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
    for entry in RULES:
        page = (REPO / "docs" / "rules" / f"{entry.code}.md").read_text()
        for heading in ("## What it does", "## Why", "## Example", "## Fix safety", "## Related hadolint rule"):
            assert heading in page, (entry.code, heading)


def test_the_check_mode_reports_a_stale_page(tmp_path, monkeypatch, capsys):
    page = REPO / "docs" / "rules" / f"{RULES[0].code}.md"
    original = page.read_text()
    monkeypatch.setattr(
        docs_gen,
        "rule_page",
        lambda entry: original + "changed\n" if entry.code == RULES[0].code else docs_gen.GENERATED_NOTE,
    )
    assert docs_gen.main(["--check"]) == 1
    assert f"not current: docs/rules/{RULES[0].code}.md" in capsys.readouterr().out
    assert page.read_text() == original  # --check never writes
