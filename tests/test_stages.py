"""The WORKDIR in effect at an instruction, the one helper the rules share for it."""

from __future__ import annotations

import pytest

from dockfix.dockerfile.document import Document
from dockfix.dockerfile.stages import workdir_at

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
