"""Diffs that patch and git apply turn back into the exact bytes, and the text report's lines."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockfix.edits import Edit, Finding, Fix
from dockfix.output import diff as diff_module
from dockfix.output.diff import (
    DIFFLIB_WORK_LIMIT,
    difflib_work,
    display_path,
    header_names,
    myers_matching_blocks,
    split_lines,
    unified_diff,
)
from dockfix.output.text import Tally, check_summary, error_line, finding_line, plural, report_summary, write_summary
from dockfix.pipeline import FileResult

PATCH = shutil.which("patch")
GIT = shutil.which("git")


def apply_with(tool: str, folder: Path, diff: bytes) -> None:
    command = [PATCH, "-p1", "--binary", "--silent", "--force"] if tool == "patch" else [GIT, "apply", "-"]
    subprocess.run(command, cwd=folder, input=diff, check=True, capture_output=True)


def round_trip(tool: str, folder: Path, old: bytes | None, new: bytes) -> bytes:
    """Lay `old` as folder/f, apply the diff to `new` with the tool, return what is on disk."""
    target = folder / "f"
    target.unlink(missing_ok=True)
    if old is not None:
        target.write_bytes(old)
    diff = unified_diff(old, new, Path("f"))
    apply_with(tool, folder, diff)
    return target.read_bytes()


CASES = {
    "one line changed": (b"a\nb\nc\n", b"a\nB\nc\n"),
    "crlf kept": (b"a\r\nb\r\nc\r\n", b"a\r\nB\r\nc\r\n"),
    "mixed endings": (b"a\r\nb\nc\r\n", b"a\r\nb\nc\r\nd\n"),
    "no final newline, kept": (b"a\nb", b"A\nb"),
    "no final newline, added": (b"a\nb", b"a\nb\n"),
    "no final newline, removed": (b"a\nb\n", b"a\nb"),
    "no final newline, last line changed": (b"a\nb", b"a\nc"),
    "non-utf8 bytes": (b"caf\xe9\n\xff\xfe\n", b"caf\xe9\nnew \x80\n\xff\xfe\n"),
    "lone carriage return inside a line": (b"a\rb\nc\n", b"a\rb\nC\n"),
    "bom": (b"\xef\xbb\xbfFROM node\n", b"\xef\xbb\xbfFROM node\nUSER node\n"),
    "empty file gains lines": (b"", b"x\ny\n"),
    "everything removed": (b"x\ny\n", b""),
    "new file": (None, b"node_modules\n"),
    "new file without final newline": (None, b"node_modules"),
    "12,000 repeated lines (Myers' algorithm)": (
        b"FROM node:20\nWORKDIR /app\n" + b"RUN echo hello\n" * 12_000 + b"CMD npm start\n",
        b"FROM node:24\nWORKDIR /app\n"
        + b"RUN echo hello\n" * 6_000
        + b"USER node\n"
        + b"RUN echo hello\n" * 6_000
        + b"CMD npm start\n",
    ),
    "two hunks": (
        b"".join(b"%d\n" % i for i in range(30)),
        b"".join(b"%d\n" % i for i in range(30)).replace(b"2\n", b"two\n", 1).replace(b"27\n", b"x\n"),
    ),
}


@pytest.mark.parametrize(
    "tool",
    [
        pytest.param("patch", marks=pytest.mark.skipif(not PATCH, reason="no patch")),
        pytest.param("git", marks=pytest.mark.skipif(not GIT, reason="no git")),
    ],
)
@pytest.mark.parametrize("case", sorted(CASES))
def test_patch_and_git_apply_reproduce_the_bytes(tmp_path, monkeypatch, case, tool):
    monkeypatch.chdir(tmp_path)
    old, new = CASES[case]
    if tool == "git" and new == b"":
        pytest.skip("git apply removes a file whose content is all deleted")
    assert round_trip(tool, tmp_path, old, new) == new


_line = st.sampled_from([b"a", b"b", b"RUN npm install", b"caf\xe9", b"x\r", b"\r", b"", b" \t"])
_text = st.lists(st.tuples(_line, st.sampled_from([b"\n", b"\r\n"])), max_size=12).map(
    lambda pairs: b"".join(body + end for body, end in pairs)
)


@pytest.mark.skipif(not PATCH, reason="no patch")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=_text, new=_text, old_tail=st.sampled_from([b"", b"tail"]), new_tail=st.sampled_from([b"", b"tail", b"end"]))
def test_any_change_round_trips_through_patch(tmp_path, monkeypatch, old, new, old_tail, new_tail):
    monkeypatch.chdir(tmp_path)
    old, new = old + old_tail, new + new_tail
    if old == new:
        assert unified_diff(old, new, Path("f")) == b""
    else:
        assert round_trip("patch", tmp_path, old, new) == new


@pytest.mark.skipif(not PATCH, reason="no patch")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(old=_text, new=_text)
def test_myers_diffs_round_trip_through_patch(tmp_path, monkeypatch, old, new):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(diff_module, "DIFFLIB_WORK_LIMIT", -1)  # every diff takes Myers' path
    if old != new:
        assert round_trip("patch", tmp_path, old, new) == new


def _longest_common_subsequence(old: list[bytes], new: list[bytes]) -> int:
    lengths = [[0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for i in range(len(old) - 1, -1, -1):
        for j in range(len(new) - 1, -1, -1):
            lengths[i][j] = lengths[i + 1][j + 1] + 1 if old[i] == new[j] else max(lengths[i + 1][j], lengths[i][j + 1])
    return lengths[0][0]


@given(
    old=st.lists(st.sampled_from([b"a", b"b", b"c"]), max_size=14),
    new=st.lists(st.sampled_from([b"a", b"b", b"c"]), max_size=14),
)
def test_myers_keeps_a_longest_common_subsequence(old, new):
    blocks = myers_matching_blocks(old, new)
    assert blocks[-1] == (len(old), len(new), 0)
    old_end = new_end = 0
    for i, j, size in blocks:
        assert i >= old_end and j >= new_end and old[i : i + size] == new[j : j + size]
        old_end, new_end = i + size, j + size
    assert sum(size for _, _, size in blocks) == _longest_common_subsequence(old, new)


def test_repeated_lines_get_small_hunks_not_one_rewrite():
    old = b"FROM node:20\nWORKDIR /app\n" + b"RUN echo hello\n" * 12_000 + b"CMD npm start\n"
    new = b"FROM node:24\nWORKDIR /app\n" + b"RUN echo hello\n" * 12_000 + b"USER node\nCMD npm start\n"
    assert difflib_work(split_lines(old), split_lines(new)) > DIFFLIB_WORK_LIMIT
    assert unified_diff(old, new, Path("Dockerfile")) == (
        b"--- a/Dockerfile\n+++ b/Dockerfile\n"
        b"@@ -1,4 +1,4 @@\n-FROM node:20\n+FROM node:24\n WORKDIR /app\n RUN echo hello\n RUN echo hello\n"
        b"@@ -12000,4 +12000,5 @@\n RUN echo hello\n RUN echo hello\n RUN echo hello\n+USER node\n CMD npm start\n"
    )


def test_no_change_no_diff():
    assert unified_diff(b"a\n", b"a\n", Path("f")) == b""


def test_missing_final_newline_gets_the_marker():
    assert unified_diff(b"a", b"b", Path("f")) == (
        b"--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n"
    )


def test_lines_split_after_newline_only():
    assert split_lines(b"a\r\nb\rc\x0cd\ne") == [b"a\r\n", b"b\rc\x0cd\n", b"e"]
    assert split_lines(b"") == []


def test_header_names_relative_below_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    assert header_names(Path("sub/Dockerfile")) == ("a/sub/Dockerfile", "b/sub/Dockerfile")
    assert header_names(tmp_path / "sub" / "Dockerfile") == ("a/sub/Dockerfile", "b/sub/Dockerfile")
    monkeypatch.chdir(tmp_path / "sub")
    outside = str(tmp_path / "Dockerfile")
    assert header_names(Path("../Dockerfile")) == (outside, outside)
    assert display_path(Path("./x/../Dockerfile")) == "Dockerfile"


def test_new_file_diff_comes_from_dev_null():
    assert unified_diff(None, b"a\nb\n", Path("new")).startswith(b"--- /dev/null\n+++ b/new\n@@ -0,0 +1,2 @@\n")


# -- text -----------------------------------------------------------------------------------------


def _result(findings: list[Finding]) -> FileResult:
    return FileResult(path=Path("Dockerfile"), original=b"", initial=findings)


SAFE = Finding("DF002", "dev dependencies installed", 3, Fix.safe(Edit(0, 0, b"x")))
UNSAFE = Finding("DF004", "runs as root", 9, Fix.unsafe(Edit(0, 0, b"x")))
DISPLAY = Finding("DF005", "consider dumb-init", 7, Fix.display_only(Edit(0, 0, b"x")))
PLAIN = Finding("DF003", "NODE_ENV is development", 5)


@pytest.mark.parametrize(
    ("finding", "unsafe", "line"),
    [
        (SAFE, False, "Dockerfile:3: DF002 [*] dev dependencies installed"),
        (UNSAFE, False, "Dockerfile:9: DF004 [unsafe fix] runs as root"),
        (UNSAFE, True, "Dockerfile:9: DF004 [*] runs as root"),
        (DISPLAY, True, "Dockerfile:7: DF005 consider dumb-init"),
        (PLAIN, False, "Dockerfile:5: DF003 NODE_ENV is development"),
        (Finding("DF006", "no line", 0), False, "Dockerfile: DF006 no line"),
        (Finding("DF007", "in app code", 4, path=Path("src/server.js")), False, "src/server.js:4: DF007 in app code"),
    ],
)
def test_finding_lines(finding, unsafe, line):
    assert finding_line(_result([finding]), finding, unsafe) == line


def test_error_lines():
    assert (
        error_line(Path("Dockerfile"), "unterminated heredoc 'EOF'", 4)
        == "Dockerfile:4: error: unterminated heredoc 'EOF'"
    )
    assert error_line(Path("Dockerfile"), "binary file") == "Dockerfile: error: binary file"


def test_plural():
    assert [plural(1, "file"), plural(2, "file"), plural(0, "fix"), plural(1, "fix")] == [
        "1 file",
        "2 files",
        "0 fixes",
        "1 fix",
    ]


def test_summaries():
    tally = Tally()
    tally.add(_result([SAFE, UNSAFE, PLAIN]), unsafe_fixes=False)
    tally.add(FileResult(path=Path("bad"), original=b"", error="binary file"), unsafe_fixes=False)
    assert report_summary(tally) == (
        "Found 3 problems in 1 file (1 fixable with --write). 1 hidden fix can be enabled with --unsafe-fixes."
        " 1 file could not be processed."
    )
    tally.changed_files, tally.fixed = 2, 1
    assert check_summary(tally).startswith("2 files would be changed (1 fix).")
    assert write_summary(tally, remaining=1).startswith(
        "Fixed 1 problem, 2 files written. 1 remaining (no automatic fix)."
    )
    assert report_summary(Tally(files=2)) == "No problems found in 2 files."
    assert check_summary(Tally(files=1)) == "No changes needed."
