"""The WORKDIR in effect at an instruction, the one helper the rules share for it."""

from __future__ import annotations

import pytest

from dockfix.dockerfile.document import Document
from dockfix.dockerfile.stages import chain_root, effective_user, external_base, stage_chain, workdir_at

# (Dockerfile, WORKDIR at the CMD of the last stage with the earlier stages counted, without them)
WORKDIRS = [
    ("FROM node:22\nCMD x\n", "/", None),
    ("FROM node:22\nWORKDIR /app\nCMD x\n", "/app", "/app"),
    ("FROM node:22\nWORKDIR app\nCMD x\n", "/app", None),
    ("FROM node:22\nWORKDIR /app\nWORKDIR src/../dist/\nCMD x\n", "/app/dist", "/app/dist"),
    ('FROM node:22\nWORKDIR "/app"\nCMD x\n', "/app", "/app"),
    ("FROM node:22\nWORKDIR /app\nWORKDIR /srv\nCMD x\n", "/srv", "/srv"),
    ("FROM node:22\nWORKDIR $APP\nCMD x\n", None, None),
    ("FROM node:22\nWORKDIR $APP\nWORKDIR src\nCMD x\n", None, None),
    ("FROM node:22\nWORKDIR ${APP}\nWORKDIR /srv\nCMD x\n", "/srv", "/srv"),
    ("FROM node:22 AS base\nWORKDIR /app\nFROM base\nWORKDIR dist\nCMD x\n", "/app/dist", None),
    ("FROM node:22 AS base\nWORKDIR /app\nFROM node:22\nCMD x\n", "/", None),
]


@pytest.mark.parametrize(("source", "inherited", "own"), WORKDIRS)
def test_workdir_at_the_start_command(source, inherited, own):
    doc = Document.parse(source.encode())
    stage = doc.stages[-1]
    cmd = stage.instructions[-1]

    assert workdir_at(doc, stage, cmd) == inherited
    assert workdir_at(doc, stage, cmd, inherit=False) == own
    assert workdir_at(doc, stage) == inherited  # nothing after the CMD changes it


def test_workdir_at_an_instruction_is_the_one_before_it():
    doc = Document.parse(b"FROM node:22\nWORKDIR /app\nRUN a\nWORKDIR /srv\nRUN b\n")
    stage = doc.stages[0]
    _, first_workdir, run_a, second_workdir, run_b = stage.instructions

    assert [workdir_at(doc, stage, inst) for inst in (first_workdir, run_a, second_workdir, run_b)] == [
        "/",
        "/app",
        "/app",
        "/srv",
    ]


def _reference_user(doc: Document, stage, before) -> str | None:
    """The USER at `before`, read by walking the chain from its first stage (the definition)."""
    user = None
    for member in reversed(stage_chain(doc, stage)):
        for inst in member.instructions:
            if inst is before:
                return user
            if inst.name == "USER":
                user = inst.args.strip() or user
    return user


CHAINED = (
    b"FROM node:22 AS s0\nUSER app\nWORKDIR /srv\n"
    + b"".join(b"FROM s%d AS s%d\nRUN step %d\n" % (n - 1, n, n) for n in range(1, 40))
    + b"FROM s39\nUSER node\nWORKDIR dist\nCMD x\nFROM node:22 AS other\nRUN y\n"
)


def test_what_a_stage_inherits_through_a_long_chain():
    doc = Document.parse(CHAINED)
    last_of_chain, unrelated = doc.stages[-2], doc.stages[-1]
    _, user, workdir, cmd = last_of_chain.instructions

    assert chain_root(doc, last_of_chain) is doc.stages[0]
    assert external_base(doc, last_of_chain) == "node:22"
    assert effective_user(doc, last_of_chain, user) == "app"
    assert effective_user(doc, last_of_chain, cmd) == "node"
    assert workdir_at(doc, last_of_chain, workdir) == "/srv"
    assert workdir_at(doc, last_of_chain, cmd) == "/srv/dist"
    assert effective_user(doc, unrelated) is None and workdir_at(doc, unrelated) == "/"
    # An instruction of an earlier stage of the chain reads as it does in that stage; one of
    # another chain is not in this one, so the end of the stage counts.
    first_run = doc.stages[1].instructions[1]
    assert effective_user(doc, last_of_chain, first_run) == "app"
    assert effective_user(doc, last_of_chain, unrelated.instructions[1]) == "node"
    for stage in doc.stages:
        for inst in [*stage.instructions, None]:
            assert effective_user(doc, stage, inst) == _reference_user(doc, stage, inst)
