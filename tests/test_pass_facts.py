"""What the rules of a pass share: facts worked out once per pass, and no document parsed twice.

Each pass's facts (RuleContext.facts) belong to the document of that pass and end with it: the
next pass may see other project files (the fixes' overlay). A pass whose fixes edited only other
files (a new .dockerignore) keeps its document instead of parsing the same text again.
"""

from __future__ import annotations

from dockfix.context import Options, RuleContext
from dockfix.dockerfile.document import Document
from dockfix.pipeline import fix_document
from dockfix.project.build_context import Project
from dockfix.project.npmscripts import development_reason
from dockfix.rules import RULES
from support.fixing import TODAY, make_project

DEV_IMAGE = 'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD ["npm", "run", "dev"]\n'
PACKAGE = '{"name": "app", "scripts": {"dev": "nodemon server.js"}}'


def _context(folder) -> RuleContext:
    return RuleContext(folder / "Dockerfile", Project(folder), Options(offline=True, today=TODAY))


def test_the_facts_of_a_pass_are_its_documents_until_the_next_pass(tmp_path):
    folder = make_project(tmp_path, DEV_IMAGE, package_json=PACKAGE)
    ctx = _context(folder)
    doc = Document.parse(DEV_IMAGE.encode())
    [stage] = doc.stages

    ctx.start_pass(doc)
    facts = ctx.facts(doc)
    assert ctx.facts(doc) is facts
    reason = facts.development_reason(stage)
    assert reason == development_reason(ctx.project, doc, stage, ctx.dockerfile)
    assert reason == "its file name, stage name or start command marks a development image"
    assert facts.image_project(stage) is facts.image_project(stage)

    other = Document.parse(DEV_IMAGE.encode())  # the same text, but not the pass's document
    assert ctx.facts(other) is not facts
    ctx.start_pass(doc)  # the next pass, on the same document: its facts start afresh
    assert ctx.facts(doc) is not facts


def test_a_pass_that_only_writes_the_dockerignore_parses_nothing_again(tmp_path, monkeypatch):
    dockerfile = (
        'FROM node:22-slim\nWORKDIR /app\nCOPY . .\nRUN npm ci --omit=dev\nUSER node\nCMD ["node", "server.js"]\n'
    )
    folder = make_project(tmp_path, dockerfile, package_json='{"name": "app"}', files={"server.js": "1\n"})
    parsed: list[bytes] = []
    parse = Document.parse

    def counting(source: bytes) -> Document:
        parsed.append(source)
        return parse(source)

    monkeypatch.setattr(Document, "parse", staticmethod(counting))
    result = fix_document(folder / "Dockerfile", dockerfile.encode(), _context(folder), list(RULES))

    assert result.error is None, result.error
    assert [f.code for f in result.applied] == ["DF009"]  # the new .dockerignore, nothing in the Dockerfile
    assert result.fixed == dockerfile.encode()
    assert len(parsed) == len(set(parsed)), "a text was parsed twice"
