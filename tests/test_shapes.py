"""Our own small Dockerfiles, one for each shape real Dockerfiles take (tests/fixtures/shapes):
byte-exact round trip, agreement with BuildKit's parser, and sound fixes (no crash, output
accepted by BuildKit's parser, fitting the real node images, every comment kept, a fixpoint).

The shapes are what the shared corpus of real files taught us: continuation oddities, CRLF, a
byte-order mark, heredocs, the escape directive, ARG-built FROM, stages, every package manager,
tokens, frameworks, non-Node and Windows images, files Docker rejects. They run on every
checkout; the corpus (test_corpus.py) runs only where it is next to the checkout.
"""

import shutil

import pytest

from dockfix.dockerfile.document import Document
from support.fixing import check_fix_is_sound, fix_folder
from support.oracle import agrees_with_oracle
from support.paths import dockerfile_name, shapes

SHAPES = shapes()
IDS = [shape.name for shape in SHAPES]


def lay_out(shape, tmp_path):
    return shutil.copytree(shape, tmp_path / shape.name)


def source_of(shape) -> bytes:
    return (shape / dockerfile_name(shape)).read_bytes()


def test_there_is_a_shape_for_each_thing_the_corpus_taught():
    assert len(SHAPES) >= 30
    sources = [source_of(shape) for shape in SHAPES]
    for marker in (b"\r\n", b"\xef\xbb\xbf", b"<<-", b"<<'", b"# escape=`", b"\\ \n", b"${NODE_VERSION}"):
        assert any(marker in source for source in sources), marker
    assert any(not source.endswith(b"\n") for source in sources)
    assert any(source.startswith(b"FROM node\n") for source in sources)


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_round_trip(shape):
    source = source_of(shape)
    assert Document.parse(source).render() == source


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_agrees_with_buildkit(shape):
    assert agrees_with_oracle(source_of(shape))


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_fixing_is_sound(shape, tmp_path):
    check_fix_is_sound(lay_out(shape, tmp_path), dockerfile_name(shape))


def test_a_file_that_is_already_done_is_left_byte_for_byte(tmp_path):
    folder = lay_out(next(s for s in SHAPES if s.name == "already-production"), tmp_path)
    result = fix_folder(folder)
    assert result.error is None and result.fixed == result.original and not result.other_files
    assert not result.applied


def test_fixes_reach_every_shape_that_needs_them(tmp_path):
    """The shapes are not all skipped over: nearly every one gets fixes (soundness alone would
    pass if the tool did nothing)."""
    fixed = [
        shape.name for shape in SHAPES if fix_folder(lay_out(shape, tmp_path), name=dockerfile_name(shape)).applied
    ]
    assert len(fixed) >= len(SHAPES) - 4, sorted(set(IDS) - set(fixed))


def test_missing_backslash_is_reported_with_its_line(tmp_path):
    result = fix_folder(lay_out(next(s for s in SHAPES if s.name == "missing-backslash"), tmp_path))
    assert result.error_line == 4
    assert "unknown instruction: &&" in result.error and "line 3" in result.error


def test_file_buildkit_rejects_is_an_error(tmp_path):
    result = fix_folder(lay_out(next(s for s in SHAPES if s.name == "label-command-substitution"), tmp_path))
    assert result.error_line == 2 and "can't find =" in result.error
    assert result.fixed is None


def test_invalid_json_exec_form_is_reported_not_rewritten(tmp_path):
    result = fix_folder(lay_out(next(s for s in SHAPES if s.name == "cmd-invalid-json"), tmp_path))
    assert b'CMD [ "node" "server.js" ]' in result.fixed
    assert any("not valid JSON" in f.message for f in result.remaining)
