"""Dataclasses made without compiling code at import time: the project's `@dataclass`.

`dataclasses.dataclass` writes the source of each class's `__init__`, `__repr__`, `__eq__`,
`__hash__` (and, for a frozen class, `__setattr__` and `__delattr__`) and compiles it while the
module is imported: about a millisecond a class, and `dataclasses` itself imports `inspect`. With
some fifty classes on the path of every run, that was a third of the start-up of a one-file check.
Here those methods are written once and shared, so declaring a class costs next to nothing.

The behaviour is the standard library's, for what the project uses: the fields are the class's
annotations (a base dataclass's first), in order, every annotation a field; defaults, and
`field(default_factory=...)` or `field(hash=False)`; `__post_init__`; `frozen` (assignment raises
`FrozenInstanceError`, and the instances hash by their fields) and `order`; a method the class
defines itself is kept; `replace` makes a changed copy. Type checkers read the decorator as a
dataclass (`dataclass_transform`).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, eq, ge, gt, le, lt
from reprlib import recursive_repr

# typing.TYPE_CHECKING without importing typing, which takes a one-file run 5% of its start-up.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any, TypeVar, overload

    from typing_extensions import dataclass_transform

    _T = TypeVar("_T")
else:

    def dataclass_transform(**_kwargs):
        return lambda decorator: decorator


_MISSING: Any = object()

# A class's first instances are made by a generic __init__ (no code to compile); the class then
# gets one written for its fields, as dataclasses write it, which makes each instance about twice
# as fast. Compiling it costs about what a hundred instances made the generic way cost, more than
# a one-file run makes of most classes; a run over many files makes thousands.
_GENERIC_INSTANCES = 100


class FrozenInstanceError(AttributeError):
    """Assigning to, or deleting, a field of a frozen dataclass."""


class Field:
    """What `field()` says about one field: its default, or the factory that makes one."""

    __slots__ = ("default", "default_factory", "hash")

    def __init__(self, default: Any, default_factory: Callable[[], Any] | None, hash: bool) -> None:
        self.default = default
        self.default_factory = default_factory
        self.hash = hash


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None, hash: bool = True) -> Any:
    """A field's default (or `default_factory`, called for each instance), and whether it is hashed."""
    return Field(default, default_factory, hash)


class _Fields:
    """The fields of one dataclass, in order, with their defaults."""

    __slots__ = ("defaults", "factories", "hashed", "names")

    def __init__(self, names: tuple[str, ...], defaults: dict[str, Any], factories: dict[str, Callable[[], Any]]):
        self.names = names
        self.defaults = defaults
        self.factories = factories
        self.hashed = names


def _values_getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving an instance's values of `names`, always as a tuple (as dataclasses compare them)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        single = attrgetter(names[0])
        return lambda instance: (single(instance),)
    return lambda instance: ()


def _collect_fields(cls: type) -> _Fields:
    names: dict[str, None] = {}
    defaults: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    unhashed: set[str] = set()
    for base in reversed(cls.__mro__[1:]):
        inherited: _Fields | None = base.__dict__.get("__dataclass_fields__")
        if inherited is not None:
            names.update(dict.fromkeys(inherited.names))
            defaults.update(inherited.defaults)
            factories.update(inherited.factories)
            unhashed.update(set(inherited.names) - set(inherited.hashed))
    # The class's own annotations, unevaluated (inspect.get_annotations would import inspect).
    for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063
        names[name] = None
        defaults.pop(name, None)
        factories.pop(name, None)
        unhashed.discard(name)
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, Field):
            if not value.hash:
                unhashed.add(name)
            if value.default_factory is not None:
                factories[name] = value.default_factory
            value = value.default
            if value is _MISSING:
                delattr(cls, name)  # as dataclasses do: no class attribute stands for a missing value
            else:
                setattr(cls, name, value)
        if value is not _MISSING:
            defaults[name] = value
    fields = _Fields(tuple(names), defaults, factories)
    fields.hashed = tuple(name for name in fields.names if name not in unhashed)
    return fields


def _make_init(cls: type, fields: _Fields) -> Callable[..., None]:
    """A generic `__init__` that, once the class has made `_GENERIC_INSTANCES`, compiles its own."""
    names, defaults, factories = fields.names, fields.defaults, fields.factories
    post_init = getattr(cls, "__post_init__", None)
    made = 0

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal made
        made += 1
        if made == _GENERIC_INSTANCES and cls.__dict__.get("__init__") is __init__:
            cls.__init__ = _compile_init(cls, fields, post_init)  # type: ignore[misc]
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but {len(args)} were given")
        for name in kwargs:
            if name not in names:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
            if name in names[: len(args)]:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
        values = dict(zip(names, args, strict=False))  # the first fields, in order
        for name in names[len(args) :]:
            if name in kwargs:
                values[name] = kwargs[name]
            elif name in factories:
                values[name] = factories[name]()
            elif name in defaults:
                values[name] = defaults[name]
            else:
                raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
        # Straight into the instance's namespace, as a frozen dataclass's __init__ sets its fields.
        self.__dict__.update(values)
        if post_init is not None:
            post_init(self)

    return __init__


def _compile_init(cls: type, fields: _Fields, post_init: Callable[[Any], None] | None) -> Callable[..., None]:
    """The `__init__` dataclasses would write for these fields: as fast per instance as theirs."""
    namespace: dict[str, Any] = {"_MISSING": _MISSING, "_post_init": post_init}
    parameters, lines = [], []
    for name in fields.names:
        if name in fields.factories:
            namespace[f"_factory_{name}"] = fields.factories[name]
            parameters.append(f"{name}=_MISSING")
            lines.append(f"    if {name} is _MISSING:\n        {name} = _factory_{name}()")
        elif name in fields.defaults:
            namespace[f"_default_{name}"] = fields.defaults[name]
            parameters.append(f"{name}=_default_{name}")
        else:
            parameters.append(name)
    lines.append("    self.__dict__.update({" + ", ".join(f"{name!r}: {name}" for name in fields.names) + "})")
    if post_init is not None:
        lines.append("    _post_init(self)")
    exec("\n".join([f"def __init__(self, {', '.join(parameters)}):", *lines]), namespace)
    compiled = namespace["__init__"]
    compiled.__qualname__ = f"{cls.__qualname__}.__init__"
    return compiled


def _make_repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    @recursive_repr()
    def __repr__(self: Any) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{self.__class__.__qualname__}({shown})"

    return __repr__


def _make_comparison(compare: Callable[[Any, Any], Any], values: Callable[[Any], tuple[Any, ...]]) -> Callable:
    def method(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return compare(values(self), values(other))

    return method


def _make_frozen(cls: Any, names: tuple[str, ...]) -> tuple[Callable, Callable]:
    known = frozenset(names)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in known:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in known:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _process(cls: type, frozen: bool, order: bool) -> type:
    fields = _collect_fields(cls)
    values = _values_getter(fields.names)
    own = cls.__dict__
    methods: dict[str, Any] = {
        "__init__": _make_init(cls, fields),
        "__repr__": _make_repr(fields.names),
        "__eq__": _make_comparison(eq, values),
    }
    if order:
        methods.update(
            __lt__=_make_comparison(lt, values),
            __le__=_make_comparison(le, values),
            __gt__=_make_comparison(gt, values),
            __ge__=_make_comparison(ge, values),
        )
    if frozen:
        methods["__setattr__"], methods["__delattr__"] = _make_frozen(cls, fields.names)
    for name, method in methods.items():
        if name not in own:
            method.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)
    if "__hash__" not in own or (own["__hash__"] is None and "__eq__" in own):
        # As dataclasses: a frozen class hashes by its fields; a mutable one that compares by
        # them cannot be hashed (it could change while in a set).
        if frozen:
            hashed = _values_getter(fields.hashed)

            def __hash__(self: Any) -> int:
                return hash(hashed(self))

            __hash__.__qualname__ = f"{cls.__qualname__}.__hash__"
            cls.__hash__ = __hash__  # type: ignore[method-assign,assignment]
        else:
            cls.__hash__ = None  # type: ignore[assignment]
    setattr(cls, "__dataclass_fields__", fields)  # noqa: B010
    setattr(cls, "__match_args__", fields.names)  # noqa: B010
    return cls


if TYPE_CHECKING:

    @overload
    def dataclass(cls: type[_T], /) -> type[_T]: ...

    @overload
    def dataclass(*, frozen: bool = False, order: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: type[_T] | None = None, /, *, frozen: bool = False, order: bool = False) -> Any:
    """`@dataclass`, `@dataclass(frozen=True)`, `@dataclass(frozen=True, order=True)`: see the module."""
    if cls is not None:
        return _process(cls, frozen, order)
    return lambda cls: _process(cls, frozen, order)


def replace(instance: _T, /, **changes: Any) -> _T:
    """A copy of a dataclass instance with some fields changed (`__post_init__` checks it again)."""
    fields: _Fields = type(instance).__dataclass_fields__  # type: ignore[attr-defined]
    for name in fields.names:
        if name not in changes:
            changes[name] = getattr(instance, name)
    return type(instance)(**changes)
