"""DF006 writes its handler for the Node.js the image has once the run's fixes are applied: when
DF007 moves the base in the same run, for the new major; when the move is not made (a safe run,
DF007 not selected, its upgrade refused by the tag planning or withheld by the pipeline's guard),
for the major the image keeps. Never newer than what the final image's Node.js parses."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from dockfix.context import Options, RuleContext
from dockfix.dockerfile.document import Document
from dockfix.dockerfile.stages import image_node_major, runtime_stage
from dockfix.edits import Applicability, Edit, Finding, Fix
from dockfix.pipeline import fix_document
from dockfix.project.build_context import Project
from dockfix.rules import RULES, select_rules
from dockfix.rules.rule import Rule
from support.fixing import TODAY, make_project

APP = "var http = require('http')\nhttp.createServer(function (req, res) { res.end('ok') }).listen(3000)\n"
OPTIONAL_CALL = b"server.closeIdleConnections?.()"
GUARDED_CALL = b"server.closeIdleConnections && server.closeIdleConnections()"

ON_12 = 'FROM node:12-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
ON_12_BY_ARG = (
    'ARG NODE_VERSION=12\nFROM node:${NODE_VERSION}-alpine\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n'
)
# A package with no build for Node.js 24: DF007's tag planning refuses the move.
NO_BUILD_FOR_24 = json.dumps({"name": "app", "dependencies": {"grpc": "1.22.2"}})
ON_12_INSTALLING = 'FROM node:12-alpine\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD ["node", "server.js"]\n'


def _moves_to_a_tag_that_does_not_exist(doc: Document, ctx: RuleContext) -> Iterator[Finding]:
    # A base move the real-image guard withholds in the pipeline itself (there is no 24-stretch).
    start = doc.source.find(b"node:12-alpine")
    if start >= 0:
        edit = Edit(start, start + len(b"node:12-alpine"), b"node:24-stretch")
        yield Finding("DF099", "move the base", 1, Fix.unsafe(edit))


WITHHELD_MOVE = Rule(
    code="DF099",
    name="withheld-move",
    summary="A base move the guard withholds",
    fix_safety={Applicability.UNSAFE: "a move"},
    docs=None,
    check=_moves_to_a_tag_that_does_not_exist,
)


def run(tmp_path, dockerfile, *, unsafe=True, select=None, package_json='{"name": "app"}', extra_rules=()):
    folder = make_project(tmp_path, dockerfile, package_json=package_json, files={"server.js": APP})
    options = Options(unsafe_fixes=unsafe, offline=True, today=TODAY)
    ctx = RuleContext(folder / "Dockerfile", Project(folder), options)
    rules = [*(select_rules(select, None) if select else RULES), *extra_rules]
    result = fix_document(folder / "Dockerfile", dockerfile.encode(), ctx, rules)
    assert result.error is None
    edited = result.other_files.get((folder / "server.js").resolve())
    return result, None if edited is None else edited[1]


def final_major(result) -> int | None:
    doc = Document.parse(result.fixed)
    stage = runtime_stage(doc)
    assert stage is not None
    return image_node_major(doc, stage)


@pytest.mark.parametrize(
    ("dockerfile", "unsafe", "select", "package_json", "extra", "major", "handler"),
    [
        # A safe run: neither the move nor the handler (both unsafe) is applied.
        (ON_12, False, None, '{"name": "app"}', (), 12, None),
        # DF007 moves 12 to 24 in the same run: the handler is written for 24.
        (ON_12, True, None, '{"name": "app"}', (), 24, OPTIONAL_CALL),
        (ON_12, True, ["DF006", "DF007"], '{"name": "app"}', (), 24, OPTIONAL_CALL),
        (ON_12_BY_ARG, True, ["DF006", "DF007"], '{"name": "app"}', (), 24, OPTIONAL_CALL),
        # DF007 not in the run: the image stays on 12.
        (ON_12, True, ["DF006"], '{"name": "app"}', (), 12, GUARDED_CALL),
        # The tag planning refuses the move (grpc 1.22 has no build for 24): the image stays on 12.
        (ON_12_INSTALLING, True, ["DF006", "DF007"], NO_BUILD_FOR_24, (), 12, GUARDED_CALL),
        # The pipeline's guard withholds a move: the handler is still written, for 12.
        (ON_12, True, ["DF006"], '{"name": "app"}', (WITHHELD_MOVE,), 12, GUARDED_CALL),
    ],
    ids=["safe", "unsafe-all-rules", "unsafe-df006-df007", "arg-held", "df006-alone", "refused", "withheld"],
)
def test_handler_follows_the_major_of_the_final_image(
    tmp_path, dockerfile, unsafe, select, package_json, extra, major, handler
):
    result, edited = run(
        tmp_path, dockerfile, unsafe=unsafe, select=select, package_json=package_json, extra_rules=extra
    )
    assert final_major(result) == major
    if handler is None:
        assert edited is None
        return
    assert edited is not None and handler in edited
    # Nothing newer than the final image parses: no `?.` on a major before 14.
    assert (OPTIONAL_CALL in edited) is (major >= 14)


@pytest.mark.parametrize(
    ("base", "waits"),
    [
        ("node:12-alpine", True),  # 24 parses `?.`, 12 does not: planned again after the move
        ("node:18-alpine", False),  # 18 and 24 parse the same: nothing to wait for
        ("node:22.1.0-alpine", False),  # a patch release of the same major
    ],
)
def test_the_handler_waits_only_for_a_move_that_changes_what_the_image_parses(tmp_path, base, waits):
    # In one pass fixes are applied in rule order (DF006 before DF009 and DF004); a handler that
    # waits for the move is applied in the next pass, after them.
    result, edited = run(tmp_path, ON_12.replace("node:12-alpine", base))
    codes = [f.code for f in result.applied]
    assert codes[0] == "DF007"
    assert (codes[-1] == "DF006") is waits, codes
    assert edited is not None and OPTIONAL_CALL in edited


def test_a_withheld_move_says_why_and_the_handler_is_not_held_back(tmp_path):
    result, edited = run(tmp_path, ON_12, select=["DF006"], extra_rules=(WITHHELD_MOVE,))
    (withheld,) = [f for f in result.remaining if f.code == "DF099"]
    assert withheld.fix is None and "fix withheld" in withheld.message
    assert [f.code for f in result.applied] == ["DF006"]
    assert edited is not None and GUARDED_CALL in edited
