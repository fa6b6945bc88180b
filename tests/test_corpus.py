"""Every real Dockerfile of the shared corpus: byte-exact round trip, agreement with BuildKit's
parser, and sound fixes (support.fixing.check_fix_is_sound).

The corpus is other people's files and lives next to the checkout, not in it; without it these
tests are not run, and the run says so once (conftest.py). Our own shapes (test_shapes.py) cover
the same ground everywhere, the files with a known fault among them (a missing backslash, a
LABEL BuildKit rejects, a CMD that is not valid JSON).
"""

import pytest

from dockfix.dockerfile.document import Document
from support.fixing import check_fix_is_sound
from support.oracle import agrees_with_oracle
from support.paths import corpus_cases, lay_out_case
from support.trees import snapshot, write_tree

pytestmark = pytest.mark.shared
CASES = corpus_cases()
IDS = [case.name for case in CASES]


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
def test_fixing_is_sound(case, tmp_path):
    check_fix_is_sound(lay_out_case(case, tmp_path))


def test_writing_the_corpus_is_deterministic_and_final(tmp_path):
    """As test_determinism.py does for the shapes: -j 1 and -j 2 write the same bytes, and a
    second --write over the output changes nothing."""
    for copy in ("serial", "parallel"):
        (tmp_path / copy).mkdir()
        for case in CASES:
            lay_out_case(case, tmp_path / copy)
    write_tree(tmp_path / "serial", jobs=1, cache=tmp_path / "cache-serial")
    write_tree(tmp_path / "parallel", jobs=2, cache=tmp_path / "cache-parallel")
    written = snapshot(tmp_path / "serial")
    assert snapshot(tmp_path / "parallel") == written, "-j 1 and -j 2 must write the same bytes"
    again = write_tree(tmp_path / "serial", jobs=2, cache=tmp_path / "cache-serial")
    assert "No changes needed." in again.output
    assert snapshot(tmp_path / "serial") == written, "a second --write must change nothing"
