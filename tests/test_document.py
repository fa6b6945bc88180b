"""The document gives back every byte, and reads files the way BuildKit's parser does."""

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockfix.dockerfile.document import DockerfileSyntaxError, Document
from dockfix.dockerfile.words import extract_flags, parse_words, read_env, substitute_args
from support.oracle import agrees_with_oracle, oracle_view

ROUND_TRIP = [
    b"",
    b"FROM node\n",
    b"FROM node",  # no final newline
    b"\xef\xbb\xbfFROM node\r\nRUN echo hi\r\n",  # BOM and CRLF
    b"FROM node\r\nRUN a \\\r\n  && b\nCMD x",  # mixed line endings
    b"# syntax=docker/dockerfile:1\n# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  c:\\\n",
    b"# check=skip=JSONArgsRecommended\nFROM node\n",
    b"FROM node\nRUN apt-get update \\\n# a comment inside the continuation\n    && apt-get install -y curl \\\n\n    && true\n",
    b"FROM node\nRUN <<EOF\necho one\nEOF\n",
    b'FROM node\nRUN <<-"EOT" bash && <<B cat\n\techo $HOME\n\tEOT\nbody\nB\n',
    b"FROM node\nCOPY <<EOF /app/x.txt\nhello\nEOF\n",
    b'from node as build\nrun npm ci\nfrom build\ncmd ["node", "a.js"]\n',
    b"FROM node\n# caf\xe9 in Latin-1, not UTF-8\nRUN echo \xff\n",
    b"ARG V=20\nFROM node:${V}-alpine AS base\nCOPY --from=base --chown=node:node . .\n",
    b"\n\n   \n\t\nFROM node\n\n\n",
    b"FROM node\nRUN echo \\",  # continuation into the end of the file
    b"FROM node\nONBUILD RUN npm ci\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/ || exit 1\n",
    b"FROM node\nENV e\x1d=\n",  # \x1d is space to Python's isspace, not to Go's unicode.IsSpace
    b'FROM node\nRUN ["sh", "-c", "cat <<EOF"]\nCMD x\n',  # exec form reads no heredoc
    b"FROM node\nONBUILD RUN cat <<EOF\nbody\nEOF\n",  # ONBUILD RUN does
    b"FROM node\nHEALTHCHECK --interval=5s CMD\x0b[1]\n",  # HEALTHCHECK splits its type off byte-wise
]


@pytest.mark.parametrize("source", ROUND_TRIP)
def test_round_trip_is_byte_exact(source):
    assert Document.parse(source).render() == source


@pytest.mark.parametrize("source", ROUND_TRIP)
def test_agrees_with_buildkit(source):
    assert agrees_with_oracle(source)


def test_nodes_partition_the_source():
    source = ROUND_TRIP[7]
    doc = Document.parse(source)
    offset = 0
    for node in doc.nodes:
        assert node.start == offset
        offset = node.end
    assert offset == len(doc.source)


def test_continuation_keeps_comment_out_of_logical_line():
    doc = Document.parse(ROUND_TRIP[7])
    run = doc.instructions[1]
    assert b"# a comment" not in run.logical
    assert (run.line, run.end_line) == (2, 6)
    start, end = run.source_span(run.logical.index(b"apt-get install"), run.logical.index(b"apt-get install") + 15)
    assert doc.source[start:end] == b"apt-get install"


def test_escape_directive_switches_continuation_character():
    doc = Document.parse(ROUND_TRIP[5])
    assert doc.escape == b"`"
    assert doc.directives == {"syntax": "docker/dockerfile:1", "escape": "`"}
    assert [i.name for i in doc.instructions] == ["FROM", "RUN"]


def test_directive_after_a_comment_is_a_comment():
    doc = Document.parse(b"# hello\n# escape=`\nFROM node\n")
    assert doc.escape == b"\\" and doc.directives == {}


def test_heredoc_spans_and_flags():
    doc = Document.parse(ROUND_TRIP[9])
    run = doc.instructions[1]
    assert [(h.name, h.chomp, h.expand) for h in run.heredocs] == [("EOT", True, False), ("B", False, True)]
    assert doc.source[run.heredocs[1].body_start : run.heredocs[1].body_end] == b"body\n"


def test_stages_aliases_and_args():
    doc = Document.parse(b"ARG V=20\nFROM node:${V}-alpine AS build\nRUN x\nFROM build\nFROM scratch\n")
    stages = doc.stages
    assert [s.alias for s in stages] == ["build", None, None]
    assert stages[0].resolved_base == "node:20-alpine"
    assert stages[1].parent_stage == 0 and not stages[1].is_external
    assert not stages[2].is_external


def test_substitute_args_defaults():
    assert substitute_args("node:${V:-18}", {}) == "node:18"
    assert substitute_args("node:$V", {"V": None}) is None


@pytest.mark.parametrize(
    "source, line, message",
    [
        (b"FROM node\nRUN <<EOF\necho\n", 2, "unterminated heredoc"),
        (b"FROM node\nONBUILD RUN npm <<EOFci\n", 2, "unterminated heredoc"),  # a fuzzer find
        (b"# escape=x\nFROM node\n", 1, "invalid escape token"),
        (b"# escape=`\n# escape=\\\nFROM node\n", 2, "only one escape"),
        (b"FROM node\nENV A=1 B\n", 2, "can't find = in"),
        (b"FROM node\nCMD [1, 2]\n", 2, "arrays must be comprised of strings"),
        (b"FROM node\x00\n", 0, "binary file"),
    ],
)
def test_rejects_what_buildkit_rejects(source, line, message):
    try:
        doc = Document.parse(source)
    except DockerfileSyntaxError as caught:
        error = caught
    else:
        assert doc.render() == source  # held byte for byte, but marked as rejected
        error = doc.errors[0]
    assert error.line == line and message in error.message
    if b"\x00" not in source:
        assert oracle_view(source)[0] == "error"


_pieces = st.sampled_from(
    [
        b"FROM node",
        b"RUN a \\",
        b"  b",
        b"# c",
        b"",
        b"RUN <<EOF",
        b"EOF",
        b'CMD ["x"]',
        b"ENV A=1",
        b"COPY --from=x . .",
        b"\tRUN y",
        b"# escape=`",
        b"RUN z `",
        b"LABEL a=b \\",
        b"ONBUILD RUN q",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=12), st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_generated_files_round_trip_and_agree(lines, newline, final_newline):
    source = newline.join(lines) + (newline if final_newline and lines else b"")
    assert agrees_with_oracle(source)
    with contextlib.suppress(DockerfileSyntaxError):
        assert Document.parse(source).render() == source


def test_env_is_read_with_the_files_escape_character():
    """One reader for every ENV: both forms, values as written, the escape directive honoured."""
    assert read_env('A=1 B="x y"', "\\").pairs == (("A", "1"), ("B", '"x y"'))
    assert read_env("NODE_ENV production  mode", "\\") == read_env("NODE_ENV production  mode", "`")
    assert read_env("NODE_ENV production  mode", "\\").legacy
    assert read_env("NODE_ENV production  mode", "\\").pairs == (("NODE_ENV", "production  mode"),)
    # With `# escape=``, a backquote joins the space to the value; a backslash is a plain character.
    assert read_env("A=x` y", "`").pairs == (("A", "x` y"),)
    assert read_env("A=x\\ y", "`").pairs == (("A", "x\\"), ("y", ""))


def test_the_word_lexer_keeps_quotes_for_env_and_removes_them_for_flags():
    line = b'--from=build --chown="a b" src dst'
    args_start, flags = extract_flags(line, 0, len(line))
    assert line[args_start:] == b"src dst"
    assert [(name, value) for name, value, _, _, _ in flags] == [("from", "build"), ("chown", "a b")]
    assert parse_words(line.decode()) == ["--from=build", '--chown="a b"', "src", "dst"]
    # `--` ends the flags; a word that is not a flag ends them too.
    assert extract_flags(b"-- --x", 0, 6) == (2, [])
