"""Every real Dockerfile of the corpus: byte-exact round trip, agreement with BuildKit's parser,
no crash, output accepted by BuildKit's parser, output that fits the real node images, a
fixpoint, and fixes of the kinds their rules declare."""

import pytest

from dockfix import guard
from dockfix.dockerfile.document import Document
from dockfix.project.build_context import Project
from dockfix.sources.images import NodeImages
from support.fixing import TODAY, fix_folder, undeclared_fixes
from support.oracle import agrees_with_oracle, oracle_view
from support.paths import corpus_cases, lay_out_case

CASES = corpus_cases()
IDS = [case.name for case in CASES]

pytestmark = pytest.mark.skipif(not CASES, reason="the shared corpus is not next to this checkout")


def test_corpus_is_all_there():
    assert len(CASES) >= 400


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_round_trip(case):
    source = (case / "Dockerfile").read_bytes()
    assert Document.parse(source).render() == source


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_agrees_with_buildkit(case):
    assert agrees_with_oracle((case / "Dockerfile").read_bytes())


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fixing_never_crashes_reaches_a_fixpoint_and_emits_only_declared_fixes(case, tmp_path):
    folder = lay_out_case(case, tmp_path)
    result = fix_folder(folder)
    assert undeclared_fixes(result) == [], case.name
    source = (folder / "Dockerfile").read_bytes()
    if result.error is not None:
        assert "internal error" not in result.error
        return
    assert oracle_view(result.fixed)[0] == "ok", "BuildKit's parser must accept every output"
    images = NodeImages.packaged()
    before = guard.check(Document.parse(source), Project(folder), images, TODAY)
    after = guard.check(Document.parse(result.fixed), Project(folder), images, TODAY)
    assert guard.introduced(before, after) == [], "no output may name what the real node images lack"
    (folder / "Dockerfile").write_bytes(result.fixed)
    for path, (_, content) in result.other_files.items():
        path.write_bytes(content)
    again = fix_folder(folder)
    assert again.error is None and again.fixed == result.fixed and not again.other_files
    if result.fixed == source and not result.other_files:
        assert not result.applied


def test_missing_backslash_is_reported_with_its_line(tmp_path):
    result = fix_folder(lay_out_case(next(c for c in CASES if c.name == "0022"), tmp_path))
    assert result.error_line == 4
    assert "unknown instruction: &&" in result.error and "line 3" in result.error


def test_file_buildkit_rejects_is_an_error(tmp_path):
    result = fix_folder(lay_out_case(next(c for c in CASES if c.name == "0376"), tmp_path))
    assert result.error_line == 17 and "can't find =" in result.error
    assert result.fixed is None


def test_invalid_json_exec_form_is_reported_not_rewritten(tmp_path):
    folder = lay_out_case(next(c for c in CASES if c.name == "0239"), tmp_path)
    result = fix_folder(folder)
    assert b'CMD [ "node" "index.js" ]' in result.fixed
    assert any("not valid JSON" in f.message for f in result.remaining)
