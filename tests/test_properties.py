"""Properties of the document and the whole pipeline over generated Dockerfiles.

Generated files mix every construct the parser must get right: instructions in any case,
continuations (with comments and empty lines inside), several heredocs per instruction (`<<-`,
quoted names), parser directives (`# escape=` included), CRLF and mixed line endings, a BOM,
Unicode spaces BuildKit trims (NBSP, NEL, U+2028, U+3000), bare CR, very long lines, and bytes
that are not UTF-8.

Properties:
  - `Document.parse` raises nothing but DockerfileSyntaxError, on any bytes at all;
  - `render()` gives back the input byte for byte;
  - the document agrees with BuildKit's parser (PyPI `dockerfile`) on instructions, lines,
    flags, JSON form and heredocs, or both reject the file;
  - the pipeline (every rule, unsafe fixes on, offline) never raises and never fails
    internally, its output is a fixpoint, and BuildKit's parser accepts the output whenever it
    accepted the input.

The default run is a short slice (a few hundred examples per property). Set
DOCKFIX_PROPERTY_EXAMPLES to run each property that many times (see docs/fuzzing.md).
Every crash or disagreement found so far is kept below as an explicit example.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from unittest import mock

import dockerfile
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dockfix.dockerfile.document import DockerfileSyntaxError, Document, _maybe_json
from support import oracle
from support.fixing import fix_folder

LONG_RUN = int(os.environ.get("DOCKFIX_PROPERTY_EXAMPLES", "0"))


def examples(short: int) -> settings:
    """`short` examples in the default run, DOCKFIX_PROPERTY_EXAMPLES in a long run."""
    return settings(
        max_examples=LONG_RUN or short,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# -- the oracle ------------------------------------------------------------------------------------

_parse_string = dockerfile.parse_string


class _NamedCommand:
    """A command of the binding with the keyword and text of an empty instruction as "".

    For a line holding only the escape character at the end of the file, BuildKit makes an
    instruction with an empty keyword; the binding reports its keyword and text as None.
    """

    def __init__(self, command):
        self._command = command

    def __getattr__(self, name):
        value = getattr(self._command, name)
        return "" if value is None and name in ("cmd", "original") else value


def _parse_string_naming_empty_commands(text: str):
    return tuple(_NamedCommand(command) for command in _parse_string(text))


_document_view = oracle.document_view


def _document_view_splitting_from_like_buildkit(source: bytes):
    """support.oracle's view of the document, with FROM's words split as BuildKit splits them.

    BuildKit splits FROM's arguments on ASCII whitespace only (`node\u00a0x` is one word); the
    shared view splits on every Unicode space, which the generated files here exercise.
    """
    view = _document_view(source)
    if view[0] == "ok":
        for item, inst in zip(view[1], Document.parse(source).instructions, strict=True):
            if inst.name == "FROM":
                item["value"] = tuple(word for word in re.split(r"[\t\v\f\r ]+", inst.args) if word)
            if inst.name == "HEALTHCHECK":
                # The binding's JSON flag for HEALTHCHECK is about the command after `CMD`.
                parts = inst.args_bytes.split(None, 1)
                item["json"] = len(parts) == 2 and _maybe_json(parts[1]) is not None
            if item["sub"] is not None:
                # The binding gives ONBUILD's sub-command as written; the shared view upper-cases it.
                item["sub"] = inst.args_bytes.split(None, 1)[0].decode("utf-8", "replace")
    return view


@contextlib.contextmanager
def _binding_with_named_commands():
    with (
        mock.patch.object(dockerfile, "parse_string", _parse_string_naming_empty_commands),
        mock.patch.object(oracle, "document_view", _document_view_splitting_from_like_buildkit),
    ):
        yield


def agrees_with_buildkit(source: bytes) -> bool:
    """The document agrees with BuildKit's parser on the bytes BuildKit's parser is given.

    The binding can only be handed valid UTF-8 (undecodable bytes become U+FFFD), so the document
    is compared on those same bytes; BuildKit reads flags byte by byte, so their non-ASCII
    characters come back as Latin-1 and are read back as UTF-8 here. A NUL byte is refused by
    the document on purpose (a binary file), so such input is not compared.
    """
    if b"\x00" in source:
        return True
    seen = source.decode("utf-8", "replace").encode("utf-8")
    with _binding_with_named_commands():
        ours = oracle.document_view(seen)
        try:
            theirs = oracle.oracle_view(seen)
        except UnicodeDecodeError:
            # BuildKit cuts flags byte by byte: a Unicode space inside a flag splits a character,
            # and the binding cannot hand that back as text. Nothing to compare against.
            return True
    if ours[0] == "error" or theirs[0] == "error":
        return ours[0] == theirs[0]
    for item in theirs[1]:
        item["flags"] = tuple(_from_latin1(flag) for flag in item["flags"])
    return ours == theirs


def _from_latin1(text: str) -> str:
    try:
        return text.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text


def buildkit_accepts(source: bytes) -> bool | None:
    """Whether BuildKit's parser accepts the file; None when the binding cannot tell."""
    with _binding_with_named_commands():
        try:
            return oracle.oracle_view(source)[0] == "ok"
        except UnicodeDecodeError:  # see agrees_with_buildkit
            return None


# -- generated Dockerfiles -------------------------------------------------------------------------

ODD_CHARACTERS = (
    "a",
    "z",
    "0",
    " ",
    "\t",
    "\\",
    "`",
    '"',
    "'",
    "[",
    "]",
    ",",
    "=",
    "$",
    "{",
    "}",
    "-",
    "<",
    ">",
    "#",
    "&",
    "|",
    ";",
    "/",
    ".",
    ":",
    "@",
    "*",
    "\u00a0",
    "\u0085",
    "\u2028",
    "\u2029",
    "\u3000",
    "\u1680",
    "\u200b",
    "\ufeff",
    "\u00e9",
    "\u4e2d",
    "\U0001f600",
    "\x0b",
    "\x0c",
    "\r",
)
KEYWORDS = (
    "FROM",
    "RUN",
    "CMD",
    "ENTRYPOINT",
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "LABEL",
    "USER",
    "WORKDIR",
    "EXPOSE",
    "HEALTHCHECK",
    "ONBUILD",
    "SHELL",
    "STOPSIGNAL",
    "VOLUME",
    "MAINTAINER",
    "from",
    "run",
    "Cmd",
    "BOGUS",
)
REALISTIC_ARGUMENTS = {
    "FROM": [
        "node",
        "node:20-alpine AS build",
        "--platform=$BUILDPLATFORM node:18",
        "build",
        "scratch",
        "node:${V}-slim",
        "",
    ],
    "RUN": [
        "npm install",
        "npm ci --omit=dev",
        "apk add --no-cache curl",
        "--mount=type=cache,target=/root/.npm npm ci",
        "echo a && echo b",
        '["npm", "ci"]',
        "[1]",
        "set -e; yarn install --frozen-lockfile",
        "",
    ],
    "CMD": ['["node", "server.js"]', "node index.js", "npm start", "[]", '["npm", "run", "start"]', '[ "a" "b" ]'],
    "ENTRYPOINT": ['["node"]', "[]", "[  ]", "docker-entrypoint.sh", '["dumb-init", "--"]'],
    "COPY": [". .", "--from=build /app/dist ./dist", "--chown=node:node package*.json ./", '["a", "b/"]'],
    "ADD": ["https://example.invalid/a.tgz /tmp/", ". /app"],
    "ENV": ["NODE_ENV=production", "A 1", 'A=1 B="two words"', "A=1 B", "PATH=$PATH:/x"],
    "ARG": ["V=20", "NODE_VERSION", 'A="b c"'],
    "LABEL": ["a=b", '"x y"=z', "a"],
    "USER": ["node", "1000:1000", "root"],
    "WORKDIR": ["/app", "/usr/src/app"],
    "EXPOSE": ["3000", "80/tcp 443"],
    "HEALTHCHECK": ["CMD curl -f http://localhost/ || exit 1", '--interval=5s CMD ["node", "h.js"]', "NONE", "CMD [1]"],
    "ONBUILD": ["RUN npm ci", "COPY . .", "ENV A", ""],
    "SHELL": ['["/bin/sh", "-c"]', '["bash"]'],
    "STOPSIGNAL": ["SIGTERM"],
    "VOLUME": ["/data", '["/a"]'],
    "MAINTAINER": ["me <me@example.invalid>"],
}

_odd_text = st.text(alphabet=st.sampled_from(ODD_CHARACTERS), max_size=24)
_escape = st.sampled_from(["\\", "`"])


@st.composite
def instruction_lines(draw, escape: str) -> list[str]:
    """One instruction, maybe split over continuation lines with comments and blanks inside."""
    keyword = draw(st.sampled_from(KEYWORDS))
    options = REALISTIC_ARGUMENTS.get(keyword.upper(), [""])
    arguments = draw(st.one_of(st.sampled_from(options), _odd_text, st.sampled_from(options).map(lambda a: a + " ")))
    indent = draw(st.sampled_from(["", "", "  ", "\t", "\u00a0"]))
    separator = draw(st.sampled_from([" ", " ", "\t", "  "]))
    lines = [indent + keyword + separator + arguments]
    for _ in range(draw(st.integers(0, 3))):
        lines[-1] += draw(st.sampled_from([" " + escape, escape, " " + escape + "  ", escape + "\t"]))
        lines.extend(draw(st.lists(st.sampled_from(["# inside", "  # indented comment", "", "   "]), max_size=2)))
        lines.append(
            draw(st.one_of(st.sampled_from(["  && npm test", "  b", "\tc", "--flag", "#not a comment"]), _odd_text))
        )
    if draw(st.booleans()) and len(lines) == 1:
        lines[-1] += draw(st.sampled_from([escape, " " + escape]))  # a continuation into what follows
    return lines


@st.composite
def heredoc_lines(draw) -> list[str]:
    """RUN/COPY/ADD with one to three heredocs: `<<-`, quoted names, bodies, terminators."""
    keyword = draw(st.sampled_from(["RUN", "COPY", "ADD", "run"]))
    count = draw(st.integers(1, 3))
    names = draw(
        st.lists(st.sampled_from(["EOF", "EOT", "A", "B1", "END_OF_FILE"]), min_size=count, max_size=count, unique=True)
    )
    openers, bodies = [], []
    for name in names:
        chomp = draw(st.booleans())
        quote = draw(st.sampled_from(["", "'", '"']))
        openers.append(
            f"<<{'-' if chomp else ''}{quote}{name}{quote}" + draw(st.sampled_from(["", " cat", " > /tmp/x", " sh"]))
        )
        body = draw(
            st.lists(
                st.one_of(st.sampled_from(["echo $HOME", "\techo tab", "", "EOFX", "  " + name]), _odd_text), max_size=3
            )
        )
        terminator = ("\t" if chomp and draw(st.booleans()) else "") + name
        bodies.append(body + ([terminator] if draw(st.integers(0, 9)) else []))  # sometimes unterminated
    head = f"{keyword} " + " && ".join(openers) + (" /app/" if keyword != "RUN" and keyword != "run" else "")
    return [head] + [line for body in bodies for line in body]


# No `# check=` directive: the oracle's BuildKit predates it (it ends the directives there and
# ignores an `# escape=` after it), while the document follows the BuildKit Docker ships today.
_directive_lines = st.sampled_from(
    [
        ["# syntax=docker/dockerfile:1"],
        ["# escape=`"],
        ["# escape=\\"],
        ["#escape = `"],
        ["# unknown=x"],
        ["# escape=x"],
        ["# ESCAPE=`"],
        ["# syntax=a", "# syntax=b"],
    ]
)


@st.composite
def dockerfiles(draw) -> bytes:
    """A whole generated Dockerfile as bytes."""
    directives = draw(st.lists(_directive_lines, max_size=2))
    escape = "\\"
    for block in directives:
        for line in block:
            if line.replace(" ", "").lower() == "#escape=`":
                escape = "`"
    units: list[list[str]] = []
    if draw(st.integers(0, 3)):
        units.append(["FROM " + draw(st.sampled_from(["node", "node:20-alpine", "node:18 AS build", "debian:12"]))])
    for _ in range(draw(st.integers(0, 8))):
        units.append(
            draw(
                st.one_of(
                    instruction_lines(escape),
                    instruction_lines(escape),
                    heredoc_lines(),
                    st.sampled_from([["# a comment"], [""], ["   "], ["\t# tabbed comment"], ["\u00a0"], [escape]]),
                    st.just(["RUN " + "x" * draw(st.sampled_from([200, 5000, 70000]))]),
                )
            )
        )
    lines = [line for block in directives + units for line in block]
    endings = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    encoded = [line.encode("utf-8") for line in lines]
    if draw(st.integers(0, 4)) == 0 and encoded:  # bytes that are not UTF-8 somewhere
        index = draw(st.integers(0, len(encoded) - 1))
        encoded[index] += draw(st.sampled_from([b"\xff", b"\xc3", b"\xe9t\xe9", b"\xed\xa0\x80", b"\xc2"]))
    out = bytearray()
    for line in encoded:
        newline = draw(st.sampled_from(["\n", "\r\n"])) if endings == "mixed" else endings
        out += line + newline.encode()
    if out and draw(st.integers(0, 3)) == 0:
        out = out.rstrip(b"\r\n")  # no final newline
    if draw(st.integers(0, 5)) == 0:
        out[:0] = b"\xef\xbb\xbf"
    return bytes(out)


# -- the document ----------------------------------------------------------------------------------


def parse_or_none(source: bytes) -> Document | None:
    """The document, or None for a DockerfileSyntaxError; any other exception fails the test."""
    try:
        return Document.parse(source)
    except DockerfileSyntaxError:
        return None


PARSER_REGRESSIONS = [
    b"\\\n",  # a lone escape character: BuildKit makes an instruction with an empty keyword
    b"FROM x\n   \\  ",
    b"\\\n# syntax=docker/dockerfile:1\n",
    b"RUN \xc2\x85\r\nRUN x\rRUN y\r\n",  # NEL, bare CR
    b"FROM\xc2\xa0node\nRUN \xe2\x80\xa8\n",
    b"\xef\xbb\xbf# escape=`\nFROM node\nRUN a `\n  b\n",
    b"FROM node\nRUN <<-'E1' cat && <<\"E2\" sh\n\tE1\nE2\n",
    b"\xef\xbb\xbf# a comment\nFROM node\nFROM 0\xc2\x850",  # NEL inside a FROM word: one word for BuildKit
    b"FROM node\xc2\xa0AS build\nFROM build\n",
    b"\xef\xbb\xbfONBUILD  \\\n\xc3\xa9",
    b"ONBUILD run x\n",
    b'FROM x\nCMD ["node", "server.js"]\xff',  # BuildKit reads the first JSON value, ignores the rest
    b'FROM x\nCMD ["node", "server.js"] x',
    b'FROM x\nCMD ["a\xffb"]',
    b'FROM x\nCMD ["\\ud800"]',  # a lone surrogate escape is U+FFFD
    b"FROM x\nCMD [1] x",
    b"\xef\xbb\xbfFROM node \\\xff\n\\\\\n  && npm test",  # a doubled escape does not continue the line
    b"FROM node\nRUN a \\\\\n b\n",
    b"# escape=`\nFROM node\nRUN a ``\n b\n",
    b'COPY <<"',  # an open quote: BuildKit's lexer fails and the line opens no heredoc
    b"RUN <<'",
    b"RUN '' <<\"",
    b'RUN <<"A\nA\n',
    b'RUN <<""\n\nx\n',  # an empty name opens no heredoc
    b"RUN <<''\nx\n",
    b'RUN <<"A"B\nAB\n',
    b"N --\xa0",  # bytes the binding cannot be given are compared as it sees them
    b"Y --\xff",
    b"COPY --chown=n\xc3\xa9 . .\n",
    b"COPY --from=build --c\xf6\xc2\xa03\x90\x0ehown=node:p .\r",  # NBSP splits a flag mid-character
    b"FROM node\nRUN --mount=type=cache,target\xc2\xa0=/root/.npm npm ci\n",
    b'HEALTHCHECK -- \\ ["",""]',
    b"FROM --platform=${TARGETPLATFORM:-linux/amd\xc2\xa0x} node:12 AS ship\n",  # the binding cannot answer
    # BuildKit reads heredocs behind ONBUILD too (long-run finds).
    b"FROM node\nONBUILD RUN npm <<EOFci\n",
    b"RUN yarn ins\nMAINTAINER me\n   \nRUN npm install\nONBUILD RUN <<EOFnpm ci\n",
    b'ONBUILD RUN npm cat && <<"B" sh\nRUN \xc2\x85nel\n  && npm test\nB\r\nfrom build\n',
    b'RUN \xff\xfe\nONBUILD RL\xc2\x85 ["/bin/sh", "-\xc2\x85c"]\n',
    # A broken ${...} makes BuildKit's lexer fail: the line opens no heredoc (long-run find).
    b"EXPOSE 3000\nRUN <<EOFnpm in${  \nB\nRUN x\n",
    b"FROM x\nRUN <<EOF x ${}\nEOF\n",
    b"FROM x\nRUN <<EOF x ${A:-b\nEOF\n",
]


# BuildKit rejects a line over 65535 bytes (without its "\n"; a BOM counts in the first line);
# the document took such files and dockfix would have rewritten a file Docker cannot build.
LONG_LINE_REGRESSIONS = [
    b"RUN " + b"x" * 65531,
    b"RUN " + b"x" * 65532,
    b"RUN " + b"x" * 65530 + b"\r\n",
    b"RUN " + b"x" * 65531 + b"\r\n",
    b"\xef\xbb\xbfRUN " + b"x" * 65528,
    b"\xef\xbb\xbfRUN " + b"x" * 65529,
    b"FROM node\n# " + b"x" * 65534 + b"\nRUN y\n",
    b"FROM node\nRUN <<EOF\n" + b"x" * 65536 + b"\nEOF\n",
]


@pytest.mark.parametrize(
    "source", PARSER_REGRESSIONS + LONG_LINE_REGRESSIONS, ids=lambda s: repr(s[:24]) + f"+{len(s)}"
)
def test_parser_regressions_round_trip_and_agree(source):
    doc = parse_or_none(source)
    assert doc is None or doc.render() == source
    assert agrees_with_buildkit(source)


def test_from_words_split_on_ascii_whitespace_only():
    stages = Document.parse(b"FROM node\xc2\xa0AS build\nFROM node AS\xe2\x80\xa8x\n").stages
    assert [(stage.base, stage.alias) for stage in stages] == [("node\u00a0AS", None), ("node", None)]


def test_a_line_longer_than_buildkit_reads_is_a_syntax_error_with_its_number():
    with pytest.raises(DockerfileSyntaxError, match="longer than 65535 bytes") as caught:
        Document.parse(b"FROM node\nRUN " + b"x" * 65532 + b"\n")
    assert caught.value.line == 2
    assert Document.parse(b"FROM node\nRUN " + b"x" * 65531 + b"\n").instructions[1].name == "RUN"


@examples(300)
@given(st.binary(max_size=400))
def test_any_bytes_parse_or_raise_only_a_syntax_error(source):
    doc = parse_or_none(source)
    assert doc is None or doc.render() == source


@examples(300)
@given(dockerfiles())
def test_generated_files_round_trip_byte_for_byte(source):
    doc = parse_or_none(source)
    assert doc is None or doc.render() == source


@examples(300)
@given(dockerfiles())
def test_generated_files_agree_with_buildkit(source):
    assert agrees_with_buildkit(source)


# -- the pipeline ----------------------------------------------------------------------------------

PACKAGE_JSONS = [
    None,
    json.dumps(
        {
            "name": "app",
            "scripts": {"start": "node server.js", "build": "tsc"},
            "dependencies": {"express": "^4"},
            "devDependencies": {"typescript": "^5"},
        }
    ),
    json.dumps({"scripts": {"start": "NODE_OPTIONS=--x node a.js", "": "x"}, "engines": {"node": ">=14"}}),
    "{not json",
]


def check_pipeline(source: bytes, package_json: str | None) -> None:
    """Fix `source` in a fresh project: no crash, a fixpoint, and output BuildKit accepts."""
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "Dockerfile").write_bytes(source)
        if package_json is not None:
            (folder / "package.json").write_text(package_json)
        (folder / "server.js").write_text("require('http').createServer().listen(3000)\n")
        result = fix_folder(folder)
        if result.error is not None:
            assert "internal error" not in result.error, result.error
            assert "did not settle" not in result.error, result.error
            assert "changes nothing" not in result.error, result.error
            assert "would give a Dockerfile Docker rejects" not in result.error, result.error
            return
        if buildkit_accepts(source):
            assert buildkit_accepts(result.fixed) is not False, "BuildKit's parser must accept every output"
        (folder / "Dockerfile").write_bytes(result.fixed)
        for path, (_, content) in result.other_files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        again = fix_folder(folder)
        assert again.error is None, again.error
        assert again.fixed == result.fixed, "fixing the output again must change nothing"
        assert not again.other_files and not again.applied


PIPELINE_REGRESSIONS = [
    # DF005 indexed argv[0] of an empty exec-form ENTRYPOINT (found by the fuzzer).
    b"FROM node:16-alpineackage*.json ./\n\tENTRYPOINT [  ]\nRUN npm ci\nEXPOSE 3000\nCOPY . .",
    b'FROM node:16-alpine\nENTRYPOINT []\nCMD ["node", "server.js"]\n',
    b"FROM node:16-alpine\nCMD []\n",
    b'FROM node:16-alpine\nENTRYPOINT [""]\n',
    # An open quote in the install command: DF002 appended --omit=dev forever (long-run finds).
    b'FROM node:10\nCOPY . /app/\nRUN npm install --only=pro"duction\nCMD [ "node", "app.js" ]',
    b'FROM node:20-slim\nCOPY package*.json ./\nRUN npm install --"omit=dev\n\nRUN useradd -m appuser\nCMD ["node", "a.js"]\n',
    # The last USER came from an earlier stage: DF004 looked for it in this one (long-run find).
    b'FROM node:12-slim as base\nUSER root\nRUN mkdir /app\nFROM base as dev\nCOPY . .\nCMD ["node", "a.js"]\n',
]


@pytest.mark.parametrize("package_json", [PACKAGE_JSONS[0], PACKAGE_JSONS[1]], ids=["no-package-json", "package-json"])
@pytest.mark.parametrize("source", PIPELINE_REGRESSIONS)
def test_pipeline_regressions(source, package_json):
    check_pipeline(source, package_json)


def test_an_empty_exec_form_entrypoint_is_cleared_so_the_cmd_gets_the_init():
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "Dockerfile").write_bytes(PIPELINE_REGRESSIONS[1])
        result = fix_folder(folder, select=["DF005"])
    assert result.error is None
    assert b'CMD ["dumb-init", "node", "server.js"]' in result.fixed
    assert b"ENTRYPOINT []" in result.fixed


@examples(60)
@given(dockerfiles(), st.sampled_from(PACKAGE_JSONS))
@example(b'FROM node\nCMD ["npm", "start"]\n', PACKAGE_JSONS[1])
def test_pipeline_never_raises_reaches_a_fixpoint_and_keeps_buildkit_accepting(source, package_json):
    check_pipeline(source, package_json)
