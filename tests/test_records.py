"""dockfix.records behaves as the standard library's dataclasses, for every feature the project uses.

Each case declares the same class twice, once with each decorator, and checks that the two
agree: construction, defaults and factories, equality, hashing, ordering, repr, freezing,
`__post_init__`, inheritance and `replace`.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from dockfix import records


def declare(module):
    """The same classes, declared with `module`'s dataclass and field."""
    dataclass, field = module.dataclass, module.field

    @dataclass(frozen=True)
    class Span:
        start: int
        end: int
        label: str | None = None

    @dataclass(frozen=True, order=True)
    class Version:
        major: int
        minor: int
        patch: int

    @dataclass
    class Node:
        kind: str
        start: int

    @dataclass
    class Instruction(Node):
        keyword: str = ""
        flags: list[str] = field(default_factory=list)

    @dataclass(frozen=True)
    class Checked:
        code: str
        table: dict[str, str] = field(hash=False)
        note: str | None

        def __post_init__(self) -> None:
            if not self.code.startswith("DF"):
                raise ValueError(f"bad code {self.code}")

    @dataclass(frozen=True)
    class Secret:
        user: str
        secret: str

        def __repr__(self) -> str:
            return f"Secret(user={self.user!r}, secret=<hidden>)"

    return Span, Version, Node, Instruction, Checked, Secret


STANDARD = declare(dataclasses)
OURS = declare(records)


def both(name: str):
    index = ["Span", "Version", "Node", "Instruction", "Checked", "Secret"].index(name)
    return STANDARD[index], OURS[index]


def outcome(action):
    """What `action()` gives, or the type of what it raises: comparable across the two."""
    try:
        return ("value", action())
    except Exception as error:
        return ("raises", type(error).__name__)


@pytest.mark.parametrize(
    "args, kwargs",
    [((1, 2), {}), ((1, 2, "x"), {}), ((1,), {"end": 2}), ((), {"start": 1, "end": 2, "label": None})],
)
def test_construction_repr_and_fields_agree(args, kwargs):
    standard, ours = both("Span")
    a, b = standard(*args, **kwargs), ours(*args, **kwargs)
    assert repr(a).replace(standard.__qualname__, "X") == repr(b).replace(ours.__qualname__, "X")
    assert vars(a) == vars(b)
    assert list(vars(b)) == ["start", "end", "label"]  # the fields, in their order


@pytest.mark.parametrize(
    "args, kwargs",
    [((1, 2, "x", "y"), {}), ((), {"start": 1}), ((1, 2), {"start": 1}), ((1, 2), {"colour": "red"})],
)
def test_bad_arguments_raise_type_error_alike(args, kwargs):
    standard, ours = both("Span")
    assert (
        outcome(lambda: standard(*args, **kwargs)) == outcome(lambda: ours(*args, **kwargs)) == ("raises", "TypeError")
    )


def test_frozen_instances_refuse_assignment_and_hash_by_fields():
    standard, ours = both("Span")
    span = ours(1, 2)
    with pytest.raises(records.FrozenInstanceError):
        span.start = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del span.end  # type: ignore[misc]
    assert hash(span) == hash(standard(1, 2)) == hash((1, 2, None))
    assert span == ours(1, 2) and span != ours(1, 3) and len({span, ours(1, 2), ours(2, 2)}) == 2
    # Instances of another class never compare equal, not even with the same values.
    assert span != standard(1, 2) and span != (1, 2, None)


def test_order_compares_fields_in_order_within_one_class():
    standard, ours = both("Version")
    triples = [(22, 1, 0), (20, 9, 9), (22, 0, 10), (22, 1, 0)]
    assert [tuple(vars(v).values()) for v in sorted(ours(*t) for t in triples)] == [
        tuple(vars(v).values()) for v in sorted(standard(*t) for t in triples)
    ]
    assert ours(1, 0, 0) <= ours(1, 0, 0) < ours(1, 0, 1) and ours(2, 0, 0) >= ours(1, 9, 9) > ours(1, 0, 0)
    with pytest.raises(TypeError):
        _ = ours(1, 0, 0) < standard(1, 0, 0)


def test_mutable_classes_inherit_fields_use_fresh_factories_and_cannot_be_hashed():
    standard, ours = both("Instruction")
    a, b = ours("instruction", 3), ours("instruction", 3)
    a.flags.append("--from=build")
    assert b.flags == [] and a != b
    assert outcome(lambda: hash(a)) == outcome(lambda: hash(standard("instruction", 3))) == ("raises", "TypeError")
    assert list(vars(ours("instruction", 3, "RUN"))) == ["kind", "start", "keyword", "flags"]
    a.keyword = "RUN"
    assert a.keyword == "RUN"


def test_post_init_runs_and_unhashed_fields_stay_out_of_the_hash():
    standard, ours = both("Checked")
    assert outcome(lambda: ours("XX1", {}, None)) == outcome(lambda: standard("XX1", {}, None))
    assert hash(ours("DF001", {"a": "b"}, "n")) == hash(standard("DF001", {"a": "b"}, "n")) == hash(("DF001", "n"))


def test_a_method_the_class_defines_is_kept():
    _standard, ours = both("Secret")
    assert repr(ours("me", "hunter2")) == "Secret(user='me', secret=<hidden>)"


def test_replace_checks_again_and_keeps_the_other_fields():
    standard, ours = both("Checked")
    original = ours("DF001", {}, "note")
    changed = records.replace(original, code="DF002")
    assert (changed.code, changed.note, original.code) == ("DF002", "note", "DF001")
    assert outcome(lambda: records.replace(original, code="bad")) == outcome(
        lambda: dataclasses.replace(standard("DF001", {}, "note"), code="bad")
    )
    with pytest.raises(TypeError):
        records.replace(original, colour="red")


def test_instances_survive_pickling():
    # -j N sends results between processes.
    from dockfix.edits import Applicability, Edit, Finding, Fix

    finding = Finding("DF009", "message", 1, Fix((Edit(0, 0, b"x"),), Applicability.SAFE))
    assert pickle.loads(pickle.dumps(finding)) == finding
